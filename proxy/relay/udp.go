package relay

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxDatagram is the largest datagram relayed. QUIC stacks send at most
// about 1500 bytes (path MTU); larger ones are dropped, not truncated.
const maxDatagram = 4096

// minInitial is the size QUIC requires of a client's first datagram
// (RFC 9000, section 14.1). A new flow starts only with such a datagram
// carrying a long header, which keeps stray and spoofed packets cheap.
const minInitial = 1200

// udpRelay maps each reader's address to a flow: a socket connected to
// the edge.
type udpRelay struct {
	r   *Relay
	pc  *net.UDPConn
	mu  sync.Mutex
	fl  map[netip.AddrPort]*flow
	wg  sync.WaitGroup
	ctx context.Context
}

type flow struct {
	up   *net.UDPConn
	last atomic.Int64 // unix nanoseconds of the last datagram either way
}

// serveUDP forwards datagrams until pc is closed.
func (r *Relay) serveUDP(ctx context.Context, pc *net.UDPConn) error {
	u := &udpRelay{r: r, pc: pc, fl: make(map[netip.AddrPort]*flow), ctx: ctx}
	defer u.wg.Wait()
	defer u.closeAll()
	buf := make([]byte, maxDatagram+1)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		if n > maxDatagram || !r.bw.allow(n) {
			r.stats.dropped.Add(1)
			continue
		}
		f := u.flow(from, buf[:n])
		if f == nil {
			continue
		}
		f.last.Store(time.Now().UnixNano())
		if _, err := f.up.Write(buf[:n]); err == nil {
			r.stats.bytes.Add(int64(n))
		}
	}
}

// flow returns the reader's flow, starting one if the datagram may open
// it and the limits allow; nil means drop the datagram.
func (u *udpRelay) flow(from netip.AddrPort, first []byte) *flow {
	u.mu.Lock()
	f := u.fl[from]
	u.mu.Unlock()
	if f != nil {
		return f
	}
	if len(first) < minInitial || first[0]&0x80 == 0 {
		u.r.stats.dropped.Add(1)
		return nil
	}
	key := keyOf(from.Addr())
	if !u.r.admit.acquire(key) {
		u.r.stats.refusedLimit.Add(1)
		return nil
	}
	c, err := net.Dial("udp", u.r.cfg.Edge)
	if err != nil {
		u.r.admit.release(key)
		u.r.stats.edgeErrors.Add(1)
		return nil
	}
	f = &flow{up: c.(*net.UDPConn)}
	f.last.Store(time.Now().UnixNano())
	u.mu.Lock()
	u.fl[from] = f
	u.mu.Unlock()
	u.r.stats.flows.Add(1)
	u.wg.Go(func() {
		defer u.r.admit.release(key)
		u.back(from, f)
	})
	return f
}

// back forwards the edge's datagrams to the reader until the flow has
// been idle for IdleTimeout, then ends it.
func (u *udpRelay) back(to netip.AddrPort, f *flow) {
	defer func() {
		u.mu.Lock()
		delete(u.fl, to)
		u.mu.Unlock()
		f.up.Close()
	}()
	idle := u.r.limits.IdleTimeout
	buf := make([]byte, maxDatagram+1)
	for u.ctx.Err() == nil {
		f.up.SetReadDeadline(time.Now().Add(idle))
		n, err := f.up.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, f.last.Load())) < idle {
				continue // the reader spoke lately
			}
			return
		}
		if n > maxDatagram || !u.r.bw.allow(n) {
			u.r.stats.dropped.Add(1)
			continue
		}
		f.last.Store(time.Now().UnixNano())
		if _, err := u.pc.WriteToUDPAddrPort(buf[:n], to); err == nil {
			u.r.stats.bytes.Add(int64(n))
		}
	}
}

// closeAll ends every flow (on shutdown).
func (u *udpRelay) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range u.fl {
		f.up.Close()
	}
}
