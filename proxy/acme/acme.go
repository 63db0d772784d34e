package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	xacme "golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ALPNProto is the TLS protocol name of TLS-ALPN-01 challenge handshakes.
// A TLS listener answering them must list it in tls.Config.NextProtos.
const ALPNProto = xacme.ALPNProto

// DefaultDirectory is Let's Encrypt's production ACME directory.
const DefaultDirectory = autocert.DefaultACMEDirectory

// Options configure a Manager.
type Options struct {
	// Directory is the ACME directory URL. Default: DefaultDirectory.
	Directory string
	// Email is the contact address for the account. Optional.
	Email string
	// RootCAs verify the ACME server's HTTPS. Nil: the system's.
	RootCAs *x509.CertPool
	// CacheDir keeps the account key and the certificates. Required.
	CacheDir string
	// RenewBefore is how long before expiry to renew; zero: the lesser
	// of 30 days and a third of the lifetime (autocert's default).
	RenewBefore time.Duration
	// Policy reports whether a name may hold a certificate: it is active
	// or pending. Required; called concurrently.
	Policy func(name string) bool
	// Serve reports whether readers may be answered for a name: it is
	// active. Required; called concurrently.
	Serve func(name string) bool
}

// Manager obtains, renews and serves certificates. Make one per process
// and let its Policy and Serve follow configuration reloads: autocert
// keeps renewal timers and an account per Manager.
type Manager struct {
	m      *autocert.Manager
	policy func(string) bool
	serve  func(string) bool
}

// New returns a Manager for opts. It contacts no server: the account is
// registered on the first certificate request.
func New(opts Options) (*Manager, error) {
	if opts.CacheDir == "" || opts.Policy == nil || opts.Serve == nil {
		return nil, errors.New("acme: CacheDir, Policy and Serve are required")
	}
	dir := opts.Directory
	if dir == "" {
		dir = DefaultDirectory
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
	m := &Manager{policy: opts.Policy, serve: opts.Serve}
	m.m = &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		Cache:       autocert.DirCache(opts.CacheDir),
		HostPolicy:  m.hostPolicy,
		RenewBefore: opts.RenewBefore,
		Email:       opts.Email,
		Client: &xacme.Client{
			DirectoryURL: dir,
			HTTPClient:   &http.Client{Transport: transport, Timeout: time.Minute},
			UserAgent:    "zerkalo",
		},
	}
	return m, nil
}

// hostPolicy is autocert's HostPolicy: Policy, for names that may carry a
// port (HTTP-01 requests' Host).
func (m *Manager) hostPolicy(_ context.Context, host string) error {
	if name := normalize(host); !m.policy(name) {
		return fmt.Errorf("acme: %q is not an active or pending mirror domain", name)
	}
	return nil
}

// TLSConfig returns a TLS configuration for the readers' listener: it
// serves GetCertificate and offers HTTP/2, HTTP/1.1 and ALPNProto (for
// TLS-ALPN-01 challenges).
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: m.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1", ALPNProto},
	}
}

// GetCertificate implements tls.Config.GetCertificate. It answers
// TLS-ALPN-01 challenge handshakes for Policy names, and readers'
// handshakes for Serve names only, with the ECDSA certificate whenever the
// client can use it (see the package comment). It may block while a first
// certificate is obtained.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalize(hello.ServerName)
	if isChallenge(hello) {
		if !m.policy(name) {
			return nil, fmt.Errorf("acme: no challenge for %q: not an active or pending mirror domain", name)
		}
		return m.m.GetCertificate(hello)
	}
	if !m.serve(name) {
		return nil, fmt.Errorf("acme: %q is not an active mirror domain", name)
	}
	return m.m.GetCertificate(withECDSA(hello))
}

// isChallenge reports whether hello is a TLS-ALPN-01 validation by the
// certificate authority, as autocert recognizes it.
func isChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == ALPNProto
}

// withECDSA returns hello, or, for a client that offers TLS 1.3 and the
// ECDSA P-256 signature scheme (which is all TLS 1.3 needs of an ECDSA
// certificate), a copy that autocert also recognizes as ECDSA-capable:
// with a TLS 1.2 ECDSA cipher suite and the P-256 curve. golang/go#50522.
func withECDSA(hello *tls.ClientHelloInfo) *tls.ClientHelloInfo {
	if !slices.Contains(hello.SupportedVersions, tls.VersionTLS13) ||
		!slices.Contains(hello.SignatureSchemes, tls.ECDSAWithP256AndSHA256) {
		return hello
	}
	h := *hello
	h.CipherSuites = append(slices.Clip(hello.CipherSuites), tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	if !slices.Contains(hello.SupportedCurves, tls.CurveP256) {
		h.SupportedCurves = append(slices.Clip(hello.SupportedCurves), tls.CurveP256)
	}
	return &h
}

// obtainHello is the synthetic ClientHello of Obtain: a client that can
// use ECDSA P-256, so that autocert obtains the ECDSA certificate.
func obtainHello(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        name,
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		CipherSuites:      []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
	}
}

// Obtain makes sure the certificate of name is held: loaded from the cache,
// or obtained from the certificate authority now. name must pass Policy
// (a pending name need not pass Serve). When ctx ends first Obtain returns
// its error; the request itself goes on in the background (autocert bounds
// it to 5 minutes) and its certificate is kept.
func (m *Manager) Obtain(ctx context.Context, name string) error {
	name = normalize(name)
	if !m.policy(name) {
		return fmt.Errorf("acme: obtain %s: not an active or pending mirror domain", name)
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.m.GetCertificate(obtainHello(name))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("acme: obtain %s: %w", name, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("acme: obtain %s: %w", name, ctx.Err())
	}
}

// obtainParallel bounds how many certificates ObtainAll requests at once.
const obtainParallel = 4

// ObtainAll calls Obtain for every name, a few at a time, and returns the
// errors joined in the order of names. Call it on start and on every
// reload with the active and pending names.
func (m *Manager) ObtainAll(ctx context.Context, names []string) error {
	errs := make([]error, len(names))
	sem := make(chan struct{}, obtainParallel)
	var wg sync.WaitGroup
	for i, n := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = m.Obtain(ctx, n)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// HTTPHandler returns the handler of the plain-HTTP listener: it answers
// HTTP-01 challenges for Policy names and passes every other request to
// fallback. A nil fallback is Redirect("443", Serve). Calling it also enables
// HTTP-01 challenges, which autocert uses when TLS-ALPN-01 fails.
func (m *Manager) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = Redirect("443", m.serve)
	}
	return m.m.HTTPHandler(fallback)
}

// Redirect returns the plain-HTTP handler that sends readers of the names
// serve admits (the active domains) to the same URL over HTTPS on
// httpsPort, with 301 Moved Permanently for GET and HEAD and 400 Bad
// Request for other methods. Other names get 421 Misdirected Request. It
// needs no Manager: use it alone on http_listen in the other TLS modes.
func Redirect(httpsPort string, serve func(name string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := normalize(r.Host)
		if !serve(host) {
			http.Error(w, "421 Misdirected Request: unknown host", http.StatusMisdirectedRequest)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "400 Bad Request: use HTTPS", http.StatusBadRequest)
			return
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

// normalize returns a host name without port and trailing dot, in lower
// case.
func normalize(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}
