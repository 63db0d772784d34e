package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
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
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"zerkalo/proxy/acme/pebbletest"
)

// certWait bounds how long a test waits for a certificate to be issued.
const certWait = 30 * time.Second

// acmeConf is the configuration of an edge in tls.mode "acme" issuing
// from p, with the domains value given as TOML.
func acmeConf(listen, httpListen string, p *pebbletest.Pebble, domains string) string {
	return fmt.Sprintf(`listen = %q
http_listen = %q
domains = %s
state_dir = "state"
[cache]
dir = "cache"
[tls]
mode = "acme"
[acme]
directory = %q
email = "ops@zerkalo.org"
ca_file = %q
`, listen, httpListen, domains, p.Directory, p.CAFile)
}

// startACMEEdge starts pebble validating on two free ports, and an edge in
// demo mode listening on them, with domains as its domains value. It
// returns the edge, its config file and pebble.
func startACMEEdge(t *testing.T, domains string) (*edgeProcess, string, *pebbletest.Pebble) {
	t.Helper()
	listen, httpListen := pebbletest.FreeAddr(t), pebbletest.FreeAddr(t)
	p := pebbletest.Start(t, pebbletest.Options{TLSPort: pebbletest.Port(t, listen), HTTPPort: pebbletest.Port(t, httpListen)})
	path := filepath.Join(t.TempDir(), "zerkalo.toml")
	writeConf(t, path, acmeConf(listen, httpListen, p, domains))
	e := runEdge(t, path)
	if e.addr != listen {
		t.Fatalf("edge serves on %s, want %s", e.addr, listen)
	}
	return e, path, p
}

func writeConf(t *testing.T, path, conf string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runEdge runs "zerkalo serve --demo --config path" until the test ends
// and returns once it serves. The edge's last log lines are shown if the
// test fails.
func runEdge(t *testing.T, path string) *edgeProcess {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--demo", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var history []string
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			t.Logf("edge log (last lines):\n%s", strings.Join(history[max(0, len(history)-60):], "\n"))
		}
	})
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	e := &edgeProcess{cmd: cmd, logs: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			history = append(history, sc.Text())
			mu.Unlock()
			e.logs <- sc.Text()
		}
		close(e.logs)
	}()
	e.addr = waitForLog(t, e.logs, regexp.MustCompile(`msg=serving listen=(\S+)`))
	return e
}

// acmeReader is a reader of an edge in tls.mode "acme": it reaches the
// edge's address whatever the URL's host, and trusts pebble's issuing root
// only.
type acmeReader struct {
	addr  string
	roots *x509.CertPool
}

// handshake makes a TLS handshake over TCP for name and returns the
// verified leaf.
func (r acmeReader) handshake(name string) (*x509.Certificate, error) {
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 5 * time.Second},
		Config:    &tls.Config{ServerName: name, RootCAs: r.roots, NextProtos: []string{"h2"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// quicHandshake makes a QUIC handshake for name, as an HTTP/3 client, and
// returns the verified leaf.
func (r acmeReader) quicHandshake(name string) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, r.addr, &tls.Config{ServerName: name, RootCAs: r.roots, NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		return nil, err
	}
	defer conn.CloseWithError(0, "")
	return conn.ConnectionState().TLS.PeerCertificates[0], nil
}

// waitCertificate makes handshakes for name until one succeeds, for up
// to certWait, and returns the leaf.
func (r acmeReader) waitCertificate(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	var last error
	for deadline := time.Now().Add(certWait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		leaf, err := r.handshake(name)
		if err == nil {
			return leaf
		}
		last = err
	}
	t.Fatalf("no certificate for %s within %v: %v", name, certWait, last)
	return nil
}

// h2 returns an HTTP/1.1 and HTTP/2 client.
func (r acmeReader) h2() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: r.roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, r.addr)
		},
		ForceAttemptHTTP2: true,
	}}
}

// h3 returns an HTTP/3 client that dials the edge's UDP address.
func (r acmeReader) h3() (*http.Client, *http3.Transport) {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: r.roots},
		Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, r.addr, tc, qc)
		},
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}, tr
}

// getPage fetches the front page of name with c and checks it is the
// mirrored page, over HTTP major version proto.
func (r acmeReader) getPage(t *testing.T, c *http.Client, name string, proto int) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	resp, err := c.Get("https://" + net.JoinHostPort(name, port) + "/")
	if err != nil {
		t.Errorf("%s over HTTP/%d: %v", name, proto, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != proto {
		t.Errorf("%s over HTTP/%d: %s over %s, %v", name, proto, resp.Status, resp.Proto, err)
		return
	}
	if !strings.Contains(string(body), "Radio Free Europe") {
		t.Errorf("%s over HTTP/%d: the page is not the mirrored front page", name, proto)
	}
	if got := resp.Header.Get("Alt-Svc"); proto == 2 && got != `h3=":`+port+`"; ma=86400` {
		t.Errorf("%s: Alt-Svc %q does not advertise h3 on port %s (X-Cache %s)", name, got, port, resp.Header.Get("X-Cache"))
	}
}

// checkServed checks that name has a certificate from pebble, the same
// ECDSA one over TCP and QUIC, and serves the front page over HTTP/2 and
// HTTP/3.
func (r acmeReader) checkServed(t *testing.T, name string) {
	t.Helper()
	leaf := r.waitCertificate(t, name)
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("%s: %v certificate, want ECDSA", name, leaf.PublicKeyAlgorithm)
	}
	quicLeaf, err := r.quicHandshake(name)
	if err != nil {
		t.Errorf("%s: QUIC handshake: %v", name, err)
	} else if !quicLeaf.Equal(leaf) {
		t.Errorf("%s: QUIC got another certificate (%v) than TCP", name, quicLeaf.PublicKeyAlgorithm)
	}
	c := r.h2()
	defer c.CloseIdleConnections()
	r.getPage(t, c, name, 2)
	c3, tr := r.h3()
	defer tr.Close()
	r.getPage(t, c3, name, 3)
}

// checkRefused checks that readers get no certificate for name, over TCP
// or QUIC.
func (r acmeReader) checkRefused(t *testing.T, name string) {
	t.Helper()
	if _, err := r.handshake(name); err == nil {
		t.Errorf("%s: a reader's TLS handshake succeeded", name)
	}
	if _, err := r.quicHandshake(name); err == nil {
		t.Errorf("%s: a reader's QUIC handshake succeeded", name)
	}
}

// TestACMERotatesDomains runs the real binary in tls.mode "acme" against
// pebble: certificates are issued for two domains, both serve over HTTP/2
// and HTTP/3, then a reload rotates one out and a third in.
func TestACMERotatesDomains(t *testing.T) {
	e, path, p := startACMEEdge(t, `["a.test", "b.test"]`)
	r := acmeReader{addr: e.addr, roots: p.Roots}
	for _, name := range []string{"a.test", "b.test"} {
		r.checkServed(t, name)
	}
	// A reader's HTTP/2 connection to a.test stays open over the reload.
	old := r.h2()
	defer old.CloseIdleConnections()
	r.getPage(t, old, "a.test", 2)
	if t.Failed() {
		t.FailNow()
	}

	conf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeConf(t, path, strings.Replace(string(conf), `["a.test", "b.test"]`, `["b.test", "c.test"]`, 1))
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, e.logs, regexp.MustCompile(`msg=(reloaded)`))
	for _, name := range []string{"c.test", "b.test"} {
		r.checkServed(t, name)
	}
	r.checkRefused(t, "a.test")
	_, port, _ := net.SplitHostPort(r.addr)
	resp, err := old.Get("https://a.test:" + port + "/")
	if err != nil {
		t.Errorf("a.test on the connection opened before the reload: %v, want 421", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("a.test on the connection opened before the reload: %s, want 421", resp.Status)
		}
	}
	e.stop(t)
}

// TestACMEPendingDomain checks that a domain whose window opens in a
// minute gets its certificate now, while readers are refused.
func TestACMEPendingDomain(t *testing.T) {
	from := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	e, path, p := startACMEEdge(t, `["a.test", { name = "p.test", from = `+from+` }]`)
	r := acmeReader{addr: e.addr, roots: p.Roots}
	r.waitCertificate(t, "a.test")

	cached := filepath.Join(filepath.Dir(path), "state", "acme", "p.test")
	var leaf *x509.Certificate
	var last error
	for deadline := time.Now().Add(certWait); leaf == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		leaf, last = cachedLeaf(cached, p.Roots, "p.test")
	}
	if leaf == nil {
		t.Fatalf("no certificate for the pending p.test within %v: %v", certWait, last)
	}
	if leaf.NotBefore.After(time.Now()) {
		t.Errorf("p.test's certificate is valid only from %v", leaf.NotBefore)
	}
	r.checkRefused(t, "p.test")
	// Nor is p.test served on a connection made for an active domain.
	c := r.h2()
	defer c.CloseIdleConnections()
	_, port, _ := net.SplitHostPort(r.addr)
	req, err := http.NewRequest("GET", "https://a.test:"+port+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "p.test:" + port
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host p.test on a.test's connection: %s, want 421", resp.Status)
	}
	e.stop(t)
}

// cachedLeaf reads the certificate autocert keeps in file (the key, then
// the chain, in PEM) and verifies it for name against roots.
func cachedLeaf(file string, roots *x509.CertPool, name string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New(file + ": no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name}); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return chain[0], nil
}
