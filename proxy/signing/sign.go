package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"aead.dev/minisign"
)

// ErrSignature is the error Verify wraps when a signature does not match:
// the file or the signature was altered, or another key made it.
var ErrSignature = errors.New("signature does not verify")

// Sign returns a detached minisign signature (the text of a .minisig file)
// of msg, with the time of signing as its trusted comment.
func (k *Key) Sign(msg []byte) []byte {
	return k.SignWithComment(msg, "timestamp:"+strconv.FormatInt(time.Now().Unix(), 10))
}

// SignFile is Sign with the file's name in the trusted comment, as the
// minisign tool writes it: "timestamp:…\tfile:NAME\thashed".
func (k *Key) SignFile(msg []byte, name string) []byte {
	return k.SignWithComment(msg, "timestamp:"+strconv.FormatInt(time.Now().Unix(), 10)+"\tfile:"+name+"\thashed")
}

// SignWithComment returns a detached minisign signature of msg whose
// trusted (signed) comment is comment; control characters in it become
// spaces. The message is prehashed with BLAKE2b-512 (minisign's "ED"
// algorithm, its default since version 0.8).
func (k *Key) SignWithComment(msg []byte, comment string) []byte {
	r := minisign.NewReader(bytes.NewReader(msg))
	io.Copy(io.Discard, r) // reading a bytes.Reader cannot fail
	return r.SignWithComments(k.k, oneLine(comment), "signature from zerkalo secret key "+k.ID())
}

// Verify checks that sig is a minisign signature of msg made by p. It
// accepts both of minisign's algorithms (prehashed "ED" and legacy "Ed").
func (p PublicKey) Verify(msg, sig []byte) error {
	s, err := ParseSignature(sig)
	if err != nil {
		return err
	}
	if s.KeyID != p.ID() {
		return fmt.Errorf("%w: it was made by key %s, not by key %s", ErrSignature, s.KeyID, p.ID())
	}
	if !minisign.Verify(p.k, msg, sig) {
		return fmt.Errorf("%w: the file or its signature was altered", ErrSignature)
	}
	return nil
}

// A Signature is a parsed minisign signature. Parsing checks its form,
// not its validity: only Verify does.
type Signature struct {
	KeyID          string // hex, as minisign shows it
	Prehashed      bool   // "ED" (BLAKE2b-512 of the message), not legacy "Ed"
	TrustedComment string // signed along with the message
}

// ParseSignature parses the text of a .minisig file.
func ParseSignature(sig []byte) (Signature, error) {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return Signature{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return Signature{
		KeyID:          formatID(s.KeyID),
		Prehashed:      s.Algorithm == minisign.HashEdDSA,
		TrustedComment: s.TrustedComment,
	}, nil
}
