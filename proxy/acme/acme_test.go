package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// names returns Policy and Serve functions for fixed sets of names.
func names(certified, active []string) (policy, serve func(string) bool) {
	return func(n string) bool { return slices.Contains(certified, n) },
		func(n string) bool { return slices.Contains(active, n) }
}

func offline(t *testing.T, directory string) *Manager {
	t.Helper()
	policy, serve := names([]string{"a.zerkalo.org", "p.zerkalo.org"}, []string{"a.zerkalo.org"})
	m, err := New(Options{Directory: directory, CacheDir: t.TempDir(), Policy: policy, Serve: serve})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRequires(t *testing.T) {
	policy, serve := names(nil, nil)
	for _, o := range []Options{
		{Policy: policy, Serve: serve},
		{CacheDir: "/x", Serve: serve},
		{CacheDir: "/x", Policy: policy},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	m, err := New(Options{CacheDir: "/x", Policy: policy, Serve: serve})
	if err != nil || m.m.Client.DirectoryURL != DefaultDirectory {
		t.Errorf("New without Directory: %v, %v", m, err)
	}
}

func TestWithECDSA(t *testing.T) {
	const tls12, tls13 = tls.VersionTLS12, tls.VersionTLS13
	tests := []struct {
		name     string
		versions []uint16
		schemes  []tls.SignatureScheme
		curves   []tls.CurveID
		changed  bool
	}{
		{"quic", []uint16{tls13}, []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, []tls.CurveID{tls.X25519}, true},
		{"tls13 and tls12", []uint16{tls13, tls12}, []tls.SignatureScheme{tls.PSSWithSHA256, tls.ECDSAWithP256AndSHA256}, []tls.CurveID{tls.CurveP256}, true},
		{"tls13 without ecdsa p256", []uint16{tls13}, []tls.SignatureScheme{tls.PSSWithSHA256, tls.ECDSAWithP384AndSHA384}, nil, false},
		{"tls12 only", []uint16{tls12}, []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, nil, false},
		{"no versions", nil, []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, nil, false},
	}
	for _, tt := range tests {
		suites := []uint16{tls.TLS_AES_128_GCM_SHA256}
		h := &tls.ClientHelloInfo{ServerName: "a.zerkalo.org", SupportedVersions: tt.versions, SignatureSchemes: tt.schemes, SupportedCurves: tt.curves, CipherSuites: suites}
		got := withECDSA(h)
		if changed := got != h; changed != tt.changed {
			t.Errorf("%s: changed = %v, want %v", tt.name, changed, tt.changed)
			continue
		}
		if !tt.changed {
			continue
		}
		if !slices.Contains(got.CipherSuites, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) || !slices.Contains(got.SupportedCurves, tls.CurveP256) {
			t.Errorf("%s: copy lacks the ECDSA suite or P-256: %v %v", tt.name, got.CipherSuites, got.SupportedCurves)
		}
		if len(h.CipherSuites) != 1 || !slices.Equal(h.SupportedCurves, tt.curves) || got.ServerName != h.ServerName {
			t.Errorf("%s: the original hello was changed or the copy lost fields", tt.name)
		}
	}
}

// TestGetCertificateRefuses checks the names refused before autocert is
// asked (so without any ACME server): readers of pending, retired and
// unknown names, and challenges for names not in the policy.
func TestGetCertificateRefuses(t *testing.T) {
	m := offline(t, "https://127.0.0.1:1/dir")
	for _, h := range []*tls.ClientHelloInfo{
		{ServerName: "p.zerkalo.org"},
		{ServerName: "x.zerkalo.org"},
		{ServerName: ""},
		{ServerName: "x.zerkalo.org", SupportedProtos: []string{ALPNProto}},
		{ServerName: "p.zerkalo.org", SupportedProtos: []string{"h2", ALPNProto}}, // not a challenge: a reader
	} {
		if _, err := m.GetCertificate(h); err == nil {
			t.Errorf("GetCertificate(%q, %q) succeeded", h.ServerName, h.SupportedProtos)
		}
	}
	// A challenge for a pending name reaches autocert, which has no token.
	_, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "P.zerkalo.org.", SupportedProtos: []string{ALPNProto}})
	if err == nil || !strings.Contains(err.Error(), "no token cert") {
		t.Errorf("challenge for a pending name: %v, want autocert's missing token", err)
	}
	if !slices.Contains(m.TLSConfig().NextProtos, ALPNProto) {
		t.Error("TLSConfig does not offer acme-tls/1")
	}
}

func TestRedirect(t *testing.T) {
	m := offline(t, "https://127.0.0.1:1/dir")
	tests := []struct {
		method, url, port string
		code              int
		location          string
	}{
		{"GET", "http://a.zerkalo.org/news/1.html?x=1", "443", 301, "https://a.zerkalo.org/news/1.html?x=1"},
		{"HEAD", "http://A.zerkalo.org:80/", "", 301, "https://a.zerkalo.org/"},
		{"GET", "http://a.zerkalo.org/", "8443", 301, "https://a.zerkalo.org:8443/"},
		{"POST", "http://a.zerkalo.org/", "443", 400, ""},
		{"GET", "http://p.zerkalo.org/", "443", 421, ""},
		{"GET", "http://x.zerkalo.org/", "443", 421, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Redirect(tt.port, m.serve).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.url, nil))
		if rec.Code != tt.code || rec.Header().Get("Location") != tt.location {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.url, rec.Code, rec.Header().Get("Location"), tt.code, tt.location)
		}
	}
	// HTTPHandler(nil) redirects to port 443 and keeps challenges apart.
	rec := httptest.NewRecorder()
	m.HTTPHandler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "http://a.zerkalo.org/x", nil))
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "https://a.zerkalo.org/x" {
		t.Errorf("HTTPHandler(nil): %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// TestObtainContext: Obtain returns when its context ends, even while the
// ACME server does not answer.
func TestObtainContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept() // and never answer
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	m := offline(t, "https://"+ln.Addr().String()+"/dir")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.ObtainAll(ctx, []string{"a.zerkalo.org", "p.zerkalo.org"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ObtainAll = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ObtainAll returned %v after it was called", d)
	}
	if err := m.Obtain(context.Background(), "x.zerkalo.org"); err == nil {
		t.Error("Obtain of an unknown name succeeded")
	}
}
