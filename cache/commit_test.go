package cache

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// commit stores body under key without waiting for the disk.
func commit(t *testing.T, s *Store, m Meta, body []byte) {
	t.Helper()
	w := s.Create(m)
	w.Write(body)
	if err := w.Commit(); err != nil {
		t.Fatalf("commit %s: %v", m.Key, err)
	}
}

// TestCommitServedBeforeDisk: a committed entry is served at once, from
// memory, and Close makes every committed entry durable: none is lost.
func TestCommitServedBeforeDisk(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
		commit(t, s, testMeta(keys[i], "text/html"), bodyFor(keys[i]))
		e, st := s.Lookup(keys[i], "", t0)
		if st != Fresh {
			t.Fatalf("%s: state %v right after Commit", keys[i], st)
		}
		if got, err := read(e, Identity); err != nil || !bytes.Equal(got, bodyFor(keys[i])) {
			t.Fatalf("%s right after Commit: %v", keys[i], err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	defer s.Close()
	for _, k := range keys {
		e, _ := s.Lookup(k, "", t0)
		if e == nil {
			t.Fatalf("%s lost by Close", k)
		}
		if got, err := read(e, Identity); err != nil || !bytes.Equal(got, bodyFor(k)) {
			t.Fatalf("%s after reopening: %v", k, err)
		}
	}
}

// TestChangedBeforeDisk: entries replaced, refreshed or deleted before
// the committer reaches them leave exactly what the index holds on disk.
func TestChangedBeforeDisk(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	put(t, s, testMeta("replaced", "text/html"), []byte("<p>v0</p>"))
	for v := 1; v <= 3; v++ { // replaced on disk, then while queued
		commit(t, s, testMeta("replaced", "text/html"), fmt.Appendf(nil, "<p>v%d</p>", v))
	}
	commit(t, s, testMeta("deleted", "text/html"), []byte("<p>gone</p>"))
	s.Delete("deleted", "")
	commit(t, s, testMeta("refreshed", "text/html"), []byte("<p>r</p>"))
	e, _ := s.Lookup("refreshed", "", t0)
	m := e.Meta
	m.Lifetime = 42 * time.Minute
	if err := s.Refresh(e, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Entries != 2 || st.Bytes != diskUse(t, dir) || st.Unwritten != 0 || st.Waited != 0 {
		t.Errorf("stats %+v, disk %d", st, diskUse(t, dir))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	defer s.Close()
	if e, _ := s.Lookup("deleted", "", t0); e != nil {
		t.Error("a deleted entry came back")
	}
	if e, _ := s.Lookup("replaced", "", t0); e == nil {
		t.Error("replaced entry lost")
	} else if got, err := read(e, Identity); err != nil || string(got) != "<p>v3</p>" {
		t.Errorf("replaced entry: %q, %v; want the last version", got, err)
	}
	if e, _ := s.Lookup("refreshed", "", t0); e == nil || e.Meta.Lifetime != 42*time.Minute {
		t.Errorf("the refresh of an entry not yet on disk was lost")
	}
	if st := s.Stats(); st.Corrupt != 0 || st.Bytes != diskUse(t, dir) {
		t.Errorf("after reopening: stats %+v, disk %d", st, diskUse(t, dir))
	}
}

// TestLargeCommitWaitsForDisk: a body too large for memory is on disk when
// Commit returns, and is read from its file.
func TestLargeCommitWaitsForDisk(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{MemObject: 1000})
	defer s.Close()
	body := bytes.Repeat([]byte("<p>long text</p>"), 1000)
	commit(t, s, testMeta("large", "text/html"), body)
	names := files(t, dir)
	e, _ := s.Lookup("large", "", t0)
	if e == nil {
		t.Fatal("not stored")
	}
	if _, ok := names[shardDir(e.shard)+"/"+e.file]; !ok {
		t.Fatal("Commit returned before the entry file was on disk")
	}
	b, err := e.Open(Identity)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Data != nil {
		t.Error("a body above MemObject served from memory")
	}
	if st := s.Stats(); st.Waited != 1 || st.Unwritten != 0 {
		t.Errorf("Waited %d, Unwritten %d; want 1, 0", st.Waited, st.Unwritten)
	}
}
