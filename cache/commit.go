package cache

import (
	"errors"
	"slices"
)

// pending is a committed entry on its way to disk, or a barrier (Flush)
// when e is nil.
type pending struct {
	e        *Entry
	sinks    [numEncodings]*sink
	resident bool       // installed in the index already, served from memory
	done     chan error // receives the outcome once persisted (nil: nobody waits)
	written  *Entry     // the version of the entry written to tmp
	tmp      string     // its temporary file
	old      []string   // entry files to remove once this one is durable
	err      error      // why p was not stored
}

// commitBatch bounds the entries made durable together by one round of
// syncs.
const commitBatch = 256

// errStopped is returned for work handed to a closed Store; errReplaced
// when an entry was replaced or removed before it reached the disk.
var (
	errStopped  = errors.New("store closed")
	errReplaced = errors.New("replaced or removed before it was written")
)

// reserveCopies reserves memory for every copy if none was spilled to a
// file and all fit the budget, so that the entry can be served before it
// is on disk.
func (s *Store) reserveCopies(sinks [numEncodings]*sink) bool {
	var reserved int64
	for _, k := range sinks {
		if k == nil {
			continue
		}
		if k.tmp != "" || !s.reserveMem(k.n) {
			s.releaseMem(reserved)
			return false
		}
		reserved += k.n
	}
	return true
}

// install puts a resident entry in the index before it is on disk, with
// its copies in memory. The files of the entry it replaces stay until the
// new file is durable (see persist).
func (s *Store) install(p *pending) {
	e := p.e
	for enc, k := range p.sinks {
		if k != nil {
			data := k.mem // of its exact size (sink.finish)
			e.b.v[enc].mem.Store(&data)
		}
	}
	e.used.Store(s.clock.tick())
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	e.seq = s.seq.Add(1)
	e.b.replaces = s.swapPending(e)
}

// queueCommit hands p to the committer; it waits while the committer is
// behind by a full queue.
func (s *Store) queueCommit(p *pending) error {
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()
	if s.closed {
		if p.resident {
			s.drop(p.e)
		}
		return errStopped
	}
	if p.e != nil {
		s.stats.unwritten.Add(1)
	}
	s.commitQ <- p
	return nil
}

// Flush waits until every entry committed before the call is on disk.
func (s *Store) Flush() error {
	p := &pending{done: make(chan error, 1)}
	if err := s.queueCommit(p); err != nil {
		return err
	}
	return <-p.done
}

// commitLoop makes committed entries durable, a batch at a time, until the
// Store is closed; then it finishes what was queued.
func (s *Store) commitLoop() {
	for {
		select {
		case p := <-s.commitQ:
			s.persistAll(s.collect(p))
		case <-s.stop:
			for {
				select {
				case p := <-s.commitQ:
					s.persistAll(s.collect(p))
				default:
					return
				}
			}
		}
	}
}

// collect returns p and whatever else is queued, up to commitBatch.
func (s *Store) collect(p *pending) []*pending {
	batch := []*pending{p}
	for len(batch) < commitBatch {
		select {
		case q := <-s.commitQ:
			batch = append(batch, q)
		default:
			return batch
		}
	}
	return batch
}

// persistAll persists batch, then again the entries refreshed while
// being written, until none is left.
func (s *Store) persistAll(batch []*pending) {
	for len(batch) > 0 {
		batch = s.persist(batch)
	}
}

// persist makes a batch of entries durable with two file system syncs in
// all, whatever the batch's size:
//
//  1. each entry file is written to tmp/; sync;
//  2. each is renamed into its shard; sync; only then are the files it
//     replaces removed.
//
// So an entry file appears under its name only once it is complete and
// durable, and a replaced file is removed only after its successor is
// durable. An entry dropped or replaced meanwhile (checked under its lock)
// is skipped and its file removed. It returns the entries refreshed while
// their file was written, to be written again.
func (s *Store) persist(batch []*pending) (again []*pending) {
	for _, p := range batch {
		if p.e != nil {
			s.writePending(p)
		}
	}
	err := s.syncAll()
	for _, p := range batch {
		if p.e != nil && p.err == nil && s.place(p, err) {
			again = append(again, p)
		}
	}
	err = s.syncAll()
	for _, p := range batch {
		switch {
		case slices.Contains(again, p):
			continue
		case p.e == nil: // a barrier
		case p.err == nil:
			s.finishCommit(p, err)
		default:
			if !errors.Is(p.err, errReplaced) {
				s.writeFailed(p.err)
			}
			p.cleanup(s)
		}
		if p.e != nil {
			s.stats.unwritten.Add(-1)
		}
		if p.done != nil {
			if p.e == nil {
				p.done <- err
			} else {
				p.done <- p.err
			}
		}
	}
	return again
}

// writePending writes the current version of p's entry to tmp/, if its
// body is still the one to store.
func (s *Store) writePending(p *pending) {
	e := p.e
	if p.resident {
		if e = s.current(p.e.id); e == nil || e.b != p.e.b {
			p.err = errReplaced
			return
		}
	}
	if !p.resident {
		e.seq = s.seq.Add(1)
	}
	p.written = e
	p.tmp, p.err = s.writeEntry(e, &p.sinks, "")
}

// place renames p's file into its shard, under the entry's lock, if its
// body is still wanted; a large entry appears in the index at this
// moment. It reports whether the entry was refreshed while its file was
// written: then that file is dropped, to be written again.
func (s *Store) place(p *pending, syncErr error) (again bool) {
	e := p.e
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	if syncErr != nil {
		p.err = syncErr
		return false
	}
	if p.resident {
		cur := s.current(e.id)
		if cur == nil || cur.b != e.b {
			p.err = errReplaced
			return false
		}
		if cur != p.written {
			s.root.Remove(p.tmp)
			p.tmp = ""
			return true
		}
	}
	if p.err = s.installFile(p.tmp, p.written); p.err != nil {
		return false
	}
	p.tmp = ""
	if p.resident {
		e.b.persisted.Store(true)
		p.old, e.b.replaces = e.b.replaces, nil
		return false
	}
	e.used.Store(s.clock.tick())
	e.b.persisted.Store(true)
	if prev := s.put(e); prev != nil {
		p.old = append(prev.b.replaces, prev.file)
		prev.b.replaces = nil
		prev.b.release(s)
	}
	return false
}

// finishCommit removes the files p's entry replaced, now that its own is
// durable, and lets the memory copies nobody opened go: they are loaded
// again, verified, on their first Open.
func (s *Store) finishCommit(p *pending, syncErr error) {
	if syncErr == nil {
		for _, f := range p.old {
			s.shards[p.e.shard].Remove(f)
		}
	}
	for _, k := range p.sinks {
		if k != nil {
			k.discard()
		}
	}
	if p.resident {
		for _, v := range p.e.b.v {
			if !v.opened.Load() && v.mem.Swap(nil) != nil {
				s.releaseMem(v.size)
			}
		}
	}
}

// cleanup removes what p left behind: temporary files, and for a resident
// entry that could not be written, the entry itself.
func (p *pending) cleanup(s *Store) {
	for _, k := range p.sinks {
		if k != nil {
			k.discard()
		}
	}
	if p.tmp != "" {
		s.root.Remove(p.tmp)
		p.tmp = ""
	}
	if p.resident {
		s.drop(p.e) // not on disk: out of the index too (if still there)
	}
}

// syncAll makes everything written to the cache's file system durable.
func (s *Store) syncAll() error {
	d, err := s.root.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	return syncFS(d)
}
