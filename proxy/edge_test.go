package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"zerkalo/proxy/certs"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
)

const mirrorName = "mirror.test"

// testEdge is an edge on loopback in front of a fake TLS origin.
type testEdge struct {
	origin *fakeorigin.Server
	server *httptest.Server
	client *http.Client
	logs   *lockedBuffer
	mapper *rewrite.Mapper
	edge   *Edge

	mu          sync.Mutex
	readerAddrs []string // local addresses of the reader's connections
}

// startEdge runs origin handler h behind a fake origin and an edge that
// mirrors www.rferl.org (plus the extra hosts) on mirror.test. Every origin
// host is pinned to the fake origin, except those in unpinned.
func startEdge(t testing.TB, h http.Handler, extraHosts []string, unpinned ...string) *testEdge {
	t.Helper()
	hosts := append([]string{"gdb.rferl.org", "www.svoboda.org"}, extraHosts...)
	return startEdgeFor(t, h, "www.rferl.org", hosts, unpinned...)
}

// startEdgeFor is startEdge for any origin site and host family.
func startEdgeFor(t testing.TB, h http.Handler, site string, hosts []string, unpinned ...string) *testEdge {
	t.Helper()
	return startEdgeWith(t, h, site, hosts, nil, unpinned...)
}

// startEdgeWith is startEdgeFor with the edge's options changed by modify.
func startEdgeWith(t testing.TB, h http.Handler, site string, hosts []string, modify func(*Options), unpinned ...string) *testEdge {
	t.Helper()
	edge, origin, logs := newEdge(t, h, site, hosts, modify, unpinned...)
	mapper := edge.opts.Mapper
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(edge.opts.Metrics.Instrument(edge))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{GetCertificate: ca.GetCertificate(func(n string) bool { return n == mirrorName })}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	te := &testEdge{origin: origin, server: srv, logs: logs, mapper: mapper, edge: edge}
	te.client = &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					te.mu.Lock()
					te.readerAddrs = append(te.readerAddrs, conn.LocalAddr().String())
					te.mu.Unlock()
				}
				return conn, err
			},
			TLSClientConfig:    &tls.Config{RootCAs: ca.Pool()},
			ForceAttemptHTTP2:  true,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	t.Cleanup(te.client.CloseIdleConnections)
	return te
}

// newEdge returns an edge for site and hosts in front of a fake origin
// running h, and the buffer its logs go to.
func newEdge(t testing.TB, h http.Handler, site string, hosts []string, modify func(*Options), unpinned ...string) (*Edge, *fakeorigin.Server, *lockedBuffer) {
	t.Helper()
	origin, err := fakeorigin.Start(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { origin.Close() })
	mapper, err := rewrite.NewMapper(site, hosts)
	if err != nil {
		t.Fatal(err)
	}
	resolve := map[string]string{}
	for _, host := range mapper.Hosts() {
		resolve[host] = origin.Addr()
	}
	for _, host := range unpinned {
		delete(resolve, host)
	}
	transport := NewOriginTransport(OriginOptions{
		IsOrigin:       mapper.IsOrigin,
		Resolve:        resolve,
		RootCAs:        origin.CA().Pool(),
		ConnectTimeout: 5 * time.Second,
		HeaderTimeout:  5 * time.Second,
	})
	t.Cleanup(transport.CloseIdleConnections)
	logs := &lockedBuffer{}
	opts := Options{
		Mapper:    mapper,
		Domains:   []string{mirrorName},
		Transport: transport,
		Timeout:   5 * time.Second,
		MaxBody:   1 << 20,
		UserAgent: "ZerkaloTest/1",
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
		Metrics:   NewMetrics(),
	}
	if modify != nil {
		modify(&opts)
	}
	edge, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edge.Close)
	return edge, origin, logs
}

// get fetches path from the mirror with optional header pairs.
func (te *testEdge) get(t testing.TB, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "https://"+mirrorName+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := te.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp, body
}

// rawRequest sends raw bytes over TLS to the edge and returns the status
// line of the answer.
func (te *testEdge) rawRequest(t *testing.T, raw string) string {
	t.Helper()
	conn := te.sendRaw(t, raw, 5*time.Second)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("read answer to %q: %v", raw, err)
	}
	return strings.TrimSpace(line)
}

// sendRaw dials the edge over TLS (SNI mirror.test, HTTP/1.1), sends raw
// and returns the connection, which the test closes and which gives up
// after timeout.
func (te *testEdge) sendRaw(t *testing.T, raw string, timeout time.Duration) *tls.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", te.server.Listener.Addr().String(), &tls.Config{
		ServerName: mirrorName,
		RootCAs:    te.client.Transport.(*http.Transport).TLSClientConfig.RootCAs,
		NextProtos: []string{"http/1.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	return conn
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const samplePage = `<!DOCTYPE html><html><head>
<link rel="canonical" href="https://www.rferl.org/a/story/1.html">
<link rel="stylesheet" href="//gdb.rferl.org/style.css" integrity="sha384-abc">
</head><body>
<a href="HTTPS://WWW.SVOBODA.ORG/a/2.html">Svoboda</a>
<a href="https://en.wikipedia.org/wiki/Radio_Free_Europe">Wikipedia</a>
<img src="https://gdb.rferl.org/img.jpg">
<p>Article text mentioning https://www.rferl.org stays as text.</p>
</body></html>`

func pageHandler(page string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Server", "Microsoft-IIS/10.0")
		w.Header().Set("X-Powered-By", "ASP.NET")
		w.Header().Set("Alt-Svc", `h3=":443"`)
		io.WriteString(w, page)
	})
}

func TestMirrorsPage(t *testing.T) {
	te := startEdge(t, pageHandler(samplePage), nil)
	resp, body := te.get(t, "/a/story/1.html")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`href="/_z/www.svoboda.org/a/2.html"`,
		`href="https://en.wikipedia.org/wiki/Radio_Free_Europe"`,
		"Article text mentioning https://www.rferl.org stays as text.",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body lacks %s", want)
		}
	}
	for _, h := range []string{"Server", "X-Powered-By", "Alt-Svc"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("origin header %s passed through: %q", h, v)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if got := te.origin.Count("www.rferl.org", "/a/story/1.html"); got != 1 {
		t.Errorf("origin saw %d requests for the page, want 1", got)
	}
}

func TestSecondaryHostPath(t *testing.T) {
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Host+" "+r.RequestURI)
	}), nil)
	_, body := te.get(t, "/_z/gdb.rferl.org/x/y.jpg?w=1")
	if got, want := string(body), "gdb.rferl.org /x/y.jpg?w=1"; got != want {
		t.Errorf("origin got %q, want %q", got, want)
	}
}

func TestRefusesOpenProxyUse(t *testing.T) {
	redirectAway := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, "https://evil.example/steal", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	})
	te := startEdge(t, redirectAway, []string{"localhost"}, "localhost")
	for _, tc := range []struct {
		name, raw, wantStatus string
	}{
		{"absolute URI", "GET https://www.rferl.org/ HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "400"},
		{"absolute URI to foreign host", "GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n", "4"},
		{"CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", "4"},
		{"foreign Host", "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", "421"},
		{"origin Host", "GET / HTTP/1.1\r\nHost: www.rferl.org\r\n\r\n", "421"},
		{"dot segments", "GET /_z/gdb.rferl.org/../x HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "404"},
		{"encoded dots", "GET /_z/gdb.rferl.org/%2e%2e/x HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "404"},
		{"encoded slash", "GET /_z/gdb.rferl.org%2fevil.example/x HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "404"},
		{"foreign host under prefix", "GET /_z/evil.example/x HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "404"},
		{"DELETE", "DELETE / HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "405"},
		{"unpinned host resolving to loopback", "GET /_z/localhost/ HTTP/1.1\r\nHost: mirror.test\r\n\r\n", "502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := te.rawRequest(t, tc.raw)
			if !strings.HasPrefix(line, "HTTP/1.1 "+tc.wantStatus) {
				t.Errorf("answer %q, want status %s…", line, tc.wantStatus)
			}
		})
	}
	resp, body := te.get(t, "/away")
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !bytes.Contains(body, []byte("https://evil.example/steal")) {
		t.Errorf("redirect away: status %d, Location %q, body %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	for _, r := range te.origin.Requests() {
		if r.Host != "www.rferl.org" {
			t.Errorf("origin got a request for host %q (%s)", r.Host, r.URI)
		}
	}
	if n := len(te.origin.Requests()); n != 1 {
		t.Errorf("origin got %d requests, want only the one for /away", n)
	}
}

func TestRequestCarriesNothingAboutTheReader(t *testing.T) {
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "origin_pref", Value: "1", Path: "/"})
		io.WriteString(w, "ok")
	}), nil)
	te.get(t, "/first") // lets the origin set its own cookie name
	te.get(t, "/second",
		"X-Forwarded-For", "203.0.113.9",
		"Forwarded", "for=203.0.113.9",
		"X-Real-IP", "203.0.113.9",
		"User-Agent", "ReaderBrowser/9",
		"Cookie", "origin_pref=1; _ga=GA1.2.3; session_elsewhere=x",
		"Referer", "https://search.example/?q=secret",
		"Accept-Language", "ru",
	)
	reqs := te.origin.Requests()
	if len(reqs) != 2 {
		t.Fatalf("origin got %d requests, want 2", len(reqs))
	}
	h := reqs[1].Header
	for _, k := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Via", "Referer", "Origin"} {
		if v := h.Get(k); v != "" {
			t.Errorf("origin got %s: %q", k, v)
		}
	}
	if ua := h.Get("User-Agent"); ua != "ZerkaloTest/1" {
		t.Errorf("origin got User-Agent %q", ua)
	}
	if c := h.Get("Cookie"); c != "origin_pref=1" {
		t.Errorf("origin got Cookie %q, want only its own cookie", c)
	}
	if h.Get("Accept-Language") != "ru" {
		t.Errorf("Accept-Language not forwarded")
	}
	for _, r := range reqs {
		all := strings.Join(flatten(r.Header), "\n")
		if strings.Contains(all, "203.0.113.9") || strings.Contains(all, "127.0.0.1") || strings.Contains(all, mirrorName) {
			t.Errorf("origin request headers carry the reader's identity or the mirror name:\n%s", all)
		}
	}
}

func flatten(h http.Header) []string {
	var out []string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, k+": "+v)
		}
	}
	return out
}

func TestRefererMappedBackToOrigin(t *testing.T) {
	te := startEdge(t, pageHandler("<p>x</p>"), nil)
	for _, tc := range []struct{ path, referer, want string }{
		{"/x", "https://" + mirrorName + "/a/1.html?q=1", "https://www.rferl.org/a/1.html?q=1"},
		{"/_z/gdb.rferl.org/x.jpg", "https://" + mirrorName + "/_z/www.svoboda.org/a/1.html", "https://www.svoboda.org/a/1.html"},
		{"/y", "https://elsewhere.example/_z/www.svoboda.org/a/1.html", ""},
	} {
		te.origin.ResetLog()
		te.get(t, tc.path, "Referer", tc.referer)
		reqs := te.origin.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: origin got %d requests", tc.path, len(reqs))
		}
		if got := reqs[0].Header.Get("Referer"); got != tc.want {
			t.Errorf("%s with Referer %s: origin got Referer %q, want %q", tc.path, tc.referer, got, tc.want)
		}
	}
}

func TestHeadersRewritten(t *testing.T) {
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "https://www.svoboda.org/a/1.html", http.StatusMovedPermanently)
		case "/cookie":
			w.Header().Add("Set-Cookie", "pref=1; Domain=.svoboda.org; Path=/; Secure")
			w.Header().Set("Link", `<https://gdb.rferl.org/a.css>; rel=preload; as=style`)
			w.Header().Set("Access-Control-Allow-Origin", "https://www.svoboda.org")
			io.WriteString(w, "ok")
		}
	}), nil)
	resp, _ := te.get(t, "/moved")
	if got := resp.Header.Get("Location"); got != "/_z/www.svoboda.org/a/1.html" {
		t.Errorf("Location = %q", got)
	}
	resp, _ = te.get(t, "/_z/www.svoboda.org/cookie")
	if got := resp.Header.Get("Set-Cookie"); got != "pref=1; Path=/_z/www.svoboda.org/; Secure" {
		t.Errorf("Set-Cookie = %q", got)
	}
	if got := resp.Header.Get("Link"); got != `</_z/gdb.rferl.org/a.css>; rel=preload; as=style` {
		t.Errorf("Link = %q", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
}

func TestScriptBuiltURLOfSisterSite(t *testing.T) {
	te := startEdge(t, pageHandler("<p>x</p>"), nil)
	resp, _ := te.get(t, "/part/section/5/9228?x=1", "Referer", "https://"+mirrorName+"/_z/www.svoboda.org/a/1.html")
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/_z/www.svoboda.org/part/section/5/9228?x=1" {
		t.Errorf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = te.get(t, "/part/section/5/9228", "Referer", "https://"+mirrorName+"/a/1.html")
	if resp.StatusCode != 200 {
		t.Errorf("request from a primary-site page: status %d", resp.StatusCode)
	}
}

// TestEncodings: whatever the origin's encoding, the reader gets the
// rewritten page in the encoding it asked for.
func TestEncodings(t *testing.T) {
	page := `<a href="https://www.svoboda.org/">s</a>` + strings.Repeat("<p>text</p>", 500)
	want := strings.ReplaceAll(page, "https://www.svoboda.org/", "/_z/www.svoboda.org/")
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		enc := strings.TrimPrefix(r.URL.Path, "/")
		w.Header().Set("Content-Encoding", enc)
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Vary", "accept-encoding")
		var zw io.WriteCloser
		switch enc {
		case "gzip":
			zw = gzip.NewWriter(w)
		case "br":
			zw = brotli.NewWriter(w)
		case "zstd":
			zw, _ = zstd.NewWriter(w)
		}
		io.WriteString(zw, page)
		zw.Close()
	}), nil)
	for _, originEnc := range []string{"gzip", "br", "zstd"} {
		for readerAE, wantEnc := range map[string]string{
			"":                        "",
			"gzip":                    "gzip",
			"br":                      "br",
			"gzip, deflate, br, zstd": "gzip", // a miss is gzipped for browsers too: see streamEncoding
			"br;q=0, gzip":            "gzip",
			"gzip;q=0, br":            "br",
			"identity, *":             "gzip",
			"gzip;q=0, br;q=0":        "",
		} {
			resp, body := te.get(t, "/"+originEnc, "Accept-Encoding", readerAE)
			got := decodeForTest(t, resp.Header.Get("Content-Encoding"), body)
			if got != want {
				t.Errorf("origin %s, reader %q: body differs (got %d bytes, encoding %q)", originEnc, readerAE, len(got), resp.Header.Get("Content-Encoding"))
			}
			if resp.Header.Get("Content-Encoding") != wantEnc {
				t.Errorf("origin %s, reader %q: Content-Encoding %q, want %q", originEnc, readerAE, resp.Header.Get("Content-Encoding"), wantEnc)
			}
			if et := resp.Header.Get("ETag"); et != `W/"abc"` {
				t.Errorf("ETag = %q, want weak", et)
			}
			if v := resp.Header.Values("Vary"); len(v) != 1 || !strings.EqualFold(v[0], "Accept-Encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding once", v)
			}
		}
	}
}

func decodeForTest(t *testing.T, enc string, body []byte) string {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(r)
	case "":
	default:
		t.Fatalf("unexpected encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStreamsBeforeOriginFinishes: the reader gets the first part of a
// page while the origin is still sending the rest, in every encoding.
func TestStreamsBeforeOriginFinishes(t *testing.T) {
	for _, enc := range []string{"", "gzip", "br"} {
		t.Run("encoding "+enc, func(t *testing.T) {
			release := make(chan struct{})
			te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, `<p><a href="https://www.svoboda.org/">first part</a></p>`+strings.Repeat(" ", 4096))
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, "<p>second part</p>")
			}), nil)
			req, err := http.NewRequest("GET", "https://"+mirrorName+"/slow", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Encoding", enc)
			resp, err := te.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != enc {
				t.Fatalf("Content-Encoding %q, want %q", got, enc)
			}
			body, err := decodeBody(resp.Body, enc)
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			first := `<p><a href="/_z/www.svoboda.org/">first`
			buf := make([]byte, len(first))
			read := make(chan error, 1)
			go func() { _, err := io.ReadFull(body, buf); read <- err }()
			select {
			case err := <-read:
				if err != nil {
					t.Fatalf("first bytes: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the reader got nothing while the origin waited")
			}
			if string(buf) != first {
				t.Errorf("first bytes %q", buf)
			}
			close(release)
			rest, err := io.ReadAll(body)
			if err != nil || !strings.HasSuffix(string(rest), "<p>second part</p>") {
				t.Errorf("rest %q, err %v", rest, err)
			}
		})
	}
}

// TestOriginDiesMidBody: a body cut short by the origin never reaches the
// reader as a complete response.
func TestOriginDiesMidBody(t *testing.T) {
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "100000")
		io.WriteString(w, strings.Repeat("<p>partial</p>", 100))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the origin's connection dies
	}), nil)
	for _, proto := range []string{"h2", "http/1.1"} {
		te.client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{proto}
		te.client.CloseIdleConnections()
		resp, err := te.client.Get("https://" + mirrorName + "/dying")
		if err != nil {
			continue // refused outright: also never a truncated page
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("%s: truncated body was delivered as complete (status %d)", proto, resp.StatusCode)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		for range 3 << 10 {
			io.WriteString(w, strings.Repeat("a", 1023)+"\n")
		}
	}), nil)
	resp, err := te.client.Get("https://" + mirrorName + "/big.css")
	if err != nil {
		return
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("a body over MaxBody was delivered as complete")
	}
}

// TestMidBodyLogs: a reader who leaves in the middle of a page is no news
// (nothing logged at warning level); an origin that stops sending until
// the fetch times out is.
func TestMidBodyLogs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		leave    bool // the reader leaves after the first bytes
		wantWarn bool
	}{
		{"reader leaves", true, false},
		{"origin times out", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startEdgeWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<p>first part</p>"+strings.Repeat(" ", 4096))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}), "www.rferl.org", nil, func(o *Options) { o.Timeout = 500 * time.Millisecond })
			resp, err := te.client.Get("https://" + mirrorName + "/a/1.html")
			if err != nil {
				t.Fatal(err)
			}
			if tc.leave {
				io.ReadFull(resp.Body, make([]byte, 10))
				resp.Body.Close()
				time.Sleep(1500 * time.Millisecond) // past the timeout, had the fetch gone on
			} else {
				if _, err := io.ReadAll(resp.Body); err == nil {
					t.Error("a body cut by the timeout was delivered as complete")
				}
				resp.Body.Close()
			}
			logs := te.logs.String()
			if got := strings.Contains(logs, "level=WARN"); got != tc.wantWarn {
				t.Errorf("warning logged: %v, want %v; logs:\n%s", got, tc.wantWarn, logs)
			}
		})
	}
}

func TestLogsHoldNoReaderAddress(t *testing.T) {
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}), nil)
	te.get(t, "/fails?secret=1")
	te.origin.SetDown(fakeorigin.Refuse)
	te.get(t, "/fails-again")
	logs := te.logs.String()
	if !strings.Contains(logs, "origin fetch failed") {
		t.Fatalf("expected a log line about the failure, got %q", logs)
	}
	if strings.Contains(logs, "secret=1") {
		t.Errorf("logs carry the reader's query:\n%s", logs)
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	if len(te.readerAddrs) == 0 {
		t.Fatal("no reader connection recorded")
	}
	for _, a := range te.readerAddrs {
		_, port, _ := net.SplitHostPort(a)
		if strings.Contains(logs, ":"+port) {
			t.Errorf("logs carry the reader's address %s:\n%s", a, logs)
		}
	}
}

// TestUTF16PageRewritten: a page in an encoding that is not
// ASCII-compatible is decoded, rewritten and served as UTF-8.
func TestUTF16PageRewritten(t *testing.T) {
	page := `<html><body><a href="https://www.svoboda.org/a/1.html">Свобода</a></body></html>`
	var utf16 []byte
	utf16 = append(utf16, 0xFF, 0xFE) // little-endian BOM
	for _, r := range page {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	te := startEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-16")
		w.Write(utf16)
	}), nil)
	resp, body := te.get(t, "/utf16")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !bytes.Contains(body, []byte(`<a href="/_z/www.svoboda.org/a/1.html">Свобода</a>`)) {
		t.Errorf("body = %q", body)
	}
}

// TestOriginEncoding: the edge asks the origin for compressed bodies,
// or for plain ones with OriginIdentity, and rewrites either.
func TestOriginEncoding(t *testing.T) {
	for _, identity := range []bool{false, true} {
		var asked atomic.Value
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked.Store(r.Header.Get("Accept-Encoding"))
			pageHandler(`<a href="https://www.rferl.org/a/1.html">x</a>`).ServeHTTP(w, r)
		})
		te := startEdgeWith(t, h, "www.rferl.org", nil, func(o *Options) { o.OriginIdentity = identity })
		resp, body := te.get(t, "/", "Accept-Encoding", "identity")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `href="/a/1.html"`) {
			t.Errorf("identity %v: %d %q", identity, resp.StatusCode, body)
		}
		want := originAcceptEncoding
		if identity {
			want = "identity"
		}
		if got, _ := asked.Load().(string); got != want {
			t.Errorf("identity %v: the origin was asked for %q, want %q", identity, got, want)
		}
	}
}
