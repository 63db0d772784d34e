package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS makes everything written to the file system holding d durable:
// one syncfs(2) for a whole batch of files, where an fsync per file would
// each wait for the journal.
func syncFS(d *os.File) error {
	return unix.Syncfs(int(d.Fd()))
}
