package systemd

import (
	"syscall"
	"unsafe"
)

// clockMonotonic is CLOCK_MONOTONIC from <time.h>.
const clockMonotonic = 1

// monotonicUsec reads CLOCK_MONOTONIC in microseconds: the clock systemd
// compares MONOTONIC_USEC= with. Go's own monotonic clock has an unspecified
// origin, so it cannot stand in.
func monotonicUsec() (uint64, bool) {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, false
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3, true
}
