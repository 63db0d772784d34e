package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateCA reads the CA certificate and private key stored in the PEM
// file at path, or, when the file does not exist, creates a new CA and
// writes it there atomically (mode 0600; a missing parent directory is
// created with mode 0700). A file that exists but cannot be read or parsed
// is an error and is left untouched.
func LoadOrCreateCA(path string) (*Authority, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		a, err := parseAuthority(data)
		if err != nil {
			return nil, fmt.Errorf("certs: CA file %s: %w", path, err)
		}
		return a, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("certs: read CA file: %w", err)
	}
	a, err := NewCA()
	if err != nil {
		return nil, err
	}
	out, err := a.marshal()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, out); err != nil {
		return nil, fmt.Errorf("certs: write CA file: %w", err)
	}
	return a, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced before it is renamed over path, so that a crash leaves
// either no file or a whole one.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
