package enroll

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"zerkalo/proxy/signing"
)

// An Enrollment is the relay's side of an enrollment, kept in its state
// directory.
type Enrollment struct {
	Domain   string    `json:"domain"`
	Edge     string    `json:"edge"`    // the edge's address, host:port
	Mirror   string    `json:"mirror"`  // server name used to reach the edge
	Pin      string    `json:"pin"`     // the edge's enrollment key
	Mirrors  []string  `json:"mirrors"` // the edge's mirror domains, last known
	Secret   string    `json:"secret"`  // the relay's credential
	Public   bool      `json:"public"`
	Enrolled time.Time `json:"enrolled"`
}

// enrollmentFile is the relay's state file.
const enrollmentFile = "enrollment.json"

// Enroll presents token to the edge at edge ("host:port"; the token's
// own address if empty) and returns the resulting enrollment. public asks
// the edge to list the relay publicly.
func Enroll(ctx context.Context, token, edge string, public bool) (*Enrollment, error) {
	inv, err := ParseToken(token, time.Now())
	if err != nil {
		return nil, err
	}
	if edge == "" {
		edge = inv.Edge
	}
	e := &Enrollment{Domain: inv.Domain, Edge: edge, Mirror: inv.Mirror, Pin: inv.Pin, Public: public, Enrolled: time.Now().UTC()}
	var a Answer
	if err := e.call(ctx, "", enrollRequest{Token: token, Public: public}, &a); err != nil {
		return nil, err
	}
	if a.Domain != inv.Domain || a.Secret == "" {
		return nil, fmt.Errorf("enroll: the edge answered for %q, not %q", a.Domain, inv.Domain)
	}
	e.Secret, e.Mirrors = a.Secret, a.Mirrors
	return e, nil
}

// Status asks the edge whether the relay is still enrolled and updates
// its mirror list. It returns an error wrapping ErrRevoked if the edge no
// longer knows the relay.
func (e *Enrollment) Status(ctx context.Context) error {
	var a Answer
	if err := e.call(ctx, "/status", statusRequest{Domain: e.Domain, Secret: e.Secret}, &a); err != nil {
		return err
	}
	e.Mirrors = a.Mirrors
	return nil
}

// call connects to the edge, checks its proof of the pinned key on this
// connection, then POSTs body to Path+sub and decodes the answer into a.
func (e *Enrollment) call(ctx context.Context, sub string, body any, a *Answer) error {
	pin, err := signing.ParsePublicKey([]byte(e.Pin))
	if err != nil {
		return fmt.Errorf("enroll: bad pin: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{
		ServerName: e.Mirror,
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"},
		// The edge's certificate may be self-signed or from any CA: the
		// pinned key, checked below on this connection, is what
		// authenticates it.
		InsecureSkipVerify: true,
	}}
	raw, err := d.DialContext(ctx, "tcp", e.Edge)
	if err != nil {
		return fmt.Errorf("enroll: connect to the edge %s: %w", e.Edge, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	conn := raw.(*tls.Conn)
	br := bufio.NewReader(conn)
	proof, _, err := roundTrip(conn, br, e.Mirror, http.MethodGet, Path, nil)
	if err != nil {
		return err
	}
	cs := conn.ConnectionState()
	ekm, err := cs.ExportKeyingMaterial(exporterLabel, nil, 32)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if err := pin.Verify(proofMessage(ekm), proof); err != nil {
		return fmt.Errorf("enroll: %s is not the invitation's edge (pinned key %s): %w", e.Edge, pin.ID(), err)
	}
	payload, _ := json.Marshal(body)
	resp, status, err := roundTrip(conn, br, e.Mirror, http.MethodPost, Path+sub, payload)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp, a); err != nil {
		return fmt.Errorf("enroll: the edge answered %d: %.200q", status, resp)
	}
	switch {
	case status == http.StatusForbidden && sub == "/status":
		return fmt.Errorf("%w: %s", ErrRevoked, a.Error)
	case status != http.StatusOK:
		return fmt.Errorf("enroll: the edge refused: %s", a.Error)
	}
	return nil
}

// roundTrip sends one HTTP/1.1 request on conn and reads the answer
// (at most 64 KiB).
func roundTrip(conn net.Conn, br *bufio.Reader, host, method, path string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequest(method, "https://"+host+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := req.Write(conn); err != nil {
		return nil, 0, fmt.Errorf("enroll: send %s: %w", path, err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, 0, fmt.Errorf("enroll: read answer to %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, 0, fmt.Errorf("enroll: read answer to %s: %w", path, err)
	}
	if method == http.MethodGet && resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("enroll: the edge has no enrollment endpoint (%s %s: %s)", method, path, resp.Status)
	}
	return b, resp.StatusCode, nil
}

// LoadEnrollment reads the enrollment kept in dir; it wraps
// fs.ErrNotExist when there is none.
func LoadEnrollment(dir string) (*Enrollment, error) {
	b, err := os.ReadFile(filepath.Join(dir, enrollmentFile))
	if err != nil {
		return nil, fmt.Errorf("load enrollment: %w", err)
	}
	var e Enrollment
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("load enrollment %s: %w", filepath.Join(dir, enrollmentFile), err)
	}
	if e.Domain == "" || e.Edge == "" || e.Secret == "" {
		return nil, fmt.Errorf("load enrollment %s: incomplete", filepath.Join(dir, enrollmentFile))
	}
	return &e, nil
}

// Save writes the enrollment to dir (created 0700), atomically, 0600.
func (e *Enrollment) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save enrollment: %w", err)
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return signing.ReplaceFile(filepath.Join(dir, enrollmentFile), append(b, '\n'), 0o600)
}

// Forget removes the enrollment kept in dir.
func Forget(dir string) error {
	err := os.Remove(filepath.Join(dir, enrollmentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
