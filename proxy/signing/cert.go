package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// CertificateFormat is the value of a certificate's "format" field. It
// keeps a root signature over a certificate from being taken for a root
// signature over anything else.
const CertificateFormat = "zerkalo-edge-certificate-v1"

// Errors that Verify and VerifyCertificate wrap.
var (
	ErrCertificate  = errors.New("certificate is not valid")
	ErrNotYetValid  = errors.New("certificate is not valid yet")
	ErrCertExpired  = errors.New("certificate has expired")
	ErrWrongRootKey = errors.New("certificate is not signed by this root key")
)

// A Certificate is the root key's statement that EdgeKey may sign mirror
// lists from NotBefore to NotAfter. It is published as JSON:
//
//	{
//	  "format": "zerkalo-edge-certificate-v1",
//	  "edge_public_key": "RWQ…",
//	  "not_before": "2026-01-02T03:04:05Z",
//	  "not_after": "2026-04-02T03:04:05Z",
//	  "comment": "edge m1.example"
//	}
//
// with a detached minisign signature by the root key beside it.
type Certificate struct {
	EdgeKey   PublicKey
	NotBefore time.Time
	NotAfter  time.Time
	Comment   string // free text for people, such as the edge's name
}

type wireCertificate struct {
	Format    string    `json:"format"`
	EdgeKey   string    `json:"edge_public_key"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Comment   string    `json:"comment"`
}

// Marshal returns the certificate's JSON, the bytes the root key signs.
// Times are written in UTC to the second.
func (c Certificate) Marshal() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(wireCertificate{
		Format:    CertificateFormat,
		EdgeKey:   c.EdgeKey.String(),
		NotBefore: c.NotBefore.UTC().Truncate(time.Second),
		NotAfter:  c.NotAfter.UTC().Truncate(time.Second),
		Comment:   c.Comment,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return append(b, '\n'), nil
}

func (c Certificate) check() error {
	switch {
	case c.EdgeKey.IsZero():
		return fmt.Errorf("%w: no edge key", ErrCertificate)
	case c.NotBefore.IsZero() || c.NotAfter.IsZero():
		return fmt.Errorf("%w: no validity window", ErrCertificate)
	case !c.NotAfter.After(c.NotBefore):
		return fmt.Errorf("%w: not_after %s is not after not_before %s", ErrCertificate,
			c.NotAfter.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParseCertificate parses a certificate strictly: unknown or missing
// fields, another format and trailing data are errors. It does not check
// the signature or the validity window.
func ParseCertificate(b []byte) (Certificate, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireCertificate
	if err := dec.Decode(&w); err != nil {
		return Certificate{}, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Certificate{}, fmt.Errorf("%w: data after the JSON object", ErrCertificate)
	}
	if w.Format != CertificateFormat {
		return Certificate{}, fmt.Errorf("%w: format %q, want %q", ErrCertificate, w.Format, CertificateFormat)
	}
	key, err := ParsePublicKey([]byte(w.EdgeKey))
	if err != nil {
		return Certificate{}, fmt.Errorf("%w: edge_public_key: %v", ErrCertificate, err)
	}
	c := Certificate{EdgeKey: key, NotBefore: w.NotBefore, NotAfter: w.NotAfter, Comment: w.Comment}
	return c, c.check()
}

// ValidAt reports whether t is inside the certificate's validity window.
func (c Certificate) ValidAt(t time.Time) error {
	switch {
	case t.Before(c.NotBefore):
		return fmt.Errorf("%w: it is valid from %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	case t.After(c.NotAfter):
		return fmt.Errorf("%w: it was valid until %s", ErrCertExpired, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// Certify signs c with k, the root key, and returns the certificate's
// JSON and its detached signature. The signature's trusted comment
// repeats the edge key and the validity window, so that "minisign -V"
// shows them.
func (k *Key) Certify(c Certificate) (cert, sig []byte, err error) {
	cert, err = c.Marshal()
	if err != nil {
		return nil, nil, err
	}
	comment := fmt.Sprintf("zerkalo edge certificate: key %s valid %s to %s", c.EdgeKey.ID(),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	return cert, k.SignWithComment(cert, comment), nil
}

// VerifyCertificate checks that certSig is root's signature of cert and
// that now is inside the certificate's validity window, and returns the
// certificate.
func VerifyCertificate(cert, certSig []byte, root PublicKey, now time.Time) (Certificate, error) {
	if err := root.Verify(cert, certSig); err != nil {
		if s, perr := ParseSignature(certSig); perr == nil && s.KeyID != root.ID() {
			return Certificate{}, fmt.Errorf("%w: %v", ErrWrongRootKey, err)
		}
		return Certificate{}, fmt.Errorf("certificate: %w", err)
	}
	c, err := ParseCertificate(cert)
	if err != nil {
		return Certificate{}, err
	}
	if err := c.ValidAt(now); err != nil {
		return Certificate{}, err
	}
	return c, nil
}

// Verify checks the whole chain: cert is certified by root and valid at
// now, and msgSig is a signature of msg by the edge key it certifies. It
// returns the certificate.
func Verify(msg, msgSig, cert, certSig []byte, root PublicKey, now time.Time) (Certificate, error) {
	c, err := VerifyCertificate(cert, certSig, root, now)
	if err != nil {
		return Certificate{}, err
	}
	if err := c.EdgeKey.Verify(msg, msgSig); err != nil {
		return Certificate{}, fmt.Errorf("signature by the certified edge key %s: %w", c.EdgeKey.ID(), err)
	}
	return c, nil
}
