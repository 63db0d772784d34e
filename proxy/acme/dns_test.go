package acme

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestDNSProblems(t *testing.T) {
	zone := map[string][]netip.Addr{
		"here.example":   {netip.MustParseAddr("203.0.113.5")},
		"both.example":   {netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8::5")},
		"elsewhere.test": {netip.MustParseAddr("198.51.100.9")},
		"mapped.example": {netip.MustParseAddr("::ffff:203.0.113.5")},
	}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := zone[host]; ok {
			return a, nil
		}
		return nil, errors.New("no such host")
	}
	local := []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")}
	got := DNSProblems(context.Background(), []string{"here.example", "both.example", "elsewhere.test", "missing.test", "mapped.example"}, lookup, local)
	if len(got) != 2 {
		t.Fatalf("problems %q, want two", got)
	}
	if !strings.HasPrefix(got[0], "elsewhere.test resolves to 198.51.100.9") {
		t.Errorf("first problem %q", got[0])
	}
	if !strings.HasPrefix(got[1], "missing.test does not resolve") {
		t.Errorf("second problem %q", got[1])
	}
}

func TestLocalAddrsHasLoopback(t *testing.T) {
	for _, a := range LocalAddrs() {
		if a.IsLoopback() {
			return
		}
	}
	t.Error("LocalAddrs lacks the loopback address")
}
