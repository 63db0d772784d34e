// Package rewrite holds the pure, streaming transforms that turn origin
// responses into mirror responses: the URL mapping between origin URLs and
// mirror paths, and rewriters for HTML, CSS, JavaScript/JSON, XML feeds,
// streaming manifests and response headers.
//
// The package knows nothing of networks or caches. Every rewritten URL is a
// root-relative mirror path (principle 4 of DESIGN.md), except where a Doc asks
// for absolute URLs (feeds and sitemaps).
package rewrite

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// HostPrefix is the reserved path under which every origin host other than
// the primary site is served: https://gdb.rferl.org/x.jpg is served at
// /_z/gdb.rferl.org/x.jpg. The primary site is served at the root.
const HostPrefix = "/_z/"

// Errors returned by Mapper.ToOrigin. They mean the request must be refused.
var (
	ErrBadPath     = errors.New("path is not a plain mirror path")
	ErrUnknownHost = errors.New("host is not an origin host")
)

// Mapper is the one mapping between origin URLs and mirror paths, used in
// both directions: documents are rewritten with it, and reader requests are
// mapped back to origin URLs with it. A Mapper is immutable and safe for
// concurrent use.
type Mapper struct {
	site  string
	hosts map[string]bool   // every origin host, site included, lower case
	roots map[string]string // host → HostPrefix+host, for each of hosts
	rules *Rules            // the privacy rules; nil means DefaultRules
}

// NewMapper returns a Mapper for the primary site and the other origin hosts.
// Host names are matched case-insensitively; a host may not carry a port.
func NewMapper(site string, hosts []string) (*Mapper, error) {
	m := &Mapper{hosts: make(map[string]bool), roots: make(map[string]string)}
	site, ok := normalizeHost(site)
	if !ok {
		return nil, fmt.Errorf("origin site %q: not a host name", site)
	}
	m.site = site
	m.hosts[site] = true
	for _, h := range hosts {
		n, ok := normalizeHost(h)
		if !ok {
			return nil, fmt.Errorf("origin host %q: not a host name", h)
		}
		m.hosts[n] = true
	}
	for h := range m.hosts {
		m.roots[h] = HostPrefix + h
	}
	return m, nil
}

// WithRules returns a copy of m that rewrites documents and refuses
// tracker URLs with the privacy rules r instead of DefaultRules.
func (m *Mapper) WithRules(r *Rules) *Mapper {
	n := *m
	n.rules = r
	return &n
}

// Rules returns the privacy rules of m.
func (m *Mapper) Rules() *Rules {
	if m.rules == nil {
		return DefaultRules()
	}
	return m.rules
}

// Site returns the primary origin host, served at the mirror's root.
func (m *Mapper) Site() string { return m.site }

// Hosts returns every origin host, the site included, sorted.
func (m *Mapper) Hosts() []string {
	hs := make([]string, 0, len(m.hosts))
	for h := range m.hosts {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	return hs
}

// IsOrigin reports whether host (any case, with or without a default port or
// trailing dot) is one of the origin hosts.
func (m *Mapper) IsOrigin(host string) bool {
	n, ok := normalizeHost(host)
	return ok && m.hosts[n]
}

// originRoot returns HostPrefix+h for an origin host h (lower case, no
// port), without allocating; ok is false for other hosts. The host is
// root[len(HostPrefix):], the Mapper's own string.
func (m *Mapper) originRoot(h []byte) (root string, ok bool) {
	root, ok = m.roots[string(h)]
	return root, ok
}

// MirrorRoot returns the mirror path that stands for the root of an origin
// host: "" for the primary site, "/_z/host" for the others. The host must be
// an origin host in normalized form.
func (m *Mapper) MirrorRoot(host string) string {
	if host == m.site {
		return ""
	}
	if r, ok := m.roots[host]; ok {
		return r
	}
	return HostPrefix + host
}

// MirrorPath returns the mirror path (with query) for an origin URL, and
// false when u is not on an origin host.
func (m *Mapper) MirrorPath(u *url.URL) (string, bool) {
	host, ok := normalizeHost(u.Host)
	if !ok || !m.hosts[host] || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	root := m.MirrorRoot(host)
	if root == "" && strings.HasPrefix(p, "//") {
		root = "/." // not the protocol-relative "//other.host"
	}
	s := root + p
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + u.RawQuery
	}
	return s, true
}

// ToOrigin maps the escaped path and raw query of a reader's request to the
// origin URL it stands for. It refuses paths that are not plain: dot
// segments, encoded slashes, backslashes, encoded dots, control bytes, and
// hosts under HostPrefix that are not origin hosts; and queries with
// control bytes, spaces or '#'. It refuses, with ErrBlocked, every URL the
// privacy rules name as a tracker, such as an Adobe beacon path /b/ss/ on
// the site's own host: the mirror never proxies a tracker.
func (m *Mapper) ToOrigin(escapedPath, rawQuery string) (*url.URL, error) {
	if err := checkPath(escapedPath); err != nil {
		return nil, err
	}
	if strings.ContainsFunc(rawQuery, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '#' }) {
		return nil, fmt.Errorf("%w: control byte, space or '#' in query", ErrBadPath)
	}
	host, rest := m.site, escapedPath
	if strings.HasPrefix(escapedPath, HostPrefix) {
		after := escapedPath[len(HostPrefix):]
		h, r, found := strings.Cut(after, "/")
		if !found {
			r = ""
		}
		if h != strings.ToLower(h) || !m.hosts[h] {
			return nil, fmt.Errorf("%w: %q", ErrUnknownHost, h)
		}
		host, rest = h, "/"+r
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	u := &url.URL{Scheme: "https", Host: host, Path: path, RawPath: rest, RawQuery: rawQuery}
	if u.EscapedPath() != rest {
		return nil, fmt.Errorf("%w: %q does not round-trip", ErrBadPath, rest)
	}
	pq := rest
	if rawQuery != "" {
		pq += "?" + rawQuery
	}
	if m.Rules().BlocksURL(host, pq) {
		return nil, fmt.Errorf("%w: %s%s", ErrBlocked, host, rest)
	}
	return u, nil
}

// checkPath refuses every escaped path that could name something other
// than what it plainly says.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return fmt.Errorf("%w: %q is not root-relative", ErrBadPath, p)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x21 || c == 0x7f || c == '\\' {
			return fmt.Errorf("%w: control byte, space or backslash", ErrBadPath)
		}
		if c == '%' {
			if i+2 >= len(p) {
				return fmt.Errorf("%w: truncated escape", ErrBadPath)
			}
			switch strings.ToLower(p[i+1 : i+3]) {
			case "2f", "5c", "2e", "00":
				return fmt.Errorf("%w: encoded %s", ErrBadPath, p[i:i+3])
			}
		}
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w: dot segment", ErrBadPath)
		}
	}
	return nil
}

// normalizeHost lower-cases a host, drops a trailing dot and a default port
// (80 or 443), and reports whether the result is a plain host name.
func normalizeHost(h string) (string, bool) {
	h = strings.ToLower(h)
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if port := h[i+1:]; port == "443" || port == "80" {
			h = h[:i]
		} else {
			return "", false
		}
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", false
		}
	}
	return h, true
}
