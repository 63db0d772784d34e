package relay

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"
)

// maxHello bounds the bytes read while looking for a ClientHello (a
// post-quantum key share makes it a few kilobytes; TLS allows more, but
// no browser sends that).
const maxHello = 64 << 10

var errPeeked = errors.New("relay: ClientHello read")

// peekServerName reads a TLS ClientHello from r with crypto/tls's own
// parser and returns its server name (SNI), normalized, and every byte
// read, which the caller replays to the edge. It never writes to r.
func peekServerName(r io.Reader) (string, []byte, error) {
	var buf bytes.Buffer
	name := ""
	got := false
	conn := readOnlyConn{r: io.TeeReader(io.LimitReader(r, maxHello), &buf)}
	err := tls.Server(conn, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			name, got = h.ServerName, true
			return nil, errPeeked
		},
	}).Handshake()
	if !got {
		return "", buf.Bytes(), err
	}
	return strings.TrimSuffix(strings.ToLower(name), "."), buf.Bytes(), nil
}

// readOnlyConn is a net.Conn that only reads; writes fail, so the TLS
// server can send nothing (not even an alert) while it parses.
type readOnlyConn struct{ r io.Reader }

func (c readOnlyConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (readOnlyConn) Write(p []byte) (int, error)        { return 0, io.ErrClosedPipe }
func (readOnlyConn) Close() error                       { return nil }
func (readOnlyConn) LocalAddr() net.Addr                { return nil }
func (readOnlyConn) RemoteAddr() net.Addr               { return nil }
func (readOnlyConn) SetDeadline(t time.Time) error      { return nil }
func (readOnlyConn) SetReadDeadline(t time.Time) error  { return nil }
func (readOnlyConn) SetWriteDeadline(t time.Time) error { return nil }
