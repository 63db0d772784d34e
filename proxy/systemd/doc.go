// Package systemd speaks the sd_notify protocol: it tells the service
// manager that the process is ready, reloading or stopping, and keeps its
// watchdog fed.
//
// The protocol is one datagram per message, sent to the AF_UNIX datagram
// socket named by $NOTIFY_SOCKET: newline-separated VAR=VALUE assignments
// such as "READY=1". A name starting with '@' is in Linux's abstract socket
// namespace. See sd_notify(3) and systemd.service(5) (Type=notify,
// WatchdogSec=).
//
// Every function is a no-op that returns nil when $NOTIFY_SOCKET is unset,
// so a program calls them unconditionally and behaves the same outside
// systemd.
package systemd
