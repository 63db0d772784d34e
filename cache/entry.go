package cache

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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
	name  string // hex hash of the identity: file name stem
	shard int
	b     *bodies   // shared by the refreshed versions of one stored body
	size  int64     // disk use in blocks, including the manifest
	msize int64     // manifest length
	mod   time.Time // see setModTime
	used  atomic.Int64
}

// bodies describes the body files of one Commit.
type bodies struct {
	gen      string
	modified time.Time
	v        [numEncodings]variant
}

type variant struct {
	file     string // name inside the shard directory; "" when absent
	size     int64
	sum      [sha256.Size]byte
	etag     string
	verified atomic.Bool
}

// Body is one stored copy of an entry's body, ready for http.ServeContent:
//
//	w.Header().Set("Etag", b.ETag)
//	http.ServeContent(w, r, "", b.ModTime, b)
//
// It embeds the open file, positioned at its start and holding exactly the
// body; the caller must Close it.
type Body struct {
	*os.File
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
	return enc >= 0 && enc < numEncodings && e.b.v[enc].file != ""
}

// Choose returns the best stored encoding an Accept-Encoding value allows:
// brotli, then gzip, then identity.
func (e *Entry) Choose(acceptEncoding string) Encoding {
	ok := Accepts(acceptEncoding)
	for _, enc := range [...]Encoding{Brotli, Gzip} {
		if ok[enc] && e.Has(enc) {
			return enc
		}
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

// Open opens the copy in encoding enc. The first Open of a copy in this
// process reads it whole and checks its length and SHA-256 checksum; later
// Opens trust that check. A damaged copy drops the entry and returns an
// error wrapping ErrCorrupt.
func (e *Entry) Open(enc Encoding) (Body, error) {
	if !e.Has(enc) {
		return Body{}, ErrNoEncoding
	}
	v := &e.b.v[enc]
	f, err := e.s.shards[e.shard].Open(v.file)
	if err != nil {
		return Body{}, e.damaged(fmt.Errorf("open %s: %w", v.file, err))
	}
	if !v.verified.Load() {
		if err := verify(f, v); err != nil {
			f.Close()
			return Body{}, e.damaged(err)
		}
		v.verified.Store(true)
	}
	return Body{File: f, Size: v.size, ModTime: e.mod, ETag: v.etag, Encoding: enc}, nil
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
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, e.Meta.Key, err)
}

// verify reads f whole, compares its length and checksum with v and
// rewinds it.
func verify(f *os.File, v *variant) error {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("verify %s: %w", v.file, err)
	}
	if n != v.size {
		return fmt.Errorf("verify %s: %d bytes, want %d", v.file, n, v.size)
	}
	if [sha256.Size]byte(h.Sum(nil)) != v.sum {
		return fmt.Errorf("verify %s: checksum mismatch", v.file)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("verify %s: %w", v.file, err)
	}
	return nil
}

// etag makes a strong entity tag from a checksum.
func etag(sum [sha256.Size]byte) string {
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}
