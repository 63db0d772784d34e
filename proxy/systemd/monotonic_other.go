//go:build !linux

package systemd

// monotonicUsec reports false: systemd runs only on Linux.
func monotonicUsec() (uint64, bool) { return 0, false }
