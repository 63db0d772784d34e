package relay

import (
	"bytes"
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

// A new flow is held until its ClientHello names the relay's domain: at
// most helloDatagrams datagrams, for at most helloTimeout. A post-quantum
// key share spreads a ClientHello over two or three datagrams.
// At most maxPending flows are held at once (each holds up to ~20 KB), so
// that forged Initials from spoofed addresses cost a bounded memory.
const (
	helloDatagrams = 6
	helloTimeout   = 3 * time.Second
	maxPending     = 256
)

// udpRelay maps each reader's address to a flow: a socket connected to
// the edge.
type udpRelay struct {
	r   *Relay
	pc  *net.UDPConn
	mu  sync.Mutex
	fl  map[netip.AddrPort]*flow
	wg  sync.WaitGroup
	ctx context.Context

	// refused holds, for helloTimeout, the addresses whose flow was
	// refused, so that their retransmissions are dropped unread; pending
	// counts the flows held. Only serveUDP's goroutine touches them.
	refused map[netip.AddrPort]time.Time
	pending int
}

// maxRefused bounds the addresses remembered as refused.
const maxRefused = 4096

// A flow is a reader's QUIC connection through the relay. Until its
// ClientHello is read it is pending: up is nil and its datagrams wait in
// held; only serveUDP's goroutine touches a pending flow.
type flow struct {
	up   *net.UDPConn
	last atomic.Int64 // unix nanoseconds of the last datagram either way

	key   netip.Prefix // the admission key, released when the flow ends
	hello helloState
	held  [][]byte
	start time.Time
}

// serveUDP forwards datagrams until pc is closed.
func (r *Relay) serveUDP(ctx context.Context, pc *net.UDPConn) error {
	u := &udpRelay{r: r, pc: pc, fl: make(map[netip.AddrPort]*flow), ctx: ctx, refused: make(map[netip.AddrPort]time.Time)}
	defer u.wg.Wait()
	defer u.closeAll()
	buf := make([]byte, maxDatagram+1)
	var swept time.Time
	for {
		if now := time.Now(); now.Sub(swept) >= time.Second {
			u.sweepPending(now)
			swept = now
			pc.SetReadDeadline(now.Add(time.Second)) // to sweep while idle
		}
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
		if f.up == nil {
			u.hold(from, f, buf[:n])
			continue
		}
		if _, err := f.up.Write(buf[:n]); err == nil {
			r.stats.bytes.Add(int64(n))
		}
	}
}

// flow returns the reader's flow, starting a pending one if the datagram
// may open it and the limits allow; nil means drop the datagram.
func (u *udpRelay) flow(from netip.AddrPort, first []byte) *flow {
	u.mu.Lock()
	f := u.fl[from]
	u.mu.Unlock()
	if f != nil {
		return f
	}
	if _, ok := u.refused[from]; ok || len(first) < minInitial || first[0]&0x80 == 0 || u.pending >= maxPending {
		u.r.stats.dropped.Add(1)
		return nil
	}
	key := keyOf(from.Addr())
	if !u.r.admit.acquire(key) {
		u.r.stats.refusedLimit.Add(1)
		return nil
	}
	f = &flow{key: key, start: time.Now()}
	u.mu.Lock()
	u.fl[from] = f
	u.mu.Unlock()
	u.pending++
	return f
}

// hold keeps a datagram of a pending flow and reads its ClientHello; once
// the hello names the relay's domain, it connects the flow to the edge
// and sends what it held. A flow naming another host (or none), sending
// garbage, or too slow to finish its hello is dropped.
func (u *udpRelay) hold(from netip.AddrPort, f *flow, d []byte) {
	if len(f.held) >= helloDatagrams || time.Since(f.start) > helloTimeout {
		u.endPending(from, f)
		u.r.stats.dropped.Add(1)
		return
	}
	f.held = append(f.held, bytes.Clone(d))
	name, done, err := f.hello.feed(d)
	switch {
	case err != nil, done && name != u.r.cfg.Domain:
		u.endPending(from, f)
		u.r.stats.refusedName.Add(1)
		if len(u.refused) < maxRefused {
			u.refused[from] = time.Now()
		}
		return
	case !done:
		return
	}
	c, err := net.Dial("udp", u.r.cfg.Edge)
	if err != nil {
		u.endPending(from, f)
		u.r.stats.edgeErrors.Add(1)
		return
	}
	f.up = c.(*net.UDPConn)
	u.pending--
	u.r.stats.flows.Add(1)
	for _, g := range f.held {
		if _, err := f.up.Write(g); err == nil {
			u.r.stats.bytes.Add(int64(len(g)))
		}
	}
	f.held, f.hello = nil, helloState{}
	u.wg.Go(func() {
		defer u.r.admit.release(f.key)
		u.back(from, f)
	})
}

// sweepPending drops the pending flows whose hello is overdue, and
// forgets refusals older than helloTimeout.
func (u *udpRelay) sweepPending(now time.Time) {
	for from, at := range u.refused {
		if now.Sub(at) > helloTimeout {
			delete(u.refused, from)
		}
	}
	u.mu.Lock()
	var overdue []*flow
	for from, f := range u.fl {
		if f.up == nil && now.Sub(f.start) > helloTimeout {
			delete(u.fl, from)
			overdue = append(overdue, f)
		}
	}
	u.mu.Unlock()
	for _, f := range overdue {
		u.pending--
		u.r.admit.release(f.key)
		u.r.stats.dropped.Add(1)
	}
}

// endPending forgets a pending flow.
func (u *udpRelay) endPending(from netip.AddrPort, f *flow) {
	u.mu.Lock()
	delete(u.fl, from)
	u.mu.Unlock()
	u.pending--
	u.r.admit.release(f.key)
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
	for from, f := range u.fl {
		if f.up != nil {
			f.up.Close()
		} else {
			delete(u.fl, from)
			u.r.admit.release(f.key)
		}
	}
}
