package proxy

// Hostile probes: an attacker or a censor against a running edge, over
// real sockets on loopback. Each test asserts the safe behaviour, so that
// it fails if the defect it looks for is there.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialLog records the host of every request the edge sends towards the
// origin, before the origin dialer decides anything.
type dialLog struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	hosts []string
}

func (d *dialLog) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.hosts = append(d.hosts, r.URL.Host)
	d.mu.Unlock()
	return d.rt.RoundTrip(r)
}

func (d *dialLog) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.hosts)
}

// hostileEdge is startEdgeWith whose origin transport is recorded.
func hostileEdge(t *testing.T, h http.Handler, modify func(*Options)) (*testEdge, *dialLog) {
	t.Helper()
	dl := &dialLog{}
	te := startEdgeWith(t, h, "www.rferl.org", []string{"gdb.rferl.org", "www.svoboda.org"}, func(o *Options) {
		dl.rt = o.Transport
		o.Transport = dl
		if modify != nil {
			modify(o)
		}
	})
	return te, dl
}

// echoHandler answers with the host and request URI it received.
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, r.Host+" "+r.RequestURI)
})

// rawExchange sends raw bytes over TLS (SNI mirror.test, HTTP/1.1) and
// returns the whole answer, read until the edge closes or 3 s pass.
func (te *testEdge) rawExchange(t *testing.T, raw string) string {
	t.Helper()
	b, _ := io.ReadAll(te.sendRaw(t, raw, 3*time.Second))
	return string(b)
}

// TestHostileRequestTargets: request lines, Host headers and /_z/ paths
// that try to make the edge fetch something other than an origin host.
// None may reach the origin, and no name outside the origin set may even
// be handed to the origin transport.
func TestHostileRequestTargets(t *testing.T) {
	te, dl := hostileEdge(t, echoHandler, nil)
	req := func(line, host string) string {
		return line + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
	}
	for _, tc := range []struct {
		name, raw string
		status    string // prefix of the status code
	}{
		{"absolute URI, foreign host", req("GET http://evil.example/", mirrorName), "400"},
		{"absolute URI, mirror host", req("GET https://mirror.test/_z/gdb.rferl.org/x", mirrorName), "400"},
		{"absolute URI, origin host", req("GET https://gdb.rferl.org/x", "gdb.rferl.org"), "4"},
		{"absolute URI with userinfo", req("GET http://mirror.test@evil.example/", mirrorName), "4"},
		{"CONNECT foreign", req("CONNECT evil.example:443", "evil.example:443"), "4"},
		{"CONNECT origin", req("CONNECT www.rferl.org:443", "www.rferl.org:443"), "4"},
		{"CONNECT mirror", req("CONNECT mirror.test:443", mirrorName), "4"},
		{"asterisk", req("OPTIONS *", mirrorName), ""}, // net/http answers it itself
		{"GET asterisk", req("GET *", mirrorName), "4"},
		{"protocol-relative path", req("GET //evil.example/x", mirrorName), "404"},
		{"backslash path", req(`GET /\evil.example/x`, mirrorName), "4"},
		{"foreign Host", req("GET /", "evil.example"), "421"},
		{"IP literal Host", req("GET /", "127.0.0.1"), "421"},
		{"IPv6 literal Host", req("GET /", "[::1]:443"), "421"},
		{"origin Host", req("GET /", "www.rferl.org"), "421"},
		{"secondary origin Host", req("GET /x", "gdb.rferl.org"), "421"},
		{"suffix Host", req("GET /", "mirror.test.evil.example"), "421"},
		{"prefix Host", req("GET /", "evilmirror.test"), "421"},
		{"userinfo Host", req("GET /", "evil.example@mirror.test"), "4"},
		{"IDN Host", req("GET /", "xn--mirror-test.example"), "421"},
		{"empty Host", req("GET /", ""), "4"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: mirror.test\r\nHost: evil.example\r\n\r\n", "400"},
		{"prefix foreign host", req("GET /_z/evil.example/x", mirrorName), "404"},
		{"prefix IP literal", req("GET /_z/127.0.0.1/x", mirrorName), "404"},
		{"prefix IPv6 literal", req("GET /_z/[::1]/x", mirrorName), "404"},
		{"prefix localhost", req("GET /_z/localhost/x", mirrorName), "404"},
		{"prefix uppercase origin", req("GET /_z/GDB.RFERL.ORG/x", mirrorName), "404"},
		{"prefix origin with port", req("GET /_z/gdb.rferl.org:8443/x", mirrorName), "404"},
		{"prefix origin with default port", req("GET /_z/gdb.rferl.org:443/x", mirrorName), "404"},
		{"prefix origin trailing dot", req("GET /_z/gdb.rferl.org./x", mirrorName), "404"},
		{"prefix userinfo", req("GET /_z/gdb.rferl.org@evil.example/x", mirrorName), "404"},
		{"prefix encoded at", req("GET /_z/gdb.rferl.org%40evil.example/x", mirrorName), "404"},
		{"prefix encoded host", req("GET /_z/%67db.rferl.org/x", mirrorName), "404"},
		{"prefix suffix host", req("GET /_z/gdb.rferl.org.evil.example/x", mirrorName), "404"},
		{"prefix empty host", req("GET /_z//evil.example/x", mirrorName), "404"},
		{"prefix backslash", req(`GET /_z/gdb.rferl.org\@evil.example/x`, mirrorName), "4"},
		{"prefix encoded backslash", req("GET /_z/gdb.rferl.org%5c@evil.example/x", mirrorName), "404"},
		{"dot segments", req("GET /_z/gdb.rferl.org/../../_z/evil.example/x", mirrorName), "404"},
		{"encoded dots", req("GET /_z/gdb.rferl.org/%2e%2e/%2E%2E/x", mirrorName), "404"},
		{"half-encoded dots", req("GET /_z/gdb.rferl.org/.%2e/x", mirrorName), "404"},
		{"encoded slash", req("GET /_z/gdb.rferl.org%2f..%2f..%2fevil.example/x", mirrorName), "404"},
		{"encoded slash in site path", req("GET /%2f%2fevil.example/x", mirrorName), "404"},
		{"encoded NUL", req("GET /x%00.html", mirrorName), "404"},
		{"fragment in query", req("GET /x?a=1%23#frag", mirrorName), "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te.origin.ResetLog()
			answer := te.rawExchange(t, tc.raw)
			line, _, _ := strings.Cut(answer, "\r\n")
			if tc.status != "" && !strings.HasPrefix(line, "HTTP/1.1 "+tc.status) {
				t.Errorf("answer %q, want status %s…", line, tc.status)
			}
			for _, r := range te.origin.Requests() {
				t.Errorf("the origin got %s %s for host %s", r.Method, r.URI, r.Host)
			}
		})
	}
	// Paths that look odd but name only an origin host reach that host,
	// with the path exactly as the reader sent it.
	for _, tc := range []struct{ path, want string }{
		{"/_z/gdb.rferl.org/%252e%252e/x", "gdb.rferl.org /%252e%252e/x"},
		{"/_z/gdb.rferl.org/a@evil.example/x", "gdb.rferl.org /a@evil.example/x"},
		{"/_z/gdb.rferl.org", "gdb.rferl.org /"},
		{"/_z/www.rferl.org/x", "www.rferl.org /x"},
		{"/%5fz/evil.example/x", "www.rferl.org /%5fz/evil.example/x"}, // a site path, not the prefix
		{"/a/%2e", ""}, // refused: encoded dot
	} {
		resp, body := te.get(t, tc.path)
		if tc.want == "" {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", tc.path, resp.StatusCode)
			}
			continue
		}
		if string(body) != tc.want {
			t.Errorf("GET %s: origin got %q, want %q", tc.path, body, tc.want)
		}
	}
	for _, h := range dl.all() {
		if !te.mapper.IsOrigin(h) {
			t.Errorf("the origin transport was handed host %q", h)
		}
	}
}

// TestHostileHTTP2Authority: over HTTP/2, an :authority or Host that is
// not the mirror's (or not the TLS server name) is refused.
func TestHostileHTTP2Authority(t *testing.T) {
	te, dl := hostileEdge(t, echoHandler, func(o *Options) {
		o.Domains = []string{mirrorName, "second.test"}
	})
	for _, host := range []string{"evil.example", "www.rferl.org", "127.0.0.1", "second.test", "gdb.rferl.org:443"} {
		req, _ := http.NewRequest("GET", "https://"+mirrorName+"/_z/gdb.rferl.org/x", nil)
		req.Host = host // SNI stays mirror.test
		resp, err := te.client.Do(req)
		if err != nil {
			t.Fatalf("Host %s: %v", host, err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("Host %s: proto %s, want HTTP/2", host, resp.Proto)
		}
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s with SNI %s: status %d, want 421", host, mirrorName, resp.StatusCode)
		}
	}
	if n := len(te.origin.Requests()); n != 0 {
		t.Errorf("the origin got %d requests", n)
	}
	if hs := dl.all(); len(hs) != 0 {
		t.Errorf("the origin transport was asked for %v", hs)
	}
}

// redirectTargets answers every request with a redirect to
// targets[i] (query i), in Location and in Refresh.
func redirectTargets(targets []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Query().Get("i"), "%d", &i)
		w.Header()["Location"] = []string{targets[i]}
		w.Header()["Refresh"] = []string{"0; url=" + targets[i]}
		w.WriteHeader(http.StatusFound)
	})
}

// checkRedirects asks the edge for each redirect of redirectTargets and
// fails if the reader's browser would follow it off the mirror.
func checkRedirects(t *testing.T, targets []string) {
	te, _ := hostileEdge(t, redirectTargets(targets), nil)
	for i, to := range targets {
		answer := te.rawExchange(t, fmt.Sprintf("GET /go?i=%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", i, mirrorName))
		head, body, _ := strings.Cut(answer, "\r\n\r\n")
		for line := range strings.SplitSeq(head, "\r\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimLeft(v, " ")
			switch {
			case strings.EqualFold(k, "Location"):
			case strings.EqualFold(k, "Refresh"):
				_, v, _ = strings.Cut(v, "url=")
			default:
				continue
			}
			if leavesMirror(v) {
				t.Errorf("origin redirect to %q: the reader got %q", to, line)
			}
		}
		if strings.Contains(body, `href="javascript:`) {
			t.Errorf("origin Location %q: the link page links to %s", to, body)
		}
	}
}

// TestHostileOriginRedirects: an origin redirect (a page that reflects a
// return URL, say) must not send the reader's browser off the mirror.
func TestHostileOriginRedirects(t *testing.T) {
	checkRedirects(t, []string{
		`//evil.example/x`,
		`https://evil.example/x`,
		`https:evil.example/x`,
		`https:/\evil.example/x`,
		`https://www.rferl.org@evil.example/x`,
		`https://www.rferl.org:8443/x`,
		`https://www.rferl.org.evil.example/x`,
		`javascript:alert(1)`,
		` //evil.example/x`,
		`/_z/gdb.rferl.org/x`,
		`https://gdb.rferl.org//evil.example/x`,
	})
}

// TestHostileBackslashRedirect: browsers read a backslash in a special
// URL as a slash, and drop tabs, so "/\evil.example/x" and
// "/<TAB>/evil.example/x" are protocol-relative to them. The edge judges
// Location with Go's URL parser, which sees a path on the origin host, and
// passes the header on unchanged.
func TestHostileBackslashRedirect(t *testing.T) {
	checkRedirects(t, []string{
		`/\evil.example/x`,
		`/\/evil.example/x`,
		`\\evil.example/x`,
		"/\t/evil.example/x",
		"///evil.example/x",
		"//evil.example/%zz",
		" \\\\evil.example/x?a=\\b",
	})
}

// leavesMirror reports whether a browser on https://mirror.test/go would
// leave the mirror when it follows the reference ref (browsers treat
// backslashes as slashes and drop tabs and newlines, WHATWG URL).
func leavesMirror(ref string) bool {
	r := strings.NewReplacer("\\", "/", "\t", "", "\n", "", "\r", "").Replace(strings.TrimSpace(ref))
	if strings.HasPrefix(r, "//") {
		return true
	}
	if i := strings.IndexAny(r, ":/?#"); i > 0 && r[i] == ':' {
		return true // any scheme
	}
	return false
}

// allowedOriginHeaders are the only request headers the origin may see.
var allowedOriginHeaders = map[string]bool{
	"Accept": true, "Accept-Language": true, "Accept-Encoding": true, "User-Agent": true,
	"Cookie": true, "Referer": true, "Origin": true, "Content-Type": true, "Content-Length": true,
	"If-Match": true, "If-Modified-Since": true, "If-None-Match": true, "If-Range": true,
	"If-Unmodified-Since": true, "Range": true, "X-Requested-With": true,
}

// TestHostileReaderDataStaysAtEdge: whatever a reader's browser (or a
// proxy in front of it) sends, the origin sees only allow-listed headers,
// none carrying the reader's address, the mirror's name, a foreign
// Referer or another site's cookie; and the edge's logs hold neither the
// reader's address nor the query string of the reader's request.
func TestHostileReaderDataStaysAtEdge(t *testing.T) {
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			panic(http.ErrAbortHandler)
		}
		http.SetCookie(w, &http.Cookie{Name: "own", Value: "1", Path: "/"})
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}), nil)
	te.get(t, "/first")
	const addr = "198.51.100.77"
	spoof := []string{
		"X-Forwarded-For", addr, "Forwarded", "for=" + addr + ";host=mirror.test", "Via", "1.1 " + addr,
		"X-Real-IP", addr, "True-Client-IP", addr, "CF-Connecting-IP", addr, "X-Client-IP", addr,
		"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http", "X-Forwarded-Port", "80",
		"X-Original-URL", "/admin", "X-Rewrite-URL", "/admin", "X-HTTP-Method-Override", "DELETE",
		"X-Host", "evil.example", "X-Forwarded-Server", "evil.example",
		"Authorization", "Basic cmVhZGVyOnNlY3JldA==", "Proxy-Authorization", "Basic cmVhZGVyOnNlY3JldA==",
		"DNT", "1", "Sec-CH-UA", `"Chromium";v="130"`, "Sec-CH-UA-Platform", `"Linux"`,
		"Sec-Fetch-Site", "cross-site", "Upgrade-Insecure-Requests", "1", "Save-Data", "on",
		"User-Agent", "ReaderBrowser/9 (" + addr + ")", "Cookie", "own=1; _ga=GA1.2.3; other_site=x",
		"Referer", "https://evil.example/?q=" + mirrorName, "Origin", "https://evil.example",
		"X-Keep-Me", addr, "Early-Data", "1", "Priority", "u=0",
	}
	for _, path := range []string{"/second?reader_secret=42", "/_z/gdb.rferl.org/x.jpg?reader_secret=42"} {
		te.origin.ResetLog()
		te.get(t, path, spoof...)
		reqs := te.origin.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: origin got %d requests, want 1", path, len(reqs))
		}
		for k, vs := range reqs[0].Header {
			if !allowedOriginHeaders[k] {
				t.Errorf("%s: origin got %s: %q", path, k, vs)
			}
			for _, v := range vs {
				if strings.Contains(v, addr) || strings.Contains(v, mirrorName) || strings.Contains(v, "127.0.0.1") ||
					strings.Contains(v, "evil.example") || strings.Contains(v, "_ga") || strings.Contains(v, "other_site") {
					t.Errorf("%s: origin got %s: %q", path, k, v)
				}
			}
		}
		if c := reqs[0].Header.Get("Cookie"); path == "/second?reader_secret=42" && c != "own=1" {
			t.Errorf("%s: origin got Cookie %q, want its own cookie only", path, c)
		}
	}
	te.get(t, "/fail?reader_secret=42", "X-Forwarded-For", addr)
	te.rawExchange(t, "GET /_z/evil.example/?reader_secret=42 HTTP/1.1\r\nHost: "+mirrorName+"\r\nConnection: close\r\n\r\n")
	te.rawExchange(t, "GET /x?reader_secret=42 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	te.rawExchange(t, "BREW /x?reader_secret=42 HTTP/1.1\r\nHost: "+mirrorName+"\r\nConnection: close\r\n\r\n")
	logs := te.logs.String()
	if !strings.Contains(logs, "origin fetch failed") {
		t.Fatalf("no log line for the failed fetch; the log checks would prove nothing:\n%s", logs)
	}
	for _, secret := range []string{"reader_secret", addr, "ReaderBrowser", "evil.example"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q:\n%s", secret, logs)
		}
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	for _, a := range te.readerAddrs {
		if _, port, _ := net.SplitHostPort(a); strings.Contains(logs, ":"+port) {
			t.Errorf("the logs hold the reader's address %s:\n%s", a, logs)
		}
	}
}

// TestHostileCachePersonalResponses: a response that sets a cookie, or
// that the origin marks private or varying on the cookie, is never
// stored and served to another reader.
func TestHostileCachePersonalResponses(t *testing.T) {
	var mu sync.Mutex
	n := 0
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		id := fmt.Sprintf("reader%d", n)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/cookie":
			w.Header().Set("Cache-Control", "public, max-age=300")
			http.SetCookie(w, &http.Cookie{Name: "sess", Value: id, Path: "/"})
		case "/private":
			w.Header().Set("Cache-Control", "private, max-age=300")
		case "/vary-cookie":
			w.Header().Set("Cache-Control", "max-age=300")
			w.Header().Set("Vary", "Cookie")
		case "/vary-star":
			w.Header().Set("Cache-Control", "max-age=300")
			w.Header().Set("Vary", "*")
		case "/no-store":
			w.Header().Set("Cache-Control", "no-store, max-age=300")
		}
		io.WriteString(w, "<p>"+id+"</p>")
	}), withCache(t))
	for _, path := range []string{"/cookie", "/private", "/vary-cookie", "/vary-star", "/no-store"} {
		_, first := te.get(t, path)
		resp, second := te.get(t, path)
		if string(first) == string(second) || resp.Header.Get("X-Cache") == cacheHit {
			t.Errorf("%s: the second reader got the first reader's response %q (X-Cache %q)", path, second, resp.Header.Get("X-Cache"))
		}
		if strings.Contains(resp.Header.Get("Set-Cookie"), "reader1") {
			t.Errorf("%s: the second reader got the first reader's cookie", path)
		}
	}
}

// TestHostileCacheUnkeyedInputs: request headers a cache poisoner would
// use to change the origin's answer never reach the origin, so the page a
// later reader gets from the cache is the plain one.
func TestHostileCacheUnkeyedInputs(t *testing.T) {
	reflected := []string{"X-Forwarded-Host", "X-Host", "X-Forwarded-Server", "X-Original-URL", "X-Rewrite-URL",
		"X-Forwarded-Scheme", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-HTTP-Method-Override", "Forwarded",
		"X-Original-Host", "X-Forwarded-Port", "Authorization"}
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, "<p>page")
		for _, k := range reflected {
			if v := r.Header.Get(k); v != "" {
				io.WriteString(w, " "+k+"="+v)
			}
		}
		io.WriteString(w, "</p>")
	}), withCache(t))
	var poison []string
	for _, k := range reflected {
		poison = append(poison, k, "evil.example")
	}
	te.get(t, "/a/1.html", poison...)
	resp, body := te.get(t, "/a/1.html")
	if resp.Header.Get("X-Cache") != cacheHit {
		t.Fatalf("second request: X-Cache %q, want a hit; the check proves nothing", resp.Header.Get("X-Cache"))
	}
	if strings.Contains(string(body), "evil") {
		t.Errorf("a poisoned page was cached: %s", body)
	}
}

// TestHostileCachePartialAndConditional: a Range, a validator or a HEAD
// sent by the first reader of a page never leaves a partial, empty or
// 304 response in the cache for the next one.
func TestHostileCachePartialAndConditional(t *testing.T) {
	image := strings.Repeat("0123456789", 1000)
	page := "<p>" + strings.Repeat("article ", 500) + "</p>"
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("ETag", `"e1"`)
		if strings.HasSuffix(r.URL.Path, ".jpg") {
			w.Header().Set("Content-Type", "image/jpeg")
			http.ServeContent(w, r, "", time.Unix(1e9, 0), strings.NewReader(image))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		http.ServeContent(w, r, "", time.Unix(1e9, 0), strings.NewReader(page))
	}), withCache(t))
	for i, first := range [][]string{
		{"Range", "bytes=0-9"},
		{"Range", "bytes=5-"},
		{"If-None-Match", `"e1"`},
		{"If-Modified-Since", time.Unix(2e9, 0).UTC().Format(http.TimeFormat)},
		{"If-Range", `"e1"`, "Range", "bytes=0-0"},
		{"Range", "bytes=0-0,2-2,4-4"},
	} {
		for _, p := range []string{"/_z/gdb.rferl.org/%d.jpg", "/a/%d.html"} {
			path := fmt.Sprintf(p, i)
			te.get(t, path, append(first, "Accept-Encoding", "identity")...)
			resp, body := te.get(t, path, "Accept-Encoding", "identity")
			want := image
			if strings.HasSuffix(path, ".html") {
				want = page
			}
			if resp.StatusCode != http.StatusOK || string(body) != want {
				t.Errorf("%s after a first request with %v: status %d, %d bytes (X-Cache %q), want 200 and the whole body",
					path, first, resp.StatusCode, len(body), resp.Header.Get("X-Cache"))
			}
		}
	}
	req, _ := http.NewRequest("HEAD", "https://"+mirrorName+"/a/head.html", nil)
	if resp, err := te.client.Do(req); err == nil {
		resp.Body.Close()
	}
	if resp, body := te.get(t, "/a/head.html", "Accept-Encoding", "identity"); string(body) != page {
		t.Errorf("GET after HEAD: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestHostileFeedHost: a feed, whose links name the mirror host, asked
// for under one mirror domain is never served under another.
func TestHostileFeedHost(t *testing.T) {
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, `<?xml version="1.0"?><rss><channel><link>https://www.rferl.org/a/1.html</link></channel></rss>`)
	}), func(o *Options) {
		withCache(t)(o)
		o.Domains = []string{mirrorName, "other.test"}
	})
	for _, host := range []string{"other.test", "OTHER.TEST.", "other.test:8443"} {
		answer := te.rawExchange(t, "GET /api/ HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if !strings.Contains(answer, "421") {
			t.Fatalf("Host %s over SNI %s: %q, want 421", host, mirrorName, answer)
		}
	}
	// Served under other.test (its reader's SNI would say so) with no TLS
	// name check: straight to the handler.
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://other.test/api/", nil)
	r.RequestURI = "/api/"
	te.edge.ServeHTTP(rec, r)
	if !strings.Contains(rec.Body.String(), "https://other.test/a/1.html") {
		t.Fatalf("feed under other.test: %s", rec.Body.String())
	}
	_, body := te.get(t, "/api/", "Accept-Encoding", "identity")
	if strings.Contains(string(body), "other.test") || !strings.Contains(string(body), "https://"+mirrorName+"/a/1.html") {
		t.Errorf("feed under %s holds another domain's links: %s", mirrorName, body)
	}
}

// TestFeedLinksKeepThePort: a feed read on an edge listening on another
// port than 443 (a demo on :8443) links with that port, or every link
// of the feed would lead to port 443; a port in Host the edge does not
// listen on is ignored (no cache variant per made-up port).
func TestFeedLinksKeepThePort(t *testing.T) {
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, `<?xml version="1.0"?><rss><channel><link>https://www.rferl.org/a/1.html</link></channel></rss>`)
	}), withCache(t))
	_, port, _ := net.SplitHostPort(te.server.Listener.Addr().String())
	for _, tc := range []struct{ host, want string }{
		{mirrorName + ":" + port, "https://" + mirrorName + ":" + port + "/a/1.html"},
		{mirrorName + ":1", "https://" + mirrorName + "/a/1.html"},
		{mirrorName, "https://" + mirrorName + "/a/1.html"},
		{mirrorName + ":" + port, "https://" + mirrorName + ":" + port + "/a/1.html"}, // from the cache now
	} {
		answer := te.rawExchange(t, "GET /api/ HTTP/1.1\r\nHost: "+tc.host+"\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n")
		if !strings.Contains(answer, "<link>"+tc.want+"</link>") {
			t.Errorf("Host %s: want a link to %s in %q", tc.host, tc.want, answer)
		}
	}
}

// TestHostileCacheKeyForwardedHeaders: the edge forwards Accept,
// Accept-Language and X-Requested-With to the origin on cacheable
// requests but keys the cache on the URL alone. An origin that answers
// XHRs with a fragment (ASP.NET MVC's IsAjaxRequest) or negotiates on
// Accept without naming it in Vary gets the first reader's variant
// stored and served to everyone.
func TestHostileCacheKeyForwardedHeaders(t *testing.T) {
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("Content-Type", "text/html")
		switch {
		case r.Header.Get("X-Requested-With") != "":
			io.WriteString(w, "<p>fragment only</p>")
		case strings.Contains(r.Header.Get("Accept"), "json"):
			io.WriteString(w, `<p>{"json":1}</p>`)
		case r.Header.Get("Accept-Language") == "xx":
			io.WriteString(w, "<p>xx page</p>")
		default:
			io.WriteString(w, "<html><body><p>whole page</p></body></html>")
		}
	}), withCache(t))
	for i, poison := range [][]string{
		{"X-Requested-With", "XMLHttpRequest"},
		{"Accept", "application/json"},
		{"Accept-Language", "xx"},
	} {
		path := fmt.Sprintf("/a/%d.html", i)
		te.get(t, path, poison...)
		_, body := te.get(t, path, "Accept-Encoding", "identity")
		if !strings.Contains(string(body), "whole page") {
			t.Errorf("%s after a first request with %v: a plain reader got %q", path, poison, body)
		}
	}
}

// TestHostileGETBody: a GET (or HEAD) with a body is passed to
// the origin body and all, and the answer is cached under the URL alone.
// Frameworks that read form fields from any request's body (ASP.NET's
// Request.Form / Request["x"]) then let one reader choose what everyone
// is served ("fat GET" cache poisoning).
func TestHostileGETBody(t *testing.T) {
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>page "+string(b)+"</p>")
	}), withCache(t))
	req, _ := http.NewRequest("GET", "https://"+mirrorName+"/a/1.html", strings.NewReader("q=evil"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := te.client.Do(req); err == nil {
		resp.Body.Close()
	}
	for _, r := range te.origin.Requests() {
		if r.Header.Get("Content-Length") != "" || r.Header.Get("Content-Type") != "" {
			t.Errorf("the origin got a GET with Content-Length %q, Content-Type %q", r.Header.Get("Content-Length"), r.Header.Get("Content-Type"))
		}
	}
	if _, body := te.get(t, "/a/1.html", "Accept-Encoding", "identity"); strings.Contains(string(body), "evil") {
		t.Errorf("a later reader got %q", body)
	}
}

// serverConn dials a Server started by runServer over TLS, HTTP/1.1.
func serverConn(t *testing.T, addr string, pool *x509.CertPool) *tls.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: mirrorName, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// statusOf sends raw to a fresh connection and returns the status line.
func statusOf(t *testing.T, addr string, pool *x509.CertPool, raw string) string {
	t.Helper()
	conn := serverConn(t, addr, pool)
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(conn, raw) // the server may answer before reading it all
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// TestHostileOversizedRequests: huge headers, a huge request line and a
// query of 10,000 parameters are refused or answered at once, through the
// real Server.
func TestHostileOversizedRequests(t *testing.T) {
	edge, origin, _ := newEdge(t, echoHandler, "www.rferl.org", []string{"gdb.rferl.org"}, nil)
	addr, pool, _ := runServer(t, edge)
	big := strings.Repeat("a", 100<<10)
	for _, tc := range []struct{ name, raw, want string }{
		{"100 KB header", "GET / HTTP/1.1\r\nHost: mirror.test\r\nX-Big: " + big + "\r\n\r\n", "431"},
		{"2000 headers", "GET / HTTP/1.1\r\nHost: mirror.test\r\n" + strings.Repeat("X-A: b\r\n", 10000) + "\r\n", "431"},
		{"1 MB URL", "GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "431"},
	} {
		if got := statusOf(t, addr, pool, tc.raw); !strings.Contains(got, " "+tc.want+" ") {
			t.Errorf("%s: %q, want %s", tc.name, got, tc.want)
		}
	}
	var q strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&q, "p%d=&", i)
	}
	start := time.Now()
	got := statusOf(t, addr, pool, "GET /x?"+q.String()+" HTTP/1.1\r\nHost: mirror.test\r\n\r\n")
	if !strings.Contains(got, " 200 ") || time.Since(start) > 3*time.Second {
		t.Errorf("10,000 query parameters: %q after %v", got, time.Since(start))
	}
	for _, r := range origin.Requests() {
		if len(r.URI) > 100<<10 {
			t.Errorf("the origin got a %d-byte URI", len(r.URI))
		}
	}
}

// TestHostileSlowloris: a reader that trickles its request headers is
// cut off by the Server's header timeout (10 s).
func TestHostileSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s")
	}
	edge, _, _ := newEdge(t, echoHandler, "www.rferl.org", nil, nil)
	addr, pool, _ := runServer(t, edge)
	conn := serverConn(t, addr, pool)
	start := time.Now()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: mirror.test\r\n")
	var err error
	for i := 0; i < 40 && err == nil; i++ { // 20 s at most
		time.Sleep(500 * time.Millisecond)
		_, err = io.WriteString(conn, "X: y\r\n")
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			var b [1]byte
			if _, rerr := conn.Read(b[:]); rerr != nil && !isTimeout(rerr) {
				err = rerr
			}
		}
	}
	if err == nil || time.Since(start) > 13*time.Second {
		t.Errorf("a trickled request was still open after %v (err %v)", time.Since(start), err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestHostileSlowUpload: a POST whose body trickles in
// holds an origin fetch slot (origin.max_fetches) for as long as the
// reader likes: origin.timeout starts only once the response headers are
// in, the origin transport's header timeout only once the body is sent,
// and the Server has no read timeout for bodies. max_fetches such uploads
// (64 by default) turn every cache miss into a 503 for all readers.
func TestHostileSlowUpload(t *testing.T) {
	edge, _, _ := newEdge(t, echoHandler, "www.rferl.org", nil, func(o *Options) {
		o.OriginFetches = 1
		o.Timeout = 500 * time.Millisecond
	})
	addr, pool, _ := runServer(t, edge)
	conn := serverConn(t, addr, pool)
	io.WriteString(conn, "POST /search HTTP/1.1\r\nHost: mirror.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nq=")
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte every 100 ms: the upload never ends in this test
		for i := 0; i < 100; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				io.WriteString(conn, "a")
			}
		}
	}()
	time.Sleep(2 * time.Second) // four times origin.timeout
	got := statusOf(t, addr, pool, "GET /a/1.html HTTP/1.1\r\nHost: mirror.test\r\n\r\n")
	if !strings.Contains(got, " 200 ") {
		t.Errorf("a reader's page while another reader uploads slowly: %q, want 200", got)
	}
}

// TestHostileManyRanges: 10,000 ranges, or overlapping ones, on a cached
// body cost the edge about what serving the body whole costs (multipart
// part headers make 10,000 one-byte parts a little larger than the body;
// the real Server's 64 KB header limit caps the count).
func TestHostileManyRanges(t *testing.T) {
	image := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, image)
	}), withCache(t))
	te.get(t, "/_z/gdb.rferl.org/big.jpg")
	var many strings.Builder
	many.WriteString("bytes=")
	for i := range 10000 {
		fmt.Fprintf(&many, "%d-%d,", i*50, i*50)
	}
	for _, rng := range []string{
		strings.TrimSuffix(many.String(), ","),
		"bytes=0-,0-,0-,0-,0-",
		"bytes=0-1048575,1-1048575,2-1048575",
		"bytes=-1048576,-1048576",
		"bytes=0-0," + strings.Repeat("1-1,", 5000) + "2-2",
	} {
		start := time.Now()
		resp, body := te.get(t, "/_z/gdb.rferl.org/big.jpg", "Range", rng, "Accept-Encoding", "identity")
		if resp.Header.Get("X-Cache") != cacheHit {
			t.Errorf("Range %.40s…: X-Cache %q, want a hit", rng, resp.Header.Get("X-Cache"))
		}
		if len(body) > 2*len(image) || time.Since(start) > 3*time.Second {
			t.Errorf("Range %.40s…: status %d, %d bytes in %v for a %d-byte body", rng, resp.StatusCode, len(body), time.Since(start), len(image))
		}
	}
}
