//go:build unix && !linux

package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS makes everything written so far durable. Without syncfs(2) it
// syncs every file system; the directory is synced too, for systems where
// sync(2) does not wait.
func syncFS(d *os.File) error {
	unix.Sync()
	return d.Sync()
}
