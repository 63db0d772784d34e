package relay_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"zerkalo/proxy"
	"zerkalo/proxy/certs"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/enroll"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/relay"
	"zerkalo/proxy/rewrite"
)

const (
	mirrorName = "mirror.example"
	relayName  = "relay.example"
)

// testEdge is a real edge on loopback (proxy.Edge behind proxy.Server,
// the demo site as origin) that serves enrolled relay domains the way
// zerkalo serve is meant to: certificates from its local CA only for its
// mirror domain and the relays enrolled in its store, the enrollment
// endpoint mounted at enroll.Path.
type testEdge struct {
	addr  string
	ca    *certs.Authority
	store *enroll.Store
}

func startEdge(t *testing.T) *testEdge {
	t.Helper()
	origin, err := fakeorigin.Start(demo.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { origin.Close() })
	mapper, err := rewrite.NewMapper(demo.Site, demo.Hosts(demo.Site))
	if err != nil {
		t.Fatal(err)
	}
	transport := proxy.NewOriginTransport(proxy.OriginOptions{
		IsOrigin:       mapper.IsOrigin,
		Resolve:        map[string]string{"*": origin.Addr()},
		RootCAs:        origin.CA().Pool(),
		ConnectTimeout: 5 * time.Second,
		HeaderTimeout:  5 * time.Second,
	})
	t.Cleanup(transport.CloseIdleConnections)
	edge, err := proxy.New(proxy.Options{
		Mapper:    mapper,
		Domains:   []string{mirrorName, relayName},
		Transport: transport,
		Timeout:   5 * time.Second,
		MaxBody:   16 << 20,
		UserAgent: "ZerkaloTest/1",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edge.Close)
	state := t.TempDir()
	ca, err := certs.LoadOrCreateCA(filepath.Join(state, "selfsigned-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := enroll.OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(name string) bool { return name == mirrorName || slices.Contains(store.Domains(), name) }
	enrollment := store.Handler(func() []string { return []string{mirrorName} })
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, enroll.Path) {
			enrollment.ServeHTTP(w, r)
			return
		}
		edge.ServeHTTP(w, r)
	})
	ready := make(chan string, 1)
	srv := &proxy.Server{
		Listen:    "127.0.0.1:0",
		Handler:   mux,
		TLSConfig: &tls.Config{GetCertificate: ca.GetCertificate(allowed)},
		Logger:    slog.New(slog.DiscardHandler),
		Ready:     func(a net.Addr) { ready <- a.String() },
	}
	// The edge waits up to proxy.ShutdownGrace for QUIC readers whose
	// relay is gone; the test does not.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.Run(ctx)
	select {
	case addr := <-ready:
		return &testEdge{addr: addr, ca: ca, store: store}
	case <-time.After(10 * time.Second):
		t.Fatal("edge did not start")
	}
	return nil
}

// runInBackground runs f until the test ends, then cancels it and waits
// up to wait.
func runInBackground(t *testing.T, wait time.Duration, f func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			t.Errorf("did not stop within %v", wait)
		}
	})
}

// enrollRelay invites and enrolls relayName with the edge.
func (e *testEdge) enrollRelay(t *testing.T, public bool) *enroll.Enrollment {
	t.Helper()
	token, err := e.store.IssueInvite(relayName, e.addr, mirrorName, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	en, err := enroll.Enroll(context.Background(), token, "", public)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return en
}

// startRelay runs a relay for domain in front of the edge.
func startRelay(t *testing.T, edgeAddr, domain string, modify func(*relay.Config)) (*relay.Relay, string, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	ready := make(chan string, 1)
	cfg := relay.Config{
		Listen: "127.0.0.1:0",
		Edge:   edgeAddr,
		Domain: domain,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Ready:  func(a net.Addr) { ready <- a.String() },
	}
	if modify != nil {
		modify(&cfg)
	}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, 5*time.Second, r.Run)
	select {
	case addr := <-ready:
		return r, addr, logs
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not start")
	}
	return nil, "", nil
}

// ports records the local ports of a reader's connections.
type ports struct {
	mu sync.Mutex
	p  []string
}

func (p *ports) add(a net.Addr) {
	_, port, _ := net.SplitHostPort(a.String())
	p.mu.Lock()
	p.p = append(p.p, port)
	p.mu.Unlock()
}

func (p *ports) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.p)
}

// readerClient returns a client for proto ("h1", "h2", "h3") that sends
// every request to addr, trusting ca, and records its local ports.
func readerClient(t *testing.T, proto, addr string, ca *certs.Authority, seen *ports) *http.Client {
	t.Helper()
	tlsConf := &tls.Config{RootCAs: ca.Pool()}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		if err == nil {
			seen.add(c.LocalAddr())
		}
		return c, err
	}
	var rt http.RoundTripper
	switch proto {
	case "h1", "h2":
		tr := &http.Transport{TLSClientConfig: tlsConf, DialContext: dial, ForceAttemptHTTP2: proto == "h2"}
		if proto == "h1" {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		t.Cleanup(tr.CloseIdleConnections)
		rt = tr
	case "h3":
		tr := &http3.Transport{
			TLSClientConfig: tlsConf,
			Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					return nil, err
				}
				seen.add(udp.LocalAddr())
				raddr, err := net.ResolveUDPAddr("udp", addr)
				if err != nil {
					return nil, err
				}
				return quic.DialEarly(ctx, udp, raddr, tc, qc)
			},
		}
		t.Cleanup(func() { tr.Close() })
		rt = tr
	}
	return &http.Client{Transport: rt, Timeout: 15 * time.Second}
}

// get fetches url and returns the response and its body.
func get(c *http.Client, url string) (*http.Response, []byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// dialTLS makes a TLS handshake with name through addr.
func dialTLS(addr, name string, ca *certs.Authority) (*tls.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{ServerName: name, RootCAs: ca.Pool()}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

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

// checkNoAddresses fails if the logs hold a loopback address or any of
// the reader's ports.
func checkNoAddresses(t *testing.T, logs string, seen *ports) {
	t.Helper()
	for _, bad := range []string{"127.0.0.1", "::1"} {
		if strings.Contains(logs, bad) {
			t.Errorf("relay logs contain %q:\n%s", bad, logs)
		}
	}
	for _, port := range seen.list() {
		if regexp.MustCompile(`\b` + port + `\b`).MatchString(logs) {
			t.Errorf("relay logs contain the reader's port %s:\n%s", port, logs)
		}
	}
}

var errTimeout = errors.New("timed out")

// eventually polls cond every 20ms for up to d.
func eventually(d time.Duration, cond func() bool) error {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return nil
		}
	}
	return errTimeout
}
