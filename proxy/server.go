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
	"time"

	"zerkalo/proxy/certs"
)

// ShutdownGrace bounds how long in-flight requests may run after a stop
// signal before connections are closed.
const ShutdownGrace = 20 * time.Second

// Server serves an http.Handler to readers over TLS (HTTP/1.1 and HTTP/2).
type Server struct {
	// Listen is the TCP address, "host:port".
	Listen string
	// Handler serves every request.
	Handler http.Handler
	// TLSConfig holds the certificates; see SelfSignedTLS and FilesTLS.
	TLSConfig *tls.Config
	// Logger gets the server's operational logs.
	Logger *slog.Logger
	// Ready, if not nil, is called with the bound address once the
	// listener accepts connections.
	Ready func(addr net.Addr)
}

// Run listens and serves until ctx is done, then stops accepting, lets
// in-flight requests finish for up to ShutdownGrace, and returns.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return listenError(s.Listen, err)
	}
	tlsConf := s.TLSConfig.Clone()
	tlsConf.NextProtos = []string{"h2", "http/1.1"}
	hs := &http.Server{
		Handler:           s.Handler,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(quietTLSErrors{s.Logger.Handler()}, slog.LevelDebug),
	}
	if s.Ready != nil {
		s.Ready(ln.Addr())
	}
	s.Logger.Info("serving", "listen", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", s.Listen, err)
	case <-ctx.Done():
	}
	s.Logger.Info("shutting down", "grace", ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err = hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
	}
	<-errc
	return err
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

// SelfSignedTLS returns a TLS config that serves, for each mirror domain,
// a leaf issued by the edge's own CA kept in stateDir/selfsigned-ca.pem.
// Any other server name fails the handshake.
func SelfSignedTLS(stateDir string, domains []string) (*tls.Config, error) {
	ca, err := certs.LoadOrCreateCA(filepath.Join(stateDir, "selfsigned-ca.pem"))
	if err != nil {
		return nil, err
	}
	allowed := nameSet(domains)
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: ca.GetCertificate(func(name string) bool { return allowed[name] }),
	}, nil
}

// FilesTLS returns a TLS config serving the certificate in certFile and
// keyFile (PEM) for the mirror domains only.
func FilesTLS(certFile, keyFile string, domains []string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s: %w", certFile, err)
	}
	allowed := nameSet(domains)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
			if !allowed[name] {
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
