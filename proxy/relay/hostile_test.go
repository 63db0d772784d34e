package relay_test

// Hostile probes against a running relay: can it be made to reach
// anything but its edge, or to serve another name than its own?

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zerkalo/proxy/relay"
)

// trap is a TCP listener that counts the connections it gets: something
// the relay must never connect to.
func trap(t *testing.T) (addr string, hits *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hits = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), hits
}

// TestHostileConnectTargets: the CONNECT face refuses every target but a
// mirror domain on 443, however it is spelt, and never connects anywhere
// but the edge.
func TestHostileConnectTargets(t *testing.T) {
	_, proxyAddr, pool, _ := startProxy(t)
	trapAddr, hits := trap(t)
	_, trapPort, _ := net.SplitHostPort(trapAddr)
	connect := func(target, host string) string {
		return "CONNECT " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	}
	for _, tc := range []struct{ name, raw, want string }{
		{"trap address", connect(trapAddr, trapAddr), " 403 "},
		{"trap by name", connect("localhost:"+trapPort, "localhost:"+trapPort), " 403 "},
		{"mirror on the trap's port", connect(mirrorName+":"+trapPort, mirrorName+":"+trapPort), " 403 "},
		{"mirror target, trap Host", connect(mirrorName+":443", trapAddr), " 200 "}, // tunnels to the edge
		{"trap target, mirror Host", connect(trapAddr, mirrorName+":443"), " 403 "},
		{"userinfo", connect(mirrorName+"@127.0.0.1:"+trapPort, mirrorName), " 40"},
		{"port with zero", connect(mirrorName+":0443", mirrorName), " 403 "},
		{"decimal IP", connect("2130706433:443", "2130706433:443"), " 403 "},
		{"hex IP", connect("0x7f000001:443", "0x7f000001:443"), " 403 "},
		{"IPv4-mapped IPv6", connect("[::ffff:127.0.0.1]:443", "[::ffff:127.0.0.1]:443"), " 403 "},
		{"suffix", connect(mirrorName+".evil.example:443", mirrorName), " 403 "},
		{"absolute GET to the trap", "GET http://" + trapAddr + "/ HTTP/1.1\r\nHost: " + trapAddr + "\r\n\r\n", " 403 "},
		{"absolute GET, mirror Host", "GET http://" + trapAddr + "/ HTTP/1.1\r\nHost: " + mirrorName + "\r\n\r\n", " 403 "},
		{"POST absolute", "POST http://" + mirrorName + "/ HTTP/1.1\r\nHost: " + mirrorName + "\r\nContent-Length: 0\r\n\r\n", " 403 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawProxy(t, proxyAddr, pool, tc.raw); !strings.Contains(got+" ", tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := hits.Load(); n != 0 {
		t.Errorf("the trap got %d connections through the proxy", n)
	}
}

// TestHostilePassthroughNames: the TCP passthrough forwards only TLS for
// the relay's own name; and through it, the edge serves only the relay's
// domain (Host must match the SNI the relay checked).
func TestHostilePassthroughNames(t *testing.T) {
	edge := startEdge(t)
	en := edge.enrollRelay(t, false)
	r, addr, _ := startRelay(t, edge.addr, en.Domain, nil)
	for _, name := range []string{mirrorName, "www.rferl.org", "evil.example", "relay.example.evil.example", ""} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{
			ServerName: name, RootCAs: edge.ca.Pool(), InsecureSkipVerify: name == "",
		})
		if err == nil {
			c.Close()
			t.Errorf("SNI %q: the handshake through the relay succeeded", name)
		}
	}
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: " + mirrorName + "\r\n\r\n",
		"CONNECT " + mirrorName + ":443 HTTP/1.1\r\nHost: " + mirrorName + "\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
	} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, raw)
		if b, _ := io.ReadAll(c); len(b) != 0 {
			t.Errorf("not TLS (%q): the relay answered %q", raw, b)
		}
		c.Close()
	}
	refused := r.Stats().RefusedName
	if refused < 8 {
		t.Errorf("refused names: %d, want 8", refused)
	}
	for _, tc := range []struct{ host, want string }{
		{mirrorName, " 421 "},
		{"www.rferl.org", " 421 "},
		{"evil.example", " 421 "},
		{relayName, " 200 "},
		{strings.ToUpper(relayName) + ".", " 200 "},
	} {
		c, err := dialTLS(addr, relayName, edge.ca)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", tc.host)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.Contains(line, tc.want) {
			t.Errorf("SNI %s, Host %s through the relay: %q, want%s", relayName, tc.host, line, tc.want)
		}
	}
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestHostilePlainHTTP: the plain-HTTP face forwards only ACME
// challenges for the relay's domain, only to the edge, and redirects
// everything else to the relay's own HTTPS address, never elsewhere.
func TestHostilePlainHTTP(t *testing.T) {
	var mu sync.Mutex
	var got []string
	edgeHTTP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Host+" "+r.RequestURI)
		mu.Unlock()
		io.WriteString(w, "token")
	}))
	t.Cleanup(edgeHTTP.Close)
	trapAddr, hits := trap(t)
	httpAddr := freePort(t)
	startRelay(t, "127.0.0.1:1", relayName, func(c *relay.Config) {
		c.HTTPListen = httpAddr
		c.EdgeHTTP = strings.TrimPrefix(edgeHTTP.URL, "http://")
	})
	send := func(raw string) string {
		c, err := net.DialTimeout("tcp", httpAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "no answer"
		}
		resp.Body.Close()
		return fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	challenge := "/.well-known/acme-challenge/tok"
	for _, tc := range []struct{ name, raw, want string }{
		{"challenge", "GET " + challenge + " HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", "200 "},
		{"challenge, other Host", "GET " + challenge + " HTTP/1.1\r\nHost: " + trapAddr + "\r\n\r\n", "421 "},
		{"absolute URI to the trap", "GET http://" + trapAddr + challenge + " HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", "421 "},
		{"absolute URI, userinfo", "GET http://" + relayName + "@" + trapAddr + challenge + " HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", "421 "},
		{"CONNECT", "CONNECT " + trapAddr + " HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", "4"},
		{"protocol-relative path", "GET //evil.example/x HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", "301 https://" + relayName + "//evil.example/x"},
		{"backslash path", "GET /\\evil.example/x HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", "301 https://" + relayName + "/"},
		{"Host with port", "GET /x HTTP/1.1\r\nHost: " + relayName + ":8080\r\n\r\n", "301 https://" + relayName + "/x"},
	} {
		if g := send(tc.raw); !strings.HasPrefix(g, tc.want) {
			t.Errorf("%s: got %q, want %q…", tc.name, g, tc.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		if g != relayName+" "+challenge {
			t.Errorf("the edge's HTTP port got %q", g)
		}
	}
	if len(got) != 1 {
		t.Errorf("the edge's HTTP port got %d requests, want 1", len(got))
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the trap got %d connections", n)
	}
}
