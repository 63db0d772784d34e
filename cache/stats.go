package cache

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Store's counters.
type Stats struct {
	// Lookups by result: Hits found a fresh entry, Stale a stale one
	// (Stale or StaleIfError), Misses none or an Expired one.
	Hits, Misses, Stale int64
	// Revalidated counts Refresh calls that updated an entry.
	Revalidated int64
	// Stores counts committed entries; TooLarge bodies past the size limit;
	// Evictions entries removed to respect MaxSize; Corrupt damaged entries
	// dropped (at start-up or on Open).
	Stores, TooLarge, Evictions, Corrupt int64
	// Entries and Bytes describe the current contents; Written counts the
	// bytes of all committed bodies.
	Entries, Bytes, Written int64
	// Memory is the size of the copies kept in memory (Options.MemSize).
	Memory int64
	// Unwritten counts the committed entries not yet on disk; Waited the
	// Commits that waited for the disk because their copies could not be
	// kept in memory (too large, or the memory budget was full).
	Unwritten, Waited int64
	// WriteErrors counts the entries and copies not stored because the
	// disk failed them (full, read-only, I/O errors); see Options.Logger.
	WriteErrors int64
}

type counters struct {
	hits, misses, stale, revalidated     atomic.Int64
	stores, tooLarge, evictions, corrupt atomic.Int64
	entries, bytes, written              atomic.Int64
	unwritten, waited, writeErrors       atomic.Int64
}

// Stats returns the current counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load(),
		Revalidated: c.revalidated.Load(),
		Stores:      c.stores.Load(), TooLarge: c.tooLarge.Load(),
		Evictions: c.evictions.Load(), Corrupt: c.corrupt.Load(),
		Entries: c.entries.Load(), Bytes: c.bytes.Load(), Written: c.written.Load(),
		Memory:    s.mem.Load(),
		Unwritten: c.unwritten.Load(), Waited: c.waited.Load(),
		WriteErrors: c.writeErrors.Load(),
	}
}

// clock is a logical clock for recency: a counter, restored at start-up
// from the saved order.
type clock struct{ n atomic.Int64 }

func (c *clock) tick() int64 { return c.n.Add(1) }

// writeLogEvery is the least time between two log lines of writeFailed.
const writeLogEvery = time.Minute

// writeFailed counts an entry or copy the disk refused and logs it, at
// most once every writeLogEvery: a full disk fails every write, and one
// line a minute tells the operator as much as a thousand.
func (s *Store) writeFailed(err error) {
	n := s.stats.writeErrors.Add(1)
	now := time.Now().UnixNano()
	last := s.lastWriteLog.Load()
	if last != 0 && now-last < int64(writeLogEvery) || !s.lastWriteLog.CompareAndSwap(last, now) {
		return
	}
	s.opt.Logger.Warn("cache: cannot write to disk; pages are still served, but not stored", "err", err, "failures", n)
}
