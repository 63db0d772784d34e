package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen creates a datagram socket like systemd's notify socket, points
// $NOTIFY_SOCKET at it and returns it. abstract picks a name in Linux's
// abstract namespace instead of a file in a temporary folder.
func listen(t *testing.T, abstract bool) *net.UnixConn {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	if abstract {
		if runtime.GOOS != "linux" {
			t.Skip("abstract sockets are Linux only")
		}
		name = fmt.Sprintf("@zerkalo-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	} else if len(name) > 100 { // sun_path holds 108 bytes
		dir, err := os.MkdirTemp("", "sd")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		name = filepath.Join(dir, "notify.sock")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

// receive reads one datagram, failing the test if none arrives within d.
func receive(t *testing.T, conn *net.UnixConn, d time.Duration) string {
	t.Helper()
	msg, err := tryReceive(conn, d)
	if err != nil {
		t.Fatalf("no datagram on the notify socket: %v", err)
	}
	return msg
}

// tryReceive reads one datagram, waiting at most d.
func tryReceive(conn *net.UnixConn, d time.Duration) (string, error) {
	if err := conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	n, _, err := conn.ReadFromUnix(buf)
	return string(buf[:n]), err
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"watchdog", Watchdog, "WATCHDOG=1"},
		{"status", func() error { return Status("serving 3 domains") }, "STATUS=serving 3 domains"},
		{"status newlines", func() error { return Status("a\nb\r\nc\rd") }, "STATUS=a b c d"},
		{"status unicode", func() error { return Status("зеркало работает") }, "STATUS=зеркало работает"},
		{"notify several", func() error { return Notify("READY=1\nSTATUS=up") }, "READY=1\nSTATUS=up"},
	}
	for _, abstract := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/abstract=%v", tt.name, abstract), func(t *testing.T) {
				conn := listen(t, abstract)
				if err := tt.send(); err != nil {
					t.Fatal(err)
				}
				if got := receive(t, conn, 5*time.Second); got != tt.want {
					t.Errorf("datagram = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestReloading(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MONOTONIC_USEC is sent on Linux only")
	}
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			conn := listen(t, abstract)
			before, _ := monotonicUsec()
			if err := Reloading(); err != nil {
				t.Fatal(err)
			}
			after, _ := monotonicUsec()
			got := receive(t, conn, 5*time.Second)
			lines := strings.Split(got, "\n")
			if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
				t.Fatalf("datagram = %q, want RELOADING=1 and MONOTONIC_USEC=", got)
			}
			usec, err := strconv.ParseUint(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
			if err != nil {
				t.Fatalf("datagram %q: %v", got, err)
			}
			if usec < before || usec > after {
				t.Errorf("MONOTONIC_USEC=%d, want between %d and %d", usec, before, after)
			}
		})
	}
}

func TestMonotonicUsec(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	const pause = 20 * time.Millisecond
	a, ok := monotonicUsec()
	if !ok || a == 0 {
		t.Fatalf("monotonicUsec() = %d, %v", a, ok)
	}
	time.Sleep(pause)
	b, _ := monotonicUsec()
	if d := time.Duration(b-a) * time.Microsecond; b < a || d < pause || d > 10*time.Second {
		t.Errorf("monotonic clock moved %v over a %v pause", d, pause)
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000000")
	for name, send := range map[string]func() error{
		"Ready": Ready, "Reloading": Reloading, "Stopping": Stopping, "Watchdog": Watchdog,
		"Status": func() error { return Status("x") },
	} {
		if err := send(); err != nil {
			t.Errorf("%s without NOTIFY_SOCKET: %v", name, err)
		}
	}
	if d, ok := WatchdogInterval(); ok {
		t.Errorf("WatchdogInterval() = %v, true without NOTIFY_SOCKET", d)
	}
}

func TestNotifyErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.sock")
	for _, addr := range []string{missing, "vsock:2:1234", "relative.sock"} {
		t.Setenv("NOTIFY_SOCKET", addr)
		err := Ready()
		if err == nil {
			t.Errorf("NOTIFY_SOCKET=%s: Ready() = nil, want an error", addr)
			continue
		}
		if !strings.Contains(err.Error(), "sd_notify") {
			t.Errorf("NOTIFY_SOCKET=%s: error %q does not say sd_notify", addr, err)
		}
	}
	// A socket that went away after start-up is an error, not a hang.
	conn := listen(t, false)
	name := os.Getenv("NOTIFY_SOCKET")
	conn.Close()
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := Ready(); err == nil {
		t.Error("Ready() to a closed socket = nil, want an error")
	}
}
