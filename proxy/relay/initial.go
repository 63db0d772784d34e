package relay

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// A QUIC client's first packets (Initial packets, RFC 9000 section 17.2.2)
// carry its TLS ClientHello in CRYPTO frames, encrypted with keys anyone
// can derive from the packet's Destination Connection ID (RFC 9001 section
// 5.2). The relay derives them, as the edge will, to read the server name
// before it forwards a flow: a relay that forwarded any name would let a
// prober ask for a known mirror domain and be shown the edge's
// certificate for it.

// quicV1 is QUIC version 1; other versions are not forwarded.
const quicV1 = 0x00000001

// initialSaltV1 is the salt of QUIC v1's Initial secrets (RFC 9001 5.2).
var initialSaltV1 = []byte{
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
}

var (
	errNotInitial = errors.New("not a QUIC v1 Initial packet")
	errBadInitial = errors.New("malformed QUIC Initial packet")
)

// initialKeys opens the client's Initial packets of one connection.
type initialKeys struct {
	aead cipher.AEAD
	iv   []byte
	hp   cipher.Block
}

// newInitialKeys derives the client's Initial keys from the Destination
// Connection ID the client chose.
func newInitialKeys(dcid []byte) (*initialKeys, error) {
	initial, err := hkdf.Extract(sha256.New, dcid, initialSaltV1)
	if err != nil {
		return nil, err
	}
	client, err := expandLabel(initial, "client in", sha256.Size)
	if err != nil {
		return nil, err
	}
	key, err := expandLabel(client, "quic key", 16)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(client, "quic iv", 12)
	if err != nil {
		return nil, err
	}
	hpKey, err := expandLabel(client, "quic hp", 16)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	hp, err := aes.NewCipher(hpKey)
	if err != nil {
		return nil, err
	}
	return &initialKeys{aead: aead, iv: iv, hp: hp}, nil
}

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context (RFC
// 8446 section 7.1).
func expandLabel(secret []byte, label string, length int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0) // context
	return hkdf.Expand(sha256.New, secret, string(info), length)
}

// initialHeader is the part of a long-header Initial packet before its
// packet number.
type initialHeader struct {
	dcid     []byte
	pnOffset int // where the protected packet number starts
	end      int // where the packet ends (a datagram may hold more)
}

// parseInitialHeader reads the long header of the client Initial packet
// at the start of b.
func parseInitialHeader(b []byte) (initialHeader, error) {
	var h initialHeader
	if len(b) < 7 || b[0]&0xc0 != 0xc0 {
		return h, errNotInitial
	}
	if binary.BigEndian.Uint32(b[1:5]) != quicV1 || b[0]&0x30 != 0 {
		return h, errNotInitial
	}
	i := 5
	dcidLen := int(b[i])
	i++
	if dcidLen > 20 || i+dcidLen >= len(b) {
		return h, errBadInitial
	}
	h.dcid = b[i : i+dcidLen]
	i += dcidLen
	scidLen := int(b[i])
	i++
	if scidLen > 20 || i+scidLen > len(b) {
		return h, errBadInitial
	}
	i += scidLen
	tokenLen, n := readVarint(b[i:])
	if n == 0 || uint64(len(b)-i-n) < tokenLen {
		return h, errBadInitial
	}
	i += n + int(tokenLen)
	length, n := readVarint(b[i:])
	if n == 0 || uint64(len(b)-i-n) < length {
		return h, errBadInitial
	}
	i += n
	h.pnOffset, h.end = i, i+int(length)
	return h, nil
}

// open decrypts the Initial packet b[:h.end] (b is left as it is) and
// returns its frames.
func (k *initialKeys) open(b []byte, h initialHeader) ([]byte, error) {
	// Header protection (RFC 9001 5.4): the sample starts 4 bytes after
	// the start of the packet number, whatever its length.
	if h.pnOffset+4+aes.BlockSize > h.end {
		return nil, errBadInitial
	}
	var mask [aes.BlockSize]byte
	k.hp.Encrypt(mask[:], b[h.pnOffset+4:h.pnOffset+4+aes.BlockSize])
	first := b[0] ^ mask[0]&0x0f
	pnLen := int(first&0x03) + 1
	header := make([]byte, h.pnOffset+pnLen)
	copy(header, b[:h.pnOffset+pnLen])
	header[0] = first
	var pn uint64
	for i := range pnLen {
		header[h.pnOffset+i] ^= mask[1+i]
		pn = pn<<8 | uint64(header[h.pnOffset+i])
	}
	// A client's first Initial packets are numbered from 0, so the
	// truncated packet number is the whole one.
	nonce := make([]byte, len(k.iv))
	copy(nonce, k.iv)
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(pn >> (8 * i))
	}
	plain, err := k.aead.Open(nil, nonce, b[h.pnOffset+pnLen:h.end], header)
	if err != nil {
		return nil, fmt.Errorf("open QUIC Initial packet: %w", err)
	}
	return plain, nil
}

// readVarint reads a QUIC variable-length integer (RFC 9000 16) and
// returns it and its length, or 0, 0 if b is too short.
func readVarint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}

// maxQUICHello bounds the CRYPTO data held per pending flow: a browser's
// ClientHello with a post-quantum key share is about 2 KB.
const maxQUICHello = 8 << 10

// cryptoStream gathers the client's CRYPTO frames, which may come in any
// order and across packets and datagrams, until they hold the ClientHello.
type cryptoStream struct {
	data   []byte
	filled []bool
}

// add takes the frames of one decrypted Initial packet. It fails on a
// frame a client's first flight does not carry, or on data past
// maxQUICHello.
func (s *cryptoStream) add(frames []byte) error {
	for len(frames) > 0 {
		typ, n := readVarint(frames)
		if n == 0 {
			return errBadInitial
		}
		frames = frames[n:]
		switch typ {
		case 0x00, 0x01: // PADDING, PING
		case 0x06: // CRYPTO
			off, n1 := readVarint(frames)
			if n1 == 0 {
				return errBadInitial
			}
			length, n2 := readVarint(frames[n1:])
			if n2 == 0 || uint64(len(frames)-n1-n2) < length {
				return errBadInitial
			}
			if off+length > maxQUICHello {
				return fmt.Errorf("ClientHello past %d bytes: %w", maxQUICHello, errBadInitial)
			}
			s.write(int(off), frames[n1+n2:n1+n2+int(length)])
			frames = frames[n1+n2+int(length):]
		default:
			return fmt.Errorf("frame type %#x in a client's first Initial: %w", typ, errBadInitial)
		}
	}
	return nil
}

func (s *cryptoStream) write(off int, p []byte) {
	if end := off + len(p); end > len(s.data) {
		s.data = append(s.data, make([]byte, end-len(s.data))...)
		s.filled = append(s.filled, make([]bool, end-len(s.filled))...)
	}
	copy(s.data[off:], p)
	for i := range p {
		s.filled[off+i] = true
	}
}

// clientHello returns the ClientHello handshake message once all of it
// has arrived, else nil.
func (s *cryptoStream) clientHello() []byte {
	if len(s.data) < 4 || !s.filled[0] || !s.filled[1] || !s.filled[2] || !s.filled[3] {
		return nil
	}
	end := 4 + (int(s.data[1])<<16 | int(s.data[2])<<8 | int(s.data[3]))
	if end > len(s.data) {
		return nil
	}
	for _, ok := range s.filled[:end] {
		if !ok {
			return nil
		}
	}
	return s.data[:end]
}

// helloState reads a client's server name from the first datagrams of
// its QUIC connection.
type helloState struct {
	keys   *initialKeys
	dcid   []byte
	stream cryptoStream
}

// feed takes one datagram of the flow. Once the ClientHello is whole it
// returns its server name (normalized as for TCP) and done.
func (h *helloState) feed(d []byte) (name string, done bool, err error) {
	for len(d) > 0 {
		hdr, err := parseInitialHeader(d)
		if err == errNotInitial && h.keys != nil {
			break // a coalesced packet of another kind, such as 0-RTT
		}
		if err != nil {
			return "", false, err
		}
		if h.keys == nil {
			if h.keys, err = newInitialKeys(hdr.dcid); err != nil {
				return "", false, err
			}
			h.dcid = bytes.Clone(hdr.dcid)
		} else if !bytes.Equal(hdr.dcid, h.dcid) {
			return "", false, fmt.Errorf("connection ID changed: %w", errBadInitial)
		}
		frames, err := h.keys.open(d, hdr)
		if err != nil {
			return "", false, err
		}
		if err := h.stream.add(frames); err != nil {
			return "", false, err
		}
		d = d[hdr.end:]
	}
	hello := h.stream.clientHello()
	if hello == nil {
		return "", false, nil
	}
	name, err = serverNameOf(hello)
	return name, true, err
}

// serverNameOf returns the server name of a ClientHello handshake
// message, parsed by crypto/tls as for TCP (see peekServerName): the
// message is framed as the TLS records a TCP client would have sent.
func serverNameOf(hello []byte) (string, error) {
	const maxRecord = 16 << 10
	var records []byte
	for len(hello) > 0 {
		n := min(len(hello), maxRecord)
		records = append(records, 0x16, 0x03, 0x01, byte(n>>8), byte(n))
		records = append(records, hello[:n]...)
		hello = hello[n:]
	}
	name, _, err := peekServerName(bytes.NewReader(records))
	if err != nil {
		return "", fmt.Errorf("read ClientHello: %w", err)
	}
	if name == "" {
		return "", errors.New("ClientHello without a server name")
	}
	return name, nil
}
