package systemd

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		socket, usec, pid string
		want              time.Duration
		ok                bool
	}{
		{"/run/x", "30000000", "", 30 * time.Second, true},
		{"/run/x", "30000000", self, 30 * time.Second, true},
		{"@x", "500", self, 500 * time.Microsecond, true},
		{"/run/x", "30000000", "1", 0, false}, // for another process
		{"/run/x", "30000000", "x", 0, false},
		{"/run/x", "", "", 0, false},
		{"/run/x", "0", "", 0, false},
		{"/run/x", "-5", "", 0, false},
		{"/run/x", "1.5", "", 0, false},
		{"/run/x", "99999999999999999999", "", 0, false},
		{"", "30000000", self, 0, false}, // nowhere to send pings
	}
	for _, tt := range tests {
		t.Setenv("NOTIFY_SOCKET", tt.socket)
		t.Setenv("WATCHDOG_USEC", tt.usec)
		t.Setenv("WATCHDOG_PID", tt.pid)
		got, ok := WatchdogInterval()
		if got != tt.want || ok != tt.ok {
			t.Errorf("NOTIFY_SOCKET=%q WATCHDOG_USEC=%q WATCHDOG_PID=%q: WatchdogInterval() = %v, %v; want %v, %v",
				tt.socket, tt.usec, tt.pid, got, ok, tt.want, tt.ok)
		}
	}
}

// startWatchdog runs RunWatchdog with a watchdog of the given interval in
// the background and returns its cancel function and result channel.
func startWatchdog(t *testing.T, interval time.Duration, healthy func() bool) (context.CancelFunc, <-chan error) {
	t.Helper()
	t.Setenv("WATCHDOG_USEC", strconv.FormatInt(interval.Microseconds(), 10))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		done <- RunWatchdog(ctx, healthy)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Error("RunWatchdog did not stop")
		}
	})
	return cancel, done
}

func TestRunWatchdogPings(t *testing.T) {
	conn := listen(t, false)
	const interval = 400 * time.Millisecond
	cancel, done := startWatchdog(t, interval, func() bool { return true })

	var first time.Time
	for i := range 3 {
		if got := receive(t, conn, 5*time.Second); got != "WATCHDOG=1" {
			t.Fatalf("ping %d = %q, want WATCHDOG=1", i, got)
		}
		if i == 0 {
			first = time.Now()
		}
	}
	// Pings come every half interval: not as fast as they can be sent, and
	// not so slowly that the watchdog could expire between two of them.
	if d := time.Since(first); d < interval-10*time.Millisecond || d >= 2*interval {
		t.Errorf("first to third ping took %v, want about %v (two half intervals)", d, interval)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunWatchdog after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog did not stop after cancel")
	}
	// Drain a ping that may have raced with cancel, then expect silence.
	_, _ = tryReceive(conn, 10*time.Millisecond)
	if got, err := tryReceive(conn, interval); err == nil {
		t.Errorf("ping %q after RunWatchdog returned", got)
	}
}

func TestRunWatchdogUnhealthy(t *testing.T) {
	conn := listen(t, true)
	var healthy atomic.Bool
	const interval = 100 * time.Millisecond
	startWatchdog(t, interval, healthy.Load)

	// Three half intervals pass without a ping while unhealthy.
	if got, err := tryReceive(conn, 3*interval/2); err == nil {
		t.Fatalf("ping %q while unhealthy", got)
	}
	healthy.Store(true)
	if got := receive(t, conn, 5*time.Second); got != "WATCHDOG=1" {
		t.Errorf("ping = %q, want WATCHDOG=1", got)
	}
}

func TestRunWatchdogDisabled(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	called := false
	done := make(chan error, 1)
	go func() { done <- RunWatchdog(context.Background(), func() bool { called = true; return true }) }()
	select {
	case err := <-done:
		if err != nil || called {
			t.Errorf("RunWatchdog without a watchdog = %v (healthy called: %v), want nil at once", err, called)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog without a watchdog did not return")
	}
}

func TestRunWatchdogSendError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone.sock"))
	_, done := startWatchdog(t, 100*time.Millisecond, func() bool { return true })
	select {
	case err := <-done:
		if err == nil {
			t.Error("RunWatchdog to a missing socket = nil, want an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog to a missing socket did not return")
	}
}
