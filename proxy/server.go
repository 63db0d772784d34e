package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"zerkalo/proxy/certs"
)

// acmeTLSALPN is the protocol of ACME TLS-ALPN-01 challenge handshakes
// (RFC 8737); the TLS config's GetCertificate answers them in acme mode.
const acmeTLSALPN = "acme-tls/1"

// ShutdownGrace bounds how long in-flight requests may run after a stop
// signal before connections are closed.
const ShutdownGrace = 20 * time.Second

// Server serves an http.Handler to readers over TLS: HTTP/1.1 and HTTP/2 on
// TCP, and HTTP/3 (QUIC) on UDP at the same address.
type Server struct {
	// Listen is the address, "host:port", for both TCP and UDP.
	Listen string
	// Handler serves every request, whatever the protocol.
	Handler http.Handler
	// TLSConfig holds the certificates; see SelfSignedTLS and FilesTLS.
	TLSConfig *tls.Config
	// Logger gets the server's operational logs.
	Logger *slog.Logger
	// Ready, if not nil, is called with the bound TCP address once both
	// listeners accept connections.
	Ready func(addr net.Addr)
}

// Run listens and serves until ctx is done, then stops accepting, lets
// in-flight requests finish for up to ShutdownGrace (HTTP/2 and HTTP/3
// send GOAWAY), and returns.
func (s *Server) Run(ctx context.Context) error {
	ln, udp, err := listenBoth(s.Listen)
	if err != nil {
		return err
	}
	tcpConf := s.TLSConfig.Clone()
	tcpConf.NextProtos = []string{"h2", "http/1.1", acmeTLSALPN}
	h3 := &http3.Server{
		Handler:        refuseEarlyData(strictTransport(s.Handler)),
		TLSConfig:      http3.ConfigureTLSConfig(s.TLSConfig.Clone()),
		QUICConfig:     &quic.Config{Allow0RTT: true, MaxIdleTimeout: 60 * time.Second},
		MaxHeaderBytes: 64 << 10,
		IdleTimeout:    120 * time.Second,
		Logger:         slog.New(slog.DiscardHandler), // its records carry client addresses
	}
	hs := &http.Server{
		Handler:           advertiseHTTP3(s.Handler),
		TLSConfig:         tcpConf,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(quietTLSErrors{s.Logger.Handler()}, slog.LevelDebug),
	}
	errc := make(chan error, 2)
	go func() { errc <- fmt.Errorf("serve tcp %s: %w", ln.Addr(), hs.ServeTLS(ln, "", "")) }()
	go func() { errc <- fmt.Errorf("serve udp %s: %w", udp.LocalAddr(), h3.Serve(udp)) }()
	if s.Ready != nil {
		s.Ready(ln.Addr())
	}
	s.Logger.Info("serving", "listen", ln.Addr().String(), "protocols", "h1 h2 h3")
	select {
	case err = <-errc:
		hs.Close()
		h3.Close()
		udp.Close()
		<-errc
		return err
	case <-ctx.Done():
	}
	s.Logger.Info("shutting down", "grace", ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	var tcpErr, udpErr error
	wg.Go(func() { tcpErr = hs.Shutdown(sctx) })
	wg.Go(func() { udpErr = h3.Shutdown(sctx) })
	wg.Wait()
	hs.Close()
	h3.Close()
	udp.Close()
	<-errc
	<-errc
	return errors.Join(tcpErr, udpErr)
}

// listenBoth opens the TCP listener and a UDP socket on the same port (the
// TCP one's, when the port was 0).
func listenBoth(addr string) (net.Listener, net.PacketConn, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, listenError(addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
	if err != nil {
		ln.Close()
		return nil, nil, listenError("udp "+addr, err)
	}
	return ln, udp, nil
}

// advertiseHTTP3 adds Alt-Svc to TCP responses, naming the port the reader
// connected to (from Host), so it stays right behind a relay listening on
// another port than the edge; and HSTS, as strictTransport does (one
// wrapper rather than two keeps the handler goroutine's stack smaller).
func advertiseHTTP3(h http.Handler) http.Handler {
	var last atomic.Pointer[altSvc] // the value for the port last seen
	last.Store(newAltSvc("443"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		port := "443"
		if strings.IndexByte(r.Host, ':') >= 0 { // else SplitHostPort fails
			if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
				port = p
			}
		}
		v := last.Load()
		if v.port != port {
			v = newAltSvc(port)
			last.Store(v)
		}
		hdr := w.Header()
		hdr["Alt-Svc"] = v.value
		hdr["Strict-Transport-Security"] = hstsValue
		h.ServeHTTP(w, r)
	})
}

// altSvc is the Alt-Svc header value for one port, made once and shared by
// the responses: a full slice, so that an Add by a later handler copies it.
type altSvc struct {
	port  string
	value []string
}

func newAltSvc(port string) *altSvc {
	return &altSvc{port: port, value: []string{`h3=":` + port + `"; ma=86400`}}
}

// HSTS is the Strict-Transport-Security value of every response: a year,
// for this host only (a mirror domain's subdomains are not the edge's).
const HSTS = "max-age=31536000"

// hstsValue is HSTS as a header value, shared by all responses.
var hstsValue = []string{HSTS}

// strictTransport makes browsers use HTTPS for the mirror domain from then
// on, so that a censor cannot downgrade a returning reader to plain HTTP.
func strictTransport(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Strict-Transport-Security"] = hstsValue
		h.ServeHTTP(w, r)
	})
}

// refuseEarlyData answers 425 Too Early to requests other than GET and
// HEAD that arrive in QUIC 0-RTT data, which an attacker can replay.
func refuseEarlyData(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && !r.TLS.HandshakeComplete && r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "425 Too Early: repeat the request after the handshake", http.StatusTooEarly)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// listenError explains the listen failures operators meet most.
func listenError(addr string, err error) error {
	switch {
	case strings.Contains(err.Error(), "address already in use"):
		return fmt.Errorf("listen %s: the port is already in use by another program: %w", addr, err)
	case strings.Contains(err.Error(), "permission denied"):
		return fmt.Errorf("listen %s: no permission to bind this port (ports below 1024 need CAP_NET_BIND_SERVICE): %w", addr, err)
	}
	return fmt.Errorf("listen %s: %w", addr, err)
}

// quietTLSErrors drops the per-connection TLS handshake errors net/http
// logs (they carry the client's address) and passes the rest on.
type quietTLSErrors struct{ slog.Handler }

func (q quietTLSErrors) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "http: TLS handshake error") || strings.Contains(r.Message, "from ") {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

// SelfSignedTLS returns a TLS config that serves, for each name allowed
// reports true for, a leaf issued by the edge's own CA kept in
// stateDir/selfsigned-ca.pem. Any other server name fails the handshake.
func SelfSignedTLS(stateDir string, allowed func(name string) bool) (*tls.Config, error) {
	ca, err := certs.LoadOrCreateCA(filepath.Join(stateDir, "selfsigned-ca.pem"))
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: ca.GetCertificate(allowed),
	}, nil
}

// FilesTLS returns a TLS config serving the certificate in certFile and
// keyFile (PEM) for the names allowed reports true for.
func FilesTLS(certFile, keyFile string, allowed func(name string) bool) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s: %w", certFile, err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
			if !allowed(name) {
				return nil, fmt.Errorf("tls: unknown server name %q", name)
			}
			return &cert, nil
		},
	}, nil
}

func nameSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}
