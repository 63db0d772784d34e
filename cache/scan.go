package cache

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

const recencyFile = "recency"

// load prepares the directory and rebuilds the index: it empties the
// temporary folder, opens the shards and loads, for each entry, the newest
// entry file whose footer, manifest and copy offsets check out.
// Everything else (damaged files, older versions, unknown files) is
// removed.
func (s *Store) load() error {
	if err := s.root.RemoveAll(tmpDir); err != nil {
		return err
	}
	if err := s.root.Mkdir(tmpDir, 0o700); err != nil {
		return err
	}
	for i := range s.shards {
		r, err := s.openShard(shardDir(i))
		if err != nil {
			return err
		}
		s.shards[i] = r
		if err := s.loadShard(i); err != nil {
			return err
		}
	}
	s.restoreRecency()
	return nil
}

// openShard opens the shard folder dir, making it if needed. Anything
// else found under its name (a file; a FIFO, whose opening would block)
// is removed first; a symbolic link is refused: it could lead out of the
// folder, or to another shard, whose entries loadShard would remove.
func (s *Store) openShard(dir string) (*os.Root, error) {
	fi, err := s.root.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("shard %s is a symbolic link", dir)
	case !fi.IsDir():
		if err := s.root.Remove(dir); err != nil {
			return nil, err
		}
	}
	if err := s.root.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return s.root.OpenRoot(dir)
}

func (s *Store) loadShard(shard int) error {
	r := s.shards[shard]
	names, err := fs.ReadDir(r.FS(), ".")
	if err != nil {
		return err
	}
	best := map[string]*Entry{} // the newest valid file of each entry
	damaged := map[string]bool{}
	for _, d := range names {
		name, ok := parseEntryFile(d.Name())
		if !ok || !d.Type().IsRegular() {
			continue
		}
		e := s.loadEntry(shard, d.Name())
		if e == nil {
			damaged[name] = true
			continue
		}
		if old := best[name]; old == nil || e.seq > old.seq {
			best[name] = e
		}
	}
	keep := map[string]bool{}
	for name, e := range best {
		keep[e.file] = true
		delete(damaged, name)
		s.index[e.id] = e
		s.stats.entries.Add(1)
		s.stats.bytes.Add(e.size)
		if e.seq > s.seq.Load() {
			s.seq.Store(e.seq)
		}
	}
	s.stats.corrupt.Add(int64(len(damaged)))
	for _, d := range names {
		if !keep[d.Name()] {
			r.RemoveAll(d.Name())
		}
	}
	return nil
}

// loadEntry reads and checks the manifest of one entry file (the copies'
// checksums are checked on first Open).
func (s *Store) loadEntry(shard int, file string) *Entry {
	f, err := s.shards[shard].Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	e, err := readEntryFile(f, file, shard)
	if err != nil {
		return nil
	}
	e.s = s
	e.setModTime()
	e.b.compressible = Compressible(e.Meta.Header.Get("Content-Type"))
	e.b.persisted.Store(true)
	return e
}

// restoreRecency orders the loaded entries: those named in the saved
// recency file in its order (least recent first), then the others, which
// were stored after the last save, by the time their bodies were stored.
func (s *Store) restoreRecency() {
	rank := s.readRecency()
	all := make([]*Entry, 0, len(s.index))
	for _, e := range s.index {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b *Entry) int {
		ra, rb := rank[a.name], rank[b.name]
		switch {
		case ra != 0 && rb != 0:
			return cmp.Compare(ra, rb)
		case ra != 0:
			return -1
		case rb != 0:
			return 1
		}
		return a.b.modified.Compare(b.b.modified)
	})
	for _, e := range all {
		e.used.Store(s.clock.tick())
	}
}

// readRecency returns the place of each indexed entry in the recency
// file (1: least recent). The file is read as a stream and only names of
// the index are kept, so memory does not follow the file's size. A
// recency file that is not a regular file is removed (a FIFO would block
// the start-up, a folder would refuse every save).
func (s *Store) readRecency() map[string]int {
	rank := map[string]int{}
	fi, err := s.root.Lstat(recencyFile)
	if err != nil {
		return rank
	}
	if !fi.Mode().IsRegular() {
		s.root.RemoveAll(recencyFile)
		return rank
	}
	f, err := s.root.Open(recencyFile)
	if err != nil {
		return rank
	}
	defer f.Close()
	names := make(map[string]bool, len(s.index))
	for _, e := range s.index {
		names[e.name] = true
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if name := sc.Text(); names[name] {
			rank[name] = n
		}
	}
	return rank
}

// saveRecency writes the entry names, least recently used first. Losing
// the file only loses recency, so it is renamed into place without fsync.
func (s *Store) saveRecency() error {
	var buf bytes.Buffer
	for _, e := range s.byAge() {
		buf.WriteString(e.name)
		buf.WriteByte('\n')
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return err
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, recencyFile)
	}
	if err != nil {
		s.root.Remove(tmp)
	}
	return err
}
