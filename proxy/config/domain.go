package config

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Domain is one mirror domain with its activity window. In the file it is
// either a plain name, "m1.example", or an inline table with optional
// TOML date-times (with a time zone):
//
//	{ name = "m2.example", from = 2026-12-01T00:00:00Z, until = 2027-03-01T00:00:00Z }
//
// The domain is active from From (inclusive; zero: always was) until Until
// (exclusive; zero: forever).
type Domain struct {
	Name  string    `toml:"name"`
	From  time.Time `toml:"from"`
	Until time.Time `toml:"until"`
}

// UnmarshalText implements encoding.TextUnmarshaler: a plain string is a
// domain without a window.
func (d *Domain) UnmarshalText(b []byte) error {
	*d = Domain{Name: string(b)}
	return nil
}

// DomainList is a list of mirror domains, in the file's order.
type DomainList []Domain

// Names returns the names of the domains, in order.
func (l DomainList) Names() []string {
	names := make([]string, len(l))
	for i, d := range l {
		names[i] = d.Name
	}
	return names
}

// SetDomains sets DomainList.
func (c *Config) SetDomains(ds ...Domain) {
	c.DomainList = DomainList(ds)
}

// ACMEDir is the folder that keeps the ACME account key and certificates:
// StateDir/acme.
func (c *Config) ACMEDir() string { return filepath.Join(c.StateDir, "acme") }

// ACMECAs returns the certificate authorities to trust for the ACME
// directory: the system's, plus those of acme.ca_file when it is set.
func (c *Config) ACMECAs() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if c.ACME.CAFile == "" {
		return pool, nil
	}
	b, err := os.ReadFile(c.ACME.CAFile)
	if err != nil {
		return nil, fmt.Errorf("acme.ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("acme.ca_file: %s holds no PEM certificate", c.ACME.CAFile)
	}
	return pool, nil
}
