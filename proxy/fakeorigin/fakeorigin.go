// Package fakeorigin is a stand-in for the RFE/RL origin servers in tests
// and in the demo. It serves TLS on loopback for any host name, with leaf
// certificates from its own certs.Authority, over HTTP/1.1 and HTTP/2, logs
// every request it receives, and can be made to fail in the ways a real
// origin fails (see Mode).
package fakeorigin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"zerkalo/proxy/certs"
)

// closeTimeout bounds how long Close waits for requests in flight.
const closeTimeout = 2 * time.Second

// Server is a running fake origin. Its methods are safe for concurrent use.
type Server struct {
	ca   *certs.Authority
	addr string // "127.0.0.1:port", fixed for the server's life
	srv  *http.Server
	ln   *chanListener // what srv serves: connections the gate lets through

	mu      sync.Mutex
	mode    Mode
	changed chan struct{} // closed and replaced at every mode change
	tcp     net.Listener  // nil while the mode is Refuse
	held    []net.Conn    // accepted in Hang mode
	conns   map[net.Conn]struct{}
	log     []Request
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup // accept loops
}

// Start starts a fake origin on 127.0.0.1 with a random port, serving h.
func Start(h http.Handler) (*Server, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, fmt.Errorf("fakeorigin: %w", err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeorigin: listen: %w", err)
	}
	s := &Server{
		ca:      ca,
		addr:    tcp.Addr().String(),
		tcp:     tcp,
		conns:   make(map[net.Conn]struct{}),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.ln = newChanListener(tcp.Addr())
	getCert := ca.GetCertificate(nil)
	s.srv = &http.Server{
		Handler:           s.wrap(h),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if hello.ServerName == "" {
					return ca.Leaf("127.0.0.1") // a client that dialled the IP
				}
				return getCert(hello)
			},
		},
		ConnState: s.connState,
		// Failed handshakes and cut connections are what tests provoke.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.startAccept(tcp)
	go s.srv.ServeTLS(s.ln, "", "")
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port". It does not change
// when the server is taken down and up again.
func (s *Server) Addr() string { return s.addr }

// CA returns the authority whose leaves the server presents.
func (s *Server) CA() *certs.Authority { return s.ca }

// WriteCAFile writes the CA certificate (no key) as PEM to path.
func (s *Server) WriteCAFile(path string) error {
	if err := os.WriteFile(path, s.ca.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("fakeorigin: write CA file: %w", err)
	}
	return nil
}

// Close stops the server: it stops accepting, lets requests in flight
// finish for a short while, then closes every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	if s.tcp != nil {
		s.tcp.Close()
		s.tcp = nil
	}
	for _, c := range s.held {
		c.Close()
	}
	s.held = nil
	s.mu.Unlock()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}

// connState tracks the connections the HTTP server holds, so that a
// failure mode can cut them.
func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}
