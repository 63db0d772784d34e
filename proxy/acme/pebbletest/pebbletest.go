// Package pebbletest runs a real ACME certificate authority for tests:
// Debian's pebble, with pebble-challtestsrv as its DNS server (every name
// resolves to 127.0.0.1). It is a normal package so that tests of several
// packages can share it, but only tests use it; no program imports it.
//
// pebble validates challenges against 127.0.0.1 on the ports the caller
// names, so the server under test listens there: TLS-ALPN-01 on TLSPort
// and HTTP-01 on HTTPPort. Install the programs with AptLine.
package pebbletest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zerkalo/proxy/certs"
)

// AptLine is how to install what Start needs.
const AptLine = "apt-get update && apt-get install -y pebble"

// startTimeout bounds how long Start waits for pebble to answer.
const startTimeout = 15 * time.Second

// Options configure Start.
type Options struct {
	// TLSPort is the port on 127.0.0.1 pebble connects to for TLS-ALPN-01
	// challenges. Required.
	TLSPort int
	// HTTPPort is the port on 127.0.0.1 pebble fetches HTTP-01 challenges
	// from. Required.
	HTTPPort int
}

// Pebble is a running pebble and pebble-challtestsrv.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// CAFile is a PEM file holding the CA of pebble's own HTTPS
	// certificate, for an ACME client's extra trusted roots.
	CAFile string
	// ClientCAs is the CA of CAFile, as a pool.
	ClientCAs *x509.CertPool
	// Roots holds the root that issued certificates chain to (pebble's
	// /roots/0); it is new for every Pebble.
	Roots *x509.CertPool
	// Dir is the folder of pebble's configuration and its programs' logs.
	Dir string
}

// Start runs pebble and pebble-challtestsrv until the test ends. It skips
// the test in -short mode and fails it when the programs are not
// installed, naming AptLine.
func Start(t testing.TB, opts Options) *Pebble {
	t.Helper()
	if testing.Short() {
		t.Skip("starts pebble, a real ACME server")
	}
	if opts.TLSPort <= 0 || opts.HTTPPort <= 0 {
		t.Fatalf("pebbletest: TLSPort %d and HTTPPort %d must both be set", opts.TLSPort, opts.HTTPPort)
	}
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install Debian's ACME test server: %s", bin, AptLine)
		}
	}
	p := &Pebble{Dir: t.TempDir()}
	certFile, keyFile := p.writeHTTPSCert(t)

	dnsAddr, ctsMgmt := FreeAddr(t), FreeAddr(t)
	run(t, p.Dir, "pebble-challtestsrv", nil,
		"-dns01", dnsAddr, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", ctsMgmt, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	pebbleAddr, mgmtAddr := FreeAddr(t), FreeAddr(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  pebbleAddr,
		"managementListenAddress":        mgmtAddr,
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       opts.HTTPPort,
		"tlsPort":                        opts.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	confFile := filepath.Join(p.Dir, "pebble.json")
	b, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, p.Dir, "pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"},
		"-config", confFile, "-dnsserver", dnsAddr)
	p.Directory = "https://" + pebbleAddr + "/dir"
	deadline := time.Now().Add(startTimeout)
	waitFor(t, p.ClientCAs, p.Directory, deadline)
	root := waitFor(t, p.ClientCAs, "https://"+mgmtAddr+"/roots/0", deadline)
	p.Roots = x509.NewCertPool()
	if !p.Roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble /roots/0 is not PEM: %q", root)
	}
	return p
}

// writeHTTPSCert makes a CA and a certificate for 127.0.0.1 for pebble's
// HTTPS (Debian's pebble ships none), writes the CA to CAFile and returns
// the certificate and key files.
func (p *Pebble) writeHTTPSCert(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	p.ClientCAs = ca.Pool()
	p.CAFile = filepath.Join(p.Dir, "https-ca.pem")
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
	certFile, keyFile = filepath.Join(p.Dir, "https-cert.pem"), filepath.Join(p.Dir, "https-key.pem")
	for _, f := range []struct {
		name string
		data []byte
	}{
		{p.CAFile, ca.CertPEM()},
		{certFile, chain},
		{keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})},
	} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// run starts a program for the rest of the test, its output in a log file
// shown if the test fails.
func run(t testing.TB, dir, bin string, env []string, args ...string) {
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
		out.Close()
		t.Fatalf("start %s: %v (install it with: %s)", bin, err, AptLine)
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

// waitFor fetches url until it answers 200 OK or deadline passes, and
// returns the body.
func waitFor(t testing.TB, roots *x509.CertPool, url string, deadline time.Time) []byte {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer c.CloseIdleConnections()
	var last error
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
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

// FreeAddr returns a loopback address whose port was free for both TCP
// and UDP a moment ago, for a program that takes its address as a flag
// (and for a QUIC server, which needs the UDP port of its TCP one).
func FreeAddr(t testing.TB) string {
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
	t.Fatal("pebbletest: no free port")
	return ""
}

// Port returns the port of a host:port address as a number.
func Port(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := net.LookupPort("tcp", p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
