package proxy

// Exhaustion probes: an attacker trying to use up an edge's goroutines,
// memory, origin fetch slots or origin rate through the real Server, over
// real sockets on loopback. Each test asserts the safe behaviour, so that
// it fails if the defect it looks for is there.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"

	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"zerkalo/cache"
)

// bigPage is an HTML page of about n bytes with origin links to rewrite.
func bigPage(n int) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><head><title>big</title></head><body>\n")
	for b.Len() < n {
		fmt.Fprintf(&b, `<p><a href="https://www.rferl.org/a/%d.html">story %d</a> <img src="https://gdb.rferl.org/%d.jpg"></p>`+"\n", b.Len(), b.Len(), b.Len())
	}
	b.WriteString("</body></html>")
	return b.String()
}

// slowDial connects to addr over TCP with a 4 KB receive buffer (so that a
// reader who does not read stops the edge's writes early), speaks TLS with
// ALPN proto, sends raw and then reads nothing.
func slowDial(t *testing.T, addr string, pool *x509.CertPool, proto, raw string) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	raw0, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw0, &tls.Config{ServerName: mirrorName, RootCAs: pool, NextProtos: []string{proto}})
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Time{})
	return conn
}

// statusWithin sends raw on a fresh connection and returns the status
// line, or "no answer" if none came within d.
func statusWithin(t *testing.T, addr string, pool *x509.CertPool, raw string, d time.Duration) string {
	t.Helper()
	conn := serverConn(t, addr, pool)
	conn.SetDeadline(time.Now().Add(d))
	io.WriteString(conn, raw)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "no answer: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// waitUntil polls ok every 10 ms for up to d.
func waitUntil(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// TestExhaustSlowReaderOfMiss: a reader who asks for a large page that is
// not cached yet and then reads nothing. origin.timeout "bounds the whole
// fetch ... to the last byte of a rewritten body" (README, Safety), so
// after it the fetch's origin.max_fetches slot is free for other pages, and
// other readers of the same page are not held behind the stalled one.
func TestExhaustSlowReaderOfMiss(t *testing.T) {
	page := bigPage(8 << 20)
	edge, origin, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		if r.URL.Path == "/big.html" {
			io.WriteString(w, page)
			return
		}
		io.WriteString(w, "<p>small</p>")
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		withCache(t)(o)
		o.OriginFetches = 1
		o.Timeout = time.Second
		o.MaxBody = 32 << 20
	})
	addr, pool, _ := runServer(t, edge)
	get := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: mirror.test\r\nAccept-Encoding: identity\r\n\r\n"
	}
	slowDial(t, addr, pool, "http/1.1", get("/big.html"))
	if !waitUntil(3*time.Second, func() bool { return origin.Count("www.rferl.org", "/big.html") == 1 }) {
		t.Fatal("the origin never got the slow reader's request")
	}
	// After origin.timeout the stalled response is cut: its write fails,
	// and Go's TLS gives the close_notify alert up to 5 s to go out.
	var got string
	if !waitUntil(8*time.Second, func() bool {
		got = statusWithin(t, addr, pool, get("/small.html"), 3*time.Second)
		return strings.Contains(got, " 200 ")
	}) {
		t.Errorf("another page, 8 s after origin.timeout of the stalled fetch: %q, want 200 (the slot is still held)", got)
	}
	if got := statusWithin(t, addr, pool, get("/big.html"), 3*time.Second); !strings.HasPrefix(got, "HTTP/1.1 ") {
		t.Errorf("the same page for another reader: %q; it waits behind the stalled reader's fetch", got)
	}
}

// h2Conn is a hand-driven HTTP/2 client connection to the edge: it sends
// exactly the frames a test asks for, and never opens a flow-control
// window beyond the one its SETTINGS give.
type h2Conn struct {
	conn *tls.Conn
	mu   sync.Mutex // guards fr's writes and enc
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	status  sync.Map // stream ID → ":status" of its response
	data    atomic.Int64
	resets  atomic.Int32
	goaway  atomic.Pointer[http2.GoAwayFrame]
	closed  chan struct{} // the edge closed the connection
	readErr error         // why, once closed is
	nextID  uint32
}

// dialH2 opens an HTTP/2 connection to the edge and sends the preface and
// settings. Frames from the edge are read in the background: SETTINGS and
// PING are acknowledged, response statuses, DATA bytes, RST_STREAM and
// GOAWAY are recorded.
func dialH2(t *testing.T, addr string, pool *x509.CertPool, settings ...http2.Setting) *h2Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: mirrorName, RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q, want h2", p)
	}
	c := &h2Conn{conn: conn, fr: http2.NewFramer(conn, conn), closed: make(chan struct{}), nextID: 1}
	c.enc = hpack.NewEncoder(&c.hbuf)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	go c.readLoop()
	return c
}

func (c *h2Conn) readLoop() {
	defer close(c.closed)
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.readErr = err
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.mu.Lock()
				c.fr.WriteSettingsAck()
				c.mu.Unlock()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.mu.Lock()
				c.fr.WritePing(true, f.Data)
				c.mu.Unlock()
			}
		case *http2.HeadersFrame:
			fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
			for _, hf := range fields {
				if hf.Name == ":status" {
					c.status.Store(f.StreamID, hf.Value)
				}
			}
		case *http2.DataFrame:
			c.data.Add(int64(len(f.Data())))
		case *http2.RSTStreamFrame:
			c.resets.Add(1)
		case *http2.GoAwayFrame:
			c.goaway.Store(f)
		}
	}
}

// request sends the HEADERS of a GET for path (END_STREAM set) and
// returns the stream ID; if reset, an RST_STREAM (CANCEL) follows at once,
// in the same write.
func (c *h2Conn) request(path string, reset bool) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID += 2
	c.hbuf.Reset()
	for _, hf := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", mirrorName},
		{":path", path}, {"accept-encoding", "identity"}} {
		c.enc.WriteField(hpack.HeaderField{Name: hf[0], Value: hf[1]})
	}
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true})
	if err == nil && reset {
		err = c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	return id, err
}

// statusOf returns the :status the edge answered stream id with, or "".
func (c *h2Conn) statusOf(id uint32) string {
	v, _ := c.status.Load(id)
	s, _ := v.(string)
	return s
}

// countFDs returns the number of open file descriptors of this process.
func countFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd: ", err)
	}
	return len(entries)
}

// TestExhaustH2ZeroWindowMiss: the same stall as
// TestExhaustSlowReaderOfMiss needs no large page and no TCP tricks over
// HTTP/2: a client whose SETTINGS_INITIAL_WINDOW_SIZE is 0 never lets a
// DATA byte out. One connection, max_fetches streams on uncached URLs
// (any query string makes one), and every other reader's miss is a 503.
func TestExhaustH2ZeroWindowMiss(t *testing.T) {
	page := bigPage(200 << 10)
	edge, origin, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		withCache(t)(o)
		o.OriginFetches = 4
		o.Timeout = time.Second
	})
	addr, pool, _ := runServer(t, edge)
	c := dialH2(t, addr, pool, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	for i := range 4 {
		if _, err := c.request(fmt.Sprintf("/a/stall.html?x=%d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	if !waitUntil(3*time.Second, func() bool { return len(origin.Requests()) == 4 }) {
		t.Fatalf("the origin got %d of the 4 stalled fetches", len(origin.Requests()))
	}
	time.Sleep(2 * time.Second) // twice origin.timeout
	got := statusWithin(t, addr, pool, "GET /a/other.html HTTP/1.1\r\nHost: mirror.test\r\n\r\n", 3*time.Second)
	if !strings.Contains(got, " 200 ") {
		t.Errorf("a miss 2 s after origin.timeout of 4 stalled streams (max_fetches 4): %q, want 200", got)
	}
}

// TestSteadyStreamsNotCut: the write deadline counts only the time a
// write is blocked. A body the origin sends slowly (an audio stream, its
// length known, so the edge writes it piece by piece without flushing)
// outlasts the stall time five times over and arrives whole, over
// HTTP/1.1 and HTTP/2.
func TestSteadyStreamsNotCut(t *testing.T) {
	piece := strings.Repeat("a", 1000)
	te, _ := hostileEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("Content-Length", strconv.Itoa(40*len(piece))) // the edge does not flush, then
		for range 40 {                                                // 1 s in all, five times the stall time
			io.WriteString(w, piece)
			w.(http.Flusher).Flush()
			time.Sleep(25 * time.Millisecond)
		}
	}), func(o *Options) { o.WriteStall = 200 * time.Millisecond })
	for _, proto := range []string{"h2", "http/1.1"} {
		te.client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{proto}
		te.client.Transport.(*http.Transport).ForceAttemptHTTP2 = proto == "h2"
		te.client.CloseIdleConnections()
		resp, body := te.get(t, "/_z/gdb.rferl.org/live.mp3")
		if resp.StatusCode != 200 || len(body) != 40*len(piece) {
			t.Errorf("%s: a stream sent over 1 s with a 200 ms write stall: status %d, %d of %d bytes", proto, resp.StatusCode, len(body), 40*len(piece))
		}
	}
}

// TestExhaustH2ZeroWindowHits: stalled streams on a cached page cost the
// edge a handler goroutine each, and for a page kept on disk (over 256
// KiB) an open file each, with no time limit: the edge has no write
// deadline. 250 streams per connection (Go's default
// MAX_CONCURRENT_STREAMS) make 262 connections enough to use up
// LimitNOFILE=65536. A stalled stream must be let go in bounded time.
func TestExhaustH2ZeroWindowHits(t *testing.T) {
	page := bigPage(1 << 20)
	edge, _, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, page)
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		withCache(t)(o)
		o.MaxBody = 4 << 20
		o.WriteStall = 2 * time.Second
	})
	addr, pool, _ := runServer(t, edge)
	warm := statusWithin(t, addr, pool, "GET /a/big.html HTTP/1.1\r\nHost: mirror.test\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.Contains(warm, " 200 ") {
		t.Fatalf("first request: %q", warm)
	}
	time.Sleep(300 * time.Millisecond) // the entry reaches the disk in the background
	fds, gs := countFDs(t), runtime.NumGoroutine()
	const streams = 100
	c := dialH2(t, addr, pool, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	for range streams {
		if _, err := c.request("/a/big.html", false); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(3*time.Second, func() bool { return runtime.NumGoroutine()-gs >= streams })
	t.Logf("%d stalled streams on one connection: +%d goroutines, +%d open files", streams, runtime.NumGoroutine()-gs, countFDs(t)-fds)
	if !waitUntil(6*time.Second, func() bool { return runtime.NumGoroutine()-gs < streams/10 }) {
		t.Errorf("6 s later (Options.WriteStall 2 s), %d stalled streams still hold +%d goroutines and +%d open files",
			streams, runtime.NumGoroutine()-gs, countFDs(t)-fds)
	}
}

// originCounter answers with a small page and counts the requests it gets.
type originCounter struct{ n atomic.Int32 }

func (o *originCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.n.Add(1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	io.WriteString(w, "<p>page</p>")
}

// resetFlood sends resets pairs of HEADERS (uncached URLs) and RST_STREAM
// on one HTTP/2 connection to an edge whose origin rate is 5 per second
// (a burst of 10), and returns how many went out.
func resetFlood(t *testing.T, resets int) (edge *Edge, oc *originCounter, sent int, addr string, pool *x509.CertPool) {
	oc = &originCounter{}
	edge, _, _ = newEdge(t, oc, "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		withCache(t)(o)
		o.OriginRate = 5
	})
	addr, pool, _ = runServer(t, edge)
	c := dialH2(t, addr, pool)
	for i := range resets {
		if _, err := c.request(fmt.Sprintf("/a/reset.html?x=%d", i), true); err != nil {
			break
		}
		sent++
	}
	time.Sleep(200 * time.Millisecond) // the handlers already started finish
	t.Logf("%d HEADERS+RST_STREAM sent; the origin got %d requests; %.1f of 10 rate tokens left; GOAWAY %v",
		sent, oc.n.Load(), edge.limiter.Tokens(), c.goaway.Load())
	return edge, oc, sent, addr, pool
}

// TestExhaustH2RapidReset: the "rapid reset" pattern (CVE-2023-44487),
// HEADERS then RST_STREAM at once, on uncached URLs. Go's server bounds
// the handlers it runs, and the edge sends the origin (almost) none of
// the cancelled requests; a real reader is served right after.
func TestExhaustH2RapidReset(t *testing.T) {
	_, oc, sent, addr, pool := resetFlood(t, 1000)
	if n := oc.n.Load(); n > int32(sent/50) {
		t.Errorf("%d reset streams made %d origin requests", sent, n)
	}
	got := statusWithin(t, addr, pool, "GET /a/legit.html HTTP/1.1\r\nHost: mirror.test\r\n\r\n", 3*time.Second)
	if !strings.Contains(got, " 200 ") && !strings.Contains(got, " 503 ") {
		t.Errorf("a reader's miss right after %d reset streams: %q", sent, got)
	}
}

// TestGoneReaderSpendsNoToken: a request whose reader is already gone
// when its fetch would start (an HTTP/2 stream reset before its handler
// ran) takes no origin.rate_limit token. Streams reset a moment later, as
// in the flood above, do spend one each, as any other request does: the
// cap is for all readers together, since no reader's address is kept.
func TestGoneReaderSpendsNoToken(t *testing.T) {
	edge, _, _ := newEdge(t, &originCounter{}, "www.rferl.org", nil, func(o *Options) { o.OriginRate = 5 })
	post := func(ctx context.Context, i int) int {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("/a/%d.html", i), strings.NewReader("q=1"))
		r.Host = mirrorName
		w := httptest.NewRecorder()
		edge.ServeHTTP(w, r)
		return w.Code
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 20 {
		post(gone, i)
	}
	if tokens := edge.limiter.Tokens(); tokens < 9.5 {
		t.Errorf("20 requests of readers already gone spent %.1f of the 10 origin rate tokens", 10-tokens)
	}
	if code := post(context.Background(), 99); code != http.StatusOK {
		t.Fatalf("a reader's POST: %d", code)
	}
	if tokens := edge.limiter.Tokens(); tokens > 9.5 {
		t.Errorf("a reader's fetch spent no token (%.1f left): the test does not see tokens", tokens)
	}
}

// TestExhaustH2ContinuationFlood: HEADERS without END_HEADERS followed by
// endless CONTINUATION frames (CVE-2023-45288). The edge must close the
// connection once the header block passes its 64 KB limit, not buffer
// or decode without end.
func TestExhaustH2ContinuationFlood(t *testing.T) {
	oc := &originCounter{}
	edge, _, _ := newEdge(t, oc, "www.rferl.org", []string{"gdb.rferl.org"}, nil)
	addr, pool, _ := runServer(t, edge)
	c := dialH2(t, addr, pool)
	c.hbuf.Reset()
	c.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
	c.mu.Lock()
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.hbuf.Bytes(), EndStream: true})
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0x40, 0x01, 'x', 0x01, 'y'}, 16000/5) // literal "x: y" fields
	sent := 0
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	for range 4000 { // 64 MB at most
		select {
		case <-c.closed:
		default:
			c.mu.Lock()
			err = c.fr.WriteContinuation(1, false, chunk)
			c.mu.Unlock()
			if err == nil {
				sent += len(chunk)
				continue
			}
		}
		break
	}
	select {
	case <-c.closed:
	case <-time.After(3 * time.Second):
		t.Fatalf("the edge still reads after %d bytes of CONTINUATION frames", sent)
	}
	t.Logf("connection closed after %d bytes of CONTINUATION (GOAWAY %v, %v)", sent, c.goaway.Load(), c.readErr)
	if sent > 16<<20 { // the kernel's socket buffers take a few MB after the edge stopped reading
		t.Errorf("the edge took %d bytes of one header block", sent)
	}
	if n := oc.n.Load(); n != 0 {
		t.Errorf("the origin got %d requests", n)
	}
}

// TestExhaustCacheBusting: a flood of unique query strings and paths, from
// many connections at once for 2 s. Origin fetches stay within
// origin.rate_limit (and its burst of twice the rate), the rest get 503
// at once; the cache stays within max_size, and a page readers keep
// reading stays cached through the evictions the flood causes (least
// recently used goes first; the cache holds more entries than the rate
// admits between two reads of the page).
func TestExhaustCacheBusting(t *testing.T) {
	oc := &originCounter{}
	filler := strings.Repeat("<p>article text</p>", 600) // about 11 KB
	var store *cache.Store
	edge, _, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oc.n.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, "<html><body>"+r.URL.Path+filler+"</body></html>")
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		store = smallCache(t, o, 720<<10)
		o.OriginRate = 20
	})
	addr, pool, _ := runServer(t, edge)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: mirrorName},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string) {
		resp, err := client.Get("https://" + mirrorName + path)
		if err != nil {
			return 0, ""
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Cache")
	}
	if code, _ := get("/a/hot.html"); code != 200 {
		t.Fatalf("hot page: %d", code)
	}
	start := time.Now()
	var codes sync.Map
	var wg sync.WaitGroup
	var sent atomic.Int32
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 500 && time.Since(start) < 2*time.Second; i++ {
				path := fmt.Sprintf("/a/%d.html?q=%d", rand.Uint64(), rand.Uint64())
				if i%2 == 1 {
					path = fmt.Sprintf("/a/bust-%d-%d.html", w, i)
				}
				code, _ := get(path)
				v, _ := codes.LoadOrStore(code, new(atomic.Int32))
				v.(*atomic.Int32).Add(1)
				sent.Add(1)
			}
		})
	}
	var hotMisses []string
	for time.Since(start) < 2*time.Second {
		if code, xc := get("/a/hot.html"); xc != cacheHit {
			hotMisses = append(hotMisses, fmt.Sprintf("%v: %d %s", time.Since(start).Round(time.Millisecond), code, xc))
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(start)
	summary := ""
	codes.Range(func(k, v any) bool {
		summary += fmt.Sprintf(" %v×%d", k, v.(*atomic.Int32).Load())
		return true
	})
	st := store.Stats()
	t.Logf("%d requests in %v:%s; origin got %d; cache: %d entries, %d bytes, %d evictions", sent.Load(), elapsed.Round(time.Millisecond), summary, oc.n.Load(), st.Entries, st.Bytes, st.Evictions)
	if max := int32(20*elapsed.Seconds()) + 40 + 2; oc.n.Load() > max {
		t.Errorf("the origin got %d requests in %v, over origin.rate_limit 20/s (at most %d)", oc.n.Load(), elapsed, max)
	}
	if st.Bytes > 720<<10+64<<10 { // evictions run after the store that passes the limit
		t.Errorf("cache holds %d bytes, over max_size 720 KiB", st.Bytes)
	}
	if len(hotMisses) > 0 {
		t.Errorf("the hot page, read every 100 ms, was not a hit: %q", hotMisses)
	}
}

// smallCache gives the edge a cache of maxSize bytes on disk.
func smallCache(t *testing.T, o *Options, maxSize int64) *cache.Store {
	store, err := cache.Open(t.TempDir(), cache.Options{MaxSize: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	o.Cache = store
	o.CachePolicy = cache.DefaultPolicy()
	return store
}

// TestExhaustSlowReaderOfMedia: a body passed through (media) leaves the
// max_fetches count once its headers are in, so readers who stall on it
// hold no slot: other misses are served.
func TestExhaustSlowReaderOfMedia(t *testing.T) {
	video := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	edge, _, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mp4") {
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(video)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<p>page</p>")
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		o.OriginFetches = 2
		o.Timeout = time.Second
	})
	addr, pool, _ := runServer(t, edge)
	c := dialH2(t, addr, pool, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	for i := range 4 {
		id, err := c.request(fmt.Sprintf("/_z/gdb.rferl.org/v%d.mp4", i), false)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(3*time.Second, func() bool { return c.statusOf(id) != "" })
		if s := c.statusOf(id); s != "200" {
			t.Errorf("video %d, while %d readers stall on others: status %q, want 200", i, i, s)
		}
	}
	if got := statusWithin(t, addr, pool, "GET /a/page.html HTTP/1.1\r\nHost: mirror.test\r\n\r\n", 3*time.Second); !strings.Contains(got, " 200 ") {
		t.Errorf("a page while 4 readers stall on videos (max_fetches 2): %q", got)
	}
}

// TestExhaustLargePOST: the edge passes no request body over
// MaxRequestBody to the origin, declared (413 at once) or chunked (cut at
// the limit, 413), and streams one below it without holding it in memory.
func TestExhaustLargePOST(t *testing.T) {
	var got atomic.Int64
	edge, _, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Add(n)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%d", n)
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) {
		o.Timeout = 5 * time.Second
	})
	addr, pool, _ := runServer(t, edge)
	upload := func(size int, chunked bool) string {
		conn := serverConn(t, addr, pool)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		length := fmt.Sprintf("Content-Length: %d", size)
		if chunked {
			length = "Transfer-Encoding: chunked"
		}
		fmt.Fprintf(conn, "POST /search HTTP/1.1\r\nHost: mirror.test\r\nContent-Type: application/octet-stream\r\n%s\r\n\r\n", length)
		chunk := make([]byte, 256<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			var err error
			if chunked {
				_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
			} else {
				_, err = conn.Write(chunk)
			}
			if err != nil {
				break // the edge answered and closed: read what it said
			}
		}
		if chunked {
			io.WriteString(conn, "0\r\n\r\n")
		}
		line, _ := bufio.NewReader(conn).ReadString('\n')
		return strings.TrimSpace(line)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if line := upload(MaxRequestBody, false); !strings.Contains(line, " 200 ") || got.Load() != MaxRequestBody {
		t.Errorf("a POST of MaxRequestBody: %q, the origin got %d bytes", line, got.Load())
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2*MaxRequestBody {
		t.Errorf("the edge's heap grew by %d MiB for a %d MiB upload", grew>>20, MaxRequestBody>>20)
	}
	got.Store(0)
	if line := upload(64<<20, false); !strings.Contains(line, " 413 ") || got.Load() != 0 {
		t.Errorf("a declared 64 MiB POST: %q, the origin got %d bytes", line, got.Load())
	}
	if line := upload(64<<20, true); !strings.Contains(line, " 413 ") || got.Load() > MaxRequestBody {
		t.Errorf("a chunked 64 MiB POST: %q, the origin got %d bytes", line, got.Load())
	}
}

// TestExhaustManyCookies: a request carrying as many cookies as the 64 KB
// header limit lets through is answered at once, on both paths (with the
// origin's own cookie among them: not cacheable; without: cacheable).
func TestExhaustManyCookies(t *testing.T) {
	oc := &originCounter{}
	edge, _, _ := newEdge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "own", Value: "1"})
		oc.ServeHTTP(w, r)
	}), "www.rferl.org", []string{"gdb.rferl.org"}, func(o *Options) { withCache(t)(o) })
	addr, pool, _ := runServer(t, edge)
	statusWithin(t, addr, pool, "GET /first HTTP/1.1\r\nHost: mirror.test\r\n\r\n", 3*time.Second) // learns "own"
	var b strings.Builder
	for i := 0; b.Len() < 60<<10; i++ {
		fmt.Fprintf(&b, "c%d=%d; ", i, i)
	}
	for _, cookies := range []string{b.String() + "own=1", b.String()} {
		start := time.Now()
		got := statusWithin(t, addr, pool, "GET /a/1.html HTTP/1.1\r\nHost: mirror.test\r\nCookie: "+cookies+"\r\n\r\n", 3*time.Second)
		if !strings.Contains(got, " 200 ") || time.Since(start) > time.Second {
			t.Errorf("%d bytes of cookies: %q after %v", len(cookies), got, time.Since(start))
		}
	}
}
