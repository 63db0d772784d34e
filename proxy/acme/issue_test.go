package acme

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"zerkalo/proxy/config"
	"zerkalo/proxy/domains"
)

// newManager returns a Manager issuing from e's pebble for the domains ds,
// whose windows are judged at c's time, and its cache folder.
func newManager(t *testing.T, e *env, c *clock, ds ...config.Domain) (*Manager, string) {
	t.Helper()
	set := domains.New(ds)
	cache := t.TempDir()
	m, err := New(Options{
		Directory: e.directory,
		Email:     "ops@zerkalo.org",
		RootCAs:   e.clientCAs,
		CacheDir:  cache,
		Policy: func(n string) bool {
			st := set.State(n, c.Now())
			return st == domains.Active || st == domains.Pending
		},
		Serve: func(n string) bool { return set.State(n, c.Now()) == domains.Active },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, cache
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkIssued checks a certificate pebble issued for name: ECDSA, for that
// name, and verifying against pebble's root only (the dial that got it
// already verified the chain against e.roots).
func checkIssued(t *testing.T, e *env, leaf *x509.Certificate, name string) {
	t.Helper()
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("%s: certificate key is %v, want ECDSA", name, leaf.PublicKeyAlgorithm)
	}
	if err := leaf.VerifyHostname(name); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: e.clientCAs, DNSName: name}); err == nil {
		t.Errorf("%s: certificate also verifies against an unrelated CA", name)
	}
}

// cached reports whether the cache folder holds a certificate for name
// (autocert names the ECDSA one after the domain, the RSA one name+rsa).
func cached(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// countChallenges wraps h and counts the HTTP-01 challenge requests it
// answers with 200 OK.
func countChallenges(h http.Handler, n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") && rec.Code == http.StatusOK {
			n.Add(1)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func TestIssueTLSALPN01(t *testing.T) {
	e := newEnv(t)
	m, cache := newManager(t, e, &clock{now: time.Now()}, config.Domain{Name: "m1.zerkalo.org"}, config.Domain{Name: "m2.zerkalo.org"})
	e.serveTLS(m.TLSConfig())
	var challenges atomic.Int32
	e.serveHTTP(countChallenges(http.NotFoundHandler(), &challenges))
	names := []string{"m1.zerkalo.org", "m2.zerkalo.org"}
	if err := m.ObtainAll(testContext(t), names); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		leaf, err := e.dial(name, nil)
		if err != nil {
			t.Fatalf("reader handshake for %s: %v", name, err)
		}
		checkIssued(t, e, leaf, name)
		if !cached(cache, name) || cached(cache, name+"+rsa") {
			t.Errorf("%s: cache holds ECDSA %v, RSA %v; want ECDSA only", name, cached(cache, name), cached(cache, name+"+rsa"))
		}
	}
	if n := challenges.Load(); n != 0 {
		t.Errorf("%d HTTP-01 challenges answered; only TLS-ALPN-01 is enabled", n)
	}
}

func TestIssueHTTP01(t *testing.T) {
	e := newEnv(t)
	const name = "h1.zerkalo.org"
	m, _ := newManager(t, e, &clock{now: time.Now()}, config.Domain{Name: name})
	var challenges atomic.Int32
	e.serveHTTP(countChallenges(m.HTTPHandler(nil), &challenges))
	e.serveTLS(nil) // TLS-ALPN-01 fails: autocert falls back to HTTP-01
	if err := m.Obtain(testContext(t), name); err != nil {
		t.Fatal(err)
	}
	if challenges.Load() == 0 {
		t.Error("no HTTP-01 challenge was answered")
	}
	e.serveTLS(m.TLSConfig())
	leaf, err := e.dial(name, nil)
	if err != nil {
		t.Fatalf("reader handshake: %v", err)
	}
	checkIssued(t, e, leaf, name)
}

func TestPendingAndRetired(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	c := &clock{now: now}
	const active, pending, retired, unknown = "a.zerkalo.org", "p.zerkalo.org", "r.zerkalo.org", "x.zerkalo.org"
	m, cache := newManager(t, e, c,
		config.Domain{Name: active},
		config.Domain{Name: pending, From: now.Add(time.Hour)},
		config.Domain{Name: retired, Until: now.Add(-time.Hour)})
	e.serveTLS(m.TLSConfig())
	var challenges atomic.Int32
	e.serveHTTP(countChallenges(m.HTTPHandler(nil), &challenges))
	ctx := testContext(t)

	if err := m.ObtainAll(ctx, []string{active, pending}); err != nil {
		t.Fatal(err)
	}
	if !cached(cache, pending) {
		t.Fatalf("no certificate cached for the pending domain")
	}
	if _, err := e.dial(active, nil); err != nil {
		t.Errorf("active domain: %v", err)
	}
	if _, err := e.dial(pending, nil); err == nil {
		t.Error("a reader got a certificate for the pending domain before its window")
	}
	for _, name := range []string{retired, unknown} {
		if err := m.Obtain(ctx, name); err == nil {
			t.Errorf("Obtain(%s) succeeded", name)
		}
		if _, err := e.dial(name, nil); err == nil {
			t.Errorf("a reader got a certificate for %s", name)
		}
		challenge := &tls.ClientHelloInfo{ServerName: name, SupportedProtos: []string{ALPNProto}}
		if _, err := m.GetCertificate(challenge); err == nil {
			t.Errorf("a TLS-ALPN-01 challenge for %s was answered", name)
		}
		req := httptest.NewRequest("GET", "http://"+name+"/.well-known/acme-challenge/token", nil)
		rec := httptest.NewRecorder()
		m.HTTPHandler(nil).ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("HTTP-01 challenge for %s: %d, want 403", name, rec.Code)
		}
		if cached(cache, name) || cached(cache, name+"+rsa") {
			t.Errorf("a certificate for %s is cached", name)
		}
	}

	// The window opens: readers get the certificate obtained before it,
	// without a new request to the CA.
	before, err := m.m.GetCertificate(obtainHello(pending))
	if err != nil {
		t.Fatal(err)
	}
	c.Set(now.Add(time.Hour))
	leaf, err := e.dial(pending, nil)
	if err != nil {
		t.Fatalf("pending domain once its window opened: %v", err)
	}
	checkIssued(t, e, leaf, pending)
	if !bytes.Equal(leaf.Raw, before.Certificate[0]) {
		t.Error("the certificate served when the window opened is not the one obtained before it")
	}
}

// quicHello is the ClientHello of a QUIC client: TLS 1.3 only, so only
// TLS 1.3 cipher suites, which name no signature algorithm.
func quicHello(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        name,
		SupportedVersions: []uint16{tls.VersionTLS13},
		CipherSuites:      []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519},
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256, tls.PKCS1WithSHA256},
		SupportedProtos:   []string{"h3"},
	}
}

func TestQUICHelloGetsECDSA(t *testing.T) {
	e := newEnv(t)
	const name = "q.zerkalo.org"
	m, cache := newManager(t, e, &clock{now: time.Now()}, config.Domain{Name: name})
	e.serveTLS(m.TLSConfig())
	if err := m.Obtain(testContext(t), name); err != nil {
		t.Fatal(err)
	}
	want, err := m.m.GetCertificate(obtainHello(name))
	if err != nil {
		t.Fatal(err)
	}

	got, err := m.GetCertificate(quicHello(name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Certificate[0], want.Certificate[0]) {
		t.Error("a TLS 1.3-only hello got another certificate than the ECDSA one")
	}

	// A real QUIC handshake.
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{GetCertificate: m.GetCertificate, NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		if conn, err := ln.Accept(ctx); err == nil {
			<-conn.Context().Done()
		}
	}()
	conn, err := quic.DialAddr(ctx, ln.Addr().String(), &tls.Config{ServerName: name, RootCAs: e.roots, NextProtos: []string{"h3"}}, nil)
	if err != nil {
		t.Fatalf("QUIC handshake: %v", err)
	}
	peer := conn.ConnectionState().TLS.PeerCertificates[0]
	conn.CloseWithError(0, "")
	checkIssued(t, e, peer, name)
	if !bytes.Equal(peer.Raw, want.Certificate[0]) {
		t.Error("the QUIC handshake got another certificate than the ECDSA one")
	}
	if cached(cache, name+"+rsa") {
		t.Error("an RSA certificate was obtained")
	}

	// The trap this guards against (golang/go#50522): autocert itself
	// takes the same hello for an RSA-only client. If this starts failing,
	// autocert was fixed and withECDSA can go.
	raw, err := m.m.GetCertificate(quicHello(name))
	if err != nil {
		t.Fatal(err)
	}
	if raw.Leaf == nil || raw.Leaf.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("autocert without the wrapper: %v certificate, want the RSA one of golang/go#50522", raw.Leaf.PublicKeyAlgorithm)
	}
}
