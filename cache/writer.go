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
	"sync"
	"time"
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
	sinks [numEncodings]*sink // Identity always; others from Encoded
	err   error               // first failure; sticky
	done  bool
}

// Create starts storing an entry with metadata m (normally from
// Policy.Meta). Write takes the identity body; a caller that encodes the
// body anyway (for its reader) hands the encoded bytes to Encoded, so that
// each body is compressed once. Copies nobody handed over are made later,
// in the background, when a reader first asks for them (see Entry.Choose).
func (s *Store) Create(m Meta) *Writer {
	id := ident{m.Key, m.Variant}
	name, shard := entryName(id)
	w := &Writer{s: s, e: &Entry{Meta: m, s: s, id: id, name: name, shard: shard, b: newBodies(time.Time{})}}
	w.sinks[Identity] = s.newSink()
	w.e.b.compressible = Compressible(m.Header.Get("Content-Type"))
	return w
}

// Write adds p to the identity body. It always returns len(p), nil.
func (w *Writer) Write(p []byte) (int, error) {
	w.write(Identity, p)
	return len(p), nil
}

// Encoded returns a writer for the copy of the body in encoding enc (Gzip
// or Brotli), as the caller encodes it: the bytes are stored as they come
// and must make, once decoded, exactly the identity body. Like Write, it
// never fails. Bodies whose Content-Type is not Compressible keep only
// their identity copy; for them the writer discards what it gets.
func (w *Writer) Encoded(enc Encoding) io.Writer {
	if enc <= Identity || enc >= numEncodings {
		return io.Discard
	}
	if !w.e.b.compressible {
		return io.Discard
	}
	if w.sinks[enc] == nil {
		w.sinks[enc] = w.s.newSink()
	}
	return encodedWriter{w, enc}
}

type encodedWriter struct {
	w   *Writer
	enc Encoding
}

func (e encodedWriter) Write(p []byte) (int, error) {
	e.w.write(e.enc, p)
	return len(p), nil
}

func (w *Writer) write(enc Encoding, p []byte) {
	if w.err != nil || w.done {
		return
	}
	k := w.sinks[enc]
	if k.n+int64(len(p)) > w.s.opt.MaxObject {
		w.fail(ErrTooLarge)
		return
	}
	if err := k.write(p); err != nil {
		w.fail(err)
		w.s.writeFailed(err)
	}
}

// fail records the first error and releases the temporary files early.
func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
		w.discard()
	}
}

func (w *Writer) discard() {
	for _, k := range w.sinks {
		if k != nil {
			k.discard()
		}
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

// Commit publishes the entry. A body small enough to be kept in memory
// (Options.MemObject, within Options.MemSize) is served from memory at
// once, and made durable in the background; a larger one is made durable
// before Commit returns. Either way the entry file is written to tmp/,
// synced and renamed into place, the moment the entry exists on disk (see
// the package documentation). Commit returns
// ErrTooLarge if the body passed the size limit, or the error that stopped
// the Writer; in both cases nothing is stored.
func (w *Writer) Commit() error {
	if w.done {
		return errClosed
	}
	w.done = true
	if w.err == nil {
		w.err = w.prepare()
	}
	if w.err != nil {
		w.discard()
		return w.failed()
	}
	p := &pending{e: w.e, sinks: w.sinks}
	if p.resident = w.s.reserveCopies(w.sinks); p.resident {
		w.s.install(p)
	} else {
		p.done = make(chan error, 1)
		w.s.stats.waited.Add(1)
	}
	if err := w.s.queueCommit(p); err != nil {
		w.fail(err)
		return w.failed()
	}
	if p.done != nil {
		if err := <-p.done; err != nil {
			w.err = err
			return w.failed()
		}
	}
	w.s.stats.stores.Add(1)
	w.s.stats.written.Add(w.sinks[Identity].n)
	w.s.evict()
	return nil
}

func (w *Writer) failed() error {
	if errors.Is(w.err, ErrTooLarge) {
		w.s.stats.tooLarge.Add(1)
		return ErrTooLarge
	}
	return fmt.Errorf("cache: store entry %s: %w", w.e.name, w.err)
}

// prepare checks the sizes and fills in the entry: its file's name, the
// place, size and checksum of each copy in it, and its disk use.
func (w *Writer) prepare() error {
	e, b := w.e, w.e.b
	e.gen = newGen() // e.seq is given when the entry takes its place
	e.file = entryFile(e.name, e.gen)
	b.modified = time.Now().UTC().Truncate(time.Second)
	var off int64 // the copies lie back to back, in encoding order
	for enc, k := range w.sinks {
		if k == nil {
			continue
		}
		if err := k.finish(); err != nil {
			w.s.writeFailed(err)
			return err
		}
		v := b.v[enc]
		v.off, v.size, v.sum, v.etag = off, k.n, k.sum, etag(k.sum)
		v.verified.Store(true) // checksummed as written
		off += k.n
	}
	e.size = fileSize(e)
	e.setModTime()
	if e.size > w.s.opt.MaxSize/4 {
		return ErrTooLarge
	}
	return nil
}

// newGen returns a random generation for an entry file's name.
func newGen() string { return strconv.FormatUint(rand.Uint64(), 36) }

// sink collects one copy of a body with its running checksum: in memory
// while it fits in Options.MemObject (in pooled chunks while it grows,
// then in one slice of its exact size), else in a temporary file.
type sink struct {
	s      *Store
	h      hash.Hash
	n      int64
	sum    [sha256.Size]byte
	chunks []*[]byte // the copy while it is written in memory
	mem    []byte    // the whole copy, after finish, if it stayed in memory
	tmp    string    // name under the root, once spilled; "" once removed
	f      *os.File
	bw     *bufio.Writer
}

// chunks hold bodies while they are written: growing one slice would
// allocate and copy several times its final size.
var chunks = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func (s *Store) newSink() *sink {
	return &sink{s: s, h: sha256.New()}
}

func (k *sink) write(p []byte) error {
	k.h.Write(p)
	k.n += int64(len(p))
	if k.f == nil && k.n <= k.s.opt.MemObject {
		k.appendChunks(p)
		return nil
	}
	if k.f == nil {
		if err := k.spill(); err != nil {
			return err
		}
	}
	_, err := k.bw.Write(p)
	return err
}

func (k *sink) appendChunks(p []byte) {
	for len(p) > 0 {
		if len(k.chunks) == 0 || len(*k.chunks[len(k.chunks)-1]) == cap(*k.chunks[len(k.chunks)-1]) {
			k.chunks = append(k.chunks, chunks.Get().(*[]byte))
		}
		c := k.chunks[len(k.chunks)-1]
		n := min(len(p), cap(*c)-len(*c))
		*c = append(*c, p[:n]...)
		p = p[n:]
	}
}

// releaseChunks gives the chunks back to the pool.
func (k *sink) releaseChunks() {
	for _, c := range k.chunks {
		*c = (*c)[:0]
		chunks.Put(c)
	}
	k.chunks = nil
}

// spill moves the copy from memory to a temporary file.
func (k *sink) spill() error {
	tmp, f, err := k.s.createTemp()
	if err != nil {
		return err
	}
	k.tmp, k.f, k.bw = tmp, f, bufio.NewWriterSize(f, 32<<10)
	for _, c := range k.chunks {
		if _, err := k.bw.Write(*c); err != nil {
			return err
		}
	}
	k.releaseChunks()
	return nil
}

// finish computes the checksum and puts the copy in its final place: one
// slice of its size, or, for a copy spilled to a temporary file, the file,
// flushed and closed (unsynced: the entry file it is copied into is).
func (k *sink) finish() error {
	k.sum = [sha256.Size]byte(k.h.Sum(nil))
	if k.f == nil {
		k.mem = make([]byte, 0, k.n)
		for _, c := range k.chunks {
			k.mem = append(k.mem, *c...)
		}
		k.releaseChunks()
		return nil
	}
	err := k.bw.Flush()
	if cerr := k.f.Close(); err == nil {
		err = cerr
	}
	k.f = nil
	return err
}

// discard releases the copy: its chunks, its temporary file if any.
func (k *sink) discard() {
	k.releaseChunks()
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
