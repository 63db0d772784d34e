package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Notify sends one sd_notify message: newline-separated VAR=VALUE
// assignments, such as "READY=1\nSTATUS=serving". It returns nil without
// sending anything when $NOTIFY_SOCKET is unset.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		return fmt.Errorf("sd_notify: unsupported NOTIFY_SOCKET %q", addr)
	}
	// Go maps a leading '@' to the abstract namespace's leading NUL byte.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	n, err := conn.Write([]byte(state))
	if err == nil && n != len(state) {
		err = errors.New("short write")
	}
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", addr, err)
	}
	return nil
}

// Ready tells the service manager that start-up (or a reload) is complete
// and the service is serving: READY=1.
func Ready() error {
	return Notify("READY=1")
}

// Reloading tells the service manager that the service is reloading its
// configuration: RELOADING=1 with MONOTONIC_USEC=, the CLOCK_MONOTONIC time
// in microseconds, as Type=notify-reload requires. Call Ready when the
// reload is done.
func Reloading() error {
	state := "RELOADING=1"
	if usec, ok := monotonicUsec(); ok {
		state += "\nMONOTONIC_USEC=" + strconv.FormatUint(usec, 10)
	}
	return Notify(state)
}

// Stopping tells the service manager that the service is shutting down:
// STOPPING=1.
func Stopping() error {
	return Notify("STOPPING=1")
}

// Status sets the one-line status text that "systemctl status" shows:
// STATUS=s. Newlines in s, which would end the assignment, become spaces.
func Status(s string) error {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return Notify("STATUS=" + s)
}
