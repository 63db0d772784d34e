//go:build unix

package cache

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStartupOddFiles puts files of unexpected types where the Store
// looks at start-up (a folder, a FIFO or a symbolic link out of the
// folder where an entry file, the recency file or the temporary folder
// is expected; an empty entry file; a crash's temporary file) and checks
// that Open neither hangs (opening a FIFO for reading blocks until a
// writer comes) nor reads, serves or removes anything outside its
// folder, that the entry stored before is still served, that the odd
// entry is not, and that the Store keeps storing and saving.
func TestStartupOddFiles(t *testing.T) {
	file, data := seedEntry()
	shard := file[:2]
	goodKey := "https://www.rferl.org/a/good.html"
	// spare is a shard holding neither entry.
	good, _ := entryName(ident{goodKey, ""})
	spare := "ff"
	for _, sh := range []string{"fe", "fd"} {
		if spare == shard || spare == good[:2] {
			spare = sh
		}
	}
	mkfifo := func(t *testing.T, p string) {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	symlink := func(t *testing.T, target, p string) {
		os.RemoveAll(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, outside string)
		fifo  string // a FIFO the Store may block on, relative to dir
		gone  string // what start-up must remove, relative to dir
	}{
		{"folder as entry file", func(t *testing.T, dir, _ string) {
			os.MkdirAll(filepath.Join(dir, shard, file, "x"), 0o700)
		}, "", shard + "/" + file},
		{"FIFO as entry file", func(t *testing.T, dir, _ string) {
			mkfifo(t, filepath.Join(dir, shard, file))
		}, shard + "/" + file, shard + "/" + file},
		{"symlink out as entry file", func(t *testing.T, dir, outside string) {
			symlink(t, filepath.Join(outside, file), filepath.Join(dir, shard, file))
		}, "", shard + "/" + file},
		{"empty entry file", func(t *testing.T, dir, _ string) {
			os.WriteFile(filepath.Join(dir, shard, file), nil, 0o600)
		}, "", shard + "/" + file},
		{"entry file of a crash in tmp", func(t *testing.T, dir, _ string) {
			os.WriteFile(filepath.Join(dir, tmpDir, "3k2j1"), data, 0o600)
		}, "", tmpDir + "/3k2j1"},
		{"FIFO in tmp", func(t *testing.T, dir, _ string) {
			mkfifo(t, filepath.Join(dir, tmpDir, "3k2j1"))
		}, tmpDir + "/3k2j1", tmpDir + "/3k2j1"},
		{"symlink out as tmp", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, tmpDir))
		}, "", ""},
		{"FIFO as recency", func(t *testing.T, dir, _ string) {
			os.Remove(filepath.Join(dir, recencyFile))
			mkfifo(t, filepath.Join(dir, recencyFile))
		}, recencyFile, recencyFile},
		{"folder as recency", func(t *testing.T, dir, _ string) {
			os.Remove(filepath.Join(dir, recencyFile))
			os.MkdirAll(filepath.Join(dir, recencyFile, "x"), 0o700)
		}, "", recencyFile},
		{"symlink out as recency", func(t *testing.T, dir, outside string) {
			symlink(t, filepath.Join(outside, "keep"), filepath.Join(dir, recencyFile))
		}, "", ""},
		{"FIFO as shard", func(t *testing.T, dir, _ string) {
			os.RemoveAll(filepath.Join(dir, spare))
			mkfifo(t, filepath.Join(dir, spare))
		}, spare, ""},
		{"file as shard", func(t *testing.T, dir, _ string) {
			os.RemoveAll(filepath.Join(dir, spare))
			os.WriteFile(filepath.Join(dir, spare), data, 0o600)
		}, "", ""},
		{"symlink out in a shard", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, shard, "elsewhere"))
		}, "", shard + "/elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			good := []byte("the body stored before the odd file came")
			s := openStore(t, dir, Options{})
			put(t, s, testMeta(goodKey, "text/html"), good)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(dir, shard), 0o700)
			os.WriteFile(filepath.Join(outside, "keep"), []byte("not the cache's"), 0o600)
			os.WriteFile(filepath.Join(outside, file), data, 0o600)
			before := files(t, outside)
			tt.setup(t, dir, outside)

			s = openBounded(t, dir, tt.fifo)
			if tt.gone != "" {
				if _, err := os.Lstat(filepath.Join(dir, tt.gone)); err == nil {
					t.Errorf("start-up left %s", tt.gone)
				}
			}
			for _, d := range []string{tmpDir, spare} {
				if fi, err := os.Lstat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
					t.Errorf("folder %s: %v, %v", d, fi, err)
				}
			}
			if e, _ := s.Lookup(fuzzKey, "", t0); e != nil {
				if b, err := read(e, Identity); err == nil {
					t.Errorf("served the odd entry file (%d bytes)", len(b))
				}
			}
			e, _ := s.Lookup(goodKey, "", t0)
			if e == nil {
				t.Fatal("the entry stored before is gone")
			}
			if got, err := read(e, Identity); err != nil || !bytes.Equal(got, good) {
				t.Fatalf("entry stored before: %q, %v", got, err)
			}
			put(t, s, testMeta(fuzzKey, "text/html"), good)
			if e, _ := s.Lookup(fuzzKey, "", t0); e == nil {
				t.Fatal("no new entry stored after start-up")
			} else if got, err := read(e, Identity); err != nil || !bytes.Equal(got, good) {
				t.Fatalf("new entry: %q, %v", got, err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			after := files(t, outside)
			if len(after) != len(before) {
				t.Fatalf("files outside: %v, want %v", after, before)
			}
			for name, size := range before {
				if after[name] != size {
					t.Fatalf("file outside %s: %d bytes, was %d", name, after[name], size)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "keep")); string(b) != "not the cache's" {
				t.Fatalf("file outside changed: %q", b)
			}
		})
	}
}

// openBounded opens a Store on dir and fails the test if that takes more
// than 10 s; fifo names a FIFO (relative to dir) that Open may block on:
// it is then opened for writing, to let the blocked Open go on.
func openBounded(t *testing.T, dir, fifo string) *Store {
	t.Helper()
	type result struct {
		s   *Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Open(dir, Options{})
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("start-up: %v", r.err)
		}
		return r.s
	case <-time.After(10 * time.Second):
	}
	if fifo != "" { // unblock the Open, so that the test can end
		if f, err := os.OpenFile(filepath.Join(dir, fifo), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
	if r := <-done; r.err == nil {
		r.s.Close()
	}
	t.Fatalf("start-up still blocked after 10 s (FIFO %q)", fifo)
	return nil
}
