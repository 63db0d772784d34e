// Package proxy is the Zerkalo edge: it admits readers' requests for the
// mirror's own domains, maps them to origin URLs, fetches from the closed
// set of origin hosts, and streams the rewritten response back.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"zerkalo/cache"
	"zerkalo/proxy/rewrite"
)

// Options configures an Edge.
type Options struct {
	// Mapper is the mapping between origin URLs and mirror paths.
	Mapper *rewrite.Mapper
	// Domains are the mirror host names readers may ask for. AllowHost,
	// when set, is asked instead: for domains whose activity windows open
	// and close, and for enrolled relays' domains.
	Domains   []string
	AllowHost func(host string) bool
	// Transport fetches from the origin; see NewOriginTransport.
	Transport http.RoundTripper
	// Timeout bounds one whole origin fetch: sending the reader's request
	// body, the origin's headers and, for a body that is rewritten, the
	// whole body. Bodies passed through untouched (media) are bounded by
	// the reader once their headers are in.
	Timeout time.Duration
	// WriteStall is how long a write to a reader may make no progress
	// before the response is abandoned (default DefaultWriteStall): see
	// stallWriter.
	WriteStall time.Duration
	// MaxBody is the largest decoded origin body the edge rewrites.
	MaxBody int64
	// UserAgent is sent to the origin instead of the reader's.
	UserAgent string
	// Logger receives operational logs. It never gets a reader's address.
	Logger *slog.Logger
	// Metrics, if not nil, records origin latency, errors and rewrite time.
	Metrics *Metrics
	// Cache, if not nil, stores rewritten responses; CachePolicy decides
	// what is stored and for how long.
	Cache       *cache.Store
	CachePolicy cache.Policy
	// OriginRate caps origin fetches per second (0: no cap). Beyond it
	// readers get a stale copy, or 503 with Retry-After.
	OriginRate float64
	// OriginFetches caps the origin fetches in flight at once (0: no
	// cap). Beyond it readers get a stale copy, or 503 with Retry-After.
	// It bounds the memory a slow origin can hold: each fetch of a body
	// to rewrite keeps a compressor (0.8 MB for gzip, 2 MB for brotli) and
	// buffers until its body is done. A body passed through unchanged
	// (images, media) leaves the count once its headers are in.
	OriginFetches int
	// OriginIdentity asks the origin for uncompressed bodies: more bytes
	// from the origin, no decompressing before the rewrite.
	OriginIdentity bool
	// Local serves the mirror's own documents under MirrorsPath (the
	// mirror list); nil answers 404 there. Those paths never reach the
	// origin.
	Local http.Handler
	// Footer is HTML that pages carry before </body> (see Footer); "" for
	// none.
	Footer string
	// MirrorLinks returns the public addresses the edge's error pages list.
	MirrorLinks func() []string
}

// Edge is the mirror's HTTP handler. It is safe for concurrent use.
type Edge struct {
	opts      Options
	allowHost func(host string) bool
	proxy     *httputil.ReverseProxy
	cookies   *cookieNames
	log       *slog.Logger
	limiter   *rate.Limiter // nil: no cap
	fetching  chan struct{} // a slot per origin fetch in flight; nil: no cap
	// rulesKey ends every cache key: a body rewritten under other tracker
	// rules is another entry, so a rule change takes effect at once.
	rulesKey string

	group      cache.Group // one origin fetch per cache key at a time
	refreshing sync.Map    // cache keys with a background revalidation running

	bgMu     sync.Mutex // guards starting background work against Close
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// Default limits, used when Options leaves them zero.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 64 << 20
)

// New returns an Edge for the options.
func New(opts Options) (*Edge, error) {
	if opts.Mapper == nil || opts.Transport == nil {
		return nil, errors.New("proxy: Mapper and Transport are required")
	}
	if len(opts.Domains) == 0 && opts.AllowHost == nil {
		return nil, errors.New("proxy: no mirror domains")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.WriteStall <= 0 {
		opts.WriteStall = DefaultWriteStall
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Edge{
		opts:      opts,
		allowHost: opts.AllowHost,
		cookies:   newCookieNames(),
		log:       opts.Logger,
	}
	if e.allowHost == nil {
		domains := nameSet(opts.Domains)
		e.allowHost = func(host string) bool { return domains[host] }
	}
	if opts.OriginRate > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(opts.OriginRate), max(1, int(2*opts.OriginRate)))
	}
	if opts.OriginFetches > 0 {
		e.fetching = make(chan struct{}, opts.OriginFetches)
	}
	// Feeds vary by Host; their cache variant is the mirror host.
	e.opts.CachePolicy.Keyed = append(slices.Clip(e.opts.CachePolicy.Keyed), "Host")
	e.rulesKey = "#rules=" + opts.Mapper.Rules().Fingerprint()
	if opts.Footer != "" {
		e.rulesKey += "#footer"
	}
	e.bgCtx, e.bgCancel = context.WithCancel(context.Background())
	e.proxy = &httputil.ReverseProxy{
		Rewrite:        e.rewriteRequest,
		Transport:      &measuredTransport{rt: opts.Transport, m: opts.Metrics},
		ModifyResponse: e.modifyResponse,
		ErrorHandler:   e.handleError,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		BufferPool:     copyBuffers,
	}
	return e, nil
}

// copyBuffers are the ReverseProxy's buffers for copying bodies.
var copyBuffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// request is what the edge decided about one reader request; it travels in
// the request's context from ServeHTTP to the proxy's hooks.
type request struct {
	target         *url.URL // the origin URL
	mirrorHost     string   // the mirror host the reader asked for
	siteHost       string   // mirrorHost as the reader's absolute links name it (see siteHost)
	acceptEncoding string   // the reader's Accept-Encoding
	cancel         context.CancelCauseFunc
	deadline       *time.Timer // bounds the fetch (Options.Timeout); stopped for a body passed through
	endFetch       func()      // frees the fetch's slot (OriginFetches); safe to call twice

	in  *http.Request // the reader's request
	out *stallWriter  // the reader's response; nil for a background fetch
	// streaming is set once a rewritten body streams to out: a timeout
	// then cuts it short.
	streaming atomic.Bool
	key       string       // cache key; "" when the cache is not used
	entry     *cache.Entry // a cached copy to revalidate, or to serve if the origin fails
	noStore   bool         // the response must not be stored
	xhr       bool         // a script's request (X-Requested-With): cached apart from pages
}

// errOriginTimeout ends an origin fetch that took longer than
// Options.Timeout.
var errOriginTimeout = fmt.Errorf("origin fetch timed out: %w", context.DeadlineExceeded)

type requestKey struct{}

func requestFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}

// ServeHTTP admits, maps and proxies one reader request.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := newStallWriter(w, e.opts.WriteStall)
	defer sw.finish()
	w = sw
	req := e.prepare(sw, r)
	if req == nil || !e.bodyWithinLimit(w, r) {
		return
	}
	if e.cacheable(r, req) {
		e.serveCached(w, r, req)
		return
	}
	e.fetch(w, r, req)
}

// prepare admits and maps a reader request. It returns nil when it has
// answered the request itself: refused, the mirror's own documents, a
// script's redirect, a path with no origin.
//
// It is apart from ServeHTTP so that its stack frame is gone before the
// response is written: a handler goroutine's stack grows by copying.
//
//go:noinline
func (e *Edge) prepare(w *stallWriter, r *http.Request) *request {
	host, status, why := e.admit(r)
	if status != 0 {
		e.refuse(w, status, why)
		return nil
	}
	if strings.HasPrefix(r.URL.Path, MirrorsPath) {
		if e.opts.Local == nil {
			e.refuse(w, http.StatusNotFound, "no such page on this mirror")
			return nil
		}
		e.opts.Local.ServeHTTP(w, r)
		return nil
	}
	if to, ok := e.scriptRoute(r, host); ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
		return nil
	}
	path, query, _ := strings.Cut(r.RequestURI, "?")
	target, err := e.opts.Mapper.ToOrigin(path, originQuery(query))
	if err != nil {
		e.writeErrorPage(w, http.StatusNotFound, func(m messages) string { return m.NotFound })
		return nil
	}
	return &request{target: target, mirrorHost: host, siteHost: siteHost(r, host), acceptEncoding: r.Header.Get("Accept-Encoding"), out: w}
}

// forward proxies one request to the origin.
func (e *Edge) forward(w http.ResponseWriter, r *http.Request, req *request) {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	req.cancel = cancel
	req.in = r
	// The whole fetch is bounded from here: a reader's upload trickling
	// in, the wait for the origin's headers and the rewritten body alike,
	// even when the reader has stopped reading it.
	req.deadline = time.AfterFunc(e.opts.Timeout, func() {
		cancel(errOriginTimeout)
		if req.streaming.Load() {
			req.out.abort() // else the error handler answers, perhaps with a stale copy
		}
	})
	e.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, requestKey{}, req)))
	req.deadline.Stop()
}

// admit decides whether a request may be served at all: a plain method, an
// origin-form request target, and a Host that is one of the mirror's
// domains (and, over TLS, the name the reader's TLS handshake asked for).
func (e *Edge) admit(r *http.Request) (host string, status int, why string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		return "", http.StatusMethodNotAllowed, "method not allowed"
	}
	if !strings.HasPrefix(r.RequestURI, "/") {
		return "", http.StatusBadRequest, "only origin-form request targets are served"
	}
	host = mirrorHost(r.Host)
	if !e.allowHost(host) {
		return "", http.StatusMisdirectedRequest, "unknown host"
	}
	if r.TLS != nil && r.TLS.ServerName != "" && !strings.EqualFold(r.TLS.ServerName, host) {
		return "", http.StatusMisdirectedRequest, "host does not match TLS server name"
	}
	if r.Header.Get("Service-Worker") == "script" {
		// Origin pages register service workers; one installed on the
		// mirror could serve pages past the rewriter. Refuse them all.
		return "", http.StatusNotFound, "service workers are not served by this mirror"
	}
	return host, 0, ""
}

// siteHost returns the mirror host as absolute links (feeds, sitemaps)
// must name it for the reader of r: with the port, when the reader came
// to one other than 443 that this server listens on (a test or demo edge
// on :8443). A port the server does not listen on is ignored, so that
// Host headers cannot make a cache variant per port number.
func siteHost(r *http.Request, host string) string {
	_, port, err := net.SplitHostPort(r.Host)
	if err != nil || port == "443" {
		return host
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return host
	}
	if _, lport, err := net.SplitHostPort(local.String()); err != nil || lport != port {
		return host
	}
	return net.JoinHostPort(host, port)
}

// mirrorHost returns the lower-cased host of a Host header, without port
// and trailing dot.
func mirrorHost(hostport string) string {
	h := hostport
	if strings.IndexByte(hostport, ':') >= 0 { // else SplitHostPort fails
		if host, _, err := net.SplitHostPort(hostport); err == nil {
			h = host
		}
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// scriptRoute sends a root-relative request made from a page of a
// secondary origin host to that host. Scripts of a page served at
// /_z/www.svoboda.org/... build URLs such as /part/section/1 at run time;
// they resolve against the mirror's root, which is the primary site. The
// rewriter writes every static URL of such pages with an explicit prefix,
// so an unprefixed request whose same-origin Referer is such a page can only
// come from a script of that page.
func (e *Edge) scriptRoute(r *http.Request, host string) (string, bool) {
	if strings.HasPrefix(r.RequestURI, rewrite.HostPrefix) {
		return "", false
	}
	referer := r.Header.Get("Referer")
	if !strings.Contains(referer, rewrite.HostPrefix) {
		return "", false // its escaped path cannot start with the prefix
	}
	ref, err := url.Parse(referer)
	if err != nil || ref.Host == "" || mirrorHost(ref.Host) != host {
		return "", false
	}
	after, ok := strings.CutPrefix(ref.EscapedPath(), rewrite.HostPrefix)
	if !ok {
		return "", false
	}
	refHost, _, _ := strings.Cut(after, "/")
	if refHost == e.opts.Mapper.Site() || !e.opts.Mapper.IsOrigin(refHost) {
		return "", false
	}
	return e.opts.Mapper.MirrorRoot(refHost) + r.RequestURI, true
}

// MaxRequestBody is the largest request body (a form's POST) the edge
// passes to the origin: the mirror is no pipe for pushing uploads at the
// origin, which would see the edge as their sender.
const MaxRequestBody = 4 << 20

// bodyWithinLimit refuses a request body declared over MaxRequestBody
// (413) and bounds one of unknown length; it reports whether to go on.
func (e *Edge) bodyWithinLimit(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if r.ContentLength > MaxRequestBody {
		e.refuse(w, http.StatusRequestEntityTooLarge, "request body over 4 MiB")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
	return true
}

// refuse answers a request the edge will not proxy.
func (e *Edge) refuse(w http.ResponseWriter, status int, why string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s: %s\n", status, http.StatusText(status), why)
}

// handleError answers when the origin could not give a usable response.
func (e *Edge) handleError(w http.ResponseWriter, r *http.Request, err error) {
	var away *externalRedirect
	if errors.As(err, &away) {
		writeExternalLink(w, away.to)
		return
	}
	// The proxy passes the reader's request, or after ModifyResponse the
	// origin request; a cached copy is served by the reader's.
	req := requestFrom(r.Context())
	in := r
	if req.in != nil {
		in = req.in
	}
	var fromCache *serveFromCache
	if errors.As(err, &fromCache) && e.serveEntry(w, in, fromCache.entry, fromCache.state) {
		return
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		e.refuse(w, http.StatusRequestEntityTooLarge, "request body over 4 MiB")
		return
	}
	timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(context.Cause(r.Context()), errOriginTimeout)
	if !timedOut && in.Context().Err() != nil {
		return // the reader went away
	}
	status := http.StatusBadGateway
	if timedOut {
		status = http.StatusGatewayTimeout
	}
	target := req.target.Host + req.target.Path
	if staleUsable(req.entry) && e.serveEntry(w, in, req.entry, cacheStale) {
		e.log.Info("origin failed; served the cached copy", "origin", target, "err", err)
		return
	}
	e.log.Warn("origin fetch failed", "origin", target, "status", status, "err", err)
	e.writeErrorPage(w, status, func(m messages) string { return m.Unreachable })
}

// originQuery returns the query to send to the origin: the reader's, less
// Pangea's cache bypass and tracking parameters (see cache.Dropped). A
// query without them is passed on byte for byte.
func originQuery(raw string) string {
	for pair := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil && cache.Dropped(n) {
			return cache.StripQuery(raw)
		}
	}
	return raw
}
