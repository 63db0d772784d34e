package relay

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Relay.
type Config struct {
	// Listen is the address, "host:port", for both TCP and UDP.
	Listen string
	// Edge is the edge's address, "host:port", for both TCP and UDP.
	Edge string
	// Domain is the relay's enrolled domain: the only server name
	// forwarded.
	Domain string
	// HTTPListen, if set (e.g. ":80"), is a plain-HTTP listener that
	// forwards ACME HTTP-01 challenges for Domain to EdgeHTTP and
	// redirects every other request to HTTPS.
	HTTPListen string
	// EdgeHTTP is the edge's plain-HTTP address; default: the Edge host
	// on port 80.
	EdgeHTTP string
	// Proxy, if not nil, is served beside the passthrough; see
	// ConnectProxy.
	Proxy *ConnectProxy
	// Limits bound resource use; zero fields take defaults.
	Limits Limits
	// Logger gets operational logs, never a reader's address.
	Logger *slog.Logger
	// Ready, if not nil, is called with the bound TCP address once every
	// listener accepts.
	Ready func(addr net.Addr)
}

// A Relay forwards readers' TLS and QUIC traffic for one domain to an
// edge. Create it with New and start it with Run.
type Relay struct {
	cfg    Config
	domain string
	limits Limits
	admit  *admission
	bw     *bandwidth
	log    *slog.Logger
	stats  counters
}

// Stats are the relay's counters since it started. They hold no
// addresses.
type Stats struct {
	Accepted     int64 // TCP connections admitted
	Flows        int64 // UDP flows started
	Open         int   // connections plus flows open now
	RefusedName  int64 // TCP connections and QUIC flows whose ClientHello named another host (or none)
	RefusedLimit int64 // connections and flows refused by the limits
	Dropped      int64 // datagrams dropped (not QUIC, too large, over bandwidth)
	EdgeErrors   int64 // failures to reach the edge
	Bytes        int64 // bytes relayed, both directions
}

type counters struct {
	accepted, flows, refusedName, refusedLimit, dropped, edgeErrors, bytes atomic.Int64
}

// New checks cfg and returns a Relay.
func New(cfg Config) (*Relay, error) {
	domain := strings.TrimSuffix(strings.ToLower(cfg.Domain), ".")
	if domain == "" || strings.ContainsAny(domain, ":/ ") {
		return nil, fmt.Errorf("relay: bad domain %q", cfg.Domain)
	}
	host, _, err := net.SplitHostPort(cfg.Edge)
	if err != nil || host == "" {
		return nil, fmt.Errorf("relay: edge address %q: want host:port", cfg.Edge)
	}
	if cfg.Listen == "" {
		cfg.Listen = ":443"
	}
	if cfg.EdgeHTTP == "" {
		cfg.EdgeHTTP = net.JoinHostPort(host, "80")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := cfg.Limits.withDefaults()
	r := &Relay{cfg: cfg, domain: domain, limits: l, admit: newAdmission(l), bw: newBandwidth(l.Bandwidth), log: cfg.Logger}
	if cfg.Proxy != nil {
		cfg.Proxy.relay = r
	}
	return r, nil
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	s := &r.stats
	return Stats{
		Accepted: s.accepted.Load(), Flows: s.flows.Load(), Open: r.admit.open(),
		RefusedName: s.refusedName.Load(), RefusedLimit: s.refusedLimit.Load(),
		Dropped: s.dropped.Load(), EdgeErrors: s.edgeErrors.Load(), Bytes: s.bytes.Load(),
	}
}

// ShutdownGrace bounds how long open connections may go on after Run's
// context is done.
const ShutdownGrace = 10 * time.Second

// Run listens and relays until ctx is done, then stops accepting, gives
// open connections up to ShutdownGrace to end, and returns.
func (r *Relay) Run(ctx context.Context) error {
	ls, err := r.listen()
	if err != nil {
		return err
	}
	defer ls.close()
	connCtx, cancelConns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelConns()
	var conns sync.WaitGroup
	errc := make(chan error, 4)
	n := 0
	start := func(f func() error) {
		n++
		go func() { errc <- f() }()
	}
	start(func() error { return r.serveTCP(connCtx, ls.tcp, &conns) })
	start(func() error { return r.serveUDP(connCtx, ls.udp) })
	if ls.http != nil {
		start(func() error { return r.serveHTTP(connCtx, ls.http) })
	}
	if ls.proxy != nil {
		start(func() error { return r.cfg.Proxy.serve(connCtx, ls.proxy) })
	}
	if r.cfg.Ready != nil {
		r.cfg.Ready(ls.tcp.Addr())
	}
	r.log.Info("relaying", "domain", r.domain, "port", portOf(ls.tcp.Addr()))
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		n--
	}
	ls.close()
	done := make(chan struct{})
	go func() { conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(ShutdownGrace):
	}
	cancelConns()
	<-done
	for ; n > 0; n-- {
		if err := <-errc; err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

type listeners struct {
	tcp   net.Listener
	udp   *net.UDPConn
	http  net.Listener
	proxy net.Listener
	once  sync.Once
}

func (r *Relay) listen() (*listeners, error) {
	ls := &listeners{}
	var err error
	if ls.tcp, err = net.Listen("tcp", r.cfg.Listen); err != nil {
		return nil, fmt.Errorf("relay: listen tcp %s: %w", r.cfg.Listen, err)
	}
	host, _, _ := net.SplitHostPort(r.cfg.Listen)
	_, port, _ := net.SplitHostPort(ls.tcp.Addr().String())
	pc, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
	if err != nil {
		ls.close()
		return nil, fmt.Errorf("relay: listen udp %s: %w", r.cfg.Listen, err)
	}
	ls.udp = pc.(*net.UDPConn)
	if r.cfg.HTTPListen != "" {
		if ls.http, err = net.Listen("tcp", r.cfg.HTTPListen); err != nil {
			ls.close()
			return nil, fmt.Errorf("relay: listen http %s: %w", r.cfg.HTTPListen, err)
		}
	}
	if p := r.cfg.Proxy; p != nil {
		if ls.proxy, err = net.Listen("tcp", p.Listen); err != nil {
			ls.close()
			return nil, fmt.Errorf("relay: listen proxy %s: %w", p.Listen, err)
		}
		a := ls.proxy.Addr()
		p.addr.Store(&a)
	}
	return ls, nil
}

func (ls *listeners) close() {
	ls.once.Do(func() {
		for _, c := range []interface{ Close() error }{ls.tcp, ls.udp, ls.http, ls.proxy} {
			if c != nil {
				c.Close()
			}
		}
	})
}

// portOf returns the port of a listener's address; the relay logs ports,
// never addresses.
func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
