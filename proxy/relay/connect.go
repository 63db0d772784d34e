package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
)

// PACPath is the path of the proxy auto-config file the proxy face
// serves: https://DOMAIN:PORT/proxy.pac.
const PACPath = "/proxy.pac"

// A ConnectProxy is the relay's second face: an HTTPS proxy, for
// proxy-aware readers, that accepts only CONNECT requests to the edge's
// mirror domains (and the relay's own domain) on port 443, and tunnels
// them to the edge's address, never to where the name resolves. Every
// other request is refused: other hosts, other ports, IP literals, plain
// HTTP requests with absolute URIs. It is served over TLS with its own
// certificate for the relay's domain, which protects only the CONNECT
// request: pages stay end-to-end encrypted between reader and edge.
type ConnectProxy struct {
	// Listen is the proxy's TCP address, "host:port".
	Listen string
	// TLSConfig holds the proxy's certificate for the relay's domain.
	TLSConfig *tls.Config
	// Mirrors returns the edge's mirror domains; it may change over time.
	Mirrors func() []string
	// PublicAddr is what the PAC file names as the proxy, "host:port";
	// default: the relay's domain and the Listen port.
	PublicAddr string

	relay *Relay
	addr  atomic.Pointer[net.Addr]
}

// Addr returns the proxy's bound address once the relay runs, or nil.
func (p *ConnectProxy) Addr() net.Addr {
	if a := p.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// allowed reports whether a CONNECT target "host:port" may be tunnelled,
// with the reason when not.
func (p *ConnectProxy) allowed(target string) (bool, string) {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return false, "target must be host:443"
	}
	if port != "443" {
		return false, "only port 443"
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return false, "no IP addresses, only mirror domains"
	}
	if slices.Contains(p.names(), host) {
		return true, ""
	}
	return false, "not a mirror domain"
}

// names returns the hosts the proxy tunnels to, lower case.
func (p *ConnectProxy) names() []string {
	names := []string{p.relay.domain}
	if p.Mirrors != nil {
		for _, m := range p.Mirrors() {
			names = append(names, strings.TrimSuffix(strings.ToLower(m), "."))
		}
	}
	return names
}

// handler builds the goproxy server with every decision explicit.
func (p *ConnectProxy) handler() http.Handler {
	gp := goproxy.NewProxyHttpServer()
	gp.Verbose = false
	gp.Logger = nopLogger{} // goproxy's warnings name client addresses
	// Plain requests are all refused below; a transport that cannot dial
	// makes sure nothing slips through.
	gp.Tr = &http.Transport{Proxy: nil, DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, errRefused
	}}
	gp.ConnectDial = nil
	gp.ConnectDialWithReq = func(req *http.Request, network, addr string) (net.Conn, error) {
		if ok, _ := p.allowed(addr); !ok {
			return nil, errRefused
		}
		return p.dialEdge(req.Context())
	}
	gp.ConnectionErrHandler = func(w io.Writer, _ *goproxy.ProxyCtx, _ error) {
		io.WriteString(w, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}
	gp.NonproxyHandler = http.HandlerFunc(p.serveLocal)
	accept := &goproxy.ConnectAction{Action: goproxy.ConnectAccept}
	gp.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		if ok, why := p.allowed(host); !ok {
			p.relay.stats.refusedName.Add(1)
			ctx.Resp = goproxy.NewResponse(ctx.Req, goproxy.ContentTypeText, http.StatusForbidden, "refused: "+why+"\n")
			return goproxy.RejectConnect, host
		}
		return accept, host
	})
	gp.OnRequest().DoFunc(func(r *http.Request, _ *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		p.relay.stats.refusedName.Add(1)
		return r, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusForbidden,
			"refused: this proxy only tunnels CONNECT to mirror domains on port 443\n")
	})
	return gp
}

// dialEdge connects to the edge; the connection is idle-bounded and
// shares the relay's bandwidth cap.
func (p *ConnectProxy) dialEdge(ctx context.Context) (net.Conn, error) {
	r := p.relay
	d := net.Dialer{Timeout: r.limits.HandshakeTimeout}
	c, err := d.DialContext(ctx, "tcp", r.cfg.Edge)
	if err != nil {
		r.stats.edgeErrors.Add(1)
		return nil, errors.New("edge unreachable") // the dial error names addresses
	}
	return &edgeConn{Conn: c, r: r}, nil
}

// edgeConn is a tunnel's connection to the edge: every read and write
// waits for the bandwidth cap and pushes the idle deadline back; the
// deadline is what ends an abandoned tunnel.
type edgeConn struct {
	net.Conn
	r *Relay
}

func (c *edgeConn) Read(b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(c.r.limits.IdleTimeout))
	n, err := c.Conn.Read(b[:min(len(b), chunk)])
	if n > 0 {
		c.r.bw.wait(context.Background(), n)
		c.r.stats.bytes.Add(int64(n))
	}
	return n, err
}

func (c *edgeConn) Write(b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(c.r.limits.IdleTimeout))
	written := 0
	for len(b) > 0 {
		n := min(len(b), chunk)
		c.r.bw.wait(context.Background(), n)
		m, err := c.Conn.Write(b[:n])
		written += m
		c.r.stats.bytes.Add(int64(m))
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// serveLocal answers requests addressed to the proxy itself: the PAC
// file, and 404 for everything else.
func (p *ConnectProxy) serveLocal(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != PACPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
	w.Header().Set("Cache-Control", "max-age=3600")
	fmt.Fprint(w, p.PAC())
}

// PAC returns the proxy auto-config file: HTTPS URLs of the mirror
// domains go through this proxy, everything else goes direct.
func (p *ConnectProxy) PAC() string {
	addr := p.PublicAddr
	if addr == "" {
		listen := p.Listen
		if a := p.Addr(); a != nil {
			listen = a.String()
		}
		_, port, _ := net.SplitHostPort(listen)
		addr = net.JoinHostPort(p.relay.domain, port)
	}
	var b strings.Builder
	b.WriteString("// Zerkalo relay: only the mirror domains go through the proxy.\n")
	b.WriteString("function FindProxyForURL(url, host) {\n\tvar mirrors = [")
	for i, n := range p.names() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	b.WriteString("];\n\thost = host.toLowerCase();\n")
	b.WriteString("\tif (url.substring(0, 6) == \"https:\") {\n")
	b.WriteString("\t\tfor (var i = 0; i < mirrors.length; i++) {\n")
	fmt.Fprintf(&b, "\t\t\tif (host == mirrors[i]) return %q;\n", "HTTPS "+addr)
	b.WriteString("\t\t}\n\t}\n\treturn \"DIRECT\";\n}\n")
	return b.String()
}

// serve serves the proxy over TLS on ln until ctx is done.
func (p *ConnectProxy) serve(ctx context.Context, ln net.Listener) error {
	conf := p.TLSConfig.Clone()
	conf.NextProtos = []string{"http/1.1"} // CONNECT tunnels are hijacked HTTP/1.1 connections
	if conf.MinVersion == 0 {
		conf.MinVersion = tls.VersionTLS12
	}
	srv := &http.Server{
		Handler:           p.handler(),
		TLSConfig:         conf,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: p.relay.limits.HandshakeTimeout,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          discardLog,
	}
	var once sync.Once
	stop := context.AfterFunc(ctx, func() { once.Do(func() { srv.Close() }) })
	defer stop()
	return ignoreClosed(srv.ServeTLS(&limitListener{Listener: ln, r: p.relay}, "", ""))
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// errRefused is what a refused dial returns; it names no address.
var errRefused = errors.New("relay: refused")
