package cache

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

// Meta is an entry's metadata: what was stored and how long it may be used.
// Policy.Meta builds it from an origin response.
type Meta struct {
	// Key is the cache key (see Key); Variant distinguishes bodies that
	// differ for one key ("" for host-independent bodies; for example the
	// mirror host for feeds whose links are absolute).
	Key, Variant string
	// Status is the origin's status code.
	Status int
	// Header holds the kept response headers (e.g. Content-Type).
	Header http.Header
	// Stored is when the response (or the last 304 refreshing it) arrived;
	// Age is its age at that moment.
	Stored time.Time
	Age    time.Duration
	// ETag and LastModified are the origin's validators, for conditional
	// revalidation requests.
	ETag, LastModified string
	// Lifetime is the freshness lifetime; MustRevalidate forbids serving
	// stale-while-revalidate (no-cache, must-revalidate).
	Lifetime       time.Duration
	MustRevalidate bool
	// StaleWhileRevalidate and StaleIfError are the RFC 5861 windows past
	// the lifetime.
	StaleWhileRevalidate, StaleIfError time.Duration
}

// Entry is a stored response. Its Meta is read-only; Store.Refresh replaces
// the Entry rather than changing it.
type Entry struct {
	Meta Meta

	s     *Store
	id    ident
	name  string // hex hash of the identity: file name stem, and the entry's name in errors (keys hold readers' queries)
	shard int
	// file is the name of the entry file (in the shard directory) that
	// holds this version of the entry; gen is its generation and seq its
	// place among the files of the entry.
	file, gen string
	seq       uint64
	b         *bodies   // shared by the refreshed versions of one stored body
	size      int64     // disk use of the file, in blocks
	mod       time.Time // see setModTime
	used      atomic.Int64
	memo      atomic.Pointer[any] // see Memo
}

// bodies describes the copies of one Commit's body. Adding a copy later
// makes a new bodies sharing the other variants.
type bodies struct {
	modified time.Time
	v        [numEncodings]*variant // never nil; see variant.present
	// compressible: gzip and brotli copies are wanted (Compressible); the
	// missing ones are made when a reader asks (Entry.Choose), once:
	// queued records the asking.
	compressible bool
	queued       [numEncodings]atomic.Bool
	// persisted is set once the entry file is durable; until then the
	// copies are served from memory.
	persisted atomic.Bool
	// replaces: entry files to remove once these bodies are on disk
	// (guarded by the entry's key lock).
	replaces []string
}

func newBodies(modified time.Time) *bodies {
	b := &bodies{modified: modified}
	for i := range b.v {
		b.v[i] = new(variant)
	}
	return b
}

type variant struct {
	off, size int64 // place in the entry file
	sum       [sha256.Size]byte
	etag      string
	verified  atomic.Bool
	// opened is set by the first Open of the copy: the memory copies of a
	// new entry that nobody opened are released once it is on disk, so
	// that the budget holds the encodings readers take, not the identity
	// copy every entry has.
	opened atomic.Bool
	// mem is the verified copy kept in memory, if any (Options.MemSize).
	mem atomic.Pointer[[]byte]
	// gone is set when the bodies are removed: no memory copy may be
	// added after that (see Entry.keep).
	gone atomic.Bool
}

// present reports whether the copy exists.
func (v *variant) present() bool { return v.etag != "" }

// byOffset returns the encodings of the copies there are, in the order
// they lie in the entry file.
func (b *bodies) byOffset() []Encoding {
	var encs []Encoding
	for enc := range numEncodings {
		if b.v[enc].present() {
			encs = append(encs, enc)
		}
	}
	slices.SortFunc(encs, func(x, y Encoding) int { return cmp.Compare(b.v[x].off, b.v[y].off) })
	return encs
}

// end returns the offset after the last copy.
func (b *bodies) end() int64 {
	var end int64
	for _, v := range b.v {
		if v.present() {
			end = max(end, v.off+v.size)
		}
	}
	return end
}

// Body is one stored copy of an entry's body, ready for http.ServeContent:
//
//	w.Header().Set("Etag", b.ETag)
//	http.ServeContent(w, r, "", b.ModTime, b)
//
// It embeds a reader positioned at the start of the body (the open file,
// or the copy kept in memory); the caller must Close it.
type Body struct {
	io.ReadSeeker
	// Data is the whole body when it is kept in memory (nil otherwise):
	// serving it needs no file. It is shared and must not be modified.
	Data []byte
	f    *os.File
	// Size is the length of the body in bytes.
	Size int64
	// ModTime is the origin's Last-Modified, or when the body was stored.
	ModTime time.Time
	// ETag is a strong entity tag (quoted) derived from the copy's
	// checksum, so each encoding has its own.
	ETag string
	// Encoding is the Content-Encoding of the copy.
	Encoding Encoding
}

// Errors of Entry.Open.
var (
	// ErrNoEncoding: the entry has no copy in the requested encoding
	// (bodies that are not Compressible are stored as identity only).
	ErrNoEncoding = errors.New("cache: encoding not stored")
	// ErrCorrupt: the stored copy is missing or damaged; the entry has been
	// dropped and the caller should treat the lookup as a miss.
	ErrCorrupt = errors.New("cache: entry damaged")
)

// Has reports whether the entry holds a copy in encoding enc.
func (e *Entry) Has(enc Encoding) bool {
	return enc >= 0 && enc < numEncodings && e.b.v[enc].present()
}

// Choose returns the best stored encoding an Accept-Encoding value allows:
// brotli, then gzip, then identity. When the reader would take a better
// copy that is not made yet, Choose asks the Store's background worker for
// it: copies are made for the readers who want them, not for every body
// stored (a flood of one-time URLs costs no compression beyond the one
// each reader's response needed).
func (e *Entry) Choose(acceptEncoding string) Encoding {
	ok := Accepts(acceptEncoding)
	for _, enc := range [...]Encoding{Brotli, Gzip} {
		if !ok[enc] {
			continue
		}
		if e.Has(enc) {
			return enc
		}
		e.s.queueCopy(e, enc)
	}
	return Identity
}

// Size returns the length of the copy in encoding enc (-1 if absent).
func (e *Entry) Size(enc Encoding) int64 {
	if !e.Has(enc) {
		return -1
	}
	return e.b.v[enc].size
}

// Close closes the body's file, if it has one.
func (b Body) Close() error {
	if b.f == nil {
		return nil
	}
	return b.f.Close()
}

// ETag returns the entity tag of the copy in encoding enc ("" if absent).
func (e *Entry) ETag(enc Encoding) string {
	if !e.Has(enc) {
		return ""
	}
	return e.b.v[enc].etag
}

// ModTime returns the time Bodies of e report: the origin's Last-Modified,
// or when the body was stored.
func (e *Entry) ModTime() time.Time { return e.mod }

// Memo returns the value f computes from e, computing it on the first call
// only (concurrent first calls may each run f; one result is kept). It lets
// the server keep what every hit on e needs (its response headers, say).
// An Entry never changes: Store.Refresh makes a new one, with no memo.
func (e *Entry) Memo(f func(*Entry) any) any {
	if p := e.memo.Load(); p != nil {
		return *p
	}
	v := f(e)
	if e.memo.CompareAndSwap(nil, &v) {
		return v
	}
	return *e.memo.Load()
}

// Open opens the copy in encoding enc. The first Open of a copy in this
// process reads it whole and checks its length and SHA-256 checksum; later
// Opens trust that check. Copies up to Options.MemObject are kept in memory
// by that first read (within Options.MemSize): later Opens of those touch
// no file. A damaged copy drops the entry and returns an error wrapping
// ErrCorrupt.
func (e *Entry) Open(enc Encoding) (Body, error) {
	if !e.Has(enc) {
		return Body{}, ErrNoEncoding
	}
	v := e.b.v[enc]
	if !v.opened.Load() {
		v.opened.Store(true)
	}
	if p := v.mem.Load(); p != nil {
		return e.memBody(enc, *p), nil
	}
	if e.s.reserveMem(v.size) {
		data, err := e.load(v)
		if err != nil {
			e.s.releaseMem(v.size)
			return Body{}, e.damaged(err)
		}
		return e.memBody(enc, e.keep(v, data)), nil
	}
	if v.size <= e.s.opt.MemObject && e.s.opt.MemSize >= 0 {
		e.s.makeRoom() // for the next Open of this copy
	}
	f, err := e.s.shards[e.shard].Open(e.file)
	if err != nil {
		return Body{}, e.damaged(fmt.Errorf("open %s: %w", e.file, err))
	}
	r := io.NewSectionReader(f, v.off, v.size)
	if !v.verified.Load() {
		if err := verify(r, v, e.file); err != nil {
			f.Close()
			return Body{}, e.damaged(err)
		}
		v.verified.Store(true)
	}
	return Body{ReadSeeker: r, f: f, Size: v.size, ModTime: e.mod, ETag: v.etag, Encoding: enc}, nil
}

func (e *Entry) memBody(enc Encoding, data []byte) Body {
	v := e.b.v[enc]
	return Body{ReadSeeker: bytes.NewReader(data), Data: data, Size: v.size, ModTime: e.mod, ETag: v.etag, Encoding: enc}
}

// load reads the copy v whole and checks its length and checksum.
func (e *Entry) load(v *variant) ([]byte, error) {
	f, err := e.s.shards[e.shard].Open(e.file)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", e.file, err)
	}
	defer f.Close()
	data := make([]byte, v.size)
	if _, err := f.ReadAt(data, v.off); err != nil {
		return nil, fmt.Errorf("read %s: %w", e.file, err)
	}
	if sha256.Sum256(data) != v.sum {
		return nil, fmt.Errorf("verify %s: checksum mismatch", e.file)
	}
	v.verified.Store(true)
	return data, nil
}

// keep installs data, whose memory is reserved, as the memory copy of v
// and returns the copy in place (another reader's, if it came first). A
// copy added after the files were removed is released again.
func (e *Entry) keep(v *variant, data []byte) []byte {
	if !v.mem.CompareAndSwap(nil, &data) {
		e.s.releaseMem(v.size)
		if p := v.mem.Load(); p != nil {
			return *p
		}
		return data
	}
	if v.gone.Load() && v.mem.CompareAndSwap(&data, nil) {
		e.s.releaseMem(v.size)
	}
	return data
}

// release marks b's copies as gone (their entry was dropped or replaced)
// and lets their memory copies go.
func (b *bodies) release(s *Store) {
	for _, v := range b.v {
		v.gone.Store(true)
	}
	b.releaseMemory(s)
}

// releaseMemory lets the memory copies of b go (the files stay).
func (b *bodies) releaseMemory(s *Store) {
	for _, v := range b.v {
		if v.mem.Swap(nil) != nil {
			s.releaseMem(v.size)
		}
	}
}

// setModTime sets the time Bodies report: the origin's Last-Modified, or
// when the body was stored.
func (e *Entry) setModTime() {
	e.mod = e.b.modified
	if t, err := http.ParseTime(e.Meta.LastModified); err == nil {
		e.mod = t
	}
}

func (e *Entry) damaged(err error) error {
	if e.s.drop(e) {
		e.s.stats.corrupt.Add(1)
	}
	return fmt.Errorf("%w: entry %s: %w", ErrCorrupt, e.name, err)
}

// verify reads the copy r whole, compares its length and checksum with v
// and rewinds it.
func verify(r *io.SectionReader, v *variant, file string) error {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("verify %s: %w", file, err)
	}
	if n != v.size {
		return fmt.Errorf("verify %s: %d bytes, want %d", file, n, v.size)
	}
	if [sha256.Size]byte(h.Sum(nil)) != v.sum {
		return fmt.Errorf("verify %s: checksum mismatch", file)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("verify %s: %w", file, err)
	}
	return nil
}

// etag makes a strong entity tag from a checksum.
func etag(sum [sha256.Size]byte) string {
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}
