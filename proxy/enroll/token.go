package enroll

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"zerkalo/proxy/signing"
)

// tokenPrefix starts every invitation token and names its format.
const tokenPrefix = "zk1."

// ErrInvitation is wrapped by every error about an invitation that is not
// valid: malformed, badly signed, expired, used, revoked.
var ErrInvitation = errors.New("invitation is not valid")

// An Invitation authorises one relay for one domain.
type Invitation struct {
	// ID is random and makes the invitation single-use.
	ID string `json:"id"`
	// Domain is the relay's domain.
	Domain string `json:"domain"`
	// Edge is the edge's address, "host:port".
	Edge string `json:"edge"`
	// Mirror is one of the edge's mirror domains: the TLS server name
	// and Host the relay enrolls with.
	Mirror string `json:"mirror"`
	// Pin is the edge's enrollment public key (minisign, base64).
	Pin string `json:"pin"`
	// Issued and Expires bound when it may be used.
	Issued  time.Time `json:"iat"`
	Expires time.Time `json:"exp"`
}

// Token returns the invitation signed with key, as one line:
// "zk1." + base64url(JSON) + "." + base64url(minisign signature of the JSON).
func (inv Invitation) Token(key *signing.Key) (string, error) {
	payload, err := json.Marshal(inv)
	if err != nil {
		return "", fmt.Errorf("encode invitation: %w", err)
	}
	sig := key.Sign(payload)
	b64 := base64.RawURLEncoding
	return tokenPrefix + b64.EncodeToString(payload) + "." + b64.EncodeToString(sig), nil
}

// ParseToken decodes a token and checks that it is signed by the key it
// pins and has not expired at now. The edge also checks the pin is its
// own key (see Store.Enroll).
func ParseToken(token string, now time.Time) (Invitation, error) {
	inv, payload, sig, err := splitToken(token)
	if err != nil {
		return Invitation{}, err
	}
	pin, err := signing.ParsePublicKey([]byte(inv.Pin))
	if err != nil {
		return Invitation{}, fmt.Errorf("%w: bad pin: %v", ErrInvitation, err)
	}
	if err := pin.Verify(payload, sig); err != nil {
		return Invitation{}, fmt.Errorf("%w: %v", ErrInvitation, err)
	}
	if err := inv.check(now); err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// splitToken decodes a token without checking its signature.
func splitToken(token string) (inv Invitation, payload, sig []byte, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), tokenPrefix)
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return inv, nil, nil, fmt.Errorf("%w: not a zerkalo invitation token", ErrInvitation)
	}
	b64 := base64.RawURLEncoding
	if payload, err = b64.DecodeString(p64); err == nil {
		sig, err = b64.DecodeString(s64)
	}
	if err != nil {
		return inv, nil, nil, fmt.Errorf("%w: bad encoding: %v", ErrInvitation, err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inv); err != nil {
		return inv, nil, nil, fmt.Errorf("%w: bad payload: %v", ErrInvitation, err)
	}
	return inv, payload, sig, nil
}

// check validates the fields and the time window.
func (inv Invitation) check(now time.Time) error {
	switch {
	case len(inv.ID) != 32:
		return fmt.Errorf("%w: bad id", ErrInvitation)
	case CheckDomain(inv.Domain) != nil:
		return fmt.Errorf("%w: bad domain %q", ErrInvitation, inv.Domain)
	case CheckDomain(inv.Mirror) != nil:
		return fmt.Errorf("%w: bad mirror domain %q", ErrInvitation, inv.Mirror)
	case !now.Before(inv.Expires):
		return fmt.Errorf("%w: it expired at %s", ErrInvitation, inv.Expires.UTC().Format(time.RFC3339))
	case now.Add(5 * time.Minute).Before(inv.Issued):
		return fmt.Errorf("%w: issued in the future (clock skew?)", ErrInvitation)
	}
	if _, _, err := net.SplitHostPort(inv.Edge); err != nil {
		return fmt.Errorf("%w: bad edge address %q", ErrInvitation, inv.Edge)
	}
	return nil
}

// newID returns 128 random bits in hex.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CheckDomain reports whether name is a lower-case DNS host name (no IP
// address, no port, no wildcard).
func CheckDomain(name string) error {
	if name == "" || len(name) > 253 || net.ParseIP(name) != nil {
		return fmt.Errorf("bad domain name %q", name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("bad domain name %q", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("bad domain name %q (lower case letters, digits, hyphens)", name)
			}
		}
	}
	return nil
}
