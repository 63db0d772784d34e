package rewrite

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestNewMapper(t *testing.T) {
	m, err := NewMapper("WWW.RFERL.ORG.", []string{"gdb.rferl.org:443", "Docs.RFERL.org"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Hosts(), " "); got != "docs.rferl.org gdb.rferl.org www.rferl.org" || m.Site() != "www.rferl.org" {
		t.Fatalf("hosts %q, site %q", got, m.Site())
	}
	for _, bad := range []struct {
		site  string
		hosts []string
	}{{"", nil}, {"www.rferl.org:8080", nil}, {"www.rferl.org", []string{"a b"}}, {"www.rferl.org", []string{"x/y"}}, {"a_b", nil}} {
		if _, err := NewMapper(bad.site, bad.hosts); err == nil {
			t.Errorf("NewMapper(%q, %q) accepted", bad.site, bad.hosts)
		}
	}
	for host, want := range map[string]bool{"GDB.RFERL.ORG": true, "gdb.rferl.org:443": true, "gdb.rferl.org.": true,
		"gdb.rferl.org:8443": false, "evil.com": false, "rferl.org": false} {
		if m.IsOrigin(host) != want {
			t.Errorf("IsOrigin(%q) = %v", host, !want)
		}
	}
}

func TestToOrigin(t *testing.T) {
	m := testMapper(t)
	tests := []struct {
		path, query, want string
		err               error
	}{
		{"/", "", "https://www.rferl.org/", nil},
		{"/a/1.html", "x=1&y=%2F", "https://www.rferl.org/a/1.html?x=1&y=%2F", nil},
		{"/_z/gdb.rferl.org/x.jpg", "", "https://gdb.rferl.org/x.jpg", nil},
		{"/_z/gdb.rferl.org", "", "https://gdb.rferl.org/", nil},
		{"/_z/www.svoboda.org/a/%D0%B0.html", "", "https://www.svoboda.org/a/%D0%B0.html", nil},
		{"/a%20b", "", "https://www.rferl.org/a%20b", nil},
		{"/_z/evil.com/x", "", "", ErrUnknownHost},
		{"/_z/GDB.RFERL.ORG/x", "", "", ErrUnknownHost},
		{"/_z/gdb.rferl.org:443/x", "", "", ErrUnknownHost},
		{"/_z/127.0.0.1/x", "", "", ErrUnknownHost},
		{"/_z//x", "", "", ErrUnknownHost},
		{"/a/../b", "", "", ErrBadPath},
		{"/..", "", "", ErrBadPath},
		{"/a/./b", "", "", ErrBadPath},
		{"/a/%2e%2e/b", "", "", ErrBadPath},
		{"/a/%2E./b", "", "", ErrBadPath},
		{"/a%2fb", "", "", ErrBadPath},
		{"/a%2Fb", "", "", ErrBadPath},
		{"/a%5cb", "", "", ErrBadPath},
		{"/a\\b", "", "", ErrBadPath},
		{"/a%00", "", "", ErrBadPath},
		{"/a%", "", "", ErrBadPath},
		{"/a%zz", "", "", ErrBadPath},
		{"//evil.com/x", "", "", ErrBadPath},
		{"", "", "", ErrBadPath},
		{"a", "", "", ErrBadPath},
		{"/a b", "", "", ErrBadPath},
		{"/a\x7f", "", "", ErrBadPath},
		{"/a", "x=\r\nHost: evil.com", "", ErrBadPath},
		{"/a", "x=1#frag", "", ErrBadPath},
	}
	for _, tt := range tests {
		u, err := m.ToOrigin(tt.path, tt.query)
		switch {
		case tt.err != nil:
			if !errors.Is(err, tt.err) {
				t.Errorf("ToOrigin(%q) = %v, %v; want %v", tt.path, u, err, tt.err)
			}
		case err != nil || u.String() != tt.want:
			t.Errorf("ToOrigin(%q, %q) = %v, %v; want %s", tt.path, tt.query, u, err, tt.want)
		}
	}
}

func TestMirrorPath(t *testing.T) {
	m := testMapper(t)
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://www.rferl.org/a/1.html?x=1", "/a/1.html?x=1", true},
		{"http://WWW.RFERL.ORG:80", "/", true},
		{"https://www.rferl.org/?", "/?", true},
		{"https://gdb.rferl.org:443/x.jpg", "/_z/gdb.rferl.org/x.jpg", true},
		{"https://www.svoboda.org/a%2Fb", "/_z/www.svoboda.org/a%2Fb", true},
		{"https://www.rferl.org//evil.com/x", "/.//evil.com/x", true},
		{"https://evil.com/x", "", false},
		{"ftp://www.rferl.org/x", "", false},
		{"https://gdb.rferl.org:8443/x", "", false},
	}
	for _, tt := range tests {
		got, ok := m.MirrorPath(mustParse(t, tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("MirrorPath(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzToOrigin checks that ToOrigin never names a host outside the origin
// set, and that ToOrigin and MirrorPath are inverses on what ToOrigin
// accepts.
func FuzzToOrigin(f *testing.F) {
	for _, s := range []string{"/", "/a/1.html", "/_z/gdb.rferl.org/x.jpg", "/_z/evil.com/", "/a/%2e%2e/b",
		"/a%2fb", "//x", "/_z/GDB.rferl.org/", "/%D0%B0", "/a\\b", "/_z/www.svoboda.org"} {
		f.Add(s, "q=1")
	}
	m, err := NewMapper("www.rferl.org", testHosts)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		u, err := m.ToOrigin(path, query)
		if err != nil {
			return
		}
		if !m.IsOrigin(u.Host) || u.Host != strings.ToLower(u.Host) || u.Scheme != "https" || u.User != nil {
			t.Fatalf("ToOrigin(%q) = %v: not an origin URL", path, u)
		}
		back, ok := m.MirrorPath(u)
		if !ok {
			t.Fatalf("MirrorPath(%v) refused", u)
		}
		p, q, _ := strings.Cut(back, "?")
		u2, err := m.ToOrigin(p, q)
		if err != nil || u2.String() != u.String() {
			t.Fatalf("ToOrigin(%q, %q) = %v; MirrorPath %q maps to %v, %v", path, query, u, back, u2, err)
		}
		// The origin URL, parsed again as a client would, is the same.
		again, err := url.Parse(u.String())
		if err != nil || again.Host != u.Host || again.EscapedPath() != u.EscapedPath() {
			t.Fatalf("%v does not parse back: %v %v", u, again, err)
		}
	})
}
