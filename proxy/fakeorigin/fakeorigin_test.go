package fakeorigin

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello from "+r.Host+r.URL.Path)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client returns an HTTP client that trusts s's CA and sends every
// connection to s, whatever the URL's host, the way the edge's dial
// override does.
func client(s *Server, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CA().Pool()},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr())
		},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func get(c *http.Client, url string) (*http.Response, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestServe(t *testing.T) {
	s := start(t)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %q", s.Addr())
	}
	for _, tt := range []struct {
		h2    bool
		url   string
		proto string
	}{
		{false, "https://www.rferl.org/x?y=1", "HTTP/1.1"},
		{true, "https://gdb.rferl.org/a.jpg", "HTTP/2.0"},
		{true, "https://WWW.Svoboda.org./", "HTTP/2.0"},
	} {
		s.ResetLog()
		resp, body, err := get(client(s, tt.h2), tt.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.url, err)
		}
		if resp.Proto != tt.proto {
			t.Errorf("GET %s: proto %s, want %s", tt.url, resp.Proto, tt.proto)
		}
		if !strings.HasPrefix(body, "hello from ") {
			t.Errorf("GET %s: body %q", tt.url, body)
		}
		log := s.Requests()
		if len(log) != 1 {
			t.Fatalf("log has %d requests, want 1", len(log))
		}
		r := log[0]
		if r.Method != "GET" || r.Proto != tt.proto || !strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") ||
			r.Header.Get("User-Agent") == "" || time.Since(r.Time) > time.Minute {
			t.Errorf("logged %+v", r)
		}
	}
	s.ResetLog()
	c := client(s, false)
	for range 3 {
		if _, _, err := get(c, "https://www.rferl.org/x?y=1"); err != nil {
			t.Fatal(err)
		}
	}
	get(c, "https://gdb.rferl.org/x")
	if r := s.Requests()[0]; r.Host != "www.rferl.org" || r.URI != "/x?y=1" {
		t.Errorf("logged host %q URI %q", r.Host, r.URI)
	}
	if n := s.Count("WWW.rferl.org:443", "/x"); n != 3 {
		t.Errorf("Count(www.rferl.org, /x) = %d, want 3", n)
	}
	if n := s.Count("gdb.rferl.org", "/x"); n != 1 {
		t.Errorf("Count(gdb.rferl.org, /x) = %d, want 1", n)
	}
	if n := s.Count("www.rferl.org", "/y"); n != 0 {
		t.Errorf("Count(www.rferl.org, /y) = %d, want 0", n)
	}
}

func TestUntrustedAndNoSNI(t *testing.T) {
	s := start(t)
	other := start(t)
	// A client trusting another fake origin's CA refuses this one.
	c := client(s, false)
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = other.CA().Pool()
	if _, _, err := get(c, "https://www.rferl.org/"); err == nil {
		t.Fatal("handshake with a foreign CA succeeded")
	}
	// A client dialling the bare IP gets a certificate for it.
	if _, body, err := get(client(s, false), "https://"+s.Addr()+"/ip"); err != nil || !strings.HasSuffix(body, "/ip") {
		t.Fatalf("GET by IP: %q, %v", body, err)
	}
}

func TestWriteCAFile(t *testing.T) {
	s := start(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := s.WriteCAFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(s.CA().CertPEM()) {
		t.Fatal("CA file differs from CertPEM")
	}
}

func TestModes(t *testing.T) {
	s := start(t)
	tests := []struct {
		mode  Mode
		check func(resp *http.Response, err error) string
	}{
		{Refuse, func(_ *http.Response, err error) string {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return "want connection refused"
			}
			return ""
		}},
		{Reset, func(_ *http.Response, err error) string {
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
				return "want connection reset"
			}
			return ""
		}},
		{Hang, func(_ *http.Response, err error) string {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return "want a timeout"
			}
			return ""
		}},
		{Status503, func(resp *http.Response, err error) string {
			if err != nil || resp.StatusCode != 503 {
				return "want 503"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			if err := s.SetDown(tt.mode); err != nil {
				t.Fatal(err)
			}
			if s.Mode() != tt.mode {
				t.Fatalf("Mode() = %v", s.Mode())
			}
			c := client(s, false)
			c.Timeout = 500 * time.Millisecond
			resp, _, err := get(c, "https://www.rferl.org/down")
			if msg := tt.check(resp, err); msg != "" {
				t.Errorf("%v: got %v, %v; %s", tt.mode, resp, err, msg)
			}
			if err := s.SetDown(Up); err != nil {
				t.Fatal(err)
			}
			c.Timeout = 5 * time.Second
			if _, body, err := get(c, "https://www.rferl.org/back"); err != nil || !strings.HasSuffix(body, "/back") {
				t.Fatalf("after %v, back Up: %q, %v", tt.mode, body, err)
			}
		})
	}
}

// TestModesPooled checks that each mode also acts on a connection opened
// before the switch.
func TestModesPooled(t *testing.T) {
	s := start(t)
	for _, mode := range []Mode{Refuse, Reset, Hang, Status503} {
		for _, h2 := range []bool{false, true} {
			c := client(s, h2)
			if _, _, err := get(c, "https://www.rferl.org/warm"); err != nil {
				t.Fatal(err)
			}
			s.SetDown(mode)
			c.Timeout = 500 * time.Millisecond
			resp, _, err := get(c, "https://www.rferl.org/down")
			if err == nil && resp.StatusCode == 200 {
				t.Errorf("%v, h2=%v: pooled connection still served 200", mode, h2)
			}
			if mode == Status503 && (err != nil || resp.StatusCode != 503) {
				t.Errorf("%v, h2=%v: %v, %v", mode, h2, resp, err)
			}
			if err := s.SetDown(Up); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestHangReleased checks that a connection held in Hang mode is served
// once the server is Up again.
func TestHangReleased(t *testing.T) {
	s := start(t)
	if err := s.SetDown(Hang); err != nil {
		t.Fatal(err)
	}
	type result struct {
		body string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		_, body, err := get(client(s, false), "https://www.rferl.org/held")
		ch <- result{body, err}
	}()
	select {
	case r := <-ch:
		t.Fatalf("answered while hanging: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	if err := s.SetDown(Up); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		if r.err != nil || !strings.HasSuffix(r.body, "/held") {
			t.Fatalf("held request: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held request not answered after Up")
	}
}

func TestRefuseKeepsPort(t *testing.T) {
	s := start(t)
	addr := s.Addr()
	s.SetDown(Refuse)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("dial succeeded while refusing")
	}
	if err := s.SetDown(Up); err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial after Up: %v", err)
	}
	c.Close()
}

func TestCloseBounded(t *testing.T) {
	s, err := Start(http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	s.SetDown(Hang)
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > closeTimeout+time.Second {
		t.Fatalf("Close took %v", d)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("held connection still open after Close")
	}
	if err := s.SetDown(Up); err == nil {
		t.Fatal("SetDown after Close succeeded")
	}
}
