package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Leaf returns a certificate for one DNS name or IP address, signed by the
// authority. Certificates are cached and issued again once two thirds of
// their lifetime has passed. The name is normalized (lower case, no trailing
// dot); wildcards are refused.
func (a *Authority) Leaf(name string) (*tls.Certificate, error) {
	name, err := normalize(name)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.leaves[name]; c != nil && !a.due(c) {
		return c, nil
	}
	c, err := a.issue(name)
	if err != nil {
		return nil, err
	}
	a.leaves[name] = c
	return c, nil
}

// due reports whether c is within a third of its lifetime of expiry.
func (a *Authority) due(c *tls.Certificate) bool {
	life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
	return a.now().After(c.Leaf.NotAfter.Add(-life / 3))
}

func (a *Authority) issue(name string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: generate key for %s: %w", name, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := a.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(LeafLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("certs: sign certificate for %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse certificate for %s: %w", name, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// GetCertificate returns a function for tls.Config.GetCertificate that
// serves the leaf for the client's SNI name, only when allowed(name) is
// true for the normalized name. A handshake without SNI, or for a name not
// allowed, fails, so no certificate is shown to a client that does not name
// an allowed host. A nil allowed admits every name.
func (a *Authority) GetCertificate(allowed func(name string) bool) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "" {
			return nil, errors.New("certs: no server name (SNI) in handshake")
		}
		name, err := normalize(hello.ServerName)
		if err != nil {
			return nil, err
		}
		if allowed != nil && !allowed(name) {
			return nil, fmt.Errorf("certs: server name %q not served", name)
		}
		return a.Leaf(name)
	}
}

// normalize lower-cases name, removes a trailing dot and checks that it is
// an IP address or a DNS host name.
func normalize(name string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	if net.ParseIP(n) != nil {
		return n, nil
	}
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("certs: bad host name %q", name)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("certs: bad host name %q", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("certs: bad host name %q", name)
			}
		}
	}
	return n, nil
}
