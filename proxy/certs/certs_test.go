package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveTLS accepts TLS connections on 127.0.0.1 with the given config and
// writes "ok" to each after its handshake. It returns the address.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				tc := tls.Server(c, cfg)
				if tc.Handshake() == nil {
					tc.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr, name string, roots *x509.CertPool) (string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: name})
	if err := c.HandshakeContext(ctx); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestHandshake(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"www.rferl.org": true, "127.0.0.1": true}
	addr := serveTLS(t, &tls.Config{GetCertificate: ca.GetCertificate(func(n string) bool { return allowed[n] })})
	tests := []struct {
		name   string
		sni    string // ServerName in the client config
		wantOK bool
	}{
		{"allowed name", "www.rferl.org", true},
		{"upper case and trailing dot", "WWW.RFERL.ORG.", true},
		{"allowed IP (no SNI sent for IPs)", "127.0.0.1", false},
		{"foreign name", "example.com", false},
		{"sub-domain of allowed", "x.www.rferl.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dial(addr, tt.sni, ca.Pool())
			if tt.wantOK && (err != nil || got != "ok") {
				t.Fatalf("dial %s: %q, %v; want ok", tt.sni, got, err)
			}
			if !tt.wantOK && err == nil {
				t.Fatalf("dial %s: handshake succeeded, want failure", tt.sni)
			}
		})
	}
}

func TestHandshakeUntrusted(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, &tls.Config{GetCertificate: ca.GetCertificate(nil)})
	_, err = dial(addr, "www.rferl.org", other.Pool())
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("dial with another CA's pool: %v, want UnknownAuthorityError", err)
	}
}

func TestLeafFields(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gdb.rferl.org", "127.0.0.1", "::1"} {
		c, err := ca.Leaf(name)
		if err != nil {
			t.Fatalf("Leaf(%q): %v", name, err)
		}
		opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := c.Leaf.Verify(opts); err != nil {
			t.Errorf("Leaf(%q) does not verify: %v", name, err)
		}
		if life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore); life != LeafLifetime+Backdate {
			t.Errorf("Leaf(%q) lifetime %v", name, life)
		}
		if time.Until(c.Leaf.NotBefore) > -Backdate+time.Minute {
			t.Errorf("Leaf(%q) NotBefore %v not backdated", name, c.Leaf.NotBefore)
		}
	}
	for _, bad := range []string{"", "*.rferl.org", "a..b", "-a.org", "a b", "x/y"} {
		if _, err := ca.Leaf(bad); err == nil {
			t.Errorf("Leaf(%q) succeeded, want error", bad)
		}
	}
}

func TestLeafCacheAndRenewal(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca.now = func() time.Time { return now }
	first, err := ca.Leaf("www.rferl.org")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ca.Leaf("WWW.rferl.org.")
	if again != first {
		t.Fatal("second Leaf call issued a new certificate")
	}
	now = now.Add(LeafLifetime / 2)
	if c, _ := ca.Leaf("www.rferl.org"); c != first {
		t.Fatal("renewed at half lifetime")
	}
	now = first.Leaf.NotAfter.Add(-LeafLifetime / 4)
	renewed, err := ca.Leaf("www.rferl.org")
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first {
		t.Fatal("not renewed within a third of lifetime of expiry")
	}
	if !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Fatal("renewed certificate does not expire later")
	}
}

func TestLeafConcurrent(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	certs := make([]*tls.Certificate, 16)
	for i := range certs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			certs[i], _ = ca.Leaf("www.svoboda.org")
		}()
	}
	wg.Wait()
	for i, c := range certs {
		if c == nil || c != certs[0] {
			t.Fatalf("goroutine %d got %p, goroutine 0 got %p", i, c, certs[0])
		}
	}
}

func TestLoadOrCreatePersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "ca.pem")
	a, err := LoadOrCreateCA(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	di, _ := os.Stat(filepath.Dir(path))
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("directory mode %v, want 0700", m)
	}
	b, err := LoadOrCreateCA(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.CertPEM(), b.CertPEM()) || !a.key.Equal(b.key) {
		t.Fatal("second load returned a different CA")
	}
	// A leaf from the reloaded CA verifies against the first one's pool.
	leaf, err := b.Leaf("www.rferl.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: "www.rferl.org"}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(a.CertPEM(), []byte("PRIVATE")) {
		t.Fatal("CertPEM holds the private key")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestLoadCorrupt(t *testing.T) {
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	good, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	goodPEM, _ := good.marshal()
	otherPEM, _ := other.marshal()
	certOnly := good.CertPEM()
	keyOnly := goodPEM[len(certOnly):]
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "no CERTIFICATE"},
		{"garbage", "not a pem file\n", "no CERTIFICATE"},
		{"cert only", string(certOnly), "no PRIVATE KEY"},
		{"key only", string(keyOnly), "no CERTIFICATE"},
		{"mismatched key", string(certOnly) + string(otherPEM[len(other.CertPEM()):]), "does not match"},
		{"truncated", string(goodPEM[:len(goodPEM)-40]), "no PRIVATE KEY"},
		{"bad der", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "parse certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateCA(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want one naming the file and %q", err, tt.want)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.data {
				t.Fatal("corrupt file was modified")
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be cannot be read as a file.
	path := filepath.Join(dir, "ca.pem")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(path); err == nil {
		t.Fatal("LoadOrCreateCA on a directory succeeded")
	}
}
