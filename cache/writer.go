package cache

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ErrTooLarge is returned by Writer.Commit when the body passed the
// per-object size limit; nothing was stored.
var ErrTooLarge = errors.New("cache: body too large to store")

// Writer stores one entry as its body streams in. Write never fails, so a
// Writer can sit in an io.MultiWriter beside the reader's response: a disk
// error or a body past the size limit only makes Commit store nothing and
// report why. Exactly one of Commit or Abort must be called.
type Writer struct {
	s     *Store
	e     *Entry
	id    *sink // the identity copy, written in the caller's goroutine
	enc   []*encoder
	chunk []byte
	n     int64
	err   error // first failure; sticky
	done  bool
}

// chunkSize is the unit handed to the encoders; encQueue chunks may wait
// for each, so a body up to 256 KiB never waits for compression.
const (
	chunkSize = 32 << 10
	encQueue  = 8
)

// Create starts storing an entry with metadata m (normally from
// Policy.Meta). Besides the identity copy, a gzip copy is made while the
// body streams in if m's Content-Type is Compressible; the brotli copy is
// made after Commit, in the background. If the
// temporary files cannot be created the Writer is already failed and
// Commit will say why.
func (s *Store) Create(m Meta) *Writer {
	id := ident{m.Key, m.Variant}
	name, shard := entryName(id)
	w := &Writer{s: s, e: &Entry{Meta: m, s: s, id: id, name: name, shard: shard, b: newBodies("", time.Time{})}}
	w.id, w.err = s.newSink()
	if w.err != nil || !Compressible(m.Header.Get("Content-Type")) {
		return w
	}
	w.e.b.wantBr = s.opt.BrotliLevel >= 0
	if s.opt.GzipLevel >= 0 {
		e, err := s.newEncoder(Gzip, s.opt.GzipLevel)
		if err != nil {
			w.fail(err)
			return w
		}
		w.enc = append(w.enc, e)
	}
	return w
}

// Write adds p to the body. It always returns len(p), nil.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil || w.done {
		return len(p), nil
	}
	w.n += int64(len(p))
	if w.n > w.s.opt.MaxObject {
		w.fail(ErrTooLarge)
		return len(p), nil
	}
	for rest := p; len(rest) > 0; {
		if w.chunk == nil {
			w.chunk = make([]byte, 0, chunkSize)
		}
		k := min(len(rest), cap(w.chunk)-len(w.chunk))
		w.chunk = append(w.chunk, rest[:k]...)
		rest = rest[k:]
		if len(w.chunk) == cap(w.chunk) {
			w.flushChunk()
		}
	}
	return len(p), nil
}

// flushChunk writes the pending chunk to the identity file and hands it
// to the encoders, which only read it.
func (w *Writer) flushChunk() {
	if len(w.chunk) == 0 {
		return
	}
	if _, err := w.id.Write(w.chunk); err != nil {
		w.fail(err)
		return
	}
	for _, e := range w.enc {
		e.ch <- w.chunk
	}
	w.chunk = nil
}

// fail records the first error and releases the temporary files early.
func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
		w.cleanup()
	}
}

// Abort discards the entry (e.g. the origin failed mid-body).
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.fail(errors.New("aborted"))
}

func (w *Writer) cleanup() {
	for _, e := range w.enc {
		e.abort.Store(true)
		e.stop()
		e.discard()
	}
	w.enc = nil
	if w.id != nil {
		w.id.discard()
	}
}

// Commit finishes the copies, makes them durable and publishes the entry:
// body files are fsynced and renamed into place, then the manifest is
// written and renamed over the old one, which is the moment the entry
// appears (to this process and after a restart). It returns ErrTooLarge if
// the body passed the size limit, or the error that stopped the Writer;
// in both cases nothing is stored.
func (w *Writer) Commit() error {
	if w.done {
		return errClosed
	}
	w.done = true
	if w.err == nil {
		w.flushChunk()
	}
	if w.err != nil {
		return w.failed()
	}
	err := w.finish()
	if err == nil {
		err = w.publish()
	}
	if err != nil {
		w.fail(err)
		return w.failed()
	}
	w.s.stats.stores.Add(1)
	w.s.stats.written.Add(w.n)
	w.s.evict()
	if w.e.b.wantBr {
		w.s.queueBrotli(w.e)
	}
	return nil
}

func (w *Writer) failed() error {
	if errors.Is(w.err, ErrTooLarge) {
		w.s.stats.tooLarge.Add(1)
		return ErrTooLarge
	}
	return fmt.Errorf("cache: store entry %s: %w", w.e.name, w.err)
}

// finish waits for the encoders and syncs every temporary file.
func (w *Writer) finish() error {
	for _, e := range w.enc {
		e.finish.Store(true) // the encoders sync their files in parallel
		e.end()
	}
	err := w.id.close()
	total := blocks(w.id.n)
	for _, e := range w.enc {
		e.stop()
		err = errors.Join(err, e.err)
		total += blocks(e.out.n)
	}
	if err != nil {
		return err
	}
	if total > w.s.opt.MaxSize/4 {
		return ErrTooLarge
	}
	return nil
}

// publish renames the bodies into place, writes the manifest and installs
// the entry in the index.
func (w *Writer) publish() error {
	s, e := w.s, w.e
	b := e.b
	b.gen = strconv.FormatUint(rand.Uint64(), 36)
	b.modified = time.Now().UTC().Truncate(time.Second)
	sinks := map[Encoding]*sink{Identity: w.id}
	for _, c := range w.enc {
		sinks[c.enc] = c.out
	}
	dir := shardDir(e.shard) + "/"
	for enc, k := range sinks {
		v := b.v[enc]
		v.file, v.size, v.etag = bodyFile(e.name, b.gen, enc), k.n, etag(k.sum)
		v.sum = k.sum
		v.verified.Store(true) // checksummed as written
		if err := s.root.Rename(k.tmp, dir+v.file); err != nil {
			s.removeBodies(e)
			return err
		}
		k.tmp = ""
		e.size += blocks(k.n)
	}
	mu := s.keyLock(e.shard)
	mu.Lock()
	defer mu.Unlock()
	n, err := s.writeManifest(e)
	if err != nil {
		s.removeBodies(e)
		return err
	}
	e.msize = n
	e.size += blocks(n)
	e.used.Store(s.clock.tick())
	e.setModTime()
	s.swap(e, nil)
	return nil
}

// sink is a temporary file being written, with its running checksum and
// length.
type sink struct {
	s   *Store
	tmp string // name under the root; "" once renamed
	f   *os.File
	bw  *bufio.Writer
	h   hash.Hash
	n   int64
	sum [sha256.Size]byte
}

func (s *Store) newSink() (*sink, error) {
	tmp, f, err := s.createTemp()
	if err != nil {
		return nil, err
	}
	return &sink{s: s, tmp: tmp, f: f, bw: bufio.NewWriterSize(f, chunkSize), h: sha256.New()}, nil
}

func (k *sink) Write(p []byte) (int, error) {
	k.h.Write(p)
	k.n += int64(len(p))
	return k.bw.Write(p)
}

// close flushes, syncs and closes the file, keeping it for the rename.
func (k *sink) close() error {
	k.sum = [sha256.Size]byte(k.h.Sum(nil))
	err := k.bw.Flush()
	if err == nil {
		err = k.f.Sync()
	}
	if cerr := k.f.Close(); err == nil {
		err = cerr
	}
	k.f = nil
	return err
}

// discard closes and removes the temporary file, if still there.
func (k *sink) discard() {
	if k.f != nil {
		k.f.Close()
		k.f = nil
	}
	if k.tmp != "" {
		k.s.root.Remove(k.tmp)
		k.tmp = ""
	}
}

// createTemp creates a new file in the temporary folder.
func (s *Store) createTemp() (string, *os.File, error) {
	for range 10 {
		name := tmpDir + "/" + strconv.FormatUint(rand.Uint64(), 36)
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, errors.New("cannot create a temporary file")
}

// encoder compresses the chunks it receives into a sink, in its own
// goroutine.
type encoder struct {
	s      *Store
	enc    Encoding
	out    *sink
	w      io.WriteCloser
	ch     chan []byte
	done   chan struct{}
	closed bool
	abort  atomic.Bool
	finish atomic.Bool // sync the output when the input ends
	err    error
}

// end closes the input.
func (e *encoder) end() {
	if !e.closed {
		e.closed = true
		close(e.ch)
	}
}

// stop ends the input and waits for the encoder to finish.
func (e *encoder) stop() {
	e.end()
	<-e.done
}

func (s *Store) newEncoder(enc Encoding, level int) (*encoder, error) {
	out, err := s.newSink()
	if err != nil {
		return nil, err
	}
	e := &encoder{s: s, enc: enc, out: out, ch: make(chan []byte, encQueue), done: make(chan struct{})}
	if p, ok := s.pools[enc].Get().(*gzip.Writer); ok {
		p.Reset(out)
		e.w = p
	} else {
		e.w, err = gzip.NewWriterLevel(out, level)
	}
	if err != nil {
		out.discard()
		return nil, fmt.Errorf("gzip level %d: %w", level, err)
	}
	go e.run()
	return e, nil
}

func (e *encoder) run() {
	defer close(e.done)
	for p := range e.ch {
		if e.err == nil && !e.abort.Load() {
			_, e.err = e.w.Write(p)
		}
	}
	if e.err == nil && !e.abort.Load() {
		e.err = e.w.Close()
		if e.err == nil {
			// Compressors hold large tables; reuse them.
			e.s.pools[e.enc].Put(e.w)
		}
		if e.err == nil && e.finish.Load() {
			e.err = e.out.close()
		}
	}
}

func (e *encoder) discard() { e.out.discard() }
