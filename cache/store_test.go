package cache

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	page := mustFixture(t)
	tests := []struct {
		name, ctype string
		body        []byte
		encoded     bool
	}{
		{"rferl home page", "text/html; charset=utf-8", page, true},
		{"small css", "text/css", []byte("body{color:red}"), true},
		{"empty", "application/json", nil, true},
		{"png is stored as is", "image/png", bodyFor("png"), false},
	}
	s := openStore(t, t.TempDir(), Options{})
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "https://www.rferl.org/" + tt.name
			put(t, s, testMeta(key, tt.ctype), tt.body)
			e, st := s.Lookup(key, "", t0.Add(time.Second))
			if st != Fresh {
				t.Fatalf("state %v, want FRESH", st)
			}
			etags := map[string]bool{}
			for enc := Identity; enc < numEncodings; enc++ {
				if e.Has(enc) != (enc == Identity || tt.encoded) {
					t.Fatalf("Has(%v) = %v", enc, e.Has(enc))
				}
				if !e.Has(enc) {
					if _, err := e.Open(enc); !errors.Is(err, ErrNoEncoding) {
						t.Fatalf("Open(%v) of absent copy: %v", enc, err)
					}
					continue
				}
				got, err := read(e, enc)
				if err != nil {
					t.Fatalf("%v: %v", enc, err)
				}
				if !bytes.Equal(got, tt.body) {
					t.Fatalf("%v: decoded body differs (%d bytes, want %d)", enc, len(got), len(tt.body))
				}
				b, _ := e.Open(enc)
				etags[b.ETag] = true
				b.Close()
			}
			if len(etags) != 1+2*btoi(tt.encoded) {
				t.Errorf("ETags not distinct per encoding: %v", etags)
			}
			if tt.encoded && len(tt.body) > 1000 && e.Size(Brotli) >= e.Size(Gzip) {
				t.Errorf("brotli %d bytes, gzip %d", e.Size(Brotli), e.Size(Gzip))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestServeContent checks that a Body works with http.ServeContent:
// Range requests and conditional requests on the stored ETag.
func TestServeContent(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer s.Close()
	page := mustFixture(t)
	m := testMeta("https://www.rferl.org/", "text/html")
	m.LastModified = "Sat, 01 Mar 2025 10:00:00 GMT"
	put(t, s, m, page)
	e, _ := s.Lookup(m.Key, "", t0)
	serve := func(h http.Header, ae string) *httptest.ResponseRecorder {
		b, err := e.Open(e.Choose(ae))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header = h
		w := httptest.NewRecorder()
		w.Header().Set("Etag", b.ETag)
		w.Header().Set("Content-Type", "text/html")
		http.ServeContent(w, r, "", b.ModTime, b)
		return w
	}
	w := serve(http.Header{"Range": {"bytes=100-199"}}, "")
	if w.Code != 206 || !bytes.Equal(w.Body.Bytes(), page[100:200]) {
		t.Fatalf("range: %d, %q", w.Code, w.Body.Bytes())
	}
	etag := serve(http.Header{}, "gzip, br").Header().Get("Etag")
	if w := serve(http.Header{"If-None-Match": {etag}}, "gzip, br"); w.Code != 304 {
		t.Errorf("If-None-Match on brotli ETag: %d", w.Code)
	}
	if w := serve(http.Header{"If-None-Match": {etag}}, "gzip"); w.Code != 200 {
		t.Errorf("brotli ETag matched the gzip copy: %d", w.Code)
	}
	if w := serve(http.Header{"If-Modified-Since": {m.LastModified}}, ""); w.Code != 304 {
		t.Errorf("If-Modified-Since: %d", w.Code)
	}
}

func TestChoose(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer s.Close()
	put(t, s, testMeta("k", "text/html"), []byte("<p>hi</p>"))
	put(t, s, testMeta("img", "image/jpeg"), []byte("jpeg"))
	html, _ := s.Lookup("k", "", t0)
	img, _ := s.Lookup("img", "", t0)
	tests := []struct {
		ae        string
		html, img Encoding
	}{
		{"", Identity, Identity},
		{"gzip, deflate, br, zstd", Brotli, Identity},
		{"gzip", Gzip, Identity},
		{"br;q=0, gzip;q=0.8", Gzip, Identity},
		{"BR;q=1.0", Brotli, Identity},
		{"*", Brotli, Identity},
		{"gzip;q=0.000, deflate", Identity, Identity},
		{"identity", Identity, Identity},
	}
	for _, tt := range tests {
		if got := html.Choose(tt.ae); got != tt.html {
			t.Errorf("html Choose(%q) = %v, want %v", tt.ae, got, tt.html)
		}
		if got := img.Choose(tt.ae); got != tt.img {
			t.Errorf("img Choose(%q) = %v, want %v", tt.ae, got, tt.img)
		}
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	defer s.Close()
	w := s.Create(testMeta("k", "text/html"))
	w.Write(bodyFor("k"))
	w.Abort()
	if err := w.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	if e, st := s.Lookup("k", "", t0); e != nil || st != Miss {
		t.Fatalf("aborted entry found: %v", st)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
}

func TestTooLarge(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{MaxObject: 10_000})
	defer s.Close()
	for _, n := range []int{10_000, 10_001, 50_000} {
		key := strings.Repeat("x", n%97)
		w := s.Create(testMeta(key, "text/html"))
		for range n / 1000 {
			if k, err := w.Write(make([]byte, 1000)); k != 1000 || err != nil {
				t.Fatalf("Write = %d, %v; a failed Writer must keep accepting", k, err)
			}
		}
		w.Write(make([]byte, n%1000))
		err := w.Commit()
		e, _ := s.Lookup(key, "", t0)
		if n <= 10_000 {
			if err != nil || e == nil {
				t.Fatalf("%d bytes: %v, entry %v", n, err, e)
			}
			continue
		}
		if !errors.Is(err, ErrTooLarge) || e != nil {
			t.Fatalf("%d bytes: Commit = %v, entry %v", n, err, e)
		}
	}
	if st := s.Stats(); st.TooLarge != 2 || st.Entries != 1 {
		t.Errorf("stats %+v", st)
	}
	if err := s.Flush(); err != nil { // temporary files exist until then
		t.Fatal(err)
	}
	for name := range files(t, dir) {
		if strings.HasPrefix(name, tmpDir) {
			t.Errorf("temporary file left: %s", name)
		}
	}
}

func TestRestartAndRefresh(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	keys := []string{"https://www.rferl.org/", "https://www.rferl.org/a/1.html", "https://gdb.rferl.org/x.jpg"}
	for _, k := range keys {
		put(t, s, testMeta(k, "text/html"), bodyFor(k))
	}
	// A second commit of the same key replaces the first and its files.
	put(t, s, testMeta(keys[0], "text/html"), bodyFor(keys[0]))
	e, _ := s.Lookup(keys[1], "", t0)
	p := DefaultPolicy()
	m, err := p.Revalidated(&e.Meta, http.Header{"Cache-Control": {"max-age=3600"}, "Etag": {`"v2"`}}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(e, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)

	s = openStore(t, dir, Options{})
	defer s.Close()
	if got := files(t, dir); len(got) != len(before) {
		t.Errorf("restart changed files: %v -> %v", before, got)
	}
	for _, k := range keys {
		e, _ := s.Lookup(k, "", t0)
		if e == nil {
			t.Fatalf("%s lost on restart", k)
		}
		for enc := Identity; enc < numEncodings; enc++ {
			if got, err := read(e, enc); err != nil || !bytes.Equal(got, bodyFor(k)) {
				t.Fatalf("%s %v after restart: %v", k, enc, err)
			}
		}
	}
	e, st := s.Lookup(keys[1], "", t0.Add(90*time.Minute))
	if st != Fresh || e.Meta.ETag != `"v2"` || e.Meta.Header.Get("Content-Type") != "text/html" {
		t.Errorf("refresh not kept: %v %+v", st, e.Meta)
	}
	if st := s.Stats(); st.Entries != 3 || st.Corrupt != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	put(t, s, testMeta("k", "text/html"), bodyFor("k"))
	e, _ := s.Lookup("k", "", t0)
	s.Close()
	shard := filepath.Join(dir, shardDir(e.shard))
	junk := []string{
		filepath.Join(dir, tmpDir, "half-written"),
		filepath.Join(shard, e.name+".oldgen.e"),                         // an older file of the entry, damaged
		filepath.Join(dir, "ff", "00112233445566778899aabbccddeeff.x.e"), // a file that is not an entry
		filepath.Join(shard, e.name+".m"),                                // a manifest of the old layout
		filepath.Join(dir, "0a", "unknown"),
	}
	for _, p := range junk {
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = openStore(t, dir, Options{})
	defer s.Close()
	for _, p := range junk {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	if e, _ := s.Lookup("k", "", t0); e == nil {
		t.Error("good entry lost")
	}
}

func TestCorruption(t *testing.T) {
	tests := []struct {
		name string
		harm func(dir string, e *Entry) error
		// atOpen: the damage is found on Open, not at start-up.
		atOpen bool
	}{
		{"truncated half-way", func(d string, e *Entry) error {
			return os.Truncate(entryPath(d, e), e.Size(Identity)/2)
		}, false},
		{"flipped byte in gzip", func(d string, e *Entry) error { return flip(entryPath(d, e), e.b.v[Gzip].off+100) }, true},
		{"flipped byte in identity", func(d string, e *Entry) error { return flip(entryPath(d, e), 5000) }, true},
		{"flipped byte in brotli", func(d string, e *Entry) error { return flip(entryPath(d, e), e.b.v[Brotli].off+10) }, true},
		// No file, no entry: nothing damaged is left to count.
		{"missing file", func(d string, e *Entry) error { return os.Remove(entryPath(d, e)) }, false},
		{"garbage file", func(d string, e *Entry) error {
			return os.WriteFile(entryPath(d, e), []byte("\x00\xffgarbage"), 0o600)
		}, false},
		{"empty file", func(d string, e *Entry) error { return os.Truncate(entryPath(d, e), 0) }, false},
		{"flipped byte in manifest", func(d string, e *Entry) error { return flip(entryPath(d, e), manifestOffset(d, e)+20) }, false},
		{"flipped byte in footer", func(d string, e *Entry) error {
			fi, err := os.Stat(entryPath(d, e))
			if err != nil {
				return err
			}
			return flip(entryPath(d, e), fi.Size()-3)
		}, false},
		{"footer cut off", func(d string, e *Entry) error {
			fi, err := os.Stat(entryPath(d, e))
			if err != nil {
				return err
			}
			return os.Truncate(entryPath(d, e), fi.Size()-10)
		}, false},
		{"file under another name", func(d string, e *Entry) error {
			other, shard := entryName(ident{"other", ""})
			data, err := os.ReadFile(entryPath(d, e))
			if err != nil {
				return err
			}
			os.Remove(entryPath(d, e))
			return os.WriteFile(filepath.Join(d, shardDir(shard), entryFile(other, e.gen)), data, 0o600)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{})
			key := "https://www.rferl.org/a/" + tt.name
			put(t, s, testMeta(key, "text/html"), bodyFor(key))
			put(t, s, testMeta("good", "text/html"), bodyFor("good"))
			e, _ := s.Lookup(key, "", t0)
			s.Close()
			if err := tt.harm(dir, e); err != nil {
				t.Fatal(err)
			}
			s = openStore(t, dir, Options{})
			defer s.Close()
			e, _ = s.Lookup(key, "", t0)
			if (e != nil) != tt.atOpen {
				t.Fatalf("entry found after start-up: %v", e != nil)
			}
			if e != nil {
				var bad error
				for enc := Identity; enc < numEncodings; enc++ {
					if _, err := read(e, enc); err != nil {
						bad = err
					}
				}
				if !errors.Is(bad, ErrCorrupt) {
					t.Fatalf("damage not detected: %v", bad)
				}
				if e, st := s.Lookup(key, "", t0); e != nil || st != Miss {
					t.Fatalf("damaged entry still listed: %v", st)
				}
			}
			if want := btoi(tt.name != "missing file"); s.Stats().Corrupt != int64(want) {
				t.Errorf("Corrupt = %d", s.Stats().Corrupt)
			}
			for name := range files(t, dir) {
				if strings.Contains(name, e0name(key)) {
					t.Errorf("file of the damaged entry left: %s", name)
				}
			}
			g, _ := s.Lookup("good", "", t0)
			if got, err := read(g, Brotli); err != nil || !bytes.Equal(got, bodyFor("good")) {
				t.Errorf("undamaged entry: %v", err)
			}
		})
	}
}

func e0name(key string) string {
	n, _ := entryName(ident{key, ""})
	return n
}

func flip(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0x20
	_, err = f.WriteAt(b, off)
	return err
}

// TestMemoryCopies: small copies are kept in memory from their first Open,
// within the budget; they are served without their files, and released
// when the entry goes.
func TestMemoryCopies(t *testing.T) {
	dir := t.TempDir()
	small, big := bytes.Repeat([]byte("<p>radio svoboda</p>\n"), 1000), bodyFor("big-body-key")
	s := openStore(t, dir, Options{MemObject: 64 << 10, MemSize: 3 * int64(len(small))})
	defer s.Close()
	put(t, s, testMeta("small", "text/html"), small)
	put(t, s, testMeta("big", "application/octet-stream"), big)
	if s.Stats().Memory != 0 {
		t.Fatalf("memory used before any Open: %d", s.Stats().Memory)
	}
	e, _ := s.Lookup("small", "", t0)
	for enc := Identity; enc < numEncodings; enc++ {
		b, err := e.Open(enc)
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if (b.Data != nil) != (b.Size <= 64<<10) {
			t.Errorf("%v: in memory %v, size %d", enc, b.Data != nil, b.Size)
		}
	}
	want := e.Size(Identity) + e.Size(Gzip) + e.Size(Brotli)
	if got := s.Stats().Memory; got != want {
		t.Errorf("Memory = %d, want %d", got, want)
	}
	// The memory copies serve the body once the file is gone.
	os.Remove(entryPath(dir, e))
	for enc := Identity; enc < numEncodings; enc++ {
		if got, err := read(e, enc); err != nil || !bytes.Equal(got, small) {
			t.Errorf("%v from memory: %v", enc, err)
		}
	}
	g, _ := s.Lookup("big", "", t0)
	if b, err := g.Open(Identity); err != nil || b.Data != nil {
		t.Errorf("big body: in memory %v, err %v", b.Data != nil, err)
	} else {
		b.Close()
	}
	s.Delete("small", "")
	if got := s.Stats().Memory; got != 0 {
		t.Errorf("Memory after Delete = %d", got)
	}
}

// TestMemoryBudget: copies beyond MemSize are read from their files.
func TestMemoryBudget(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{MemSize: 10_000, GzipLevel: -1, BrotliLevel: -1})
	defer s.Close()
	body := bytes.Repeat([]byte("x"), 6000)
	put(t, s, testMeta("a", "text/plain"), body)
	put(t, s, testMeta("b", "text/plain"), body)
	var inMem int
	for _, k := range []string{"a", "b"} {
		e, _ := s.Lookup(k, "", t0)
		b, err := e.Open(Identity)
		if err != nil {
			t.Fatal(err)
		}
		if b.Data != nil {
			inMem++
		}
		got, _ := io.ReadAll(b)
		b.Close()
		if !bytes.Equal(got, body) {
			t.Errorf("%s: wrong body", k)
		}
	}
	if inMem != 1 || s.Stats().Memory != 6000 {
		t.Errorf("%d copies in memory, Memory %d; want 1, 6000", inMem, s.Stats().Memory)
	}
}

// TestMemoryGoesToRecentCopies: when the budget is full, a copy that did
// not fit makes the copies of the least recently used entries go, and its
// next Open keeps it in memory.
func TestMemoryGoesToRecentCopies(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{MemSize: 10_000, GzipLevel: -1, BrotliLevel: -1})
	defer s.Close()
	body := bytes.Repeat([]byte("y"), 3000)
	keys := []string{"a", "b", "c", "d"}
	for _, k := range keys {
		put(t, s, testMeta(k, "text/plain"), body)
	}
	inMemory := func(k string) bool {
		t.Helper()
		e, _ := s.Lookup(k, "", t0) // marks it used, as a hit does
		b, err := e.Open(Identity)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(b)
		b.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("%s: wrong body", k)
		}
		return b.Data != nil
	}
	for _, k := range keys[:3] {
		if !inMemory(k) {
			t.Fatalf("%s not kept in memory with room in the budget", k)
		}
	}
	if inMemory("d") {
		t.Fatal("d kept in memory beyond the budget")
	}
	for i := 0; s.Stats().Memory > 6000; i++ {
		if i == 500 {
			t.Fatalf("Memory still %d after 5 s; want the oldest copy gone (6000)", s.Stats().Memory)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !inMemory("d") {
		t.Error("d not kept in memory once room was made")
	}
	e, _ := s.Lookup("a", "", t0)
	if e.b.v[Identity].mem.Load() != nil {
		t.Error("the least recently used copy (a) is still in memory")
	}
	for _, k := range keys[1:3] {
		if e, _ := s.Lookup(k, "", t0); e.b.v[Identity].mem.Load() == nil {
			t.Errorf("%s, used more recently than a, left memory", k)
		}
	}
	// New entries nobody has read make no room: a flood of one-time URLs
	// must not push the pages being read out of memory.
	for i := range 5 {
		put(t, s, testMeta("new"+strconv.Itoa(i), "text/plain"), body)
	}
	time.Sleep(shedEvery + 200*time.Millisecond) // past the shedding worker's pause
	for _, k := range keys[1:] {
		if e, _ := s.Lookup(k, "", t0); e.b.v[Identity].mem.Load() == nil {
			t.Errorf("%s left memory for new entries nobody read", k)
		}
	}
}

// TestCopies: a Commit serves at once, from memory, the identity copy and
// the copies its caller encoded; the others are made in the background
// when a reader asks for them, once the entry is on disk, and are kept
// across a Refresh of the entry as looked up before them, and a restart.
func TestCopies(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	page := mustFixture(t)
	w := s.Create(testMeta("front", "text/html"))
	w.Write(page)
	zw := gzip.NewWriter(w.Encoded(Gzip))
	zw.Write(page)
	zw.Close()
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Lookup("front", "", t0)
	if before == nil || !before.Has(Gzip) || before.Has(Brotli) {
		t.Fatal("after Commit: want the identity and gzip copies, and no brotli yet")
	}
	for _, enc := range []Encoding{Identity, Gzip} {
		if got, err := read(before, enc); err != nil || !bytes.Equal(got, page) {
			t.Fatalf("%v copy after Commit: %v", enc, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if before.Choose("gzip, br") != Gzip {
		t.Fatal("a br reader does not get gzip while brotli is being made")
	}
	waitCopies(t, s)
	e, _ := s.Lookup("front", "", t0)
	if !e.Has(Brotli) || e.Choose("gzip, br") != Brotli {
		t.Fatal("no brotli copy after the background work")
	}
	if got, err := read(e, Brotli); err != nil || !bytes.Equal(got, page) {
		t.Fatalf("brotli copy: %v", err)
	}
	m := before.Meta
	m.Lifetime = time.Hour
	if err := s.Refresh(before, m); err != nil {
		t.Fatal(err)
	}
	if e, _ = s.Lookup("front", "", t0); e.Meta.Lifetime != time.Hour || !e.Has(Brotli) {
		t.Fatalf("after Refresh: lifetime %v, brotli %v", e.Meta.Lifetime, e.Has(Brotli))
	}
	if st := s.Stats(); st.Bytes != diskUse(t, dir) {
		t.Errorf("Bytes %d, disk %d", st.Bytes, diskUse(t, dir))
	}
	s.Close()
	s = openStore(t, dir, Options{})
	defer s.Close()
	e, _ = s.Lookup("front", "", t0)
	if e == nil || !e.Has(Brotli) || e.Meta.Lifetime != time.Hour || s.copyPending.Load() != 0 {
		t.Fatalf("after restart: entry %v, pending %d", e != nil, s.copyPending.Load())
	}
	if got, err := read(e, Brotli); err != nil || !bytes.Equal(got, page) {
		t.Fatalf("brotli copy after restart: %v", err)
	}
}

// TestCopiesOnlyWhenAsked: a body no reader asked to get compressed is
// never compressed; a gzip-only reader gets identity until its copy is made.
func TestCopiesOnlyWhenAsked(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer s.Close()
	w := s.Create(testMeta("a", "text/html"))
	w.Write(bodyFor("a"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	e, _ := s.Lookup("a", "", t0)
	if e.Choose("identity") != Identity {
		t.Fatal("identity reader")
	}
	waitCopies(t, s)
	if e, _ = s.Lookup("a", "", t0); e.Has(Gzip) || e.Has(Brotli) {
		t.Fatal("copies made that nobody asked for")
	}
	if e.Choose("gzip") != Identity {
		t.Fatal("a gzip reader got a copy that does not exist")
	}
	waitCopies(t, s)
	if e, _ = s.Lookup("a", "", t0); !e.Has(Gzip) || e.Has(Brotli) {
		t.Fatalf("after a gzip reader: gzip %v, brotli %v; want only gzip", e.Has(Gzip), e.Has(Brotli))
	}
	if got, err := read(e, Gzip); err != nil || !bytes.Equal(got, bodyFor("a")) {
		t.Fatalf("gzip copy: %v", err)
	}
}

// TestErrorsNameNoKey: a cache key holds a reader's query string, so the
// cache's errors, which the edge logs, name entries by their hash instead.
func TestErrorsNameNoKey(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	const key = "https://www.rferl.org/s?k=reader-secret"
	m := testMeta(key, "text/html")
	put(t, s, m, []byte("<p>x</p>"))
	e, _ := s.Lookup(key, "", time.Now())
	if e == nil {
		t.Fatal("entry not stored")
	}
	other := m
	other.Key = key + "&more"
	err := s.Refresh(e, other)
	if err == nil {
		t.Fatal("Refresh with another key succeeded")
	}
	if strings.Contains(err.Error(), "reader-secret") {
		t.Errorf("error names the key: %v", err)
	}
}

// TestUnopenedCopiesLeaveMemory: once a new entry is on disk, its memory
// keeps only the copies readers opened (here gzip), not the identity copy
// every entry has.
func TestUnopenedCopiesLeaveMemory(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{MaxSize: 1 << 30, GzipLevel: -1, BrotliLevel: -1})
	defer s.Close()
	page := mustFixture(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page)
	zw.Close()
	// A backlog for the committer, so that the reader below opens the
	// entry before it is on disk, as hits on a page just fetched do.
	for i := range 100 {
		w := s.Create(testMeta("backlog"+strconv.Itoa(i), "text/html"))
		w.Write(page)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	w := s.Create(testMeta("page", "text/html"))
	w.Write(page)
	w.Encoded(Gzip).Write(gz.Bytes())
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	e, _ := s.Lookup("page", "", t0)
	if got, err := read(e, Gzip); err != nil || !bytes.Equal(got, page) {
		t.Fatalf("gzip copy: %v", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	e, _ = s.Lookup("page", "", t0)
	if e.b.v[Identity].mem.Load() != nil {
		t.Error("the identity copy, which nobody opened, is still in memory")
	}
	if e.b.v[Gzip].mem.Load() == nil {
		t.Error("the gzip copy a reader opened left memory")
	}
	if got, want := s.Stats().Memory, int64(gz.Len()); got != want {
		t.Errorf("Memory = %d, want the gzip copy's %d", got, want)
	}
}

// TestMemoryAccountingUnderLoad: readers, replacements and the shedding of
// memory copies at once; every body read is right, and afterwards the
// budget's count equals the bytes of the copies actually kept.
func TestMemoryAccountingUnderLoad(t *testing.T) {
	const keys, size = 40, 5000
	s := openStore(t, t.TempDir(), Options{MemSize: 10 * size, GzipLevel: -1, BrotliLevel: -1})
	defer s.Close()
	body := func(k int) []byte { return bytes.Repeat([]byte{byte('a' + k%26)}, size) }
	key := func(k int) string { return "k" + strconv.Itoa(k) }
	for k := range keys {
		put(t, s, testMeta(key(k), "text/plain"), body(k))
	}
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i++ {
				k := (i * 7) % keys
				if g == 0 && i%5 == 0 { // a writer replaces entries now and then
					w := s.Create(testMeta(key(k), "text/plain"))
					w.Write(body(k))
					if err := w.Commit(); err != nil {
						t.Errorf("commit %s: %v", key(k), err)
						return
					}
					continue
				}
				e, _ := s.Lookup(key(k), "", t0)
				if e == nil {
					continue
				}
				got, err := read(e, Identity)
				if err != nil && !errors.Is(err, ErrCorrupt) {
					continue // replaced meanwhile: its file is gone
				}
				if err == nil && !bytes.Equal(got, body(k)) {
					t.Errorf("%s: wrong body", key(k))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	var kept int64
	s.mu.RLock()
	for _, e := range s.index {
		for _, v := range e.b.v {
			if p := v.mem.Load(); p != nil {
				kept += int64(len(*p))
			}
		}
	}
	s.mu.RUnlock()
	if got := s.Stats().Memory; got != kept || got > 10*size {
		t.Errorf("Memory = %d; copies kept %d, budget %d", got, kept, 10*size)
	}
}
