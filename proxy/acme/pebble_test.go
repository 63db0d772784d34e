package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zerkalo/proxy/acme/pebbletest"
)

// env is a real ACME server for one test (see package pebbletest) and the
// two loopback listeners pebble validates challenges against: tlsLn
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
	e := &env{}
	tlsLn, httpLn := listen(t), listen(t)
	p := pebbletest.Start(t, pebbletest.Options{TLSPort: port(tlsLn.Addr()), HTTPPort: port(httpLn.Addr())})
	e.directory, e.clientCAs, e.roots = p.Directory, p.ClientCAs, p.Roots
	e.tlsAddr = tlsLn.Addr().String()
	e.serveHTTP(http.NotFoundHandler())
	e.serveTLS(nil)
	e.startListeners(t, tlsLn, httpLn)
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

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
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
