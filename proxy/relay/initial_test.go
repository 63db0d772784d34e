package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// clientInitials returns the datagrams a real QUIC client (quic-go) sends
// to open a connection to serverName: its Initial packets, until its
// ClientHello is whole. Nothing answers it.
func clientInitials(t testing.TB, serverName string, alpn []string) [][]byte {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		quic.DialAddr(ctx, pc.LocalAddr().String(), &tls.Config{ServerName: serverName, NextProtos: alpn}, nil)
	}()
	defer func() { cancel(); <-done }()
	var got [][]byte
	var h helloState
	buf := make([]byte, 2048)
	for {
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		d := append([]byte(nil), buf[:n]...)
		got = append(got, d)
		if _, done, err := h.feed(d); err != nil || done {
			return got
		}
	}
}

// TestServerNameOfInitials reads the server name from real clients'
// Initial packets, including a ClientHello spread over datagrams.
func TestServerNameOfInitials(t *testing.T) {
	var long []string
	for i := range 40 {
		long = append(long, fmt.Sprintf("protocol-name-long-enough-%03d", i))
	}
	for _, tc := range []struct {
		name     string
		alpn     []string
		minGrams int
	}{
		{"relay.example", []string{"h3"}, 1},
		{"Relay.Example.", []string{"h3"}, 1},
		{"relay.example", append([]string{"h3"}, long...), 3},
	} {
		grams := clientInitials(t, tc.name, tc.alpn)
		var h helloState
		var name string
		var done bool
		var err error
		for _, d := range grams {
			name, done, err = h.feed(d)
		}
		if err != nil || !done || name != "relay.example" {
			t.Errorf("%s, %d ALPN values: got %q done %v err %v", tc.name, len(tc.alpn), name, done, err)
		}
		if len(grams) < tc.minGrams {
			t.Errorf("%d ALPN values: ClientHello in %d datagrams, want at least %d", len(tc.alpn), len(grams), tc.minGrams)
		}
	}
}

// TestDamagedInitials: a damaged, cut or foreign datagram gives an error
// or no name, never a name and never a panic.
func TestDamagedInitials(t *testing.T) {
	grams := clientInitials(t, "relay.example", []string{"h3"})
	first := grams[0]
	cases := map[string][]byte{
		"empty":                {},
		"short":                first[:6],
		"cut header":           first[:20],
		"cut body":             first[:len(first)/2],
		"short header (1-RTT)": append([]byte{0x40}, first[1:]...),
		"version 2": func() []byte {
			d := append([]byte(nil), first...)
			d[4] = 2
			return d
		}(),
	}
	for i := 0; i < len(first); i += 7 {
		d := append([]byte(nil), first...)
		d[i] ^= 0x5a
		cases[fmt.Sprintf("byte %d flipped", i)] = d
	}
	for what, d := range cases {
		var h helloState
		name, done, err := h.feed(d)
		if name != "" || (done && err == nil) {
			t.Errorf("%s: got %q done %v err %v", what, name, done, err)
		}
		if err != nil && !errors.Is(err, errBadInitial) && !errors.Is(err, errNotInitial) &&
			!strings.Contains(err.Error(), "open QUIC Initial") && !strings.Contains(err.Error(), "ClientHello") {
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
}

// FuzzInitial feeds arbitrary datagrams, starting from a real client's,
// to the ClientHello reader: it must never panic, and a name comes only
// with a whole ClientHello.
//
//	go test -run x -fuzz FuzzInitial -fuzztime 60s ./proxy/relay
func FuzzInitial(f *testing.F) {
	for _, d := range clientInitials(f, "relay.example", []string{"h3"}) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		var h helloState
		name, done, err := h.feed(d)
		if name != "" && (!done || err != nil) {
			t.Errorf("name %q with done %v, err %v", name, done, err)
		}
	})
}

// FuzzCryptoFrames feeds arbitrary decrypted frames to the CRYPTO stream
// and whatever ClientHello it assembles to the server-name reader.
func FuzzCryptoFrames(f *testing.F) {
	f.Add([]byte{0x06, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00})
	f.Add([]byte{0x00, 0x01, 0x06, 0x40, 0x10, 0x02, 'h', 'i'})
	f.Fuzz(func(t *testing.T, frames []byte) {
		var s cryptoStream
		s.add(frames)
		if hello := s.clientHello(); hello != nil {
			serverNameOf(hello)
		}
	})
}
