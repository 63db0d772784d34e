package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
)

const (
	// brotliQueue bounds the entries waiting for their brotli copy; when
	// it is full, a later Lookup asks again.
	brotliQueue = 1024
	// brotliWindow is the log2 of the brotli window: 256 KiB, which bounds
	// the compressor's memory; the pages served are rarely longer.
	brotliWindow = 18
)

var errStopped = errors.New("store closed")

// queueBrotli asks the background worker for e's brotli copy, once per
// stored body. It never blocks.
func (s *Store) queueBrotli(e *Entry) {
	if !e.b.brQueued.CompareAndSwap(false, true) {
		return
	}
	s.brPending.Add(1)
	select {
	case s.brQueue <- e:
	default:
		s.brPending.Add(-1)
		e.b.brQueued.Store(false)
	}
}

// brotliLoop makes the brotli copies asked for, one at a time, until the
// Store is closed. A copy that fails is not asked for again in this
// process; hits serve the gzip copy meanwhile.
func (s *Store) brotliLoop() {
	var bw *brotli.Writer
	for {
		select {
		case <-s.stop:
			return
		case e := <-s.brQueue:
			if bw == nil {
				bw = brotli.NewWriterOptions(io.Discard, brotli.WriterOptions{Quality: s.opt.BrotliLevel, LGWin: brotliWindow})
			}
			s.addBrotli(e, bw)
			s.brPending.Add(-1)
		}
	}
}

// addBrotli compresses e's identity copy and, if e's body is still the
// current one, publishes the entry again with the brotli copy: the file is
// synced and renamed into the shard, then the manifest naming it is
// written and renamed over the old one, as in Commit.
func (s *Store) addBrotli(e *Entry, bw *brotli.Writer) error {
	if !s.isCurrentBody(e) {
		return nil
	}
	out, err := s.newSink()
	if err != nil {
		return err
	}
	bw.Reset(out)
	if err = s.compressIdentity(e, bw); err == nil {
		err = bw.Close()
	}
	if err == nil {
		err = out.close()
	}
	if err == nil {
		err = s.installBrotli(e, out)
	}
	out.discard()
	if err == nil {
		s.evict()
	}
	return err
}

// compressIdentity writes e's identity copy to w, checking it against its
// checksum unless it comes from memory (verified already).
func (s *Store) compressIdentity(e *Entry, w io.Writer) error {
	v := e.b.v[Identity]
	if p := v.mem.Load(); p != nil {
		_, err := io.Copy(w, stopReader{s, bytes.NewReader(*p)})
		return err
	}
	f, err := s.shards[e.shard].Open(v.file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(w, stopReader{s, io.TeeReader(f, h)})
	if err != nil {
		return err
	}
	if n != v.size || [sha256.Size]byte(h.Sum(nil)) != v.sum {
		return fmt.Errorf("verify %s: damaged", v.file) // the next Open drops it
	}
	return nil
}

// installBrotli renames the finished brotli copy into place and publishes
// the entry with it, if e's body is still the current one.
func (s *Store) installBrotli(e *Entry, out *sink) error {
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	cur := s.current(e.id)
	if cur == nil || cur.b != e.b {
		return nil // replaced or removed meanwhile
	}
	b := &bodies{gen: e.b.gen, modified: e.b.modified, v: e.b.v}
	b.brQueued.Store(true)
	v := &variant{file: bodyFile(e.name, b.gen, Brotli), size: out.n, sum: out.sum, etag: etag(out.sum)}
	v.verified.Store(true) // checksummed as written
	b.v[Brotli] = v
	dir := shardDir(e.shard) + "/"
	if err := s.root.Rename(out.tmp, dir+v.file); err != nil {
		return err
	}
	out.tmp = ""
	n := &Entry{Meta: cur.Meta, s: s, id: e.id, name: e.name, shard: e.shard, b: b}
	n.used.Store(cur.used.Load())
	n.setModTime()
	size, err := s.writeManifest(n)
	if err != nil {
		s.shards[e.shard].Remove(v.file)
		return err
	}
	n.msize = size
	n.size = cur.size - blocks(cur.msize) + blocks(size) + blocks(v.size)
	s.mu.Lock()
	s.index[n.id] = n
	s.mu.Unlock()
	s.stats.bytes.Add(n.size - cur.size)
	return nil
}

// isCurrentBody reports whether e's body is the one stored under its key.
func (s *Store) isCurrentBody(e *Entry) bool {
	cur := s.current(e.id)
	return cur != nil && cur.b == e.b
}

// stopReader ends a read when the Store is closed.
type stopReader struct {
	s *Store
	r io.Reader
}

func (r stopReader) Read(p []byte) (int, error) {
	select {
	case <-r.s.stop:
		return 0, errStopped
	default:
	}
	return r.r.Read(p)
}
