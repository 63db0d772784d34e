package relay_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"zerkalo/proxy/certs"
	"zerkalo/proxy/relay"
)

// holdConns opens n TCP connections from local to addr that send
// nothing, and returns them.
func holdConns(t *testing.T, local, addr string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	var cs []net.Conn
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
	})
	return cs
}

// TestLimitsTCP floods the relay with idle connections from three
// loopback addresses: per-client and total limits hold, refused
// connections are closed at once, and the relay still serves afterwards.
func TestLimitsTCP(t *testing.T) {
	edge := startEdge(t)
	en := edge.enrollRelay(t, false)
	limits := relay.Limits{MaxConns: 6, PerClient: 3, HandshakeTimeout: 3 * time.Second}
	r, addr, logs := startRelay(t, edge.addr, en.Domain, func(c *relay.Config) { c.Limits = limits })
	start := time.Now()

	a := holdConns(t, "127.0.0.1", addr, 20)
	if err := eventually(3*time.Second, func() bool { return r.Stats().Open == 3 && r.Stats().RefusedLimit == 17 }); err != nil {
		t.Fatalf("after 20 connections from one client: %+v, want 3 open, 17 refused", r.Stats())
	}
	// Refused connections were closed without an answer.
	closed := 0
	for _, c := range a {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed != 17 {
		t.Errorf("%d connections closed by the relay, want 17", closed)
	}
	holdConns(t, "127.0.0.2", addr, 5)
	holdConns(t, "127.0.0.3", addr, 5)
	if err := eventually(3*time.Second, func() bool { return r.Stats().RefusedLimit == 17+7 }); err != nil {
		t.Fatalf("after 30 connections from three clients: %+v, want 6 open, 24 refused", r.Stats())
	}
	if open := r.Stats().Open; open != 6 {
		t.Fatalf("%d open, want MaxConns 6", open)
	}
	// Silent connections are closed after the handshake time-out, which
	// frees the slots.
	if err := eventually(limits.HandshakeTimeout+3*time.Second, func() bool { return r.Stats().Open == 0 }); err != nil {
		t.Fatalf("silent connections still open: %+v", r.Stats())
	}
	seen := &ports{}
	if _, _, err := get(readerClient(t, "h1", addr, edge.ca, seen), "https://"+relayName+"/"); err != nil {
		t.Fatalf("after the flood: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("flood test took %v", d)
	}
	checkNoAddresses(t, logs.String(), seen)
}

// TestBandwidth: the cap slows a download to its rate.
func TestBandwidth(t *testing.T) {
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	const size = 3 << 19 // 1.5 MiB
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: ca.GetCertificate(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.Write(make([]byte, size))
	}()
	const rate = 512 << 10
	_, addr, _ := startRelay(t, ln.Addr().String(), relayName, func(c *relay.Config) { c.Limits.Bandwidth = rate })
	c, err := dialTLS(addr, relayName, ca)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	n, err := io.Copy(io.Discard, c)
	elapsed := time.Since(start)
	if n != size {
		t.Fatalf("read %d bytes, %v; want %d", n, err, size)
	}
	// The burst (one second's worth) passes at once; the rest at the rate.
	if min := time.Duration(float64(size-rate) / rate * float64(time.Second)); elapsed < min*9/10 || elapsed > 4*min {
		t.Errorf("1.5 MiB at %d B/s took %v, want about %v", rate, elapsed, min)
	}
}

// TestLimitsUDP: datagrams that cannot start a QUIC connection start no
// flow; flows are bounded per client and in total, carry datagrams both
// ways, and end when idle.
func TestLimitsUDP(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := echo.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			echo.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	limits := relay.Limits{MaxConns: 6, PerClient: 4, IdleTimeout: 300 * time.Millisecond}
	r, addr, _ := startRelay(t, echo.LocalAddr().String(), relayName, func(c *relay.Config) { c.Limits = limits })
	raddr, _ := net.ResolveUDPAddr("udp", addr)
	grams := relay.ClientInitials(t, relayName, []string{"h3"}) // a real client's first datagrams
	send := func(local string, n int, pkts ...[]byte) []*net.UDPConn {
		var cs []*net.UDPConn
		for range n {
			c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(local)}, raddr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			for _, p := range pkts {
				c.Write(p)
			}
			cs = append(cs, c)
		}
		return cs
	}
	send("127.0.0.1", 10, []byte("not quic"))
	short := make([]byte, 1200) // short header: not a connection's first packet
	send("127.0.0.1", 10, short)
	if err := eventually(2*time.Second, func() bool { return r.Stats().Dropped == 20 }); err != nil || r.Stats().Flows != 0 {
		t.Fatalf("after 20 stray datagrams: %+v, want 20 dropped, no flow", r.Stats())
	}
	// Each refused client is refused once per datagram.
	cs := send("127.0.0.1", 10, grams...)
	send("127.0.0.2", 10, grams...)
	refused := int64(14 * len(grams))
	if err := eventually(2*time.Second, func() bool { return r.Stats().RefusedLimit == refused && r.Stats().Flows == 6 }); err != nil {
		t.Fatalf("after 20 flows from two clients: %+v, want 6 flows, %d datagrams refused", r.Stats(), refused)
	}
	if st := r.Stats(); st.Flows != 6 || st.Open != 6 {
		t.Fatalf("%+v: want 6 flows open", st)
	}
	// An admitted flow carries the edge's answers back: here the echo of
	// the datagrams it held until the ClientHello was read.
	cs[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := cs[0].Read(make([]byte, 2000)); err != nil || n != len(grams[0]) {
		t.Fatalf("echo through the flow: %d, %v", n, err)
	}
	if err := eventually(3*time.Second, func() bool { return r.Stats().Open == 0 }); err != nil {
		t.Fatalf("idle flows not ended: %+v", r.Stats())
	}
}

// TestPendingFlowsBounded: first datagrams whose ClientHello never ends,
// from many addresses, hold at most a bounded number of flows, which are
// dropped once their time is up.
func TestPendingFlowsBounded(t *testing.T) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r, addr, _ := startRelay(t, sink.LocalAddr().String(), relayName, nil)
	raddr, _ := net.ResolveUDPAddr("udp", addr)
	first := relay.ClientInitials(t, relayName, []string{"h3"})[0] // the rest of the ClientHello never comes
	const clients, held = 300, 256                                 // held: the relay's maxPending
	for i := range clients {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 1+byte(i/250), 1+byte(i%250))}, raddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(first)
		if i%20 == 19 {
			time.Sleep(20 * time.Millisecond) // within the relay's receive buffer
		}
	}
	if err := eventually(2*time.Second, func() bool { return r.Stats().Dropped == clients-held }); err != nil {
		t.Fatalf("%+v: want %d datagrams dropped beyond %d held flows", r.Stats(), clients-held, held)
	}
	if err := eventually(6*time.Second, func() bool { return r.Stats().Dropped == clients }); err != nil {
		t.Fatalf("%+v: the %d held flows were not dropped after their time", r.Stats(), held)
	}
	if st := r.Stats(); st.Flows != 0 || st.Bytes != 0 {
		t.Errorf("%+v: nothing may reach the edge", st)
	}
}
