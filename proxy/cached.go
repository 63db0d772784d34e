package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"zerkalo/cache"
)

// X-Cache values: how a response was produced.
const (
	cacheHit         = "HIT"         // served from the cache, fresh
	cacheMiss        = "MISS"        // fetched from the origin
	cacheStale       = "STALE"       // served from the cache past its freshness
	cacheRevalidated = "REVALIDATED" // the origin confirmed the cached copy (304)
)

// serveFromCache is how modifyResponse asks the error handler to answer
// with a cached entry instead of the origin's response: after a 304 that
// refreshed the entry, or after an origin 5xx when a stale copy may stand in.
type serveFromCache struct {
	entry *cache.Entry
	state string
}

func (s *serveFromCache) Error() string { return "serve the cached copy (" + s.state + ")" }

// cacheable reports whether a request may be answered from or stored in
// the cache: GET or HEAD without reader cookies that the origin would see
// (a response to those may be personal).
func (e *Edge) cacheable(r *http.Request, req *request) bool {
	if e.opts.Cache == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	return e.cookies.filter(req.target.Host, r.Cookies()) == ""
}

// xhrKey marks the cache key of a script's request (X-Requested-With):
// origins may answer it with a fragment of the page at the same URL.
const xhrKey = "#xhr"

// lookup finds the entry for key: a host-independent one, else the one
// stored for this mirror host (feeds, whose links are absolute; siteHost).
func (e *Edge) lookup(key, mirrorHost string) (*cache.Entry, cache.State) {
	now := time.Now()
	if entry, state := e.opts.Cache.Lookup(key, "", now); state != cache.Miss {
		return entry, state
	}
	return e.opts.Cache.Lookup(key, mirrorHost, now)
}

// serveCached answers a cacheable request: fresh and stale-while-revalidate
// entries at once; otherwise one origin fetch per key at a time, which the
// readers waiting for it then share.
func (e *Edge) serveCached(w http.ResponseWriter, r *http.Request, req *request) {
	req.key = cache.Key(req.target) + e.rulesKey
	if r.Header.Get("X-Requested-With") != "" {
		req.xhr = true
		req.key += xhrKey
	}
	entry, state := e.lookup(req.key, req.siteHost)
	switch state {
	case cache.Fresh:
		if e.serveEntry(w, r, entry, cacheHit) {
			return
		}
	case cache.Stale:
		if e.serveEntry(w, r, entry, cacheStale) {
			e.revalidateInBackground(req, entry)
			return
		}
	case cache.StaleIfError, cache.Expired:
		req.entry = entry
	}
	if r.Header.Get("Range") != "" && req.entry == nil {
		req.noStore = true // a partial response is never stored
		e.fetch(w, r, req)
		return
	}
	shared, _ := e.group.Do(r.Context(), req.key, func() error {
		e.fetch(w, r, req)
		return nil
	})
	if !shared {
		return
	}
	// Another reader's fetch of this key has finished: use what it stored.
	if entry, state := e.lookup(req.key, req.siteHost); state == cache.Fresh || state == cache.Stale {
		if e.serveEntry(w, r, entry, cacheHit) {
			return
		}
	}
	e.fetch(w, r, req)
}

// fetch gets the response from the origin, unless a cap on origin fetches
// is reached (OriginRate, OriginFetches): then a stale copy stands in, or
// the reader is asked to retry.
func (e *Edge) fetch(w http.ResponseWriter, r *http.Request, req *request) {
	if r.Context().Err() != nil {
		return // the reader is gone (an HTTP/2 stream reset at once): no slot, no token
	}
	if !e.startFetch() {
		if req.entry != nil && e.serveEntry(w, r, req.entry, cacheStale) {
			return
		}
		w.Header().Set("Retry-After", "1")
		e.writeErrorPage(w, http.StatusServiceUnavailable, func(m messages) string { return m.Busy })
		return
	}
	req.endFetch = sync.OnceFunc(e.endFetch)
	defer req.endFetch()
	e.forward(w, r, req)
}

// startFetch reports whether an origin fetch may start: a slot is free
// and the rate allows it. A fetch that starts must call endFetch.
func (e *Edge) startFetch() bool {
	if e.fetching != nil {
		select {
		case e.fetching <- struct{}{}:
		default:
			e.opts.Metrics.fetchRefused("in_flight")
			return false
		}
	}
	if e.limiter != nil && !e.limiter.Allow() {
		e.freeSlot()
		e.opts.Metrics.fetchRefused("rate")
		return false
	}
	e.opts.Metrics.fetchStarted()
	return true
}

// endFetch ends a fetch that startFetch let start.
func (e *Edge) endFetch() {
	e.opts.Metrics.fetchEnded()
	e.freeSlot()
}

func (e *Edge) freeSlot() {
	if e.fetching != nil {
		<-e.fetching
	}
}

// serveEntry writes a cached entry in the encoding the reader accepts, with
// Range and conditional requests handled. It reports false if the entry
// turned out to be damaged (it is then dropped; the caller fetches anew).
func (e *Edge) serveEntry(w http.ResponseWriter, r *http.Request, entry *cache.Entry, state string) bool {
	enc := entry.Choose(r.Header.Get("Accept-Encoding"))
	if enc == cache.Identity && gzipWhileCopyIsMade(r, entry) {
		gw := &gzipResponse{ResponseWriter: w}
		defer gw.Close()
		w = gw
	}
	pre := entry.Memo(newHitHeaders).(*hitHeaders)
	data, served, ok := e.openEntry(w, r, entry, enc, pre, state)
	if served || !ok {
		return ok
	}
	// What http.ServeContent would do for this request, with headers made
	// once per entry and the body in one Write.
	h := w.Header()
	pre.set(h, enc, entry, state)
	h["Content-Length"] = pre.length[enc]
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		writeBody(w, r, data)
	}
	return true
}

// h2Chunk is the most body bytes written at once over HTTP/2: a DATA frame
// of it (9-byte header) fills one 16 KB TLS record, where net/http cuts
// frames at the peer's limit (16384 bytes unless raised), each then taking
// two records and two writes.
const h2Chunk = 16384 - 9

// writeBody writes a whole body. Over HTTP/2 it writes in h2Chunk pieces,
// and a last piece that fits net/http's 4 KB response buffer goes out with
// the end of the stream instead of an empty DATA frame of its own.
func writeBody(w http.ResponseWriter, r *http.Request, data []byte) {
	if r.ProtoMajor == 2 {
		for len(data) > h2Chunk {
			if _, err := w.Write(data[:h2Chunk]); err != nil {
				return
			}
			data = data[h2Chunk:]
		}
	}
	w.Write(data)
}

// openEntry opens the copy of entry in encoding enc. If it is kept in
// memory and the request asks for all of it with a 200, it returns the
// body for serveEntry to write; otherwise it serves the request itself
// (served). ok is false if the copy could not be read.
//
// It is apart from serveEntry to keep the stack of the common hit small
// (its cache.Body is large): a handler goroutine's stack grows by copying.
//
//go:noinline
func (e *Edge) openEntry(w http.ResponseWriter, r *http.Request, entry *cache.Entry, enc cache.Encoding, pre *hitHeaders, state string) (data []byte, served, ok bool) {
	body, err := entry.Open(enc)
	if err != nil {
		if !errors.Is(err, cache.ErrCorrupt) {
			e.log.Warn("cache read failed", "err", err)
		}
		return nil, false, false
	}
	defer body.Close()
	if body.Data != nil && pre.plain && entry.Meta.Status == http.StatusOK && plainRequest(r) {
		return body.Data, false, true // shared, immutable: valid after Close
	}
	pre.set(w.Header(), enc, entry, state)
	if entry.Meta.Status != http.StatusOK {
		w.Header()["Content-Length"] = pre.length[enc]
		w.WriteHeader(entry.Meta.Status)
		if r.Method != http.MethodHead {
			io.Copy(w, body)
		}
		return nil, true, true
	}
	http.ServeContent(w, r, "", body.ModTime, body) // Range, 304, 412
	return nil, true, true
}

// hitHeaders are the response headers of every hit on one entry, made on
// its first hit (cache.Entry.Memo). Their values are shared by all hits:
// they are never modified, and their slices are full, so that an Add by a
// later handler copies them.
type hitHeaders struct {
	enc    [cache.Brotli + 1][]headerField // per stored encoding
	length [cache.Brotli + 1][]string      // Content-Length per encoding
	// plain: the headers are complete for a 200 without http.ServeContent
	// (it would sniff a missing Content-Type).
	plain bool
	// maxAge is the last Cache-Control value made, reused by the hits of
	// the same second.
	maxAge atomic.Pointer[maxAge]
}

// headerField is one response header, kept in a slice rather than a map:
// copying a slice into the response's header map is cheaper.
type headerField struct {
	key    string
	values []string
}

// maxAge is a Cache-Control header value and the seconds it names.
type maxAge struct {
	seconds int
	value   []string
}

// set puts the headers of a hit on entry in encoding enc into h, all but
// Content-Length.
func (pre *hitHeaders) set(h http.Header, enc cache.Encoding, entry *cache.Entry, state string) {
	for _, f := range pre.enc[enc] {
		h[f.key] = f.values
	}
	now := time.Now()
	h["Date"] = httpDate(now)
	h["X-Cache"] = xCacheValues[state]
	h["Cache-Control"] = pre.cacheControl(entry.Meta.TTL(now))
}

// cacheControl returns the Cache-Control value of a hit with ttl left.
func (pre *hitHeaders) cacheControl(ttl time.Duration) []string {
	n := int(ttl.Seconds())
	if m := pre.maxAge.Load(); m != nil && m.seconds == n {
		return m.value
	}
	m := &maxAge{seconds: n, value: []string{"public, max-age=" + strconv.Itoa(n)}}
	pre.maxAge.Store(m)
	return m.value
}

func newHitHeaders(entry *cache.Entry) any {
	// The policy runs on the stored headers only: what the server set
	// already (Alt-Svc, HSTS) stays.
	base := entry.Meta.Header.Clone()
	applyHeaderPolicy(base)
	base.Set("Vary", "Accept-Encoding")
	if entry.Meta.Status == http.StatusOK {
		// As http.ServeContent sets them.
		base.Set("Accept-Ranges", "bytes")
		if t := entry.ModTime(); !t.IsZero() && !t.Equal(time.Unix(0, 0)) {
			base.Set("Last-Modified", t.UTC().Format(http.TimeFormat))
		}
	}
	pre := &hitHeaders{plain: base.Get("Content-Type") != ""}
	for enc := range pre.enc {
		enc := cache.Encoding(enc)
		if !entry.Has(enc) {
			continue
		}
		h := base.Clone()
		if enc != cache.Identity {
			h.Set("Content-Encoding", enc.String())
		}
		h.Set("ETag", entry.ETag(enc))
		for k, v := range h {
			pre.enc[enc] = append(pre.enc[enc], headerField{k, slices.Clip(v)})
		}
		pre.length[enc] = []string{strconv.FormatInt(entry.Size(enc), 10)}
	}
	return pre
}

// lastDate is the Date header value of the last second a hit was served
// in, shared by the hits of that second: formatting it is the costliest
// part of net/http's own Date header.
var lastDate atomic.Pointer[dateValue]

type dateValue struct {
	unix  int64
	value []string
}

// httpDate returns the Date header value for now.
func httpDate(now time.Time) []string {
	if d := lastDate.Load(); d != nil && d.unix == now.Unix() {
		return d.value
	}
	d := &dateValue{unix: now.Unix(), value: []string{now.UTC().Format(http.TimeFormat)}}
	lastDate.Store(d)
	return d.value
}

// xCacheValues are the X-Cache header values, shared by all responses.
var xCacheValues = map[string][]string{
	cacheHit: {cacheHit}, cacheMiss: {cacheMiss}, cacheStale: {cacheStale},
	cacheRevalidated: {cacheRevalidated},
}

// preconditions are the request headers that make http.ServeContent
// answer other than with the whole body.
var preconditions = []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// plainRequest reports whether r is a GET or HEAD that http.ServeContent
// would answer with the whole body: no Range, no precondition.
func plainRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for _, k := range preconditions {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// revalidateInBackground refreshes a stale entry from the origin while
// readers are served the stale copy. At most one refresh per key runs.
func (e *Edge) revalidateInBackground(req *request, entry *cache.Entry) {
	if _, busy := e.refreshing.LoadOrStore(req.key, true); busy {
		return
	}
	e.bgMu.Lock()
	defer e.bgMu.Unlock()
	if e.bgCtx.Err() != nil {
		e.refreshing.Delete(req.key)
		return
	}
	e.bg.Go(func() {
		defer e.refreshing.Delete(req.key)
		r, err := http.NewRequestWithContext(e.bgCtx, http.MethodGet, "https://"+req.mirrorHost+req.target.RequestURI(), nil)
		if err != nil {
			return
		}
		// A new body is stored with the copy browsers take, made on the way in.
		bgReq := &request{target: req.target, mirrorHost: req.mirrorHost, siteHost: req.siteHost, key: req.key, entry: entry, acceptEncoding: "br", xhr: req.xhr}
		e.group.Do(e.bgCtx, req.key, func() error {
			e.fetch(discardResponse{}, r, bgReq)
			return nil
		})
	})
}

// Close stops background revalidations and waits for them.
func (e *Edge) Close() {
	e.bgMu.Lock()
	e.bgCancel()
	e.bgMu.Unlock()
	e.bg.Wait()
}

// storeMeta decides whether the origin response to req is stored, and
// with which metadata.
func (e *Edge) storeMeta(req *request, resp *http.Response, variant string) (cache.Meta, bool) {
	if req.key == "" || req.noStore || resp.Request.Method != http.MethodGet || len(resp.Header.Values("Set-Cookie")) > 0 {
		return cache.Meta{}, false
	}
	meta, err := e.opts.CachePolicy.Meta(req.key, variant, resp.StatusCode, resp.Header, time.Now())
	return meta, err == nil
}

// discardResponse is the ResponseWriter of a background revalidation: the
// body goes only to the cache.
type discardResponse struct{}

func (discardResponse) Header() http.Header         { return http.Header{} }
func (discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (discardResponse) WriteHeader(int)             {}

// teeBody stores a body that passes through unchanged as the reader reads
// it; the entry is committed at the body's end and dropped if it is cut
// short.
type teeBody struct {
	io.ReadCloser
	w    *cache.Writer
	ctx  context.Context // the origin request's: see pipeRewrite
	done bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 && !t.done {
		t.w.Write(p[:n])
	}
	if err == io.EOF {
		if cerr := context.Cause(t.ctx); cerr != nil {
			err = cerr // canceled first: not a body to store or end as complete
		}
	}
	if err == io.EOF && !t.done {
		t.done = true
		t.w.Commit()
	}
	return n, err
}

func (t *teeBody) Close() error {
	if !t.done {
		t.done = true
		t.w.Abort()
	}
	return t.ReadCloser.Close()
}

// staleUsable reports whether a cached entry may stand in for a failed
// origin fetch (RFC 5861 stale-if-error, and anything fresher).
func staleUsable(entry *cache.Entry) bool {
	if entry == nil {
		return false
	}
	switch entry.Meta.Freshness(time.Now()) {
	case cache.Fresh, cache.Stale, cache.StaleIfError:
		return true
	}
	return false
}
