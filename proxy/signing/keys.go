// Package signing signs the mirror list an edge publishes so that readers
// and tools can trust it, with Ed25519 keys and detached signatures in
// minisign's formats (https://jedisct1.github.io/minisign/): any minisign
// tool verifies what an edge signs.
//
// Trust is a chain of two keys. The operator's root key stays offline; it
// certifies each edge's own signing key for a limited time (a Certificate,
// a small JSON statement signed by the root key). The edge signs the list
// with its key and serves the certificate beside it. Verify checks the
// whole chain against the root public key, so an edge that is seized can
// forge nothing once its certificate has expired.
//
// Private keys are minisign secret key files, either unencrypted (the
// edge's key, which must load unattended) or encrypted with a password
// (scrypt, as minisign does; meant for the root key). Key files are
// written with mode 0600, atomically, and never overwritten.
package signing

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"aead.dev/minisign"
)

// ErrEncrypted is returned by LoadKey for a key encrypted with a password.
var ErrEncrypted = errors.New("the private key is encrypted: a password is needed")

// A Key is a private signing key. Its String method never shows the
// private part.
type Key struct {
	k minisign.PrivateKey
}

// A PublicKey is the public half of a Key. Its zero value verifies nothing.
type PublicKey struct {
	k minisign.PublicKey
}

// GenerateKey returns a new random key.
func GenerateKey() (*Key, error) {
	_, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &Key{k: priv}, nil
}

// Public returns the key's public half.
func (k *Key) Public() PublicKey {
	return PublicKey{k: k.k.Public().(minisign.PublicKey)}
}

// ID returns the key's 64-bit minisign key ID in hex, as minisign shows it.
func (k Key) ID() string { return formatID(k.k.ID()) }

// String describes the key without revealing it; so do GoString and
// LogValue, so that no fmt verb and no log/slog handler shows the secret.
func (k Key) String() string { return "private key " + k.ID() }

// GoString is String.
func (k Key) GoString() string { return k.String() }

// LogValue is String.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Export returns the key as an unencrypted minisign secret key file (what
// "minisign -G -W" writes). Keep it secret. (Key has no MarshalText on
// purpose: log/slog and encoding/json would call it.)
func (k *Key) Export() ([]byte, error) {
	b, err := k.k.MarshalText()
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Encrypt returns the key as a minisign secret key file encrypted with
// password. Encrypting and decrypting take seconds and 1 GiB of
// memory (minisign's scrypt parameters).
func (k *Key) Encrypt(password string) ([]byte, error) {
	if password == "" {
		return nil, errors.New("encrypt key: empty password")
	}
	b, err := minisign.EncryptKey(password, k.k)
	if err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseKey parses a minisign secret key file. password is used only if
// the key is encrypted; an encrypted key with an empty password gives
// ErrEncrypted.
func ParseKey(text []byte, password string) (*Key, error) {
	text = bytes.TrimSpace(text)
	if minisign.IsEncrypted(text) {
		if password == "" {
			return nil, ErrEncrypted
		}
		priv, err := minisign.DecryptKey(password, text)
		if err != nil {
			return nil, fmt.Errorf("decrypt key (wrong password?): %w", err)
		}
		return &Key{k: priv}, nil
	}
	var priv minisign.PrivateKey
	if err := priv.UnmarshalText(text); err != nil {
		return nil, err
	}
	return &Key{k: priv}, nil
}

// LoadKey reads an unencrypted private key file, such as an edge's.
func LoadKey(path string) (*Key, error) {
	return LoadKeyWithPassword(path, "")
}

// LoadKeyWithPassword reads a private key file, decrypting it with
// password if it is encrypted.
func LoadKeyWithPassword(path, password string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	k, err := ParseKey(b, password)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return k, nil
}

// ID returns the key's 64-bit minisign key ID in hex, as minisign shows it.
func (p PublicKey) ID() string { return formatID(p.k.ID()) }

// IsZero reports whether p is the zero PublicKey.
func (p PublicKey) IsZero() bool { return p.k.Equal(minisign.PublicKey{}) }

// Equal reports whether p and q are the same key.
func (p PublicKey) Equal(q PublicKey) bool { return p.k.Equal(q.k) }

// String returns the key in base64, as minisign's -P flag takes it.
func (p PublicKey) String() string { return p.k.String() }

// MarshalText returns the key as a minisign public key file.
func (p PublicKey) MarshalText() ([]byte, error) {
	return []byte("untrusted comment: minisign public key " + p.ID() + "\n" + p.String() + "\n"), nil
}

// ParsePublicKey parses a minisign public key file or its bare base64
// line.
func ParsePublicKey(text []byte) (PublicKey, error) {
	var k minisign.PublicKey
	if err := k.UnmarshalText(bytes.TrimSpace(text)); err != nil {
		return PublicKey{}, err
	}
	return PublicKey{k: k}, nil
}

// LoadPublicKey reads a minisign public key file.
func LoadPublicKey(path string) (PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return PublicKey{}, fmt.Errorf("load public key: %w", err)
	}
	p, err := ParsePublicKey(b)
	if err != nil {
		return PublicKey{}, fmt.Errorf("load public key %s: %w", path, err)
	}
	return p, nil
}

func formatID(id uint64) string { return fmt.Sprintf("%016X", id) }

// oneLine makes s safe for a minisign comment line: control characters
// other than tab (which minisign uses between fields) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
