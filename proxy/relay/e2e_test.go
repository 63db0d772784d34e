package relay_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"zerkalo/proxy/certs"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/enroll"
)

// TestChain: reader → relay → edge → origin over HTTP/1.1, HTTP/2 and
// HTTP/3 gives the bytes the edge serves directly, under the edge's own
// certificate for the relay's domain.
func TestChain(t *testing.T) {
	edge := startEdge(t)
	en := edge.enrollRelay(t, false)
	if en.Domain != relayName || len(en.Mirrors) != 1 || en.Mirrors[0] != mirrorName {
		t.Fatalf("enrollment = %+v", en)
	}
	r, relayAddr, logs := startRelay(t, edge.addr, en.Domain, nil)

	direct, err := dialTLS(edge.addr, relayName, edge.ca)
	if err != nil {
		t.Fatalf("edge does not serve the enrolled domain: %v", err)
	}
	edgeCert := direct.ConnectionState().PeerCertificates[0]
	direct.Close()

	seen := &ports{}
	for _, proto := range []string{"h1", "h2", "h3"} {
		for _, path := range []string{"/", demo.ArticlePath} {
			t.Run(proto+path, func(t *testing.T) {
				url := "https://" + relayName + path
				want, wantBody, err := get(readerClient(t, proto, edge.addr, edge.ca, &ports{}), url)
				if err != nil {
					t.Fatalf("direct: %v", err)
				}
				resp, body, err := get(readerClient(t, proto, relayAddr, edge.ca, seen), url)
				if err != nil {
					t.Fatalf("through the relay: %v", err)
				}
				wantProto := map[string]string{"h1": "HTTP/1.1", "h2": "HTTP/2.0", "h3": "HTTP/3.0"}[proto]
				if resp.Proto != wantProto || resp.StatusCode != 200 || want.StatusCode != 200 {
					t.Fatalf("got %s %d (direct %d), want %s 200", resp.Proto, resp.StatusCode, want.StatusCode, wantProto)
				}
				if len(body) < 1000 || !bytes.Equal(body, wantBody) {
					t.Fatalf("body through the relay (%d bytes) differs from the edge's (%d bytes)", len(body), len(wantBody))
				}
				cert := resp.TLS.PeerCertificates[0]
				if !bytes.Equal(cert.Raw, edgeCert.Raw) || cert.VerifyHostname(relayName) != nil {
					t.Fatalf("reader saw certificate %v, want the edge's for %s", cert.DNSNames, relayName)
				}
			})
		}
	}
	st := r.Stats()
	if st.Accepted == 0 || st.Flows == 0 || st.Bytes == 0 {
		t.Errorf("stats %+v: want TCP connections, UDP flows and bytes", st)
	}
	checkNoAddresses(t, logs.String(), seen)
}

// TestRefusedNames: the relay forwards only its own domain; a relay for a
// domain the edge did not enroll gets nothing from the edge; revoking an
// enrollment ends it at once.
func TestRefusedNames(t *testing.T) {
	edge := startEdge(t)
	en := edge.enrollRelay(t, false)
	r, relayAddr, logs := startRelay(t, edge.addr, en.Domain, nil)
	_, rogueAddr, _ := startRelay(t, edge.addr, "rogue.example", nil)

	for _, name := range []string{mirrorName, "www.rferl.org", "example.com", "127.0.0.1"} {
		if c, err := dialTLS(relayAddr, name, edge.ca); err == nil {
			c.Close()
			t.Errorf("relay forwarded a handshake for %q", name)
		}
	}
	if got := r.Stats().RefusedName; got != 4 {
		t.Errorf("RefusedName = %d, want 4", got)
	}
	// QUIC too: the edge answers for the mirror domain, the relay does
	// not pass it on.
	if err := dialQUIC(edge.addr, mirrorName, edge.ca); err != nil {
		t.Fatalf("the edge refuses QUIC for %s: %v", mirrorName, err)
	}
	if err := dialQUIC(relayAddr, mirrorName, edge.ca); err == nil {
		t.Errorf("relay forwarded a QUIC handshake for %q", mirrorName)
	}
	if err := dialQUIC(relayAddr, relayName, edge.ca); err != nil {
		t.Errorf("relay refused a QUIC handshake for its own domain: %v", err)
	}
	if got := r.Stats().RefusedName; got != 5 {
		t.Errorf("RefusedName = %d, want 5", got)
	}
	if c, err := dialTLS(rogueAddr, "rogue.example", edge.ca); err == nil {
		c.Close()
		t.Error("the edge served a domain it never enrolled")
	}
	c, err := dialTLS(relayAddr, relayName, edge.ca)
	if err != nil {
		t.Fatalf("enrolled domain: %v", err)
	}
	c.Close()

	if was, err := edge.store.Revoke(relayName); !was || err != nil {
		t.Fatalf("Revoke = %v, %v", was, err)
	}
	if c, err := dialTLS(relayAddr, relayName, edge.ca); err == nil {
		c.Close()
		t.Error("a revoked relay's domain is still served")
	}
	if err := en.Status(context.Background()); !errors.Is(err, enroll.ErrRevoked) {
		t.Errorf("Status after revoke: %v, want ErrRevoked", err)
	}
	checkNoAddresses(t, logs.String(), &ports{})
}

// TestEnrollRefused: invitations that are reused, expired, revoked,
// forged or tampered with enroll nothing.
func TestEnrollRefused(t *testing.T) {
	edge := startEdge(t)
	other := startEdge(t) // another edge, with its own enrollment key
	ctx := context.Background()

	token, err := edge.store.IssueInvite(relayName, edge.addr, mirrorName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enroll.Enroll(ctx, token, "", false); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := enroll.Enroll(ctx, token, "", false); err == nil {
		t.Error("a used invitation enrolled again")
	}

	old, _ := edge.store.IssueInvite("two.example", edge.addr, mirrorName, 0)
	edge.store.Revoke("two.example")
	if _, err := enroll.Enroll(ctx, old, "", false); err == nil {
		t.Error("an invitation issued before its domain was revoked enrolled")
	}
	fresh, _ := edge.store.IssueInvite("two.example", edge.addr, mirrorName, 0)
	if _, err := enroll.Enroll(ctx, fresh, "", false); err != nil {
		t.Errorf("a new invitation after the revocation: %v", err)
	}

	// Signed by another edge: its pin does not match this edge's proof,
	// so the relay never even sends the token.
	forged, _ := other.store.IssueInvite("three.example", other.addr, mirrorName, 0)
	if _, err := enroll.Enroll(ctx, forged, edge.addr, false); err == nil {
		t.Error("an invitation from another edge enrolled")
	}
	if got := edge.store.Domains(); len(got) != 2 {
		t.Errorf("enrolled %v, want relay.example and two.example", got)
	}

	tampered := []byte(token)
	tampered[len("zk1.")+10] ^= 1
	if _, err := enroll.Enroll(ctx, string(tampered), "", false); err == nil {
		t.Error("a tampered invitation enrolled")
	}
	if _, err := enroll.Enroll(ctx, "", edge.addr, false); !errors.Is(err, enroll.ErrInvitation) {
		t.Errorf("no invitation: %v, want ErrInvitation", err)
	}
}

// dialQUIC completes a QUIC handshake with addr for name, or fails within
// two seconds.
func dialQUIC(addr, name string, ca *certs.Authority) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{ServerName: name, RootCAs: ca.Pool(), NextProtos: []string{"h3"}}, nil)
	if err != nil {
		return err
	}
	return conn.CloseWithError(0, "")
}
