package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

const (
	// copyQueue bounds the copies waiting to be made; when it is full, a
	// later Choose asks again.
	copyQueue = 1024
	// brotliWindow is the log2 of the brotli window: 256 KiB, which bounds
	// the compressor's memory; the pages served are rarely longer.
	brotliWindow = 18
)

// copyJob asks for the copy of an entry's body in one encoding.
type copyJob struct {
	e   *Entry
	enc Encoding
}

// compressor is what gzip.Writer and brotli.Writer have in common.
type compressor interface {
	io.WriteCloser
	Reset(io.Writer)
}

// queueCopy asks the background worker for e's copy in enc, once per
// stored body, if e is on disk and wants such a copy. It never blocks.
func (s *Store) queueCopy(e *Entry, enc Encoding) {
	b := e.b
	if !b.compressible || !b.persisted.Load() || s.level(enc) < 0 || !b.queued[enc].CompareAndSwap(false, true) {
		return
	}
	s.copyPending.Add(1)
	select {
	case s.copyQ <- copyJob{e, enc}:
	default:
		s.copyPending.Add(-1)
		b.queued[enc].Store(false)
	}
}

func (s *Store) level(enc Encoding) int {
	switch enc {
	case Gzip:
		return s.opt.GzipLevel
	case Brotli:
		return s.opt.BrotliLevel
	}
	return -1
}

// copyLoop makes the copies asked for, one at a time, until the Store is
// closed. A copy that fails is not asked for again in this process; hits
// serve another copy meanwhile.
func (s *Store) copyLoop() {
	var compressors [numEncodings]compressor
	for {
		select {
		case <-s.stop:
			return
		case job := <-s.copyQ:
			c := compressors[job.enc]
			if c == nil {
				var err error
				if c, err = s.newCompressor(job.enc); err != nil {
					s.copyPending.Add(-1)
					continue
				}
				compressors[job.enc] = c
			}
			s.addCopy(job.e, job.enc, c)
			s.copyPending.Add(-1)
		}
	}
}

func (s *Store) newCompressor(enc Encoding) (compressor, error) {
	if enc == Brotli {
		return brotli.NewWriterOptions(io.Discard, brotli.WriterOptions{Quality: s.opt.BrotliLevel, LGWin: brotliWindow}), nil
	}
	zw, err := gzip.NewWriterLevel(io.Discard, s.opt.GzipLevel)
	if err != nil {
		return nil, fmt.Errorf("gzip level %d: %w", s.opt.GzipLevel, err)
	}
	return zw, nil
}

// addCopy compresses e's identity copy and, if e's body is still the
// current one, stores the entry again with the new copy (see rewrite).
func (s *Store) addCopy(e *Entry, enc Encoding, c compressor) error {
	if e = s.currentCommit(e); e == nil || e.Has(enc) {
		return nil
	}
	out := s.newSink()
	defer out.discard()
	var diskErr error // out's, as opposed to the compressor's or the reading's
	c.Reset(writerFunc(func(p []byte) error {
		diskErr = out.write(p)
		return diskErr
	}))
	err := s.compressIdentity(e, c)
	if err == nil {
		err = c.Close()
	}
	if err == nil {
		err = out.finish()
		diskErr = err
	}
	if err == nil {
		err = s.installCopy(e, enc, out)
		diskErr = err
	}
	if diskErr != nil && !errors.Is(diskErr, errStopped) {
		s.writeFailed(diskErr)
	}
	if err == nil {
		s.evict()
	}
	return err
}

type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// compressIdentity writes e's identity copy to w, checking it against its
// checksum unless it comes from memory (verified already).
func (s *Store) compressIdentity(e *Entry, w io.Writer) error {
	v := e.b.v[Identity]
	if p := v.mem.Load(); p != nil {
		_, err := io.Copy(w, stopReader{s, bytes.NewReader(*p)})
		return err
	}
	f, err := s.shards[e.shard].Open(e.file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(w, stopReader{s, io.TeeReader(io.NewSectionReader(f, v.off, v.size), h)})
	if err != nil {
		return err
	}
	if n != v.size || [sha256.Size]byte(h.Sum(nil)) != v.sum {
		return fmt.Errorf("verify %s: damaged", e.file) // the next Open drops it
	}
	return nil
}

// installCopy stores the entry again with the finished copy appended to
// its file, if e's body is still the current one.
func (s *Store) installCopy(e *Entry, enc Encoding, out *sink) error {
	cur := s.currentCommit(e)
	if cur == nil || cur.Has(enc) || !cur.b.persisted.Load() {
		return nil // replaced or removed meanwhile
	}
	b := &bodies{modified: cur.b.modified, v: cur.b.v, compressible: true}
	for i := range b.queued {
		b.queued[i].Store(cur.b.queued[i].Load())
	}
	v := &variant{off: cur.b.end(), size: out.n, sum: out.sum, etag: etag(out.sum)}
	v.verified.Store(true) // checksummed as written
	b.v[enc] = v
	n := &Entry{Meta: cur.Meta, s: s, id: e.id, name: e.name, shard: e.shard, b: b}
	n.used.Store(cur.used.Load())
	n.setModTime()
	var sinks [numEncodings]*sink
	sinks[enc] = out
	return s.rewrite(cur, n, &sinks)
}

// currentCommit returns the entry stored under e's key if it holds the
// bodies of the same Commit as e (with copies added since, perhaps), or nil.
func (s *Store) currentCommit(e *Entry) *Entry {
	cur := s.current(e.id)
	if cur == nil || cur.b.v[Identity] != e.b.v[Identity] {
		return nil
	}
	return cur
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
