package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"

	"zerkalo/proxy/fakeorigin"
)

// privacyOrigin answers pages, fails (/fail cuts the connection), and is
// slower than origin.timeout (/slow).
var privacyOrigin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/fail":
		panic(http.ErrAbortHandler)
	case "/slow":
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<html><body><p>page</p></body></html>")
})

// privacyEdge runs the binary (not --demo) at log_level "debug" on [::]
// in front of a fake origin, and returns it, its admin address and the
// reader CA pool.
func privacyEdge(t *testing.T) (e *edgeProcess, admin string) {
	t.Helper()
	origin, err := fakeorigin.Start(privacyOrigin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { origin.Close() })
	dir := t.TempDir()
	if err := origin.WriteCAFile(filepath.Join(dir, "origin-ca.pem")); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`listen = "[::]:0"
admin_listen = "127.0.0.1:0"
domains = ["mirror.test"]
state_dir = "state"
log_level = "debug"
[origin]
site = "www.rferl.org"
resolve = { "*" = %q }
ca_file = "origin-ca.pem"
timeout = "1s"
[cache]
dir = "cache"
warm = false
`, origin.Addr())
	path := filepath.Join(dir, "zerkalo.toml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	e = &edgeProcess{cmd: cmd, logs: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			e.mu.Lock()
			e.all = append(e.all, sc.Text())
			e.mu.Unlock()
		}
	}()
	e.addr = e.findLog(t, regexp.MustCompile(`msg=serving listen=(\S+)`))
	admin = e.findLog(t, regexp.MustCompile(`msg="serving admin endpoints" listen=(\S+)`))
	e.pool = selfSignedPool(t, filepath.Join(dir, "state"))
	return e, admin
}

// reader is one source address a test reads the edge from.
type reader struct {
	local  string // the reader's IP
	remote string // the edge's "IP:port" as that reader reaches it
}

func (rd reader) dialTCP(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(rd.local)}}
	return d.DialContext(ctx, "tcp", rd.remote)
}

// client returns an HTTP/1.1 or HTTP/2 client from the reader's address.
func (rd reader) client(pool *x509.CertPool, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2,
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return rd.dialTCP(ctx) },
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// h3 returns an HTTP/3 client whose QUIC packets leave from the reader's
// address, and the sockets to close.
func (rd reader) h3(t *testing.T, pool *x509.CertPool) *http.Client {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(rd.local)})
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { udp.Close() })
			raddr, err := net.ResolveUDPAddr("udp", rd.remote)
			if err != nil {
				return nil, err
			}
			return quic.Dial(ctx, udp, raddr, tlsCfg, cfg)
		},
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// secret marks a reader's request: it must appear nowhere at the edge.
func secret(kind string, i int) string { return fmt.Sprintf("zk%ssecret%d", kind, i) }

// TestPrivacyLogsAndMetrics drives the real binary at log_level "debug"
// from two reader addresses (127.0.0.2 and ::1), over HTTP/1.1, HTTP/2
// and HTTP/3, with unique query strings, User-Agents and Referers, a
// failing and a timing-out origin, refused hosts, failed TLS and QUIC
// handshakes and HTTP/2 protocol errors; then greps every log line and
// /metrics. No reader address, query, User-Agent or Referer may appear.
func TestPrivacyLogsAndMetrics(t *testing.T) {
	e, admin := privacyEdge(t)
	_, port, _ := net.SplitHostPort(e.addr)
	readers := []reader{
		{"127.0.0.2", net.JoinHostPort("127.0.0.1", port)},
		{"::1", net.JoinHostPort("::1", port)},
	}
	var n atomic.Int32
	var answered sync.Map // "proto host path status" of every answer
	var wg sync.WaitGroup
	for _, rd := range readers {
		clients := map[string]*http.Client{"h1": rd.client(e.pool, false), "h2": rd.client(e.pool, true), "h3": rd.h3(t, e.pool)}
		for name, c := range clients {
			wg.Go(func() {
				defer c.CloseIdleConnections()
				for _, p := range []string{"/a/ok.html", "/fail", "/slow", "/_z/evil.example/x", "/a/%2e%2e/x"} {
					for _, host := range []string{"mirror.test", "evil.example"} {
						i := int(n.Add(1))
						req, _ := http.NewRequest("GET", "https://mirror.test:"+port+p+"?zq="+secret("q", i), nil)
						req.Host = host + ":" + port
						req.Header.Set("User-Agent", "ZkReader/"+secret("ua", i))
						req.Header.Set("Referer", "https://mirror.test/r?zref="+secret("ref", i))
						req.Header.Set("X-Forwarded-For", "203.0.113.9")
						resp, err := c.Do(req)
						if err != nil {
							answered.Store(name+" "+host+p+" error", true)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						answered.Store(fmt.Sprintf("%s %s%s %d", name, host, p, resp.StatusCode), true)
					}
				}
			})
		}
		wg.Go(func() { badHandshakes(t, rd) })
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the last log lines
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	logs := e.allLogs()
	for _, must := range []string{`msg="origin fetch failed"`, "status=504", "level=DEBUG"} {
		if !strings.Contains(logs, must) {
			t.Errorf("the logs lack %q: the checks below may prove nothing", must)
		}
	}
	for _, must := range []string{`proto="HTTP/3.0"`, `proto="HTTP/2.0"`, `proto="HTTP/1.1"`, `code="504"`, `code="421"`} {
		if !strings.Contains(string(metrics), must) {
			t.Errorf("/metrics lack %s: the checks below may prove nothing", must)
		}
	}
	var seen []string
	answered.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
	t.Logf("%d requests; answers: %v", n.Load(), seen)
	for where, text := range map[string]string{"the logs": logs, "/metrics": string(metrics)} {
		for _, leak := range []string{"127.0.0.2", "::1", "zk", "ZkReader", "203.0.113.9", "evil.example", "zref", "zq="} {
			if i := strings.Index(text, leak); i >= 0 {
				t.Errorf("%s hold %q: …%s…", where, leak, text[max(0, i-200):min(len(text), i+100)])
			}
		}
	}
}

// badHandshakes makes connections that fail before any request: a TLS
// handshake for an unknown name, one without a name, bytes that are not
// TLS, an HTTP/2 connection that breaks the protocol, QUIC handshakes
// for an unknown name and an unknown protocol, and a junk UDP datagram.
func badHandshakes(t *testing.T, rd reader) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range []string{"unknown.example", ""} {
		if c, err := rd.dialTCP(ctx); err == nil {
			tc := tls.Client(c, &tls.Config{ServerName: name, InsecureSkipVerify: true})
			tc.SetDeadline(time.Now().Add(2 * time.Second))
			tc.Handshake()
			tc.Close()
		}
	}
	if c, err := rd.dialTCP(ctx); err == nil {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "GET /?zq=zkplainsecret HTTP/1.1\r\nHost: mirror.test\r\n\r\n")
		io.Copy(io.Discard, c)
		c.Close()
	}
	if c, err := rd.dialTCP(ctx); err == nil {
		tc := tls.Client(c, &tls.Config{ServerName: "mirror.test", InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		tc.SetDeadline(time.Now().Add(2 * time.Second))
		if tc.Handshake() == nil {
			io.WriteString(tc, http2.ClientPreface)
			fr := http2.NewFramer(tc, tc)
			fr.WriteSettings()
			fr.WriteData(0, false, []byte("zkh2secret")) // DATA on stream 0: a connection error
			io.Copy(io.Discard, tc)
		}
		tc.Close()
	}
	if c, err := rd.dialTCP(ctx); err == nil {
		tc := tls.Client(c, &tls.Config{ServerName: "mirror.test", InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		tc.SetDeadline(time.Now().Add(2 * time.Second))
		if tc.Handshake() == nil {
			io.WriteString(tc, "PRI * HTTP/2.0\r\n\r\nzkbadpreface\r\n\r\n") // a broken preface
			io.Copy(io.Discard, tc)
		}
		tc.Close()
	}
	raddr, err := net.ResolveUDPAddr("udp", rd.remote)
	if err != nil {
		t.Error(err)
		return
	}
	for _, tc := range []*tls.Config{
		{ServerName: "unknown.example", InsecureSkipVerify: true, NextProtos: []string{"h3"}},
		{ServerName: "mirror.test", InsecureSkipVerify: true, NextProtos: []string{"zk-no-such-protocol"}},
	} {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(rd.local)})
		if err != nil {
			t.Error(err)
			return
		}
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
		if conn, err := quic.Dial(qctx, udp, raddr, tc, nil); err == nil {
			conn.CloseWithError(0, "")
		}
		qcancel()
		udp.WriteTo([]byte("zkjunkdatagram-not-quic"), raddr)
		udp.Close()
	}
}
