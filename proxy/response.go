package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"zerkalo/cache"
	"zerkalo/proxy/rewrite"
)

// externalRedirect is the error modifyResponse returns when the origin
// redirects outside the origin family: the edge never follows it, it shows
// the reader a plain link instead.
type externalRedirect struct{ to string }

func (e *externalRedirect) Error() string { return "redirect outside the origin family" }

// errRangeOfRewritten refuses partial origin responses for bodies the edge
// must rewrite whole.
var errRangeOfRewritten = errors.New("origin sent a partial response for a body that must be rewritten")

// modifyResponse applies the edge's policy to an origin response: headers
// rewritten or stripped, redirects kept inside the mirror, and rewritable
// bodies decoded, rewritten and re-encoded as they stream.
func (e *Edge) modifyResponse(resp *http.Response) error {
	req := requestFrom(resp.Request.Context())
	doc := rewrite.NewDoc(e.opts.Mapper, req.target)
	doc.Footer = e.opts.Footer
	h := resp.Header
	if req.entry != nil {
		if stop := e.answerFromCache(req, resp); stop != nil {
			resp.Body.Close()
			return stop
		}
	}
	if loc := h.Get("Location"); loc != "" {
		loc = browserURL(loc)
		if to, ok := e.foreignLocation(req.target, loc); ok {
			resp.Body.Close()
			return &externalRedirect{to: to}
		}
		h.Set("Location", loc) // as the browser would read it, for the rewriter
	}
	e.checkRefresh(req.target, h)
	e.cookies.learn(req.target.Host, resp.Cookies())
	doc.Header(h)
	applyHeaderPolicy(h)
	kind := rewrite.KindOf(h.Get("Content-Type"))
	variant := ""
	if kind == rewrite.KindFeed {
		doc.Absolute = "https://" + req.siteHost
		variant = req.siteHost
		addVary(h, "Host")
	}
	if req.key != "" {
		h.Set("X-Cache", cacheMiss)
	}
	if !bodyAllowed(resp) {
		return nil
	}
	meta, store := e.storeMeta(req, resp, variant)
	if kind == rewrite.KindNone {
		// A body passed through holds no compressor, and may be a video
		// streamed for an hour: it leaves the cap on fetches in flight,
		// and origin.timeout.
		req.endFetch()
		req.deadline.Stop()
		return e.passBody(resp, req.acceptEncoding, meta, store)
	}
	if resp.StatusCode == http.StatusPartialContent {
		return errRangeOfRewritten
	}
	var cw *cache.Writer
	if store {
		cw = e.opts.Cache.Create(meta)
	}
	if err := e.rewriteBody(resp, kind, doc, req.acceptEncoding, cw); err != nil {
		return err
	}
	// From here a timeout cuts short a write of this body to a reader
	// who is not taking it (see stallWriter.abort).
	req.streaming.Store(req.out != nil)
	return nil
}

// answerFromCache decides, for a request that revalidates a cached entry,
// whether the origin's response is replaced by the entry: after a 304 (the
// entry is refreshed), or after a 5xx when stale-if-error allows it.
func (e *Edge) answerFromCache(req *request, resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusNotModified:
		meta, err := e.opts.CachePolicy.Revalidated(&req.entry.Meta, resp.Header, time.Now())
		if err != nil {
			return nil // not storable any more: pass the 304 on
		}
		if err := e.opts.Cache.Refresh(req.entry, meta); err != nil {
			e.log.Warn("cache refresh failed", "err", err)
		}
		if fresh, state := e.lookup(req.key, req.siteHost); state == cache.Fresh {
			return &serveFromCache{entry: fresh, state: cacheRevalidated}
		}
		return &serveFromCache{entry: req.entry, state: cacheRevalidated}
	case resp.StatusCode >= 500 && staleUsable(req.entry):
		return &serveFromCache{entry: req.entry, state: cacheStale}
	}
	return nil
}

// browserURL returns a redirect's URL as a browser reads it before
// resolving it (WHATWG URL, for https: URLs): rewrite.BrowserRef's
// reading, with leading and trailing spaces and control characters gone
// and every backslash before the query read as a slash (a Location is a
// URL alone, with no JSON or CSS escapes around it). So
// "/\\evil.example/x" and "/\t/evil.example/x" name the host evil.example
// here as they do there.
func browserURL(ref string) string {
	ref = strings.TrimFunc(ref, func(r rune) bool { return r <= ' ' })
	end := strings.IndexAny(ref, "?#")
	if end < 0 {
		end = len(ref)
	}
	return rewrite.BrowserRef(strings.ReplaceAll(ref[:end], `\`, "/") + ref[end:])
}

// checkRefresh removes a Refresh header that would take the reader off the
// mirror (a redirect the browser follows by itself), and writes the URL of
// one that stays as browserURL reads it, for the rewriter.
func (e *Edge) checkRefresh(base *url.URL, h http.Header) {
	v := h.Get("Refresh")
	start, end := rewrite.RefreshURL(v)
	if start == end {
		return
	}
	to := browserURL(v[start:end])
	if _, foreign := e.foreignLocation(base, to); foreign {
		h.Del("Refresh")
		return
	}
	h.Set("Refresh", v[:start]+to+v[end:])
}

// foreignLocation reports whether a Location header (as browserURL reads
// it) leaves the origin family, and returns the absolute URL it names.
func (e *Edge) foreignLocation(base *url.URL, loc string) (string, bool) {
	u, err := base.Parse(loc)
	if err != nil {
		// Go refuses what a browser may still follow ("//evil.example/%zz"):
		// not known to stay in the family, so not followed.
		return loc, true
	}
	if e.opts.Mapper.IsOrigin(u.Host) && (u.Scheme == "https" || u.Scheme == "http") {
		return "", false
	}
	return u.String(), true
}

// bodyAllowed reports whether the response carries a body to process.
func bodyAllowed(resp *http.Response) bool {
	switch {
	case resp.Request.Method == http.MethodHead,
		resp.StatusCode == http.StatusNoContent,
		resp.StatusCode == http.StatusNotModified,
		resp.StatusCode < 200:
		return false
	}
	return true
}

// passBody lets a body that needs no rewriting through as it is, decoding
// it only if the reader does not accept the origin's encoding.
func (e *Edge) passBody(resp *http.Response, readerAE string, meta cache.Meta, store bool) error {
	ce := resp.Header.Get("Content-Encoding")
	if ce == "" && store {
		resp.Body = &teeBody{ReadCloser: resp.Body, w: e.opts.Cache.Create(meta), ctx: resp.Request.Context()}
	}
	if ce == "" || acceptsEncoding(readerAE, ce) {
		return nil
	}
	dec, err := decodeBody(resp.Body, ce)
	if err != nil {
		return fmt.Errorf("decode %s body: %w", ce, err)
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{dec, multiCloser{dec, resp.Body}}
	resp.Header.Del("Content-Encoding")
	dropLength(resp)
	return nil
}

// rewriteBody replaces resp.Body with the rewritten, re-encoded stream. The
// work runs in a goroutine owned by the new body: it ends when the origin
// body ends or fails, when the reader goes away (the body is closed), or
// when the fetch times out.
func (e *Edge) rewriteBody(resp *http.Response, kind rewrite.Kind, doc *rewrite.Doc, readerAE string, cw *cache.Writer) error {
	ce := resp.Header.Get("Content-Encoding")
	dec, err := decodeBody(resp.Body, ce)
	if err != nil {
		if cw != nil {
			cw.Abort()
		}
		return fmt.Errorf("decode %s body: %w", ce, err)
	}
	var src io.Reader = &limitedReader{r: dec, left: e.opts.MaxBody}
	if kind == rewrite.KindHTML {
		utf8Src, charset, err := rewrite.DecodeHTML(src, resp.Header.Get("Content-Type"))
		if err != nil {
			dec.Close()
			if cw != nil {
				cw.Abort()
			}
			return fmt.Errorf("decode html: %w", err)
		}
		if charset == "utf-8" {
			resp.Header.Set("Content-Type", "text/html; charset=utf-8")
		}
		src = utf8Src
	}
	enc := streamEncoding(readerAE)
	pr, pw := io.Pipe()
	origin, ctx := resp.Body, resp.Request.Context()
	go func() {
		start := time.Now()
		err := pipeRewrite(ctx, pw, src, kind, doc, enc, cw)
		e.opts.Metrics.observeRewrite(kind.String(), time.Since(start))
		dec.Close()
		origin.Close()
		if errors.Is(err, context.Canceled) {
			err = context.Canceled // the reader left: ReverseProxy logs no warning for it
		}
		pw.CloseWithError(err)
	}()
	resp.Body = pr
	if enc != "" {
		resp.Header.Set("Content-Encoding", enc)
	} else {
		resp.Header.Del("Content-Encoding")
	}
	addVary(resp.Header, "Accept-Encoding")
	dropLength(resp)
	return nil
}

// flushEvery is how long rewritten bytes may wait in the edge's buffers
// before they are pushed to the reader.
const flushEvery = 50 * time.Millisecond

// pipeRewrite streams src through the rewriter and the encoder into w. The
// output is flushed at least every flushEvery, so the reader sees the page
// as it arrives even while the origin pauses.
//
// When cw is not nil the rewritten body is also stored, in identity and in
// the reader's encoding (the encoder's output is the cache's copy: each
// body is compressed once). The entry is committed before the reader sees
// the end of the body, so readers waiting for this fetch find it; it is
// dropped if the origin's body or the rewriting fails, and kept if only
// the reader's writes failed after the whole body was rewritten.
//
// ctx is the origin request's. Once it is canceled (the fetch timed out,
// or the reader left), a body is never stored or ended as complete, even
// if the origin ends it cleanly: an origin that sees its client go away
// may cut the page short and still end the response properly, and the
// end can reach the edge in the instant before its connection closes.
func pipeRewrite(ctx context.Context, w io.Writer, src io.Reader, kind rewrite.Kind, doc *rewrite.Doc, encoding string, cw *cache.Writer) error {
	bw := bufWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	sink := &readerSink{w: bw}
	var encoded io.Writer = sink
	if cw != nil && encoding != "" {
		encoded = teeWriter{sink, cw.Encoded(cacheEncoding(encoding))}
	}
	out := &flushingWriter{enc: newBurstEncoder(encoded, encoding), out: sink}
	stop := out.flushEvery(flushEvery)
	defer func() {
		stop() // the ticker is done with the encoder and the buffer
		releaseEncoder(out.enc)
		bw.Reset(nil)
		bufWriters.Put(bw)
	}()
	var dst io.Writer = out
	if cw != nil {
		dst = io.MultiWriter(out, cw)
	}
	var err error
	if kind == rewrite.KindHTML {
		err = rewrite.RewriteHTML(dst, src, doc)
	} else {
		rw := rewrite.NewWriter(kind, dst, doc)
		if _, err = io.Copy(rw, src); err == nil {
			err = rw.Close()
		}
	}
	stop()
	if err == nil {
		err = context.Cause(ctx)
	}
	if err == nil {
		err = out.finish()
	}
	if cw != nil {
		if err != nil {
			cw.Abort()
		} else if cerr := cw.Commit(); cerr != nil && !errors.Is(cerr, cache.ErrTooLarge) {
			// The cache logs disk failures itself, once a minute at most.
			slog.Debug("cache store failed", "err", cerr)
		}
	}
	if err != nil {
		return err
	}
	return out.close()
}

// bufWriters holds the buffers of rewritten bodies on their way out.
var bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// cacheEncoding maps a Content-Encoding token of newEncoder to the
// cache's name for the copy.
func cacheEncoding(encoding string) cache.Encoding {
	if encoding == "br" {
		return cache.Brotli
	}
	return cache.Gzip
}

// readerSink is the reader's buffered stream. A write error (the reader
// went away) is kept rather than returned, so that the encoder writing
// into it, whose output is also the cache's copy, never stops half-way;
// flushingWriter reports the error to the rewriter instead.
type readerSink struct {
	w   *bufio.Writer
	err error
}

func (r *readerSink) Write(p []byte) (int, error) {
	if r.err == nil {
		_, r.err = r.w.Write(p)
	}
	return len(p), nil
}

func (r *readerSink) flush() {
	if r.err == nil {
		r.err = r.w.Flush()
	}
}

// teeWriter writes to both writers; neither fails.
type teeWriter struct{ a, b io.Writer }

func (t teeWriter) Write(p []byte) (int, error) {
	t.a.Write(p)
	t.b.Write(p)
	return len(p), nil
}

// flushingWriter is the encoder a rewritten body goes through on its way
// to the reader, with a ticker that flushes it while the rewriter waits
// for the origin. Its writes fail once the reader has gone away.
type flushingWriter struct {
	mu    sync.Mutex
	enc   encoder
	out   *readerSink
	dirty bool
}

func (f *flushingWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out.err != nil {
		return 0, f.out.err
	}
	f.dirty = true
	n, err := f.enc.Write(p)
	if err == nil {
		err = f.out.err
	}
	return n, err
}

// flushEvery starts the ticker; the returned func stops it and waits for it.
func (f *flushingWriter) flushEvery(d time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f.flush()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); <-stopped })
	}
}

func (f *flushingWriter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirty || f.out.err != nil {
		return
	}
	f.dirty = false
	if err := f.enc.Flush(); err != nil {
		f.out.err = err
		return
	}
	f.out.flush()
}

// finish ends the encoding: its last bytes reach the reader's buffer and
// the cache's copy. It fails only if the encoder does, never because of
// the reader.
func (f *flushingWriter) finish() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enc.Close()
}

// close writes out what is buffered for the reader.
func (f *flushingWriter) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out.flush()
	return f.out.err
}

// addVary adds a field name to the Vary header unless it is listed there
// already (the origin's own Vary often names Accept-Encoding).
func addVary(h http.Header, name string) {
	for _, line := range h.Values("Vary") {
		for field := range strings.SplitSeq(line, ",") {
			if f := strings.TrimSpace(field); f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}

// dropLength marks a response whose body length changed.
func dropLength(resp *http.Response) {
	resp.Header.Del("Content-Length")
	resp.Header.Del("Accept-Ranges")
	resp.Header.Del("Content-MD5")
	resp.ContentLength = -1
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		resp.Header.Set("ETag", "W/"+et)
	}
}

// errBodyTooLarge is returned when an origin body is larger than MaxBody.
var errBodyTooLarge = errors.New("origin body exceeds the configured max_body")

// limitedReader is io.LimitReader that fails instead of ending quietly, so
// that a body cut at the limit is never served as if it were whole.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		return 0, errBodyTooLarge
	}
	l.left -= int64(n)
	return n, err
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

var externalLinkPage = template.Must(template.New("external").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>This link leaves the mirror</title></head>
<body><p>This page has moved to another site, outside this mirror:</p>
<p><a href="{{.}}" rel="noreferrer noopener">{{.}}</a></p>
<p>Opening it connects you to that site directly.</p></body></html>
`))

// writeExternalLink shows the reader a plain link to a URL outside the
// origin family instead of redirecting there.
func writeExternalLink(w http.ResponseWriter, to string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	setSecurityHeaders(h)
	w.WriteHeader(http.StatusOK)
	externalLinkPage.Execute(w, to)
}
