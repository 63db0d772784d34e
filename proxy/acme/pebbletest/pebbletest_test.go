package pebbletest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestStart checks that the directory answers over HTTPS verified by
// CAFile alone and lists the ACME endpoints, and that Roots holds a root.
func TestStart(t *testing.T) {
	p := Start(t, Options{TLSPort: Port(t, FreeAddr(t)), HTTPPort: Port(t, FreeAddr(t))})
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", p.CAFile)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(p.Directory)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"newAccount", "newNonce", "newOrder"} {
		if _, ok := dir[k]; !ok {
			t.Errorf("directory lacks %s: %v", k, dir)
		}
	}
	if p.Roots == nil || p.Roots.Equal(x509.NewCertPool()) {
		t.Error("no issuing root")
	}
}
