package cache

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallDisk mounts a 2 MiB tmpfs for the test and returns its path. It
// needs root (CI runs as root); elsewhere the test is skipped.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m,mode=0700"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for range 1 << 10 { // 64 MiB at most: more than the disk holds
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return
		}
	}
	t.Fatal("fill: the disk never filled up")
}

// TestDiskFull: with the disk full, committed entries are not stored (and
// not served from a half-written file), the failures are counted and
// logged once, entries stored before stay readable, and storing works
// again once there is room.
func TestDiskFull(t *testing.T) {
	disk := smallDisk(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s := openStore(t, filepath.Join(disk, "cache"), Options{Logger: logger})
	defer func() { s.Close() }() // the Store open at the end

	before := testMeta("https://www.rferl.org/before", "text/html")
	put(t, s, before, bodyFor("before"))

	filler := filepath.Join(disk, "filler")
	fill(t, filler)
	const failing = 5
	for i := range failing {
		key := "https://www.rferl.org/full-" + string(rune('a'+i))
		w := s.Create(testMeta(key, "text/html"))
		w.Write(bytes.Repeat([]byte("<p>news</p>\n"), 12_000)) // 144 KB: kept in memory
		w.Commit()                                             // in memory at once; the disk refuses it in the background
		if err := s.Flush(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		if e, st := s.Lookup(key, "", t0); e != nil {
			t.Fatalf("%s is %v after its write failed; want a miss", key, st)
		}
	}
	if got := s.Stats().WriteErrors; got < failing {
		t.Errorf("WriteErrors = %d, want at least %d", got, failing)
	}
	if n := strings.Count(logs.String(), "cannot write to disk"); n != 1 {
		t.Errorf("%d log lines for %d failures, want 1:\n%s", n, failing, logs.String())
	}
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("the log does not say why:\n%s", logs.String())
	}
	e, st := s.Lookup(before.Key, "", t0)
	if st != Fresh {
		t.Fatalf("entry stored before the disk filled up: %v", st)
	}
	if got, err := read(e, Identity); err != nil || !bytes.Equal(got, bodyFor("before")) {
		t.Fatalf("entry stored before the disk filled up: %d bytes, %v", len(got), err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	after := testMeta("https://www.rferl.org/after", "text/html")
	put(t, s, after, bodyFor("after"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err == nil {
		t.Error("a second Close reports no error")
	}
	s = openStore(t, filepath.Join(disk, "cache"), Options{Logger: logger})
	for _, m := range []Meta{before, after} {
		e, _ := s.Lookup(m.Key, "", t0)
		if e == nil {
			t.Fatalf("%s lost over a restart", m.Key)
		}
		if got, err := read(e, Identity); err != nil || !bytes.Equal(got, bodyFor(strings.TrimPrefix(m.Key, "https://www.rferl.org/"))) {
			t.Fatalf("%s after a restart: %d bytes, %v", m.Key, len(got), err)
		}
	}
}
