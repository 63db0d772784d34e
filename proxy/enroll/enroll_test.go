package enroll

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenRoundTrip(t *testing.T) {
	s := openStore(t, t.TempDir())
	token, err := s.IssueInvite("Relay.Example", "edge.example:443", "m1.example", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "zk1.") || strings.ContainsAny(token, " \n+/=") {
		t.Fatalf("token is not one URL-safe line: %q", token)
	}
	inv, err := ParseToken(token, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if inv.Domain != "relay.example" || inv.Edge != "edge.example:443" || inv.Mirror != "m1.example" ||
		inv.Pin != s.PublicKey().String() || inv.Expires.Sub(inv.Issued) != DefaultTTL {
		t.Fatalf("invitation %+v", inv)
	}
	if _, err := ParseToken(token, inv.Expires); !errors.Is(err, ErrInvitation) {
		t.Errorf("at expiry: %v, want ErrInvitation", err)
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	s := openStore(t, t.TempDir())
	for _, tc := range [][3]string{
		{"relay.example:443", "edge:443", "m1.example"},
		{"*.example", "edge:443", "m1.example"},
		{"10.0.0.1", "edge:443", "m1.example"},
		{"relay.example", "edge", "m1.example"},
		{"relay.example", "edge:443", ""},
	} {
		if _, err := s.IssueInvite(tc[0], tc[1], tc[2], time.Hour); err == nil {
			t.Errorf("IssueInvite%v succeeded", tc)
		}
	}
}

func TestEnrollRules(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	now := time.Now()
	s.now = func() time.Time { return now }
	issue := func(domain string, ttl time.Duration) string {
		tok, err := s.IssueInvite(domain, "edge.example:443", "m1.example", ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ok := issue("a.example", time.Hour)
	expired := issue("b.example", time.Hour)
	if _, err := s.Enroll(ok, true); err != nil {
		t.Fatalf("valid invitation: %v", err)
	}
	if _, err := s.Enroll(ok, true); !errors.Is(err, ErrInvitation) {
		t.Errorf("reused invitation: %v", err)
	}
	s.now = func() time.Time { return now.Add(time.Hour) }
	if _, err := s.Enroll(expired, false); !errors.Is(err, ErrInvitation) {
		t.Errorf("expired invitation: %v", err)
	}
	other := openStore(t, t.TempDir())
	foreign, _ := other.IssueInvite("c.example", "edge.example:443", "m1.example", time.Hour)
	if _, err := s.Enroll(foreign, false); !errors.Is(err, ErrInvitation) {
		t.Errorf("another edge's invitation: %v", err)
	}
	s.now = time.Now
	if got := s.Domains(); !slices.Equal(got, []string{"a.example"}) {
		t.Errorf("Domains = %v", got)
	}
	if got := s.Public(); !slices.Equal(got, []string{"a.example"}) {
		t.Errorf("Public = %v", got)
	}

	// Another process (zerkalo revoke) sees and changes the same state.
	cli := openStore(t, dir)
	if got := cli.Domains(); !slices.Equal(got, []string{"a.example"}) {
		t.Errorf("second store: Domains = %v", got)
	}
	if was, err := cli.Revoke("a.example"); !was || err != nil {
		t.Fatalf("Revoke = %v, %v", was, err)
	}
	if got := s.Domains(); len(got) != 0 {
		t.Errorf("after revoke elsewhere: Domains = %v", got)
	}
	if was, _ := cli.Revoke("a.example"); was {
		t.Error("second revoke reported an enrollment")
	}
	fi, err := os.Stat(filepath.Join(dir, "enroll", keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v", fi.Mode(), err)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Watch(ctx, 20*time.Millisecond, func() { calls.Add(1) }); close(done) }()
	defer func() { cancel(); <-done }()
	tok, _ := s.IssueInvite("a.example", "edge.example:443", "m1.example", time.Hour)
	if _, err := s.Enroll(tok, false); err != nil {
		t.Fatal(err)
	}
	wait := func(n int32) {
		t.Helper()
		for end := time.Now().Add(2 * time.Second); calls.Load() < n && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		}
		if calls.Load() != n {
			t.Fatalf("Watch called %d times, want %d", calls.Load(), n)
		}
	}
	wait(1)
	openStore(t, dir).Revoke("a.example") // as zerkalo revoke does
	wait(2)
}

// TestHandlerRateLimited: a flood of requests is answered 429 with
// Retry-After beyond the burst, and the endpoint serves again after.
func TestHandlerRateLimited(t *testing.T) {
	s := openStore(t, t.TempDir())
	srv := httptest.NewServer(s.Handler(func() []string { return nil }))
	defer srv.Close()
	post := func() *http.Response {
		resp, err := http.Post(srv.URL+Path+"/status", "application/json", strings.NewReader(`{"domain":"r.example","secret":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var limited int
	for range 3 * requestBurst {
		resp := post()
		switch resp.StatusCode {
		case http.StatusForbidden: // served: the credential is unknown
		case http.StatusTooManyRequests:
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if limited < requestBurst {
		t.Errorf("%d of %d requests limited, want at least %d", limited, 3*requestBurst, requestBurst)
	}
	time.Sleep(time.Second / requestRate * 2)
	if resp := post(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("after a pause: status %d, want 403 (served)", resp.StatusCode)
	}
}
