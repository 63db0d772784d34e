// Package certs is a small local certificate authority. The edge uses it for
// tls.mode = "self-signed", and tests use it to give a fake origin and a
// mirror real certificates that a crypto/tls client verifies against Pool.
//
// Keys are ECDSA P-256. Leaf certificates are issued on demand for one DNS
// name or IP address, cached, and renewed once two thirds of their lifetime
// has passed.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Validity periods. Certificates are backdated by Backdate to tolerate clock
// skew between machines.
const (
	CALifetime   = 10 * 365 * 24 * time.Hour
	LeafLifetime = 90 * 24 * time.Hour
	Backdate     = time.Hour
)

// An Authority is a certificate authority: a self-signed CA certificate and
// its private key. It is safe for concurrent use.
type Authority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	now     func() time.Time // the clock; tests replace it

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// NewCA returns a new Authority held in memory only.
func NewCA() (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Zerkalo local CA " + serial.Text(16)[:8], Organization: []string{"Zerkalo"}},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse new CA certificate: %w", err)
	}
	return newAuthority(cert, key), nil
}

func newAuthority(cert *x509.Certificate, key *ecdsa.PrivateKey) *Authority {
	return &Authority{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		key:     key,
		now:     time.Now,
		leaves:  make(map[string]*tls.Certificate),
	}
}

// CertPEM returns the CA certificate, PEM-encoded. It holds no private key.
func (a *Authority) CertPEM() []byte {
	return append([]byte(nil), a.certPEM...)
}

// Certificate returns the parsed CA certificate.
func (a *Authority) Certificate() *x509.Certificate { return a.cert }

// Pool returns a new certificate pool holding only the CA certificate, for
// use as tls.Config.RootCAs.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// marshal returns the CA certificate and key as PEM blocks.
func (a *Authority) marshal() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		return nil, fmt.Errorf("certs: marshal CA key: %w", err)
	}
	out := append([]byte(nil), a.certPEM...)
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...), nil
}

// parseAuthority reads a CA certificate and its private key from PEM data.
func parseAuthority(data []byte) (*Authority, error) {
	var cert *x509.Certificate
	var key *ecdsa.PrivateKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			if cert != nil {
				return nil, errors.New("more than one certificate")
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			cert = c
		case "PRIVATE KEY":
			if key != nil {
				return nil, errors.New("more than one private key")
			}
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse private key: %w", err)
			}
			ek, ok := k.(*ecdsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("private key is %T, want ECDSA", k)
			}
			key = ek
		default:
			return nil, fmt.Errorf("unexpected PEM block %q", b.Type)
		}
	}
	switch {
	case cert == nil:
		return nil, errors.New("no CERTIFICATE block")
	case key == nil:
		return nil, errors.New("no PRIVATE KEY block")
	case !cert.IsCA:
		return nil, errors.New("certificate is not a CA")
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("private key does not match the certificate")
	}
	return newAuthority(cert, key), nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certs: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
