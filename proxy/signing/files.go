package signing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteNewFile writes data to a new file at path with mode perm,
// atomically: the file appears whole or not at all, and is never readable
// by others while it is being written. It fails with an error wrapping
// fs.ErrExist if path exists.
func WriteNewFile(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, perm, func(tmp string) error {
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("refusing to overwrite it: %w", fs.ErrExist)
			}
			return err
		}
		return os.Remove(tmp)
	})
}

// ReplaceFile writes data to path with mode perm atomically, replacing
// the file if it exists.
func ReplaceFile(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, perm, func(tmp string) error {
		return os.Rename(tmp, path)
	})
}

// writeFile writes data to a temporary file beside path (mode 0600 until
// it is complete), syncs it and hands it to install.
func writeFile(path string, data []byte, perm fs.FileMode, install func(tmp string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after install this removes nothing
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = install(tmp)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}

// WriteKeyFile writes k to a new file at path with mode 0600, encrypted
// with password unless it is empty. It never overwrites a file.
func WriteKeyFile(path string, k *Key, password string) error {
	var b []byte
	var err error
	if password == "" {
		b, err = k.Export()
	} else {
		b, err = k.Encrypt(password)
	}
	if err != nil {
		return err
	}
	return WriteNewFile(path, b, 0o600)
}
