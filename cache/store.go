package cache

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Store. Zero fields take the defaults.
type Options struct {
	// MaxSize bounds the disk use of all entries (default 1 GiB). Files in
	// flight (being written) are not counted.
	MaxSize int64
	// MaxObject bounds the identity body of one entry (default 64 MiB);
	// a longer body is not stored. An entry larger than MaxSize/4 on disk is
	// not stored either.
	MaxObject int64
	// GzipLevel and BrotliLevel set the compression levels of the copies
	// the Store makes itself, in the background, when a reader asks for
	// them (defaults 6 and 6); a negative level makes no such copy. Copies
	// handed to Writer.Encoded are stored as they come.
	GzipLevel, BrotliLevel int
	// MemSize bounds the bytes of stored copies kept in memory, so that hits
	// on them open no file (default 64 MiB; negative: none). MemObject is
	// the largest copy kept there (default 256 KiB). A copy is kept from its
	// Commit until it is on disk, and from its first Open in the process,
	// which verifies it, while the budget allows; it is released when its
	// entry is replaced or removed, or, when the budget is full, to make
	// room for copies read now: the copies of the least recently used
	// entries on disk go first (see shedMemory). Entries whose copies do
	// not fit are served only once on disk (see the package documentation).
	MemSize, MemObject int64
	// SaveEvery is how often the recency order is saved (default 1 minute);
	// it is saved on Close too.
	SaveEvery time.Duration
	// Logger receives the failures no caller hears of: entries that could
	// not be written to disk in the background (a full or failing disk), at
	// most one line a minute (default slog.Default()). Stats.WriteErrors
	// counts them all.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxSize <= 0 {
		o.MaxSize = 1 << 30
	}
	if o.MaxObject <= 0 {
		o.MaxObject = 64 << 20
	}
	if o.GzipLevel == 0 {
		o.GzipLevel = 6
	}
	if o.BrotliLevel == 0 {
		o.BrotliLevel = 6
	}
	if o.MemSize == 0 {
		o.MemSize = 64 << 20
	}
	if o.MemObject <= 0 {
		o.MemObject = 256 << 10
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

const (
	numShards = 256
	numLocks  = 64
	tmpDir    = "tmp"
)

// Store is an on-disk cache of response bodies with an in-memory index. Its
// methods are safe for concurrent use.
type Store struct {
	opt    Options
	root   *os.Root
	shards [numShards]*os.Root

	mu    sync.RWMutex
	index map[ident]*Entry
	// keyLocks serialise the changes of an entry (index and files).
	keyLocks [numLocks]sync.Mutex
	evictMu  sync.Mutex

	stats counters
	// lastWriteLog is when writeFailed last logged (Unix nanoseconds).
	lastWriteLog atomic.Int64
	clock        clock
	// seq numbers the entry files written, to tell the newest file of an
	// entry at start-up.
	seq atomic.Uint64
	// mem is the number of bytes of memory copies (Options.MemSize).
	mem atomic.Int64
	// shedQ asks shedLoop to make room in the memory budget.
	shedQ chan struct{}
	// copyQ holds the copies asked for by readers (see Entry.Choose);
	// copyPending counts them, including the one being made.
	copyQ       chan copyJob
	copyPending atomic.Int64

	// commitQ feeds the committer (see persist); commitMu and closed keep
	// commits from reaching a closed Store.
	commitQ  chan *pending
	commitMu sync.RWMutex
	closed   bool

	stop chan struct{}
	wg   sync.WaitGroup // saveLoop, copyLoop and commitLoop
}

type ident struct{ key, variant string }

// Open opens (creating it if needed) the cache directory dir, removes what
// a crash left behind and rebuilds the index from the entry files found.
func Open(dir string, opt Options) (*Store, error) {
	opt.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	s := &Store{opt: opt, root: root, index: make(map[ident]*Entry),
		copyQ: make(chan copyJob, copyQueue), commitQ: make(chan *pending, commitBatch),
		shedQ: make(chan struct{}, 1),
		stop:  make(chan struct{})}
	if err := s.load(); err != nil {
		s.closeRoots()
		return nil, fmt.Errorf("cache: open %s: %w", dir, err)
	}
	s.evict()
	s.wg.Go(s.saveLoop)
	s.wg.Go(s.copyLoop)
	s.wg.Go(s.commitLoop)
	s.wg.Go(s.shedLoop)
	return s, nil
}

// Close makes every committed entry durable, stops the background work (a
// copy being made is given up), saves the recency order and releases the
// directory. Entries and bodies already handed out stay readable. Closing
// a closed Store does nothing and reports errStopped.
func (s *Store) Close() error {
	s.commitMu.Lock()
	if s.closed {
		s.commitMu.Unlock()
		return errStopped
	}
	s.closed = true
	s.commitMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	err := s.saveRecency()
	s.closeRoots()
	return err
}

func (s *Store) closeRoots() {
	for _, r := range s.shards {
		if r != nil {
			r.Close()
		}
	}
	s.root.Close()
}

func (s *Store) saveLoop() {
	t := time.NewTicker(s.opt.SaveEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.saveRecency() // best effort: recency is advisory
		}
	}
}

// Lookup returns the entry stored under key and variant with its state at
// now (Miss and a nil Entry when there is none), and marks it recently used.
// It does no I/O and does not allocate.
func (s *Store) Lookup(key, variant string, now time.Time) (*Entry, State) {
	s.mu.RLock()
	e := s.index[ident{key, variant}]
	s.mu.RUnlock()
	if e == nil {
		s.stats.misses.Add(1)
		return nil, Miss
	}
	e.used.Store(s.clock.tick())
	st := e.Meta.Freshness(now)
	switch st {
	case Fresh:
		s.stats.hits.Add(1)
	case Stale, StaleIfError:
		s.stats.stale.Add(1)
	default:
		s.stats.misses.Add(1)
	}
	return e, st
}

// Refresh replaces the metadata of e after a successful revalidation (see
// Policy.Revalidated) without touching its bodies. m must keep e's Key and
// Variant. If e has been replaced or removed meanwhile, Refresh does
// nothing and returns nil.
func (s *Store) Refresh(e *Entry, m Meta) error {
	if m.Key != e.Meta.Key || m.Variant != e.Meta.Variant {
		return fmt.Errorf("cache: refresh entry %s: the key changed", e.name)
	}
	cur, n, done := s.refreshInMemory(e, m)
	if !done {
		if err := s.rewrite(cur, n, nil); err != nil {
			return fmt.Errorf("cache: refresh entry %s: %w", e.name, err)
		}
	}
	s.stats.revalidated.Add(1)
	return nil
}

// refreshInMemory makes n, e with metadata m, and installs it at once if
// the current entry is not on disk yet (the committer writes the current
// version); else it returns the current entry and n, for rewrite. It
// reports done when there is nothing more to do.
func (s *Store) refreshInMemory(e *Entry, m Meta) (cur, n *Entry, done bool) {
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	// cur is e, or e with a copy added since.
	if cur = s.currentCommit(e); cur == nil {
		return nil, nil, true
	}
	n = &Entry{Meta: m, s: s, id: e.id, name: e.name, shard: e.shard, b: cur.b}
	n.used.Store(s.clock.tick())
	n.setModTime()
	if cur.b.persisted.Load() {
		return cur, n, false
	}
	n.file, n.gen, n.seq = cur.file, cur.gen, s.seq.Add(1)
	n.size = fileSize(n)
	s.put(n)
	return cur, n, true
}

// rewrite replaces cur, which is on disk, by n, a new version of it (new
// metadata, or a copy added): n's file is written and synced, then, under
// the entry's lock and only if cur is still the current entry, renamed
// into place and n installed; cur's file is removed once the rename is
// durable. The copies come from memory, sinks, or cur's file. The caller
// must not hold the entry's lock.
func (s *Store) rewrite(cur, n *Entry, sinks *[numEncodings]*sink) error {
	n.gen, n.seq = newGen(), s.seq.Add(1)
	n.file = entryFile(n.name, n.gen)
	n.size = fileSize(n)
	tmp, err := s.writeEntry(n, sinks, cur.file)
	if err == nil {
		err = s.syncAll()
	}
	if err == nil {
		var placed bool
		if placed, err = s.placeVersion(cur, n, tmp); placed {
			syncDir(s.shards[n.shard])
			s.shards[cur.shard].Remove(cur.file)
			return nil
		}
	}
	s.root.Remove(tmp)
	return err
}

// placeVersion renames n's file into place and installs n, if cur is
// still the current entry.
func (s *Store) placeVersion(cur, n *Entry, tmp string) (bool, error) {
	mu := s.keyLock(n.shard)
	mu.Lock()
	defer mu.Unlock()
	if s.current(n.id) != cur {
		return false, nil // changed meanwhile: this version is stale
	}
	if err := s.installFile(tmp, n); err != nil {
		return false, err
	}
	n.b.persisted.Store(true)
	s.put(n)
	return true, nil
}

// Delete removes the entry stored under key and variant, if any.
func (s *Store) Delete(key, variant string) {
	if e := s.current(ident{key, variant}); e != nil {
		s.drop(e)
	}
}

func (s *Store) current(id ident) *Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index[id]
}

// swapPending installs n, whose file is not on disk yet, and returns the
// entry files to remove once n's is durable: that of the entry it replaces
// if on disk, and those that entry was to replace. The replaced bodies are
// released at once. The caller holds n's key lock.
func (s *Store) swapPending(n *Entry) []string {
	prev := s.put(n)
	if prev == nil {
		return nil
	}
	prev.b.release(s)
	old := prev.b.replaces
	prev.b.replaces = nil
	if prev.b.persisted.Load() {
		old = append(old, prev.file)
	}
	// Otherwise prev's own commit finds it replaced and removes its file.
	return old
}

// put sets the index entry of n.id to n, adjusts the counters and returns
// the entry it replaced. The caller holds n's key lock.
func (s *Store) put(n *Entry) (prev *Entry) {
	s.mu.Lock()
	prev = s.index[n.id]
	s.index[n.id] = n
	s.mu.Unlock()
	s.stats.bytes.Add(n.size)
	if prev == nil {
		s.stats.entries.Add(1)
		return nil
	}
	s.stats.bytes.Add(-prev.size)
	return prev
}

// drop removes e from the index and the disk if it is still current.
func (s *Store) drop(e *Entry) bool {
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	s.mu.Lock()
	if s.index[e.id] != e {
		s.mu.Unlock()
		return false
	}
	delete(s.index, e.id)
	s.mu.Unlock()
	s.stats.entries.Add(-1)
	s.stats.bytes.Add(-e.size)
	// An entry not on disk yet has no file there, but the files of the
	// entry it replaces are still there.
	s.shards[e.shard].Remove(e.file)
	for _, f := range e.b.replaces {
		s.shards[e.shard].Remove(f)
	}
	e.b.replaces = nil
	e.b.release(s)
	return true
}

// reserveMem reserves memory for a copy of n bytes if it may be kept in
// memory.
func (s *Store) reserveMem(n int64) bool {
	if n > s.opt.MemObject || s.opt.MemSize < 0 {
		return false
	}
	if s.mem.Add(n) > s.opt.MemSize {
		s.mem.Add(-n)
		return false
	}
	return true
}

func (s *Store) releaseMem(n int64) { s.mem.Add(-n) }

// evict removes least recently used entries while the total size exceeds
// MaxSize, down to 7/8 of it so that evictions come in batches.
func (s *Store) evict() {
	if s.stats.bytes.Load() <= s.opt.MaxSize {
		return
	}
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	low := s.opt.MaxSize - s.opt.MaxSize/8
	if s.stats.bytes.Load() <= s.opt.MaxSize {
		return
	}
	for _, e := range s.byAge() {
		if s.stats.bytes.Load() <= low {
			return
		}
		if s.drop(e) {
			s.stats.evictions.Add(1)
		}
	}
}

// shedEvery is the least time between two sheddings of memory copies: each
// sorts every entry by age.
const shedEvery = time.Second

// makeRoom asks, without waiting, for memory copies to be let go because
// one a reader opened did not fit the budget.
func (s *Store) makeRoom() {
	select {
	case s.shedQ <- struct{}{}:
	default: // asked already
	}
}

// shedLoop sheds memory copies when asked, at most once per shedEvery,
// until the Store is closed.
func (s *Store) shedLoop() {
	for {
		select {
		case <-s.stop:
			return
		case <-s.shedQ:
			s.shedMemory()
		}
		select {
		case <-s.stop:
			return
		case <-time.After(shedEvery):
		}
	}
}

// shedMemory lets go of the memory copies of the least recently used
// entries until the copies kept take at most 7/8 of Options.MemSize. Only
// entries on disk lose theirs (an entry not written yet has no other);
// their next hit is served from the file, and its first Open keeps the
// copy again if there is room.
func (s *Store) shedMemory() {
	low := s.opt.MemSize - s.opt.MemSize/8
	if s.mem.Load() <= low {
		return
	}
	for _, e := range s.byAge() {
		if s.mem.Load() <= low {
			return
		}
		if e.b.persisted.Load() {
			e.b.releaseMemory(s)
		}
	}
}

// byAge returns the entries, least recently used first.
func (s *Store) byAge() []*Entry {
	s.mu.RLock()
	all := make([]*Entry, 0, len(s.index))
	for _, e := range s.index {
		all = append(all, e)
	}
	s.mu.RUnlock()
	slices.SortFunc(all, func(a, b *Entry) int { return cmp.Compare(a.used.Load(), b.used.Load()) })
	return all
}

// keyLock returns the lock serialising the changes of entries in a
// shard.
func (s *Store) keyLock(shard int) *sync.Mutex {
	return &s.keyLocks[shard%numLocks]
}

// entryName returns the file name stem of an entry: 32 hex digits of the
// SHA-256 of key and variant. Names never contain anything of the key, so
// no key can reach outside the cache directory.
func entryName(id ident) (name string, shard int) {
	h := sha256.New()
	h.Write([]byte(id.key))
	h.Write([]byte{0})
	h.Write([]byte(id.variant))
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16]), int(sum[0])
}

func shardDir(i int) string { return fmt.Sprintf("%02x", i) }

var errClosed = errors.New("cache: writer already committed or aborted")
