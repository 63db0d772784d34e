package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// forwardedHeaders are the only reader request headers that reach the
// origin. Everything else (addresses, forwarding headers, client hints,
// the reader's User-Agent, third-party cookies) stays at the edge. A
// request answered from the cache forwards fewer (see unkeyedHeaders).
var forwardedHeaders = []string{
	"Accept",
	"Accept-Language",
	"Content-Type",
	"If-Match",
	"If-Modified-Since",
	"If-None-Match",
	"If-Range",
	"If-Unmodified-Since",
	"Range",
	"X-Requested-With",
}

// unkeyedHeaders are the forwarded headers that could change the origin's
// answer without being part of the cache key: a request whose answer may
// be stored sends none of them, so no reader picks the copy every other
// reader gets. X-Requested-With is keyed instead (request.xhr): jQuery
// sends it with every script request, and origins answer those with
// fragments. Content-Type goes only with a body.
var unkeyedHeaders = []string{"Accept", "Accept-Language", "X-Requested-With", "Content-Type"}

// rewriteRequest builds the origin request from the reader's: the target
// origin URL, an allow-listed set of headers, the edge's own User-Agent and
// Accept-Encoding, only the origin's own cookies, and a Referer or Origin
// mapped back to the origin URL they stand for.
func (e *Edge) rewriteRequest(pr *httputil.ProxyRequest) {
	req := requestFrom(pr.In.Context())
	in, out := pr.In, pr.Out
	out.URL = req.target
	out.Host = req.target.Host
	h := make(http.Header, len(forwardedHeaders)+4)
	for _, k := range forwardedHeaders {
		if vs := in.Header.Values(k); len(vs) > 0 {
			h[k] = append([]string(nil), vs...)
		}
	}
	if req.key != "" {
		for _, k := range unkeyedHeaders {
			delete(h, k)
		}
		if req.xhr {
			h.Set("X-Requested-With", "XMLHttpRequest")
		}
	}
	if in.Method == http.MethodGet || in.Method == http.MethodHead {
		// A body on a GET would reach frameworks that read form fields
		// from any request, and its answer be cached under the URL alone.
		out.Body, out.ContentLength = nil, 0
		delete(h, "Content-Type")
	}
	if req.entry != nil {
		// Revalidating our copy: our validators, not the reader's.
		h.Del("If-None-Match")
		h.Del("If-Modified-Since")
		if et := req.entry.Meta.ETag; et != "" {
			h.Set("If-None-Match", et)
		}
		if lm := req.entry.Meta.LastModified; lm != "" {
			h.Set("If-Modified-Since", lm)
		}
	}
	h.Set("User-Agent", e.opts.UserAgent)
	if e.opts.OriginIdentity {
		h.Set("Accept-Encoding", "identity")
	} else {
		h.Set("Accept-Encoding", originAcceptEncoding)
	}
	if c := e.cookies.filter(req.target.Host, in.Cookies()); c != "" {
		h.Set("Cookie", c)
	}
	if ref := e.originReferer(in.Header.Get("Referer"), req.mirrorHost); ref != nil {
		h.Set("Referer", ref.String())
		if in.Header.Get("Origin") != "" {
			h.Set("Origin", ref.Scheme+"://"+ref.Host)
		}
	}
	out.Header = h
}

// originReferer maps a Referer on the mirror back to the origin URL it
// stands for. A Referer from any other site is dropped.
func (e *Edge) originReferer(referer, mirrorHostName string) *url.URL {
	ref, err := url.Parse(referer)
	if err != nil || ref.Host == "" || mirrorHost(ref.Host) != mirrorHostName {
		return nil
	}
	u, err := e.opts.Mapper.ToOrigin(ref.EscapedPath(), ref.RawQuery)
	if err != nil {
		return nil
	}
	return u
}

// cookieNames remembers the names of the cookies each origin host has set
// through the mirror. Only those reach the origin again; cookies written by
// anything else on the mirror's domain (a script, another host's page) stay
// with the reader.
type cookieNames struct {
	mu    sync.Mutex
	names map[string]map[string]bool // origin host → cookie names
}

// Bounds on what cookieNames remembers, so that a hostile origin response
// cannot grow it without limit.
const (
	maxCookieHosts = 256
	maxCookieNames = 128
)

func newCookieNames() *cookieNames {
	return &cookieNames{names: make(map[string]map[string]bool)}
}

// learn records the cookie names set by a response from host.
func (c *cookieNames) learn(host string, setCookies []*http.Cookie) {
	if len(setCookies) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	names := c.names[host]
	if names == nil {
		if len(c.names) >= maxCookieHosts {
			return
		}
		names = make(map[string]bool)
		c.names[host] = names
	}
	for _, sc := range setCookies {
		if len(names) < maxCookieNames {
			names[sc.Name] = true
		}
	}
}

// filter returns the Cookie header for host holding only the cookies that
// host has set.
func (c *cookieNames) filter(host string, cookies []*http.Cookie) string {
	if len(cookies) == 0 {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	names := c.names[host]
	var b strings.Builder
	for _, ck := range cookies {
		if !names[ck.Name] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(ck.Name + "=" + ck.Value)
	}
	return b.String()
}
