package cache

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// bodyFor derives a body from a key: its length (0 to ~200 KB) and bytes
// depend only on the key, so a reader can tell a right body from a torn one.
func bodyFor(key string) []byte {
	h := fnv.New64a()
	h.Write([]byte(key))
	seed := h.Sum64()
	r := rand.New(rand.NewPCG(seed, seed>>7))
	n := int(seed % 200_000)
	var b bytes.Buffer
	words := []string{"<p>", "news ", "radio ", "svoboda ", "</p>\n", "<a href=\"/a/", "\">", "</a>"}
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

func testMeta(key, ctype string) Meta {
	return Meta{Key: key, Status: 200, Header: http.Header{"Content-Type": {ctype}},
		Stored: t0, Lifetime: time.Minute, StaleIfError: DefaultStaleIfError}
}

func openStore(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// put stores body under key, writing it in pieces of odd sizes, waits
// until it is on disk and has every copy a reader could ask for.
func put(t testing.TB, s *Store, m Meta, body []byte) {
	t.Helper()
	w := s.Create(m)
	for rest := body; len(rest) > 0; {
		k := min(len(rest), 1+len(rest)%7919)
		w.Write(rest[:k])
		rest = rest[k:]
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("commit %s: %v", m.Key, err)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("flush after %s: %v", m.Key, err)
	}
	askCopies(t, s, m.Key, m.Variant)
}

// askCopies asks for the gzip and brotli copies of an entry, as readers
// would, and waits for them.
func askCopies(t testing.TB, s *Store, key, variant string) {
	t.Helper()
	if e, _ := s.Lookup(key, variant, t0); e != nil {
		e.Choose("gzip")
		e.Choose("br")
	}
	waitCopies(t, s)
}

// waitCopies waits (up to 10 s) until no copy is being made.
func waitCopies(t testing.TB, s *Store) {
	t.Helper()
	for range 1000 {
		if s.copyPending.Load() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("copies still pending after 10 s")
}

// read opens the copy of e in enc and returns it decoded.
func read(e *Entry, enc Encoding) ([]byte, error) {
	b, err := e.Open(enc)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	raw, err := io.ReadAll(b)
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) != b.Size {
		return nil, fmt.Errorf("read %d bytes, Size %d", len(raw), b.Size)
	}
	return decode(raw, enc)
}

func decode(raw []byte, enc Encoding) ([]byte, error) {
	switch enc {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case Brotli:
		return io.ReadAll(brotli.NewReader(bytes.NewReader(raw)))
	}
	return raw, nil
}

// files lists the regular files under dir (relative paths) with sizes.
func files(t testing.TB, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[rel] = fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entryPath returns the path of e's entry file.
func entryPath(dir string, e *Entry) string {
	return filepath.Join(dir, shardDir(e.shard), e.file)
}

// manifestOffset returns where the manifest starts in e's file.
func manifestOffset(dir string, e *Entry) int64 {
	fi, err := os.Stat(entryPath(dir, e))
	if err != nil {
		return 0
	}
	f, _ := os.Open(entryPath(dir, e))
	defer f.Close()
	var n [8]byte
	f.ReadAt(n[:], fi.Size()-footerLen)
	return fi.Size() - footerLen - int64(binary.BigEndian.Uint64(n[:]))
}

func mustFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/rferl-org-home-2018.html")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
