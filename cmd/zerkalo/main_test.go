package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the zerkalo command built once for the tests in this package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zerkalo-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "zerkalo")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build zerkalo: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// zerkalo runs the binary to completion and returns its output and exit
// code.
func zerkalo(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("zerkalo %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "zerkalo "},
		{[]string{"help"}, 0, "zerkalo serve"},
		{[]string{"serve", "--help"}, 0, "--demo"},
		{[]string{}, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"serve", "--check"}, 0, "built-in defaults: valid"},
		{[]string{"serve", "--check", "--config", "/nonexistent/zerkalo.toml"}, 2, "/nonexistent/zerkalo.toml"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := zerkalo(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.contains) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.contains, stdout, stderr)
			}
		})
	}
}

// TestHelpOnce: --help prints a command's usage once, to standard output,
// and nothing to standard error (the flag package prints it too, to its
// output, unless told not to).
func TestHelpOnce(t *testing.T) {
	for _, cmd := range []string{"serve", "relay", "invite", "revoke", "keygen", "certify", "sign", "verify"} {
		stdout, stderr, code := zerkalo(t, cmd, "--help")
		if code != 0 || stderr != "" || strings.Count(stdout, "Usage") != 1 {
			t.Errorf("%s --help: exit %d, %d usages on stdout, stderr %q", cmd, code, strings.Count(stdout, "Usage"), stderr)
		}
	}
}

func TestCheckReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "zerkalo.toml")
	conf := "listen = \"127.0.0.1:8443\"\ndomains = [\"mirror.test\"]\n\n[origin]\nsite = \"www.rferl.org\"\nhsts = true\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := zerkalo(t, "serve", "--config", path, "--check")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(stderr, path+":6:") {
		t.Errorf("error does not name %s:6: %q", path, stderr)
	}
}

// edgeProcess is a zerkalo serve child process.
type edgeProcess struct {
	cmd  *exec.Cmd
	addr string      // the bound TCP (and UDP) address
	logs chan string // its log lines, for waitForLog
	pool *x509.CertPool

	mu  sync.Mutex
	all []string // every log line so far
}

// findLog waits until some log line, old or new, matches re and returns
// its first submatch.
func (e *edgeProcess) findLog(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(e.allLogs()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("timed out waiting for log " + re.String())
	return ""
}

// allLogs returns every log line the edge has written so far.
func (e *edgeProcess) allLogs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.all, "\n")
}

// startDemoEdge writes conf to a config file in a new folder and runs
// "zerkalo serve --demo --config" on it.
func startDemoEdge(t *testing.T, conf string) (*edgeProcess, string) {
	t.Helper()
	return startDemoEdgeEnv(t, conf, nil)
}

// startDemoEdgeEnv is startDemoEdge with extra environment variables.
func startDemoEdgeEnv(t *testing.T, conf string, env []string) (*edgeProcess, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "zerkalo.toml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--demo", "--config", path)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	e := &edgeProcess{cmd: cmd, logs: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			e.mu.Lock()
			e.all = append(e.all, sc.Text())
			e.mu.Unlock()
			select {
			case e.logs <- sc.Text():
			default: // nobody waits for lines this old
			}
		}
		close(e.logs)
	}()
	e.addr = waitForLog(t, e.logs, regexp.MustCompile(`msg=serving listen=(\S+)`))
	e.pool = selfSignedPool(t, filepath.Join(dir, "state"))
	return e, path
}

// client returns an HTTP client that reaches the edge whatever the URL's
// host, verifying its certificate against the edge's CA.
func (e *edgeProcess) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, e.addr)
		},
		ForceAttemptHTTP2: true,
	}}
}

// stop sends SIGTERM and checks the edge exits cleanly in time.
func (e *edgeProcess) stop(t *testing.T) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("edge exited with %v after SIGTERM", err)
		}
	case <-time.After(25 * time.Second):
		t.Error("edge did not stop within 25 s of SIGTERM")
	}
}

// selfSignedPool returns a pool holding the edge's own CA from its state
// folder (tls.mode = "self-signed").
func selfSignedPool(t *testing.T, stateDir string) *x509.CertPool {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(stateDir, "selfsigned-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate in selfsigned-ca.pem")
	}
	return pool
}

const demoConf = `listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
domains = ["mirror.test"]
state_dir = "state"
[cache]
dir = "cache"
`

// TestDemoServesMirroredPages runs the real binary in demo mode, fetches
// the front page over TLS from the edge, and stops it with SIGTERM.
func TestDemoServesMirroredPages(t *testing.T) {
	e, _ := startDemoEdge(t, demoConf)
	client := e.client()
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://mirror.test/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s", resp.StatusCode, resp.Proto)
	}
	if !bytes.Contains(body, []byte("Radio Free Europe")) {
		t.Errorf("front page does not look like RFE/RL's")
	}
	if bytes.Contains(body, []byte(`src="https://gdb.rferl.org`)) || bytes.Contains(body, []byte(`href="https://www.rferl.org`)) {
		t.Errorf("front page still links to origin hosts")
	}

	// The admin listener reports the traffic; neither it nor the logs
	// name the reader.
	var readerPorts []string
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, e.addr)
			if err == nil {
				_, port, _ := net.SplitHostPort(conn.LocalAddr().String())
				readerPorts = append(readerPorts, port)
			}
			return conn, err
		},
	}}
	for _, path := range []string{"/", "/a/nothing-here.html?q=secret", "/_z/gdb.rferl.org/x.jpg"} {
		if resp, err := c.Get("https://mirror.test" + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	c.CloseIdleConnections()
	admin := e.findLog(t, regexp.MustCompile(`msg="serving admin endpoints" listen=(\S+)`))
	resp, err = http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`zerkalo_requests_total{code="200",proto="HTTP/2.0"}`,
		`zerkalo_cache_responses_total{result="HIT"}`,
		`zerkalo_certificate_expiry_timestamp_seconds{domain="mirror.test"}`,
		`zerkalo_active_domains 1`,
		`zerkalo_cache_entries`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	logs := e.allLogs()
	for _, leak := range append(readerPorts, "secret") {
		if strings.Contains(string(metrics), leak) || strings.Contains(logs, ":"+leak) || strings.Contains(logs, "q="+leak) {
			t.Errorf("metrics or logs name the reader (%s):\n%s", leak, logs)
		}
	}
	e.stop(t)
}

// TestReloadOnSIGHUP changes the served domains through a reload, then
// checks that an invalid config is rejected while the old one keeps
// serving.
func TestReloadOnSIGHUP(t *testing.T) {
	e, path := startDemoEdge(t, demoConf)
	status := func(host string) string {
		c := e.client()
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://" + host + "/")
		if err != nil {
			return "refused"
		}
		resp.Body.Close()
		return resp.Status
	}
	if got := status("mirror.test"); got != "200 OK" {
		t.Fatalf("before reload: mirror.test %s", got)
	}
	newConf := strings.Replace(demoConf, `["mirror.test"]`, `["other.test"]`, 1)
	if err := os.WriteFile(path, []byte(newConf), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, e.logs, regexp.MustCompile(`msg=(reloaded)`))
	if got := status("other.test"); got != "200 OK" {
		t.Errorf("after reload: other.test %s", got)
	}
	if got := status("mirror.test"); got != "refused" {
		t.Errorf("after reload: mirror.test %s, want refused", got)
	}

	if err := os.WriteFile(path, []byte(newConf+"bogus_key = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cmd.Process.Signal(syscall.SIGHUP)
	line := waitForLog(t, e.logs, regexp.MustCompile(`(msg="reload rejected.*)`))
	if !strings.Contains(line, path+":7:") {
		t.Errorf("rejection does not name the file and line: %s", line)
	}
	if got := status("other.test"); got != "200 OK" {
		t.Errorf("after a rejected reload: other.test %s", got)
	}
	e.stop(t)
}

// waitForLog returns the first submatch of the first log line matching re.
func waitForLog(t *testing.T, logs <-chan string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-logs:
			if !ok {
				t.Fatal("edge exited before logging " + re.String())
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-deadline:
			t.Fatal("timed out waiting for log " + re.String())
		}
	}
}

// TestServedMirrorListVerifies: the operator's key workflow end to end.
// keygen makes a root and an edge key, certify certifies the edge key, the
// edge signs the list it serves, and verify checks what a reader fetched.
func TestServedMirrorListVerifies(t *testing.T) {
	keys := t.TempDir()
	for _, args := range [][]string{
		{"keygen", "--out", filepath.Join(keys, "root")},
		{"keygen", "--out", filepath.Join(keys, "edge")},
		{"certify", "--root-key", filepath.Join(keys, "root.key"), "--edge-pub", filepath.Join(keys, "edge.pub"), "--valid", "30d", "--out", filepath.Join(keys, "edge.cert")},
	} {
		if _, stderr, code := zerkalo(t, args...); code != 0 {
			t.Fatalf("zerkalo %v: exit %d: %s", args, code, stderr)
		}
	}
	conf := demoConf + fmt.Sprintf(`[mirrors]
edge_key = %q
certificate = %q
alternatives = ["https://m2.example"]
`, filepath.Join(keys, "edge.key"), filepath.Join(keys, "edge.cert"))
	e, _ := startDemoEdge(t, conf)
	c := e.client()
	defer c.CloseIdleConnections()
	fetched := t.TempDir()
	for _, name := range []string{"mirrors.json", "mirrors.json.minisig", "edge.cert", "edge.cert.minisig"} {
		resp, err := c.Get("https://mirror.test/.well-known/zerkalo/" + name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
		os.WriteFile(filepath.Join(fetched, name), b, 0o644)
	}
	list, _ := os.ReadFile(filepath.Join(fetched, "mirrors.json"))
	if !bytes.Contains(list, []byte(`"https://m2.example"`)) || !bytes.Contains(list, []byte(`"https://mirror.test"`)) {
		t.Errorf("list: %s", list)
	}
	stdout, stderr, code := zerkalo(t, "verify", "--root-pub", filepath.Join(keys, "root.pub"),
		"--cert", filepath.Join(fetched, "edge.cert"), filepath.Join(fetched, "mirrors.json"))
	if code != 0 {
		t.Errorf("verify: exit %d: %s %s", code, stdout, stderr)
	}
	e.stop(t)
}

// TestPortInUse: the operator gets exit code 1 and a message that says
// what is wrong.
func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "zerkalo.toml")
	conf := strings.Replace(demoConf, `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", ln.Addr().String()), 1)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := zerkalo(t, "serve", "--demo", "--config", path)
	if code != exitFailure || !strings.Contains(stderr, "already in use") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestAdminProfiler: Go's profiler is on the admin listener only when
// admin_pprof asks for it, and never on the readers' listener.
func TestAdminProfiler(t *testing.T) {
	for _, on := range []bool{false, true} {
		conf := demoConf
		if on {
			conf = strings.Replace(conf, "admin_listen", "admin_pprof = true\nadmin_listen", 1)
		}
		e, _ := startDemoEdge(t, conf)
		admin := e.findLog(t, regexp.MustCompile(`msg="serving admin endpoints" listen=(\S+)`))
		resp, err := http.Get("http://" + admin + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: 404, true: 200}[on]; resp.StatusCode != want {
			t.Errorf("admin_pprof %v: /debug/pprof/cmdline answered %d, want %d", on, resp.StatusCode, want)
		}
		if resp, err := http.Get("http://" + admin + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Errorf("admin_pprof %v: /healthz: %v", on, err)
		} else {
			resp.Body.Close()
		}
		c := e.client()
		if resp, err := c.Get("https://mirror.test/debug/pprof/cmdline"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte("zerkalo")) && bytes.Contains(body, []byte("serve")) {
				t.Errorf("admin_pprof %v: the readers' listener serves the profiler", on)
			}
		}
		c.CloseIdleConnections()
		e.stop(t)
	}
}
