package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fuzzKey is the key of the entry whose file seeds the entry-file fuzzers.
const fuzzKey = "https://www.rferl.org/a/fuzz.html"

// fuzzBody is that entry's body: long enough for gzip to be worth it,
// short enough to keep each fuzz run fast.
var fuzzBody = bytes.Repeat([]byte("<p>Radio Svoboda: news from the region.</p>\n"), 40)

// seedEntry returns the entry file the Store writes for fuzzKey (with
// its identity, gzip and brotli copies) and the file's name.
var seedEntry = sync.OnceValues(func() (file string, data []byte) {
	dir, err := os.MkdirTemp("", "cache-seed")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := Open(dir, Options{})
	if err != nil {
		panic(err)
	}
	w := s.Create(testMeta(fuzzKey, "text/html; charset=utf-8"))
	w.Write(fuzzBody)
	if err := w.Commit(); err != nil {
		panic(err)
	}
	if err := s.Flush(); err != nil {
		panic(err)
	}
	e, _ := s.Lookup(fuzzKey, "", t0)
	e.Choose("gzip")
	e.Choose("br")
	for i := 0; s.copyPending.Load() != 0; i++ {
		if i == 1000 {
			panic("copies still pending after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e, _ = s.Lookup(fuzzKey, "", t0)
	if !e.Has(Gzip) || !e.Has(Brotli) {
		panic("seed entry lacks a copy")
	}
	data, err = os.ReadFile(entryPath(dir, e))
	if err != nil {
		panic(err)
	}
	file = e.file
	if err := s.Close(); err != nil {
		panic(err)
	}
	return file, data
})

// splitEntry returns the copies and the manifest JSON of an entry file
// (well formed: the seed's).
func splitEntry(data []byte) (bodies, manifest []byte) {
	foot := data[len(data)-int(footerLen):]
	n := int(binary.BigEndian.Uint64(foot))
	end := len(data) - int(footerLen)
	return data[:end-n], data[end-n : end]
}

// withFooter returns bodies and manifest followed by a valid footer.
func withFooter(bodies, manifest []byte) []byte {
	out := append(bytes.Clone(bodies), manifest...)
	sum := sha256.Sum256(manifest)
	out = binary.BigEndian.AppendUint64(out, uint64(len(manifest)))
	out = append(out, sum[:]...)
	return append(out, footerMagic...)
}

// watchdog panics, with every goroutine's stack, if done is not called
// within d: a hang is a defect the fuzzer must report, not wait out.
func watchdog(d time.Duration, what string) (done func()) {
	t := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("%s: still running after %v\n%s", what, d, buf))
	})
	return func() { t.Stop() }
}

// maxAlloc bounds the bytes one check of an entry file may allocate: a
// Store's own working set, a manifest (maxManifest) and a few times the
// file. A length field trusted before it is checked against the file's
// size allocates far more.
func maxAlloc(fileSize int) uint64 { return 24<<20 + 8*uint64(fileSize) }

// checkEntryFile puts data as the entry file file (in its shard) of a new
// cache directory, opens a Store on it and serves every entry it lists.
// Whatever the bytes, the Store must start, must serve only copies whose
// bytes match the checksum of the manifest that names them (and, for the
// seed's key, whose decoded body is the one stored), must drop a damaged
// entry on its first Open, and must go on storing and serving entries,
// also across a restart.
//
// In a file made by FuzzManifest, m is the manifest written: the copies
// served must be the ones it names.
func checkEntryFile(t *testing.T, file string, data []byte, m *manifest) {
	defer watchdog(20*time.Second, "check entry file")()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	dir := t.TempDir()
	name, ok := parseEntryFile(file)
	if !ok {
		t.Fatalf("bad seed name %q", file)
	}
	shard := shardOfName(name)
	if err := os.MkdirAll(filepath.Join(dir, shard), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, shard, file), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{MaxSize: 64 << 20})
	if err != nil {
		t.Fatalf("start-up: %v", err)
	}
	for _, e := range s.byAge() {
		serveAll(t, s, e, int64(len(data)), m)
		// An entry that served well can be refreshed (rewritten).
		if s.current(e.id) == e {
			if err := s.Refresh(e, e.Meta); err != nil {
				t.Fatalf("refresh of a loaded entry: %v", err)
			}
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > maxAlloc(len(data)) {
		t.Fatalf("start-up and serving allocated %d bytes for a file of %d", n, len(data))
	}

	// The Store keeps working: a new entry, and a new version of the
	// seed's entry, which must win over the file found at start-up, also
	// after a restart.
	fresh := []byte("a new body, stored after start-up")
	put(t, s, testMeta("https://www.rferl.org/a/new.html", "text/html"), fresh)
	put(t, s, testMeta(fuzzKey, "text/html"), fresh)
	for range 2 {
		for _, k := range []string{"https://www.rferl.org/a/new.html", fuzzKey} {
			e, _ := s.Lookup(k, "", t0)
			if e == nil {
				t.Fatalf("%s: not stored", k)
			}
			for enc := range numEncodings {
				if !e.Has(enc) {
					continue
				}
				got, err := read(e, enc)
				if err != nil || !bytes.Equal(got, fresh) {
					t.Fatalf("%s in %v: %q, %v; want %q", k, enc, got, err, fresh)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if s, err = Open(dir, Options{MaxSize: 64 << 20}); err != nil {
			t.Fatalf("restart: %v", err)
		}
	}
	s.Close()
}

// shardOfName returns the shard folder of an entry name.
func shardOfName(name string) string { return name[:2] }

// serveAll opens every copy of e and checks what it serves: against m,
// the manifest written, if not nil, else against the seed's body.
func serveAll(t *testing.T, s *Store, e *Entry, fileSize int64, m *manifest) {
	t.Helper()
	for enc := range numEncodings {
		if !e.Has(enc) {
			continue
		}
		if n := e.Size(enc); n < 0 || n > fileSize {
			t.Fatalf("entry %s: %v copy of %d bytes in a file of %d", e.name, enc, n, fileSize)
		}
		v := e.b.v[enc]
		if v.off < 0 || v.off > fileSize-v.size {
			t.Fatalf("entry %s: %v copy at %d+%d, outside a file of %d", e.name, enc, v.off, v.size, fileSize)
		}
		for range 2 { // the second Open trusts the first's check
			b, err := e.Open(enc)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("entry %s: open %v: %v", e.name, enc, err)
				}
				if cur := s.current(e.id); cur == e {
					t.Fatalf("entry %s: damaged (%v) but still listed", e.name, err)
				}
				return
			}
			raw, err := io.ReadAll(b)
			b.Close()
			if err != nil {
				t.Fatalf("entry %s: read %v: %v", e.name, enc, err)
			}
			if int64(len(raw)) != b.Size || b.Size != v.size || sha256.Sum256(raw) != v.sum {
				t.Fatalf("entry %s: %v copy served with %d bytes (Size %d) not matching its manifest", e.name, enc, len(raw), b.Size)
			}
			if m != nil {
				sum := sha256.Sum256(raw)
				if r := m.Files[enc]; !strings.EqualFold(r.Sum, hex.EncodeToString(sum[:])) || r.Size != int64(len(raw)) {
					t.Fatalf("%v copy served (%d bytes) is not the one its manifest names (%d bytes)", enc, len(raw), r.Size)
				}
				continue
			}
			if e.Meta.Key != fuzzKey || e.Meta.Variant != "" {
				continue
			}
			got, err := decode(raw, enc)
			if err != nil || !bytes.Equal(got, fuzzBody) {
				t.Fatalf("entry %s: %v copy decodes to %d bytes (%v), not the body stored", e.name, enc, len(got), err)
			}
		}
	}
}

// FuzzEntryFile writes arbitrary bytes as an entry file. Seeds: the file
// the Store writes, its truncations and bit flips in every part.
func FuzzEntryFile(f *testing.F) {
	file, data := seedEntry()
	bodies, _ := splitEntry(data)
	f.Add(data)
	f.Add([]byte{})
	for _, n := range []int{1, len(bodies) / 2, len(bodies), len(data) - int(footerLen), len(data) - 1} {
		f.Add(data[:n])
	}
	for _, at := range []int{0, len(bodies) - 1, len(bodies) + 10, len(data) - int(footerLen), len(data) - 40, len(data) - 1} {
		flip := bytes.Clone(data)
		flip[at] ^= 0x10
		f.Add(flip)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEntryFile(t, file, data, nil)
	})
}

// FuzzManifest writes an entry file made of arbitrary copies and an
// arbitrary manifest with a valid footer (length, checksum, magic), named
// after the key and generation the manifest holds: what a file system
// that keeps a manifest's checksum but loses or mixes other writes, or a
// Store of another version, could leave. Seeds: the Store's manifest and
// edits of its fields.
func FuzzManifest(f *testing.F) {
	_, data := seedEntry()
	bodies, man := splitEntry(data)
	f.Add(bodies, man)
	f.Add(bodies[:len(bodies)/2], man)
	f.Add([]byte{}, man)
	var m manifest
	if err := json.Unmarshal(man, &m); err != nil {
		f.Fatal(err)
	}
	edits := []func(m *manifest){
		func(m *manifest) { m.Files[Gzip].Sum += "00" },
		func(m *manifest) { m.Files[Identity].Sum = m.Files[Identity].Sum[:10] },
		func(m *manifest) { m.Files[Brotli].Off = 1<<63 - 1 },
		func(m *manifest) { m.Files[Identity].Size = 1<<63 - 1 },
		func(m *manifest) { m.Files[Identity].Off = -1 },
		func(m *manifest) { m.Files[Gzip].Off = 0 },
		func(m *manifest) { m.Files[Identity].Sum = "" },
		func(m *manifest) { m.Files[Gzip] = fileRecord{} },
		func(m *manifest) { m.Seq = "18446744073709551615" },
		func(m *manifest) { m.Seq = "1" },
		func(m *manifest) { m.Meta.Key = "https://www.rferl.org/other" },
		func(m *manifest) { m.Meta.Status = 0 },
		func(m *manifest) { m.Meta.Header = nil },
		func(m *manifest) { m.Gen = "" },
	}
	for _, edit := range edits {
		c := m
		edit(&c)
		b, err := json.Marshal(&c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bodies, b)
	}
	f.Add(bodies, []byte("{}"))
	f.Add(bodies, []byte("null"))
	f.Fuzz(func(t *testing.T, bodies, man []byte) {
		if len(man) > maxManifest+1 {
			return
		}
		var m manifest
		if json.Unmarshal(man, &m) != nil {
			m = manifest{} // not read by the Store either
		}
		checkEntryFile(t, manifestFileName(man), withFooter(bodies, man), &m)
	})
}

// manifestFileName returns the file name a manifest's key and generation
// give (so that the Store reads the manifest through), or a well-formed
// name of no key if the manifest does not say.
func manifestFileName(man []byte) string {
	var m struct {
		Meta struct{ Key, Variant string }
		Gen  string
	}
	if json.Unmarshal(man, &m) != nil || m.Gen == "" || len(m.Gen) > 100 || strings.ContainsAny(m.Gen, "./\x00") {
		return strings.Repeat("0", 32) + ".x" + entryExt
	}
	name, _ := entryName(ident{m.Meta.Key, m.Meta.Variant})
	return entryFile(name, m.Gen)
}

// FuzzKey checks Key and StripQuery on arbitrary URLs: no panic, no
// fragment, user information or dropped parameter in a key, and a key
// is its own key (so one resource is stored once).
func FuzzKey(f *testing.F) {
	for _, s := range []string{
		"https://www.rferl.org/a/ukraine/33.html?nocache=1&b=2&a=1#top",
		"HTTP://User:pw@WWW.RFERL.ORG:80/%7Euser/?utm_source=x&v=3&&x=%zz",
		"https://gdb.rferl.org:443/01000000-0aff-0242-4f9a-08dbc5fb0ef1_w650_r1.jpg?UTM_Medium=1",
		"//www.svoboda.org/a/1.html?a=1&a=0&A=2",
		"https://www.rferl.org/a/%D0%BF%D1%83%D1%82%D0%B8?q=%D0%BF&FBCLID=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		k := Key(u)
		if strings.Contains(k, "#") {
			t.Fatalf("key %q of %q holds a fragment", k, raw)
		}
		if u.User != nil && u.User.String() != "" && strings.Contains(k, u.User.String()+"@") {
			t.Fatalf("key %q of %q holds user information", k, raw)
		}
		_, q, _ := strings.Cut(k, "?")
		for kv := range strings.SplitSeq(q, "&") {
			if Dropped(paramName(kv)) {
				t.Fatalf("key %q of %q keeps dropped parameter %q", k, raw, kv)
			}
		}
		if s := StripQuery(u.RawQuery); StripQuery(s) != s {
			t.Fatalf("StripQuery(%q) = %q, not stable", u.RawQuery, s)
		}
		if ku, err := url.Parse(k); err == nil && ku.Host == strings.ToLower(u.Host) && ku.Scheme != "" {
			if k2 := Key(ku); k2 != k {
				t.Fatalf("Key(%q) = %q, but its own key is %q", raw, k, k2)
			}
		}
	})
}

// FuzzEntryFileName checks parseEntryFile: any name it accepts is one
// entryFile makes, and its entry name fits a shard.
func FuzzEntryFileName(f *testing.F) {
	file, _ := seedEntry()
	for _, s := range []string{file, "recency", "0123456789abcdef0123456789abcdef..e", "x.y.e", strings.Repeat("a", 32) + ".1.e.e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		name, ok := parseEntryFile(file)
		if !ok {
			return
		}
		gen := strings.TrimSuffix(strings.TrimPrefix(file, name+"."), entryExt)
		if len(name) != 32 || entryFile(name, gen) != file || strings.Contains(gen, ".") {
			t.Fatalf("parseEntryFile(%q) = %q, gen %q", file, name, gen)
		}
	})
}

// TestBadManifest checks entry files whose manifest checksum is right but
// whose fields are not (crashers of FuzzManifest among them): start-up
// succeeds and the entry is not listed.
func TestBadManifest(t *testing.T) {
	_, data := seedEntry()
	bodies, man := splitEntry(data)
	var m manifest
	if err := json.Unmarshal(man, &m); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(m *manifest)
	}{
		// hex.Decode wrote past the 32-byte sum: a panic at start-up.
		{"checksum too long", func(m *manifest) { m.Files[Gzip].Sum += "00" }},
		{"checksum too short", func(m *manifest) { m.Files[Identity].Sum = m.Files[Identity].Sum[:62] }},
		{"checksum not hex", func(m *manifest) { m.Files[Identity].Sum = strings.Repeat("zz", sha256.Size) }},
		// Off+Size overflowed and passed the check that the copy lies
		// inside the file.
		{"offset overflows", func(m *manifest) { m.Files[Brotli].Off = 1<<63 - 1 }},
		{"size overflows", func(m *manifest) { m.Files[Identity].Off, m.Files[Identity].Size = 1, 1<<63-1 }},
		{"copy over the manifest", func(m *manifest) { m.Files[Identity].Size = int64(len(bodies)) + 1 }},
		{"negative offset", func(m *manifest) { m.Files[Identity].Off = -1 }},
		// Copies with a gap loaded, but no Refresh or added copy could
		// write the entry again (writeCopies wants them back to back, as
		// the Store writes them, up to the manifest).
		{"gap between copies", func(m *manifest) { m.Files[Gzip] = fileRecord{} }},
		{"gap before the manifest", func(m *manifest) { m.Files[Brotli] = fileRecord{} }},
		{"no identity copy", func(m *manifest) { m.Files[Identity].Sum = "" }},
		{"short sequence", func(m *manifest) { m.Seq = "1" }},
		{"key of another file", func(m *manifest) { m.Meta.Key += "x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := m
			tt.edit(&c)
			b, err := json.Marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file, _ := seedEntry()
			os.MkdirAll(filepath.Join(dir, file[:2]), 0o700)
			if err := os.WriteFile(filepath.Join(dir, file[:2], file), withFooter(bodies, b), 0o600); err != nil {
				t.Fatal(err)
			}
			defer watchdog(20*time.Second, tt.name)()
			s := openStore(t, dir, Options{})
			defer s.Close()
			if e, _ := s.Lookup(fuzzKey, "", t0); e != nil {
				t.Fatalf("entry listed: %+v", c.Files)
			}
			if n := s.Stats().Corrupt; n != 1 {
				t.Fatalf("Corrupt = %d, want 1", n)
			}
		})
	}
}
