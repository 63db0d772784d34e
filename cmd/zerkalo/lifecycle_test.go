package main

import (
	"errors"
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

	"zerkalo/proxy/config"
	"zerkalo/proxy/fakeorigin"
)

// lifeProc is a "zerkalo serve" process whose exit the test watches.
type lifeProc struct {
	*edgeProcess
	exited chan struct{}
	err    error // of cmd.Wait, once exited is closed
}

// startServe runs "zerkalo serve --config path" (without --demo) and
// waits until it serves. Its log is shown if the test fails.
func startServe(t *testing.T, path string) *lifeProc {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", path)
	e := &lifeProc{edgeProcess: &edgeProcess{cmd: cmd, logs: make(chan string, 1000)}, exited: make(chan struct{})}
	w := &lineWriter{e: e.edgeProcess}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		e.err = cmd.Wait()
		w.flush()
		close(e.logs)
		close(e.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-e.exited
		if t.Failed() {
			t.Logf("edge log:\n%s", e.allLogs())
		}
	})
	e.addr = waitForLog(t, e.logs, regexp.MustCompile(`msg=serving listen=(\S+)`))
	e.pool = selfSignedPool(t, filepath.Join(filepath.Dir(path), "state"))
	return e
}

// wait waits up to d for the process to exit and returns its exit code,
// or -1 if it is still running.
func (e *lifeProc) wait(d time.Duration) int {
	select {
	case <-e.exited:
		return e.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// slowOrigin is a fake origin for www.rferl.org with a cacheable page at
// /page.html and, at /slow.bin, a body sent in two halves, slow apart.
func slowOrigin(t *testing.T, slow time.Duration) (*fakeorigin.Server, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "<!doctype html><title>cached</title><p>committed page</p>")
	})
	mux.HandleFunc("/slow.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "200000")
		w.Write(make([]byte, 100000))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
		w.Write(make([]byte, 100000))
	})
	o, err := fakeorigin.Start(mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	dir := t.TempDir()
	ca := filepath.Join(dir, "origin-ca.pem")
	if err := o.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`listen = "127.0.0.1:0"
admin_listen = ""
domains = ["mirror.test"]
state_dir = "state"
[origin]
resolve = { "*" = %q }
ca_file = %q
rate_limit = 0
[cache]
dir = "cache"
warm = false
`, o.Addr(), ca)
	path := filepath.Join(dir, "zerkalo.toml")
	writeConf(t, path, conf)
	return o, path
}

// TestShutdownLifecycle: on SIGTERM a response still streaming from a slow
// origin completes, the edge exits 0, and what it cached is served after a
// restart without asking the origin.
func TestShutdownLifecycle(t *testing.T) {
	o, path := slowOrigin(t, 2*time.Second)
	e := startServe(t, path)
	c := e.client()
	defer c.CloseIdleConnections()
	get := func(p string) (*http.Response, error) { return c.Get("https://mirror.test" + p) }
	resp, err := get("/page.html")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || o.Count("www.rferl.org", "/page.html") != 1 {
		t.Fatalf("page: %d, origin asked %d times", resp.StatusCode, o.Count("www.rferl.org", "/page.html"))
	}
	resp, err = get("/slow.bin")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.cmd.Process.Signal(syscall.SIGTERM)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 200000 {
		t.Errorf("slow body during shutdown: %d bytes, %v", n, err)
	}
	if code := e.wait(25 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM (%v)", code, e.err)
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))

	e = startServe(t, path)
	c = e.client()
	defer c.CloseIdleConnections()
	resp, err = c.Get("https://mirror.test/page.html")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "committed page") || resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("after restart: %d X-Cache %q %q", resp.StatusCode, resp.Header.Get("X-Cache"), body)
	}
	if n := o.Count("www.rferl.org", "/page.html"); n != 1 {
		t.Errorf("after restart the origin was asked for the page %d times, want 1", n)
	}
	e.cmd.Process.Signal(syscall.SIGINT)
	if code := e.wait(25 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGINT", code)
	}
}

// TestStopCutsSlowRequests: a response that outlives the grace period is
// cut when it ends and the edge exits 0 (it exited 1, "context deadline
// exceeded"); a second signal cuts it at once (it was ignored).
func TestStopCutsSlowRequests(t *testing.T) {
	for _, second := range []bool{true, false} {
		if !second && testing.Short() {
			continue // waits out the 20 s grace period
		}
		t.Run(fmt.Sprintf("second signal %v", second), func(t *testing.T) {
			_, path := slowOrigin(t, time.Minute)
			e := startServe(t, path)
			c := e.client()
			c.Timeout = 0
			defer c.CloseIdleConnections()
			resp, err := c.Get("https://mirror.test/slow.bin")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			go io.Copy(io.Discard, resp.Body)
			start := time.Now()
			e.cmd.Process.Signal(syscall.SIGTERM)
			want, msg := proxyGrace, "grace period were cut"
			if second {
				if code := e.wait(time.Second); code != -1 {
					t.Fatalf("exited %d with a request in flight", code)
				}
				e.cmd.Process.Signal(syscall.SIGINT)
				want, msg = time.Second, "stopped at a second signal"
			}
			code := e.wait(want + 10*time.Second)
			took := time.Since(start)
			if code != 0 || took < want || took > want+5*time.Second {
				t.Errorf("exit code %d after %v (%v), want 0 after about %v", code, took, e.err, want)
			}
			if !strings.Contains(e.allLogs(), msg) {
				t.Errorf("no log line says %q", msg)
			}
		})
	}
}

// proxyGrace is the documented grace period of a graceful stop.
const proxyGrace = 20 * time.Second

// TestStartupListenerInUse: an admin_listen or http_listen address in use
// stops the start with exit code 1 and a line naming the key (the edge
// served on without them, and told systemd it was ready).
func TestStartupListenerInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, key := range []string{"admin_listen", "http_listen"} {
		t.Run(key, func(t *testing.T) {
			conf := demoConf + "" // demoConf's tables come last
			conf = fmt.Sprintf("%s = %q\n", key, ln.Addr()) + strings.Replace(conf, `admin_listen = "127.0.0.1:0"`+"\n", "", 1)
			path := filepath.Join(t.TempDir(), "zerkalo.toml")
			writeConf(t, path, conf)
			_, stderr, code := zerkalo(t, "serve", "--demo", "--config", path)
			if code != exitFailure || !strings.Contains(stderr, key+": listen tcp "+ln.Addr().String()) || !strings.Contains(stderr, "address already in use") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			if strings.Contains(stderr, "msg=serving") {
				t.Errorf("the edge served before failing:\n%s", stderr)
			}
		})
	}
}

// TestReloadKeepsRestartOnly: a reload that changes state_dir or tls.mode
// names them and keeps serving with the running certificate authority (it
// made a new self-signed CA in the new state_dir, and with "acme" failed
// every handshake); log_level, which is not restart-only, takes effect.
func TestReloadKeepsRestartOnly(t *testing.T) {
	e, path := startDemoEdge(t, demoConf)
	status := func() string {
		c := e.client() // trusts the CA of the start only
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://mirror.test/")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return resp.Status
	}
	if got := status(); got != "200 OK" {
		t.Fatalf("before reload: %s", got)
	}
	conf := "log_level = \"debug\"\n" + strings.Replace(demoConf, `state_dir = "state"`, `state_dir = "state2"`, 1) + "[tls]\nmode = \"acme\"\n"
	writeConf(t, path, conf)
	e.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, e.logs, regexp.MustCompile(`msg=(reloaded)`))
	for _, key := range []string{"state_dir", "tls.mode"} {
		if !regexp.MustCompile(`level=WARN msg="reload: this setting changes only with a restart" key="?` + regexp.QuoteMeta(key)).MatchString(e.allLogs()) {
			t.Errorf("the reload does not name %s as restart-only", key)
		}
	}
	if got := status(); got != "200 OK" {
		t.Errorf("after reload: %s", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "state2")); err == nil {
		t.Errorf("the reload made the new state_dir")
	}
	e.cmd.Process.Signal(syscall.SIGHUP) // logs a debug line once reloaded
	e.findLog(t, regexp.MustCompile(`(level=DEBUG)`))
	e.stop(t)
}

// TestReloadUnderLoad: readers see no failed request while the edge
// reloads its configuration again and again, valid and invalid.
func TestReloadUnderLoad(t *testing.T) {
	e, path := startDemoEdge(t, demoConf)
	confs := []string{
		demoConf,
		strings.Replace(demoConf, `domains = ["mirror.test"]`, `domains = ["mirror.test", "other.test"]`, 1) + "[cache.ttl]\n\"text/html\" = \"1s\"\n",
		demoConf + "bogus = 1\n",
		demoConf + "[privacy]\nstrip_params = [\"x_*\"]\n",
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, failed int
	var firstErr string
	for range 4 {
		wg.Go(func() {
			c := e.client()
			defer c.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := []string{"/", "/a/nothing-here.html", "/_z/gdb.rferl.org/x.jpg"}[i%3]
				resp, err := c.Get("https://mirror.test" + p)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode >= 500 {
						err = errors.New(resp.Status)
					}
				}
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == "" {
						firstErr = p + ": " + err.Error()
					}
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(4 * time.Second)
	reloads := 0
	for i := 0; time.Now().Before(deadline); i++ {
		writeConf(t, path, confs[i%len(confs)])
		e.cmd.Process.Signal(syscall.SIGHUP)
		reloads++
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed > 0 || ok < 100 {
		t.Errorf("%d requests ok, %d failed (first: %s) during %d reloads", ok, failed, firstErr, reloads)
	}
	t.Logf("%d requests during %d reloads", ok, reloads)
	e.stop(t)
}

// TestKeepRestartOnly: after keepRestartOnly, a reloaded configuration
// differs from the running one in no setting that restartOnly names, and
// keeps the settings a reload applies.
func TestKeepRestartOnly(t *testing.T) {
	changes := []func(*config.Config){
		func(c *config.Config) { c.Listen = "127.0.0.1:1" },
		func(c *config.Config) { c.HTTPListen = "127.0.0.1:2" },
		func(c *config.Config) { c.AdminListen = "127.0.0.1:3" },
		func(c *config.Config) { c.AdminPprof = true },
		func(c *config.Config) { c.StateDir = "/elsewhere" },
		func(c *config.Config) { c.TLS = config.TLSConfig{Mode: "files", CertFile: "/c.pem", KeyFile: "/k.pem"} },
		func(c *config.Config) { c.TLS.Mode = "acme"; c.ACME.Email = "a@b.test" },
		func(c *config.Config) {
			c.Cache.Dir, c.Cache.MaxSize, c.Cache.MaxObject, c.Cache.Memory = "/c", 1, 1, 1
		},
		func(c *config.Config) {
			c.Cache.Warm, c.Cache.WarmEvery, c.Cache.WarmMaxItems = false, 1, 1
			c.Cache.WarmPaths, c.Cache.WarmFeeds = []string{"/x"}, nil
		},
	}
	for i, change := range changes {
		running, next := config.Default(), config.Default()
		change(next)
		next.LogLevel, next.Origin.RateLimit = "debug", 1
		keepRestartOnly(running, next)
		if got := restartOnly(running, next); len(got) != 0 {
			t.Errorf("change %d: still differs in %q", i, got)
		}
		if next.LogLevel != "debug" || next.Origin.RateLimit != 1 {
			t.Errorf("change %d: a reloadable setting was lost", i)
		}
	}
	// Certificate files are reloaded when the mode stays "files".
	running, next := config.Default(), config.Default()
	running.TLS = config.TLSConfig{Mode: "files", CertFile: "/old.pem", KeyFile: "/old-key.pem"}
	next.TLS = config.TLSConfig{Mode: "files", CertFile: "/new.pem", KeyFile: "/new-key.pem"}
	keepRestartOnly(running, next)
	if next.TLS.CertFile != "/new.pem" {
		t.Errorf("tls.cert_file not reloaded: %q", next.TLS.CertFile)
	}
}
