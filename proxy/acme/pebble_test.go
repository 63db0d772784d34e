package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zerkalo/proxy/certs"
)

// aptLine is how to install what the ACME tests need.
const aptLine = "apt-get update && apt-get install -y pebble"

// env is a real ACME server for one test: Debian's pebble, with
// pebble-challtestsrv as its DNS (every name resolves to 127.0.0.1), and
// the two loopback listeners pebble validates challenges against: tlsLn
// (TLS-ALPN-01) and httpLn (HTTP-01). What they serve is set with
// serveTLS and serveHTTP.
type env struct {
	directory string         // the ACME directory URL
	clientCAs *x509.CertPool // verify pebble's own HTTPS
	roots     *x509.CertPool // pebble's issuing root: verify issued certificates
	tlsAddr   string         // the TLS listener, host:port

	tlsConf atomic.Pointer[tls.Config]
	handler atomic.Pointer[http.Handler]
}

// newEnv starts pebble and pebble-challtestsrv and the two listeners. All
// of them stop when the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts pebble, a real ACME server")
	}
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install Debian's ACME test server: %s", bin, aptLine)
		}
	}
	e := &env{}
	tlsLn, httpLn := listen(t), listen(t)
	e.tlsAddr = tlsLn.Addr().String()
	e.serveHTTP(http.NotFoundHandler())
	e.serveTLS(nil)
	e.startListeners(t, tlsLn, httpLn)

	dir := t.TempDir()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	e.clientCAs = ca.Pool()
	certFile, keyFile := writeLeaf(t, ca, dir)
	dnsAddr, ctsMgmt := freeAddr(t), freeAddr(t)
	start(t, dir, "pebble-challtestsrv", nil,
		"-dns01", dnsAddr, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", ctsMgmt, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	pebbleAddr, mgmtAddr := freeAddr(t), freeAddr(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  pebbleAddr,
		"managementListenAddress":        mgmtAddr,
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       port(httpLn.Addr()),
		"tlsPort":                        port(tlsLn.Addr()),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	confFile := filepath.Join(dir, "pebble.json")
	b, _ := json.Marshal(conf)
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, dir, "pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"},
		"-config", confFile, "-dnsserver", dnsAddr)
	e.directory = "https://" + pebbleAddr + "/dir"
	waitFor(t, e.clientCAs, e.directory)
	root := waitFor(t, e.clientCAs, "https://"+mgmtAddr+"/roots/0")
	e.roots = x509.NewCertPool()
	if !e.roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble /roots/0 is not PEM: %q", root)
	}
	return e
}

// serveTLS sets the TLS configuration of the TLS listener; nil fails
// every handshake.
func (e *env) serveTLS(c *tls.Config) { e.tlsConf.Store(c) }

// serveHTTP sets the handler of the plain-HTTP listener.
func (e *env) serveHTTP(h http.Handler) { e.handler.Store(&h) }

func (e *env) startListeners(t *testing.T, tlsLn, httpLn net.Listener) {
	t.Helper()
	tlsSrv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.TLS.ServerName)
		}),
		TLSConfig: &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if c := e.tlsConf.Load(); c != nil {
				return c, nil
			}
			return nil, fmt.Errorf("test: no TLS configuration")
		}},
		ErrorLog:          quietLog(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	httpSrv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.handler.Load()).ServeHTTP(w, r) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go tlsSrv.ServeTLS(tlsLn, "", "")
	go httpSrv.Serve(httpLn)
	t.Cleanup(func() {
		tlsSrv.Close()
		httpSrv.Close()
	})
}

// dial makes a reader's TLS handshake with the TLS listener for name,
// verifying the certificate against pebble's root.
func (e *env) dial(name string, conf *tls.Config) (*x509.Certificate, error) {
	c := &tls.Config{ServerName: name, RootCAs: e.roots, NextProtos: []string{"h2", "http/1.1"}}
	if conf != nil {
		c = conf
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: c}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", e.tlsAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// start runs a program for the rest of the test, its output in a log file
// shown if the test fails.
func start(t *testing.T, dir, bin string, env []string, args ...string) {
	t.Helper()
	logFile := filepath.Join(dir, bin+".log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v (install it with: %s)", bin, err, aptLine)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("%s output:\n%s", bin, lastLines(string(b), 40))
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitFor fetches url until it answers 200, for up to 15 seconds, and
// returns the body.
func waitFor(t *testing.T, roots *x509.CertPool, url string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer c.CloseIdleConnections()
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := c.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			return b
		}
		last = fmt.Errorf("%s: %v", resp.Status, err)
	}
	t.Fatalf("%s did not answer: %v", url, last)
	return nil
}

// writeLeaf writes a certificate for 127.0.0.1 from ca and its key, for
// pebble's HTTPS (Debian's pebble ships none).
func writeLeaf(t *testing.T, ca *certs.Authority, dir string) (certFile, keyFile string) {
	t.Helper()
	leaf, err := ca.Leaf("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, der := range leaf.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// freeAddr returns a loopback address with a port free for TCP and UDP
// a moment ago, for a program that takes its address as a flag.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if pc, err := net.ListenPacket("udp", addr); err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

func port(a net.Addr) int { return a.(*net.TCPAddr).Port }

// quietLog drops the TLS listener's handshake errors, which the tests
// cause on purpose.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// clock is a settable time for the domain windows of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
