package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"zerkalo/proxy/demo"
)

// notifySocket is a real datagram socket standing in for systemd's
// NOTIFY_SOCKET; it records every message the edge sends.
type notifySocket struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &notifySocket{path: path, conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// waitFor waits until a message containing want has arrived, and returns
// how many messages came before it.
func (s *notifySocket) waitFor(t *testing.T, want string) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		i := slices.IndexFunc(s.msgs, func(m string) bool { return strings.Contains(m, want) })
		s.mu.Unlock()
		if i >= 0 {
			return i
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no %q from the edge; got %q", want, s.msgs)
	return -1
}

func (s *notifySocket) count(want string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		if strings.Contains(m, want) {
			n++
		}
	}
	return n
}

// TestSystemdLifecycle runs the edge as systemd would (Type=notify with a
// watchdog) and checks what it tells the service manager at start, on
// reload and on stop, and that SIGTERM lets a request in flight finish.
func TestSystemdLifecycle(t *testing.T) {
	sock := newNotifySocket(t)
	e, _ := startDemoEdgeEnv(t, demoConf, []string{"NOTIFY_SOCKET=" + sock.path, "WATCHDOG_USEC=400000"})
	sock.waitFor(t, "READY=1")

	// The watchdog is fed while the edge answers.
	time.Sleep(900 * time.Millisecond)
	if n := sock.count("WATCHDOG=1"); n < 2 {
		t.Errorf("%d watchdog pings in 0.9 s with WatchdogSec=0.4s", n)
	}

	// Reload: RELOADING=1 (with MONOTONIC_USEC), then READY=1 again.
	e.cmd.Process.Signal(syscall.SIGHUP)
	reloading := sock.waitFor(t, "RELOADING=1")
	sock.mu.Lock()
	hasMonotonic := strings.Contains(sock.msgs[reloading], "MONOTONIC_USEC=")
	sock.mu.Unlock()
	if !hasMonotonic {
		t.Error("RELOADING=1 without MONOTONIC_USEC")
	}
	deadline := time.Now().Add(10 * time.Second)
	for sock.count("READY=1") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sock.count("READY=1") < 2 {
		t.Error("no READY=1 after the reload")
	}

	// Stop with a request in flight: it completes, then the edge exits.
	c := e.client()
	defer c.CloseIdleConnections()
	result := make(chan string, 1)
	go func() {
		resp, err := c.Get("https://mirror.test" + demo.SlowPath + "?ms=1500")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		result <- resp.Status + " " + string(body[:min(len(body), 200)])
	}()
	time.Sleep(400 * time.Millisecond) // the request is in flight
	e.stop(t)
	sock.waitFor(t, "STOPPING=1")
	if r := <-result; !strings.HasPrefix(r, "200 OK") {
		t.Errorf("request in flight at SIGTERM: %s", r)
	}
	if _, err := http.Get("http://" + e.addr); err == nil {
		t.Error("the edge still accepts connections after exiting")
	}
}
