package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// diskUse sums the sizes of the entry files, rounded to blocks.
func diskUse(t *testing.T, dir string) int64 {
	var n int64
	for name, size := range files(t, dir) {
		if name != recencyFile {
			n += blocks(size)
		}
	}
	return n
}

func TestEviction(t *testing.T) {
	dir := t.TempDir()
	const max = 400_000
	s := openStore(t, dir, Options{MaxSize: max})
	defer s.Close()
	hot := "https://www.rferl.org/hot"
	put(t, s, testMeta(hot, "image/png"), make([]byte, 30_000))
	for i := range 40 {
		key := fmt.Sprintf("https://www.rferl.org/%d", i)
		put(t, s, testMeta(key, "image/png"), make([]byte, 30_000))
		if e, _ := s.Lookup(hot, "", t0); e == nil {
			t.Fatalf("recently used entry evicted after %d stores", i)
		}
		if use := diskUse(t, dir); use > max {
			t.Fatalf("disk use %d > %d", use, max)
		}
	}
	st := s.Stats()
	if st.Evictions == 0 || st.Bytes > max || st.Bytes != diskUse(t, dir) {
		t.Errorf("stats %+v, disk %d", st, diskUse(t, dir))
	}
	if e, _ := s.Lookup("https://www.rferl.org/0", "", t0); e != nil {
		t.Error("least recently used entry kept")
	}
	if e, _ := s.Lookup("https://www.rferl.org/39", "", t0); e == nil {
		t.Error("newest entry evicted")
	}
}

// TestRecencyRestart checks that the order of use survives a restart: the
// store is reopened with a smaller bound and must evict the entries used
// least recently before the restart.
func TestRecencyRestart(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	for i := range 10 {
		put(t, s, testMeta(fmt.Sprint(i), "image/png"), make([]byte, 10_000))
	}
	for _, i := range []int{0, 1, 2} {
		s.Lookup(fmt.Sprint(i), "", t0)
	}
	s.Close()
	put2 := openStore(t, dir, Options{})
	put(t, put2, testMeta("new", "image/png"), make([]byte, 10_000)) // stored after the last save
	put2.Close()
	// 11 entries of 12 KiB (a 10,000-byte body and its manifest); keep 4.
	s = openStore(t, dir, Options{MaxSize: 4*12288 + 8000})
	defer s.Close()
	var kept []string
	for _, k := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "new"} {
		if e, _ := s.Lookup(k, "", t0); e != nil {
			kept = append(kept, k)
		}
	}
	if got := strings.Join(kept, ","); got != "1,2,new" && got != "0,1,2,new" {
		t.Errorf("kept %s, want the recently used 0,1,2 and new", got)
	}
}

// TestTraversal stores keys made to escape the folder and checks every
// file stays inside it; a shard directory replaced by a symbolic link to
// the outside makes Open fail instead of writing there.
func TestTraversal(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "cache")
	s := openStore(t, dir, Options{})
	keys := []string{"../../../../etc/passwd", "/etc/passwd", "..", "tmp/../../x", "a\x00b",
		strings.Repeat("../", 5000), "C:\\Windows\\..\\..", "00/../../escape", "\xff\xfe"}
	for _, k := range keys {
		for _, v := range []string{"", "../v", "/"} {
			put(t, s, Meta{Key: k, Variant: v, Header: map[string][]string{"Content-Type": {"text/plain"}}}, []byte(k+v))
			e, _ := s.Lookup(k, v, t0)
			if got, err := read(e, Gzip); err != nil || string(got) != k+v {
				t.Fatalf("%q: %q %v", k, got, err)
			}
		}
	}
	s.Close()
	top, _ := os.ReadDir(parent)
	if len(top) != 1 {
		t.Fatalf("files outside the cache folder: %v", top)
	}
	for name := range files(t, dir) {
		base := filepath.Base(name)
		if strings.ContainsAny(base, "/\\\x00") || len(base) > 60 {
			t.Errorf("odd file name %q", name)
		}
	}

	outside := filepath.Join(parent, "outside")
	os.Mkdir(outside, 0o700)
	os.RemoveAll(filepath.Join(dir, "7f"))
	if err := os.Symlink(outside, filepath.Join(dir, "7f")); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, Options{}); err == nil {
		s.Close()
		t.Fatal("Open followed a symbolic link out of the folder")
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Errorf("files written outside: %v", left)
	}
}

func TestConcurrency(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{MaxSize: 3 << 20})
	defer s.Close()
	keys := []string{"a", "b", "c", "d", "e", "f"}
	body := func(k string) []byte { return bodyFor(k)[:min(len(bodyFor(k)), 8000)] }
	for _, k := range keys {
		put(t, s, testMeta(k, "text/html"), body(k))
	}
	deadline := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	var reads, misses atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if time.Now().After(deadline) {
					return
				}
				k := keys[(g*7+i*5)%len(keys)]
				if i%3 == 0 {
					w := s.Create(testMeta(k, "text/html"))
					w.Write(body(k))
					if i%7 == 0 {
						w.Abort()
					} else if err := w.Commit(); err != nil {
						t.Error(err)
					}
					continue
				}
				e, _ := s.Lookup(k, "", t0)
				if e == nil {
					continue
				}
				if i%5 == 0 {
					s.Refresh(e, e.Meta)
				}
				// Brotli copies come in the background: until then, gzip.
				got, err := read(e, e.Choose([]string{"identity", "gzip", "br, gzip"}[i%3]))
				// A concurrent Commit may remove the files of the entry
				// this reader looked up; that is a miss, never a wrong body.
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Error(err)
					}
					misses.Add(1)
					continue
				}
				if string(got) != string(body(k)) {
					t.Errorf("%s: wrong body", k)
				}
				reads.Add(1)
			}
		})
	}
	wg.Wait()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	waitCopies(t, s)
	if reads.Load() == 0 {
		t.Fatalf("no successful reads, %d misses", misses.Load())
	}
	if st := s.Stats(); st.Entries > int64(len(keys)) || st.Bytes != diskUse(t, dir) {
		t.Errorf("stats %+v, disk %d", st, diskUse(t, dir))
	}
}

func TestGroup(t *testing.T) {
	var g Group
	const n = 200
	release := make(chan struct{})
	var calls atomic.Int64
	fn := func() error {
		calls.Add(1)
		<-release
		return errors.New("origin said no")
	}
	var wg sync.WaitGroup
	var shared atomic.Int64
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			sh, err := g.Do(context.Background(), "k", fn)
			if sh {
				shared.Add(1)
			}
			results <- err
		})
	}
	// Wait (bounded) until one call runs and the 199 others wait for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		c := g.calls["k"]
		w := 0
		if c != nil {
			w = c.waiters
		}
		g.mu.Unlock()
		if w == n-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters", w)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sh, err := g.Do(ctx, "k", fn); !sh || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v %v", sh, err)
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err == nil || err.Error() != "origin said no" {
			t.Fatalf("result %v", err)
		}
	}
	if calls.Load() != 1 || shared.Load() != n-1 {
		t.Errorf("%d calls, %d shared", calls.Load(), shared.Load())
	}
	if sh, err := g.Do(context.Background(), "k", func() error { return nil }); sh || err != nil {
		t.Errorf("a later call reused a finished one: %v %v", sh, err)
	}
}
