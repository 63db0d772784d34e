package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zerkalo/proxy"
	"zerkalo/proxy/certs"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/enroll"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
)

// relayEdge runs an edge in-process with the enrollment store in
// stateDir, serving the mirror domain and the relays enrolled there (the
// wiring zerkalo serve gets; see proxy/enroll), and returns its address.
func relayEdge(t *testing.T, stateDir string) (string, *certs.Authority) {
	t.Helper()
	origin, err := fakeorigin.Start(demo.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { origin.Close() })
	mapper, err := rewrite.NewMapper(demo.Site, demo.Hosts(demo.Site))
	if err != nil {
		t.Fatal(err)
	}
	edge, err := proxy.New(proxy.Options{
		Mapper:  mapper,
		Domains: []string{"mirror.example", "relay.example"},
		Transport: proxy.NewOriginTransport(proxy.OriginOptions{
			IsOrigin: mapper.IsOrigin, Resolve: map[string]string{"*": origin.Addr()}, RootCAs: origin.CA().Pool(),
			ConnectTimeout: 5 * time.Second, HeaderTimeout: 5 * time.Second,
		}),
		Timeout: 5 * time.Second, MaxBody: 16 << 20, UserAgent: "ZerkaloTest/1",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edge.Close)
	store, err := enroll.OpenStore(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certs.LoadOrCreateCA(filepath.Join(stateDir, "selfsigned-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	enrollment := store.Handler(func() []string { return []string{"mirror.example"} })
	ready := make(chan string, 1)
	srv := &proxy.Server{
		Listen: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, enroll.Path) {
				enrollment.ServeHTTP(w, r)
				return
			}
			edge.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{GetCertificate: ca.GetCertificate(func(n string) bool {
			return n == "mirror.example" || slices.Contains(store.Domains(), n)
		})},
		Logger: slog.New(slog.DiscardHandler),
		Ready:  func(a net.Addr) { ready <- a.String() },
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.Run(ctx)
	select {
	case addr := <-ready:
		return addr, ca
	case <-time.After(10 * time.Second):
		t.Fatal("edge did not start")
	}
	return "", nil
}

// relayProcess is a running zerkalo relay.
type relayProcess struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	port chan string
	done chan struct{}
	at   string // the relay's address, once known
}

func startRelayProcess(t *testing.T, args ...string) *relayProcess {
	t.Helper()
	p := &relayProcess{port: make(chan string, 1), done: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"relay", "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		portRe := regexp.MustCompile(`msg=relaying .*port=(\d+)`)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := portRe.FindStringSubmatch(sc.Text()); m != nil {
				p.port <- m[1]
			}
		}
		p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

func (p *relayProcess) addr(t *testing.T) string {
	t.Helper()
	if p.at != "" {
		return p.at
	}
	select {
	case port := <-p.port:
		p.at = "127.0.0.1:" + port
		return p.at
	case <-p.done:
		t.Fatalf("relay exited %d:\n%s", p.cmd.ProcessState.ExitCode(), p.allLogs())
	case <-time.After(15 * time.Second):
		t.Fatalf("relay did not start:\n%s", p.allLogs())
	}
	return ""
}

func (p *relayProcess) allLogs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// wait waits for the process to exit and returns its exit code.
func (p *relayProcess) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("relay still running after %v:\n%s", d, p.allLogs())
	}
	return -1
}

// fetchThrough gets https://relay.example/ through addr over HTTP/1.1
// and returns the status and the client's local port.
func fetchThrough(addr string, ca *certs.Authority) (int, string, error) {
	var local string
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool()},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				_, local, _ = net.SplitHostPort(c.LocalAddr().String())
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://relay.example/")
	if err != nil {
		return 0, local, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, local, nil
}

func TestRelayCommands(t *testing.T) {
	dir := t.TempDir()
	edgeState := filepath.Join(dir, "edge")
	edgeAddr, ca := relayEdge(t, edgeState)
	conf := filepath.Join(dir, "zerkalo.toml")
	os.WriteFile(conf, fmt.Appendf(nil, "listen = %q\ndomains = [\"mirror.example\"]\nstate_dir = %q\n[cache]\ndir = %q\n",
		edgeAddr, edgeState, filepath.Join(dir, "cache")), 0o600)
	relayState := filepath.Join(dir, "relay")

	// The first start without an invitation is a usage error.
	if _, stderr, code := zerkalo(t, "relay", "--edge", edgeAddr, "--listen", "127.0.0.1:0", "--state", relayState); code != exitUsage || !strings.Contains(stderr, "--invite") {
		t.Fatalf("relay without invitation: exit %d, %s", code, stderr)
	}
	if _, _, code := zerkalo(t, "relay", "--listen", "127.0.0.1:0", "--state", relayState, "--invite", "zk1.garbage.x"); code != exitUsage {
		t.Fatalf("relay with a bad invitation: exit %d", code)
	}

	token, stderr, code := zerkalo(t, "invite", "--config", conf, "--domain", "relay.example", "--ttl", "1h", "--edge", edgeAddr)
	if code != exitOK || strings.Count(token, "\n") != 1 {
		t.Fatalf("invite: exit %d, stdout %q, stderr %s", code, token, stderr)
	}
	token = strings.TrimSpace(token)
	inv, err := enroll.ParseToken(token, time.Now())
	if err != nil || inv.Domain != "relay.example" || inv.Edge != edgeAddr || inv.Mirror != "mirror.example" ||
		inv.Expires.Sub(inv.Issued) != time.Hour {
		t.Fatalf("token: %+v, %v", inv, err)
	}

	p := startRelayProcess(t, "--state", relayState, "--invite", token, "--refresh", "200ms")
	status, port, err := fetchThrough(p.addr(t), ca)
	if err != nil || status != 200 {
		t.Fatalf("through the relay: %d, %v\n%s", status, err, p.allLogs())
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t, 15*time.Second); code != exitOK {
		t.Fatalf("relay exit %d on SIGINT", code)
	}
	logs := p.allLogs()

	// A restart with the used invitation still given (as in relay.env)
	// keeps the enrollment.
	p = startRelayProcess(t, "--state", relayState, "--invite", token)
	if status, _, err := fetchThrough(p.addr(t), ca); err != nil || status != 200 {
		t.Fatalf("restart with the used invitation: %d, %v\n%s", status, err, p.allLogs())
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t, 15*time.Second)
	logs += p.allLogs()

	// Restarts need no invitation.
	p = startRelayProcess(t, "--state", relayState, "--refresh", "200ms")
	status, port2, err := fetchThrough(p.addr(t), ca)
	if err != nil || status != 200 {
		t.Fatalf("restarted relay: %d, %v\n%s", status, err, p.allLogs())
	}

	out, _, code := zerkalo(t, "revoke", "--config", conf, "--domain", "relay.example")
	if code != exitOK || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: exit %d, %s", code, out)
	}
	if _, _, err := fetchThrough(p.addr(t), ca); err == nil {
		t.Error("the edge still serves a revoked relay")
	}
	if code := p.wait(t, 10*time.Second); code != exitUsage {
		t.Errorf("revoked relay exit %d, want %d", code, exitUsage)
	}
	logs += p.allLogs()
	if !strings.Contains(logs, "revoked") {
		t.Errorf("no revocation in the relay's logs:\n%s", logs)
	}
	for _, bad := range []string{"127.0.0.1", port, port2} {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(bad) + `\b`).MatchString(logs) {
			t.Errorf("relay logs contain %q:\n%s", bad, logs)
		}
	}
}

// TestRelayInFrontOfServe: the real edge ("zerkalo serve") invites a relay,
// the real relay enrolls with it, a reader fetches a page through the
// relay and sees the edge's certificate for the relay's domain, and a
// revocation ends it.
func TestRelayInFrontOfServe(t *testing.T) {
	e, conf := startDemoEdge(t, demoConf)
	token, stderr, code := zerkalo(t, "invite", "--config", conf, "--domain", "relay.test", "--edge", e.addr, "--mirror", "mirror.test")
	if code != 0 {
		t.Fatalf("invite: exit %d: %s", code, stderr)
	}
	relay := startRelayProcess(t, "--edge", e.addr, "--state", t.TempDir(), "--http-listen", "off", "--invite", strings.TrimSpace(token))
	addr := relay.addr(t)
	get := func() (int, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: e.pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}}
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://relay.test/")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !bytes.Contains(body, []byte("Radio Free Europe")) {
			return resp.StatusCode, fmt.Errorf("not the mirrored front page")
		}
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(15 * time.Second)
	status, err := get()
	for (err != nil || status != 200) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // the edge picks up enrollments within seconds
		status, err = get()
	}
	if err != nil || status != 200 {
		t.Fatalf("through the relay: %d %v\nedge logs:\n%s\nrelay logs:\n%s", status, err, e.allLogs(), relay.allLogs())
	}
	if _, stderr, code := zerkalo(t, "revoke", "--config", conf, "--domain", "relay.test"); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, stderr)
	}
	deadline = time.Now().Add(15 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		_, err = get()
	}
	if err == nil {
		t.Error("the edge still serves the relay's domain after revoke")
	}
	if strings.Contains(relay.allLogs(), "127.0.0.1:") {
		t.Errorf("relay logs name an address:\n%s", relay.allLogs())
	}
	e.stop(t)
}

// TestRelaysLearnPublishedDomainsOnly: an enrolled relay is told only the
// mirror domains the operator publishes (mirrors.publish_domains), since
// its proxy face lists them in a PAC file anyone can fetch.
func TestRelaysLearnPublishedDomainsOnly(t *testing.T) {
	conf := strings.Replace(demoConf, `domains = ["mirror.test"]`, `domains = ["mirror.test", "hidden.test"]`, 1) + "[mirrors]\npublish_domains = 1\n"
	e, path := startDemoEdge(t, conf)
	token, stderr, code := zerkalo(t, "invite", "--config", path, "--domain", "relay.test", "--edge", e.addr, "--mirror", "mirror.test")
	if code != 0 {
		t.Fatalf("invite: exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	en, err := enroll.Enroll(ctx, strings.TrimSpace(token), e.addr, false)
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, e.allLogs())
	}
	if !slices.Equal(en.Mirrors, []string{"mirror.test"}) {
		t.Errorf("the relay was told %v, want only the published mirror.test", en.Mirrors)
	}
	e.stop(t)
}
