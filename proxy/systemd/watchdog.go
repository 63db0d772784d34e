package systemd

import (
	"context"
	"os"
	"strconv"
	"time"
)

// WatchdogInterval reports the watchdog timeout that the service manager
// set for this process (WatchdogSec=, passed as $WATCHDOG_USEC) and whether
// the watchdog is enabled. It is disabled when $NOTIFY_SOCKET is unset,
// when $WATCHDOG_USEC is missing or invalid, and when $WATCHDOG_PID names
// another process.
func WatchdogInterval() (time.Duration, bool) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return 0, false
	}
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 || usec > uint64(1<<63-1)/1000 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		if pid, err := strconv.Atoi(p); err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond, true
}

// Watchdog feeds the service manager's watchdog once: WATCHDOG=1.
func Watchdog() error {
	return Notify("WATCHDOG=1")
}

// RunWatchdog feeds the watchdog every half interval for as long as
// healthy reports true, until ctx is done. When healthy reports false the
// ping is skipped, so a wedged process is restarted once the interval has
// passed without one. RunWatchdog returns nil at once when the watchdog is
// disabled (see WatchdogInterval), nil when ctx is done, and the error of a
// ping that could not be sent.
func RunWatchdog(ctx context.Context, healthy func() bool) error {
	interval, ok := WatchdogInterval()
	if !ok {
		return nil
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if healthy() {
			if err := Watchdog(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
