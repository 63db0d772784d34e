package relay_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zerkalo/proxy/certs"
	"zerkalo/proxy/relay"
)

// startProxy runs an enrolled relay with its CONNECT proxy face and
// returns the proxy's address and a pool trusting both the edge and the
// proxy.
func startProxy(t *testing.T) (edge *testEdge, proxyAddr string, pool *x509.CertPool, logs *lockedBuffer) {
	t.Helper()
	edge = startEdge(t)
	en := edge.enrollRelay(t, false)
	proxyCA, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cp := &relay.ConnectProxy{
		Listen:    "127.0.0.1:0",
		TLSConfig: &tls.Config{GetCertificate: proxyCA.GetCertificate(func(n string) bool { return n == relayName })},
		Mirrors:   func() []string { return en.Mirrors },
	}
	_, _, logs = startRelay(t, edge.addr, en.Domain, func(c *relay.Config) { c.Proxy = cp })
	pool = edge.ca.Pool()
	pool.AddCert(proxyCA.Certificate())
	return edge, cp.Addr().String(), pool, logs
}

func TestProxyTunnelsMirrors(t *testing.T) {
	edge, proxyAddr, pool, logs := startProxy(t)
	seen := &ports{}
	_, port, _ := net.SplitHostPort(proxyAddr)
	tr := &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "https", Host: net.JoinHostPort(relayName, port)}),
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, proxyAddr)
			if err == nil {
				seen.add(c.LocalAddr())
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, host := range []string{mirrorName, relayName} {
		resp, body, err := get(client, "https://"+host+"/")
		if err != nil {
			t.Fatalf("%s through the proxy: %v", host, err)
		}
		if resp.StatusCode != 200 || len(body) < 1000 {
			t.Fatalf("%s through the proxy: %d, %d bytes", host, resp.StatusCode, len(body))
		}
		if err := resp.TLS.PeerCertificates[0].VerifyHostname(host); err != nil || resp.TLS.PeerCertificates[0].Issuer.CommonName != edge.ca.Certificate().Subject.CommonName {
			t.Fatalf("%s: certificate is not the edge's: %v", host, err)
		}
	}
	checkNoAddresses(t, logs.String(), seen)
}

// rawProxy sends one raw request to the proxy over TLS and returns the
// status line of the answer.
func rawProxy(t *testing.T, proxyAddr string, pool *x509.CertPool, raw string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", proxyAddr, &tls.Config{ServerName: relayName, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, raw)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "no answer: " + err.Error()
	}
	return strings.TrimSpace(line)
}

func TestProxyRefuses(t *testing.T) {
	_, proxyAddr, pool, _ := startProxy(t)
	connect := func(target string) string {
		return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
	}
	tests := []struct {
		name, raw, want string
	}{
		{"mirror domain on 443", connect(mirrorName + ":443"), " 200 "},
		{"own domain on 443", connect(relayName + ":443"), " 200 "},
		{"origin host", connect("www.rferl.org:443"), " 403 "},
		{"other host", connect("example.com:443"), " 403 "},
		{"mirror on another port", connect(mirrorName + ":8443"), " 403 "},
		{"mirror on port 80", connect(mirrorName + ":80"), " 403 "},
		{"no port", connect(mirrorName), " 403 "},
		{"loopback IPv4", connect("127.0.0.1:443"), " 403 "},
		{"loopback IPv6", connect("[::1]:443"), " 403 "},
		{"private", connect("10.0.0.1:443"), " 403 "},
		{"link-local metadata", connect("169.254.169.254:443"), " 403 "},
		{"name for loopback", connect("localhost:443"), " 403 "},
		{"plain HTTP absolute URI", "GET http://" + mirrorName + "/ HTTP/1.1\r\nHost: " + mirrorName + "\r\n\r\n", " 403 "},
		{"HTTPS absolute URI", "GET https://" + mirrorName + "/ HTTP/1.1\r\nHost: " + mirrorName + "\r\n\r\n", " 403 "},
		{"local path", "GET /admin HTTP/1.1\r\nHost: " + relayName + "\r\n\r\n", " 404 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawProxy(t, proxyAddr, pool, tt.raw); !strings.Contains(got+" ", tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProxyPAC(t *testing.T) {
	_, proxyAddr, pool, _ := startProxy(t)
	_, port, _ := net.SplitHostPort(proxyAddr)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, proxyAddr)
		},
	}
	defer tr.CloseIdleConnections()
	resp, body, err := get(&http.Client{Transport: tr, Timeout: 5 * time.Second}, "https://"+relayName+":"+port+relay.PACPath)
	if err != nil {
		t.Fatal(err)
	}
	pac := string(body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ns-proxy-autoconfig" {
		t.Fatalf("PAC: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`"` + mirrorName + `"`, `"` + relayName + `"`, `"HTTPS ` + relayName + ":" + port + `"`, `return "DIRECT"`} {
		if !strings.Contains(pac, want) {
			t.Errorf("PAC lacks %s:\n%s", want, pac)
		}
	}
	if strings.Contains(pac, "rferl.org") {
		t.Errorf("PAC routes an origin host:\n%s", pac)
	}
}
