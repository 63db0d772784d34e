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
	manifest string     // temporary manifest file, between the two syncs
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

// reserveCopies reserves memory for every copy if all of them are still
// in memory and fit the budget, so that the entry can be served before
// it is on disk.
func (s *Store) reserveCopies(sinks [numEncodings]*sink) bool {
	var reserved int64
	for _, k := range sinks {
		if k == nil {
			continue
		}
		if k.f != nil || k.tmp != "" || !s.reserveMem(k.n) {
			s.releaseMem(reserved)
			return false
		}
		reserved += k.n
	}
	return true
}

// install puts a resident entry in the index before it is on disk, with
// its copies in memory. The bodies it replaces keep their files until the
// new manifest is durable (see persist).
func (s *Store) install(p *pending) {
	e := p.e
	for enc, k := range p.sinks {
		if k != nil {
			data := k.mem[:k.n:k.n]
			if int64(cap(k.mem)) > k.n+k.n/4 { // what append left spare would go uncounted
				data = slices.Clone(data)
			}
			e.b.v[enc].mem.Store(&data)
		}
	}
	e.used.Store(s.clock.tick())
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
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
			s.persist(s.collect(p))
		case <-s.stop:
			for {
				select {
				case p := <-s.commitQ:
					s.persist(s.collect(p))
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

// persist makes a batch of entries durable with three file system syncs in
// all, whatever the batch's size:
//
//  1. every copy is written to tmp/; sync;
//  2. the copies are renamed into their shard and each manifest is
//     written to tmp/; sync;
//  3. each manifest is renamed over the old one; sync; only then are the
//     replaced bodies removed.
//
// So a manifest is renamed into place only after its bodies are durable,
// and replaced bodies are removed only after the manifest replacing them
// is. An entry dropped or replaced meanwhile (checked under its lock) is
// skipped and its files removed.
func (s *Store) persist(batch []*pending) {
	for _, p := range batch {
		if p.e != nil && s.stillWanted(p) {
			p.err = p.writeCopies()
		}
	}
	err := s.syncAll()
	for _, p := range batch {
		if p.e != nil && p.err == nil {
			s.placeCopies(p, err)
		}
	}
	err = s.syncAll()
	for _, p := range batch {
		if p.e != nil && p.err == nil {
			s.placeManifest(p, err)
		}
	}
	err = s.syncAll()
	for _, p := range batch {
		switch {
		case p.e == nil: // a barrier
		case p.err == nil:
			s.finishCommit(p, err)
		default:
			p.cleanup(s)
		}
		if p.done != nil {
			if p.e == nil {
				p.done <- err
			} else {
				p.done <- p.err
			}
		}
	}
}

// stillWanted reports whether p's body is still the one to store (it may
// have been dropped or replaced while queued).
func (s *Store) stillWanted(p *pending) bool {
	if !p.resident {
		return true
	}
	if s.isCurrentBody(p.e) {
		return true
	}
	p.err = errReplaced
	return false
}

func (p *pending) writeCopies() error {
	for _, k := range p.sinks {
		if k != nil {
			if err := k.close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// placeCopies renames p's copies into its shard and writes its manifest
// to tmp/, under the entry's lock, if its body is still wanted.
func (s *Store) placeCopies(p *pending, syncErr error) {
	e := p.e
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	cur, err := s.wanted(p, syncErr)
	if err != nil {
		p.err = err
		return
	}
	dir := shardDir(e.shard) + "/"
	for enc, k := range p.sinks {
		if k == nil {
			continue
		}
		if err := s.root.Rename(k.tmp, dir+e.b.v[enc].file); err != nil {
			p.err = err
			return
		}
		k.tmp = ""
	}
	p.manifest, p.err = s.writeTemp(cur)
}

// placeManifest renames p's manifest over the old one, if p's body is
// still wanted; a large entry appears in the index at this moment.
func (s *Store) placeManifest(p *pending, syncErr error) {
	e := p.e
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	if _, p.err = s.wanted(p, syncErr); p.err != nil {
		return
	}
	if p.err = s.root.Rename(p.manifest, shardDir(e.shard)+"/"+e.name+manifestExt); p.err != nil {
		return
	}
	p.manifest = ""
	e.b.persisted.Store(true)
	if !p.resident {
		e.used.Store(s.clock.tick())
		s.swap(e, nil)
	}
}

// wanted returns the entry whose manifest p writes (the current one, which
// may have been refreshed since the Commit), or why p is not to be
// written. The caller holds the entry's key lock.
func (s *Store) wanted(p *pending, syncErr error) (*Entry, error) {
	if syncErr != nil {
		return nil, syncErr
	}
	if !p.resident {
		return p.e, nil
	}
	cur := s.current(p.e.id)
	if cur == nil || cur.b != p.e.b {
		return nil, errReplaced
	}
	return cur, nil
}

// finishCommit removes the bodies p's entry replaced, now that its
// manifest is durable, and lets the memory copies of an entry nobody read
// go: they are loaded again, verified, on its first Open.
func (s *Store) finishCommit(p *pending, syncErr error) {
	b := p.e.b
	mu := s.keyLock(p.e.shard)
	mu.Lock()
	old := b.replaces
	b.replaces = nil
	mu.Unlock()
	if old != nil && syncErr == nil {
		s.removeFiles(p.e.shard, old)
	}
	if p.resident && !b.read.Load() {
		b.releaseMemory(s)
	}
}

// cleanup removes what p left behind: temporary files, copies already
// renamed into the shard, and for a resident entry that could not be
// written, the entry itself. File names hold a random generation, so none
// of these is a file of another Commit.
func (p *pending) cleanup(s *Store) {
	for enc, k := range p.sinks {
		if k == nil {
			continue
		}
		if k.tmp == "" && k.f == nil && p.e.b.v[enc].file != "" {
			s.shards[p.e.shard].Remove(p.e.b.v[enc].file)
		}
		k.discard()
	}
	if p.manifest != "" {
		s.root.Remove(p.manifest)
		p.manifest = ""
	}
	if p.resident {
		s.drop(p.e) // not on disk: out of the index too (if still there)
	}
}

// writeTemp writes e's manifest to a new temporary file, unsynced, and
// returns its name.
func (s *Store) writeTemp(e *Entry) (string, error) {
	data, err := encodeManifest(e)
	if err != nil {
		return "", err
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(tmp)
		return "", err
	}
	return tmp, nil
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
