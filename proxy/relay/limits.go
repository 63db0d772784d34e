package relay

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound the resources readers (and abusers) can take. Zero fields
// take the defaults below.
type Limits struct {
	// MaxConns bounds concurrent TCP connections plus UDP flows.
	MaxConns int
	// PerClient bounds concurrent connections plus flows from one client
	// address (IPv6 clients are counted per /64).
	PerClient int
	// Bandwidth caps the bytes per second relayed, both directions and
	// all readers together; 0 means no cap.
	Bandwidth int64
	// HandshakeTimeout bounds the time a reader has to send its TLS
	// ClientHello, and the time to connect to the edge.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a TCP connection or UDP flow that has carried no
	// data for this long.
	IdleTimeout time.Duration
}

// Default limits.
const (
	DefaultMaxConns         = 4096
	DefaultPerClient        = 64
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 5 * time.Minute
)

func (l Limits) withDefaults() Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.PerClient <= 0 {
		l.PerClient = DefaultPerClient
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// chunk is the largest piece copied at once; the bandwidth limiter's
// burst is at least this.
const chunk = 32 << 10

// admission counts connections in total and per client. Client keys live
// in memory only, and only while the client has a connection open.
type admission struct {
	max, perClient int

	mu      sync.Mutex
	total   int
	clients map[netip.Prefix]int
}

func newAdmission(l Limits) *admission {
	return &admission{max: l.MaxConns, perClient: l.PerClient, clients: make(map[netip.Prefix]int)}
}

// clientKey is the client's address, or its /64 for IPv6.
func clientKey(addr net.Addr) netip.Prefix {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(addr.String())
	}
	return keyOf(ap.Addr())
}

func keyOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// acquire admits one more connection from client, or reports false. A
// true result must be matched by one release.
func (a *admission) acquire(client netip.Prefix) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.total >= a.max || a.clients[client] >= a.perClient {
		return false
	}
	a.total++
	a.clients[client]++
	return true
}

func (a *admission) release(client netip.Prefix) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if a.clients[client]--; a.clients[client] <= 0 {
		delete(a.clients, client)
	}
}

// open returns the number of admitted connections.
func (a *admission) open() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// bandwidth is a shared byte-rate limiter; a nil *bandwidth has no cap.
type bandwidth struct{ l *rate.Limiter }

func newBandwidth(bytesPerSec int64) *bandwidth {
	if bytesPerSec <= 0 {
		return nil
	}
	burst := max(int(bytesPerSec), chunk)
	return &bandwidth{l: rate.NewLimiter(rate.Limit(bytesPerSec), burst)}
}

// wait blocks until n bytes may pass, or ctx is done.
func (b *bandwidth) wait(ctx context.Context, n int) error {
	if b == nil {
		return nil
	}
	return b.l.WaitN(ctx, n)
}

// allow reports whether n bytes may pass now (for datagrams, which are
// dropped rather than delayed).
func (b *bandwidth) allow(n int) bool {
	return b == nil || b.l.AllowN(time.Now(), n)
}
