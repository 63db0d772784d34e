package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// runServer runs a Server for h on 127.0.0.1 with the self-signed CA in a
// temporary state folder, and returns its address, the CA pool and a stop
// function that waits for Run to return.
func runServer(t *testing.T, h http.Handler) (addr string, pool *x509.CertPool, stop func() error) {
	t.Helper()
	state := t.TempDir()
	tlsConf, err := SelfSignedTLS(state, func(name string) bool { return name == mirrorName })
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan net.Addr, 1)
	srv := &Server{
		Listen:    "127.0.0.1:0",
		Handler:   h,
		TLSConfig: tlsConf,
		Logger:    slog.New(slog.DiscardHandler),
		Ready:     func(a net.Addr) { ready <- a },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start in 10 s")
	}
	pem, err := os.ReadFile(filepath.Join(state, "selfsigned-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	var stopErr error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			stopErr = <-done
		}
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return addr, pool, stop
}

func h3Client(addr string, pool *x509.CertPool) (*http.Client, *http3.Transport) {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: mirrorName},
	}
	return &http.Client{Transport: rewriteAddr{tr, addr}, Timeout: 10 * time.Second}, tr
}

// rewriteAddr sends every request to addr while keeping the URL's host
// for Host and SNI.
type rewriteAddr struct {
	rt   http.RoundTripper
	addr string
}

func (r rewriteAddr) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Host = req.URL.Host
	req.URL.Host = r.addr
	return r.rt.RoundTrip(req)
}

// TestHTTP3ServesTheEdge fetches a mirrored page from the real edge over
// HTTP/3 with quic-go's client, and over HTTP/2, which advertises h3.
func TestHTTP3ServesTheEdge(t *testing.T) {
	edge, _, _ := newEdge(t, pageHandler(samplePage), "www.rferl.org", []string{"gdb.rferl.org", "www.svoboda.org"}, nil)
	addr, pool, stop := runServer(t, edge)
	_, port, _ := net.SplitHostPort(addr)

	client, tr := h3Client(addr, pool)
	defer tr.Close()
	resp, err := client.Get("https://" + mirrorName + "/a/1.html")
	if err != nil {
		t.Fatalf("HTTP/3 request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/3.0" || resp.StatusCode != 200 {
		t.Fatalf("got %s %d", resp.Proto, resp.StatusCode)
	}
	if !strings.Contains(string(body), `href="/_z/www.svoboda.org/a/2.html"`) {
		t.Errorf("HTTP/3 body not rewritten: %s", body)
	}

	tcp := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	defer tcp.CloseIdleConnections()
	resp, err = tcp.Get("https://" + mirrorName + ":" + port + "/a/1.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("TCP answered over %s", resp.Proto)
	}
	if got, want := resp.Header.Get("Alt-Svc"), `h3=":`+port+`"; ma=86400`; got != want {
		t.Errorf("Alt-Svc = %q, want %q", got, want)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != HSTS {
		t.Errorf("Strict-Transport-Security = %q, want %q", got, HSTS)
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestGracefulShutdownFinishesInFlight: a request in flight on each
// protocol when the stop comes still gets its whole answer.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	started := make(chan struct{}, 2)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, "complete")
	})
	addr, pool, stop := runServer(t, slow)
	h3c, tr := h3Client(addr, pool)
	defer tr.Close()
	tcp := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	defer tcp.CloseIdleConnections()
	results := make(chan string, 2)
	for _, c := range []*http.Client{h3c, tcp} {
		go func() {
			resp, err := c.Get("https://" + mirrorName + "/")
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			results <- resp.Proto + " " + string(b)
		}()
	}
	<-started
	<-started
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	for range 2 {
		if r := <-results; !strings.HasSuffix(r, " complete") {
			t.Errorf("in-flight request: %s", r)
		}
	}
}

func TestRefuseEarlyData(t *testing.T) {
	h := refuseEarlyData(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for _, tc := range []struct {
		method   string
		complete bool
		want     int
	}{
		{"GET", false, 200},
		{"HEAD", false, 200},
		{"POST", false, http.StatusTooEarly},
		{"POST", true, 200},
	} {
		r := httptest.NewRequest(tc.method, "https://mirror.test/", nil)
		r.TLS = &tls.ConnectionState{HandshakeComplete: tc.complete}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s (handshake complete %v): %d, want %d", tc.method, tc.complete, w.Code, tc.want)
		}
	}
}
