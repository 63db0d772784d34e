package rewrite

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"
)

// rulesTOML is the built-in rule set, documented in rules.toml and RULES.md.
//
//go:embed rules.toml
var rulesTOML []byte

// ErrBlocked is returned (wrapped) by Mapper.ToOrigin for a URL that the
// rules name as a tracker: the mirror never proxies it.
var ErrBlocked = errors.New("URL is a tracker")

// Rules say what the rewriter removes so that a mirrored page makes the
// browser talk to the mirror alone: tracker hosts, inline-script
// signatures, beacon paths, tracking query parameters and cookies, and the
// embed providers whose players become a static link. Rules are immutable
// and safe for concurrent use; Extend returns a new set.
type Rules struct {
	hosts   map[string]string // host → tracker name; matches its sub-hosts too
	paths   []pathRule
	scripts []signature
	byFirst *[256][]signature // scripts by first byte, built once
	pairs   *[1024]uint64     // bit set of the first two bytes of scripts
	print   string            // Fingerprint, computed by index
	params  nameSet
	cookies nameSet
	embeds  []*embed
	byHost  map[string]*embed // embed host → provider
}

// pathRule is a beacon path prefix, on one host (and its sub-hosts) or on
// any host when host is "".
type pathRule struct {
	host, prefix string
}

// signature is an inline-script signature; ident means it must start an
// identifier.
type signature struct {
	s     string
	ident bool
}

// embed is a third-party player or post whose embed becomes a link.
type embed struct {
	Name      string   `toml:"name"`
	Hosts     []string `toml:"hosts"`
	Paths     []string `toml:"paths"`
	IDAfter   string   `toml:"id_after"`
	Link      string   `toml:"link"`
	LinkParam string   `toml:"link_param"`
	PostAttr  string   `toml:"post_attr"`
}

// nameSet matches names exactly, or by prefix for entries ending in "*".
type nameSet struct {
	exact    map[string]bool
	prefixes []string
}

// ruleFile is the form of rules.toml.
type ruleFile struct {
	StripParams  []string `toml:"strip_params"`
	StripCookies []string `toml:"strip_cookies"`
	Tracker      []struct {
		Name    string   `toml:"name"`
		Hosts   []string `toml:"hosts"`
		Scripts []string `toml:"scripts"`
		Paths   []string `toml:"paths"`
	} `toml:"tracker"`
	Embed []*embed `toml:"embed"`
}

// RuleSet is an operator's change to the rules, as the config file's
// [privacy] table gives it (see RULES.md).
type RuleSet struct {
	// BlockHosts are tracker hosts (each also blocks the hosts under it),
	// or "host/path" prefixes.
	BlockHosts []string
	// AllowHosts remove built-in host entries, exactly as written there.
	AllowHosts []string
	// BlockScripts are inline-script signatures.
	BlockScripts []string
	// BlockPaths are beacon path prefixes ("/b/ss/") blocked on every host.
	BlockPaths []string
	// StripParams are query parameters removed from links; "x_*" is a prefix.
	StripParams []string
	// StripCookies are cookie names dropped from origin responses.
	StripCookies []string
}

var defaultRules = sync.OnceValue(func() *Rules {
	r, err := parseRules(rulesTOML)
	if err != nil {
		panic(fmt.Sprintf("rewrite: built-in rules.toml: %v", err))
	}
	return r
})

// DefaultRules returns the built-in rule set of rules.toml.
func DefaultRules() *Rules { return defaultRules() }

// parseRules reads a rule file.
func parseRules(b []byte) (*Rules, error) {
	var f ruleFile
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse rules: %w", err)
	}
	r := &Rules{hosts: map[string]string{}, byHost: map[string]*embed{}}
	for _, t := range f.Tracker {
		if t.Name == "" {
			return nil, errors.New("parse rules: a tracker has no name")
		}
		if err := r.add(t.Name, RuleSet{BlockHosts: t.Hosts, BlockScripts: t.Scripts, BlockPaths: t.Paths}); err != nil {
			return nil, fmt.Errorf("parse rules: tracker %q: %w", t.Name, err)
		}
	}
	if err := r.add("", RuleSet{StripParams: f.StripParams, StripCookies: f.StripCookies}); err != nil {
		return nil, fmt.Errorf("parse rules: %w", err)
	}
	for _, e := range f.Embed {
		if e.Name == "" || len(e.Hosts) == 0 {
			return nil, errors.New("parse rules: an embed needs a name and hosts")
		}
		r.embeds = append(r.embeds, e)
		for _, h := range e.Hosts {
			n, ok := normalizeHost(h)
			if !ok {
				return nil, fmt.Errorf("parse rules: embed %q: bad host %q", e.Name, h)
			}
			r.byHost[n] = e
		}
	}
	r.index()
	return r, nil
}

// Extend returns a copy of r with an operator's rules added (and the
// AllowHosts entries removed). It refuses malformed entries.
func (r *Rules) Extend(s RuleSet) (*Rules, error) {
	n := r.clone()
	for _, h := range s.AllowHosts {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, ok := n.hosts[k]; ok {
			delete(n.hosts, k)
			continue
		}
		host, path, _ := strings.Cut(k, "/")
		before := len(n.paths)
		n.paths = removePath(n.paths, pathRule{host, "/" + path})
		if len(n.paths) == before {
			return nil, fmt.Errorf("privacy rules: allow_hosts %q: no such built-in entry", h)
		}
	}
	if err := n.add("operator", s); err != nil {
		return nil, fmt.Errorf("privacy rules: %w", err)
	}
	n.index()
	return n, nil
}

func removePath(ps []pathRule, p pathRule) []pathRule {
	out := ps[:0]
	for _, q := range ps {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

func (r *Rules) clone() *Rules {
	n := &Rules{
		hosts:   make(map[string]string, len(r.hosts)),
		paths:   append([]pathRule(nil), r.paths...),
		scripts: append([]signature(nil), r.scripts...),
		params:  r.params.clone(),
		cookies: r.cookies.clone(),
		embeds:  r.embeds,
		byHost:  r.byHost,
	}
	for k, v := range r.hosts {
		n.hosts[k] = v
	}
	return n
}

// add adds the entries of s, named name, checking each.
func (r *Rules) add(name string, s RuleSet) error {
	for _, h := range s.BlockHosts {
		host, path, hasPath := strings.Cut(strings.TrimSpace(h), "/")
		n, ok := normalizeHost(host)
		if !ok || !strings.Contains(n, ".") {
			return fmt.Errorf("block_hosts %q: not a host name", h)
		}
		if hasPath {
			r.paths = append(r.paths, pathRule{n, "/" + path})
		} else {
			r.hosts[n] = name
		}
	}
	for _, p := range s.BlockPaths {
		if len(p) < 3 || p[0] != '/' || strings.ContainsAny(p, " \t\r\n#") {
			return fmt.Errorf("block_paths %q: not a path prefix such as /b/ss/", p)
		}
		r.paths = append(r.paths, pathRule{"", p})
	}
	for _, s := range s.BlockScripts {
		if len(s) < 3 || strings.TrimSpace(s) != s {
			return fmt.Errorf("block_scripts %q: a signature needs 3 or more characters and no outer spaces", s)
		}
		r.scripts = append(r.scripts, signature{s: s, ident: isJSIdent(s[0])})
	}
	if err := r.params.add(s.StripParams); err != nil {
		return fmt.Errorf("strip_params: %w", err)
	}
	if err := r.cookies.add(s.StripCookies); err != nil {
		return fmt.Errorf("strip_cookies: %w", err)
	}
	return nil
}

func (s *nameSet) add(names []string) error {
	for _, n := range names {
		if n == "" || n == "*" || strings.ContainsAny(n, " \t=&;") {
			return fmt.Errorf("%q is not a name", n)
		}
		if p, ok := strings.CutSuffix(n, "*"); ok {
			s.prefixes = append(s.prefixes, p)
			continue
		}
		if s.exact == nil {
			s.exact = map[string]bool{}
		}
		s.exact[n] = true
	}
	return nil
}

func (s nameSet) clone() nameSet {
	n := nameSet{prefixes: append([]string(nil), s.prefixes...), exact: map[string]bool{}}
	for k := range s.exact {
		n.exact[k] = true
	}
	return n
}

func (s *nameSet) has(name string) bool {
	if s.exact[name] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Tracker returns the name of the tracker rule that blocks host (lower
// case, no port), or "" when none does. A rule for a host also blocks
// every host under it.
func (r *Rules) Tracker(host string) string {
	for h := host; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			// add takes only names with a dot: a name without one, such
			// as a top-level domain, is not looked up.
			return ""
		}
		if name, ok := r.hosts[h]; ok {
			return name
		}
		h = h[i+1:]
	}
}

// BlocksURL reports whether a URL on host (lower case, no port) with the
// given escaped path and query ("/b/ss/x?y=1") is a tracker: its host is
// blocked, or a beacon path rule matches.
func (r *Rules) BlocksURL(host, pathQuery string) bool {
	if r.Tracker(host) != "" {
		return true
	}
	for _, p := range r.paths {
		if len(pathQuery) >= len(p.prefix) && equalFoldString(pathQuery[:len(p.prefix)], p.prefix) &&
			(p.host == "" || underHost(host, p.host)) {
			return true
		}
	}
	return false
}

// blocksPathBytes reports, without allocating, whether a beacon path rule
// blocks a URL on host with the given path and query: BlocksURL but for
// the host rules (Tracker).
func (r *Rules) blocksPathBytes(host string, pathQuery []byte) bool {
	for _, p := range r.paths {
		if hasPrefixFoldASCII(pathQuery, p.prefix) && (p.host == "" || underHost(host, p.host)) {
			return true
		}
	}
	return false
}

// hasPrefixFoldASCII reports whether b starts with prefix, in ASCII case
// folding: equalFoldString(string(b[:len(prefix)]), prefix).
func hasPrefixFoldASCII(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(b[i]) != lowerASCII(prefix[i]) {
			return false
		}
	}
	return true
}

// equalFoldString is strings.EqualFold for ASCII case only.
func equalFoldString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// underHost reports whether host is h or a host under it.
func underHost(host, h string) bool {
	return host == h || strings.HasSuffix(host, h) && host[len(host)-len(h)-1] == '.'
}

// BlocksScript reports whether an inline script is a tracker: its text
// holds a signature, names a blocked host anywhere (in a string, a
// concatenation, a comment), or holds a blocked path on a host it names.
func (r *Rules) BlocksScript(text []byte) bool {
	return r.hasSignature(text) || r.namesTracker(text)
}

// hasSignature reports whether text holds a signature, at the start of an
// identifier when the signature starts with one. It reads text once,
// looking up the signatures that start with each byte.
func (r *Rules) hasSignature(text []byte) bool {
	by, pairs := r.byFirst, r.pairs
	for i := 0; i+1 < len(text); i++ {
		k := uint16(text[i])<<8 | uint16(text[i+1])
		if pairs[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, sig := range by[text[i]] {
			if len(text)-i >= len(sig.s) && string(text[i:i+len(sig.s)]) == sig.s &&
				(!sig.ident || i == 0 || !isJSIdent(text[i-1])) {
				return true
			}
		}
	}
	return false
}

// index builds byFirst from scripts.
func (r *Rules) index() {
	var by [256][]signature
	var pairs [1024]uint64
	for _, sig := range r.scripts {
		by[sig.s[0]] = append(by[sig.s[0]], sig)
		k := uint16(sig.s[0])<<8 | uint16(sig.s[1])
		pairs[k>>6] |= 1 << (k & 63)
	}
	r.byFirst, r.pairs = &by, &pairs
	r.print = r.fingerprint()
}

// Fingerprint identifies the rule set: two sets with the same entries have
// the same fingerprint. A cache of rewritten bodies can key or purge on
// it, since a body rewritten under other rules may hold other elements.
func (r *Rules) Fingerprint() string { return r.print }

func (r *Rules) fingerprint() string {
	var lines []string
	for h := range r.hosts {
		lines = append(lines, "h "+h)
	}
	for _, p := range r.paths {
		lines = append(lines, "p "+p.host+p.prefix)
	}
	for _, sig := range r.scripts {
		lines = append(lines, "s "+sig.s)
	}
	for _, set := range []struct {
		tag string
		n   nameSet
	}{{"q ", r.params}, {"c ", r.cookies}} {
		for n := range set.n.exact {
			lines = append(lines, set.tag+n)
		}
		for _, n := range set.n.prefixes {
			lines = append(lines, set.tag+n+"*")
		}
	}
	for _, e := range r.embeds {
		lines = append(lines, fmt.Sprintf("e %+v", *e))
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

// namesTracker looks at every run of host-name bytes holding a dot and
// reports whether one is a blocked host, or a host followed by a blocked
// path.
func (r *Rules) namesTracker(text []byte) bool {
	for i := 0; i < len(text); {
		if !isHostByte(text[i]) {
			i++
			continue
		}
		j := i
		dot := false
		for j < len(text) && isHostByte(text[j]) {
			dot = dot || text[j] == '.'
			j++
		}
		if dot && j-i > 3 && j-i < 254 {
			var lb [253]byte
			host := lowerInto(lb[:0], bytes.Trim(text[i:j], "."))
			if r.trackerBytes(host) || r.blocksHostPath(string(host), text[j:]) {
				return true
			}
		}
		i = j
	}
	return false
}

// trackerBytes is Tracker for a lower-case host in bytes, without
// allocating.
func (r *Rules) trackerBytes(host []byte) bool {
	for h := host; ; {
		i := bytes.IndexByte(h, '.')
		if i < 0 {
			return false // a name without a dot is never blocked (see Tracker)
		}
		if _, ok := r.hosts[string(h)]; ok {
			return true
		}
		h = h[i+1:]
	}
}

// lowerInto appends b, lower-cased, to dst.
func lowerInto(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, lowerASCII(c))
	}
	return dst
}

// blocksRootPath reports, without allocating, whether a root-relative
// path matches a beacon path rule of any host.
func (r *Rules) blocksRootPath(p []byte) bool {
	for _, pr := range r.paths {
		if pr.host == "" && len(p) >= len(pr.prefix) && equalFoldASCII(p[:len(pr.prefix)], []byte(pr.prefix)) {
			return true
		}
	}
	return false
}

// blocksHostPath reports whether rest starts with a path that a rule
// blocks for host.
func (r *Rules) blocksHostPath(host string, rest []byte) bool {
	if len(rest) == 0 || rest[0] != '/' || len(r.paths) == 0 {
		return false
	}
	for _, p := range r.paths {
		if (p.host == "" || underHost(host, p.host)) && hasFoldPrefix(string(rest[:min(len(rest), len(p.prefix))]), p.prefix) {
			return true
		}
	}
	return false
}

// StripParams removes tracking parameters from a raw query. It returns the
// query unchanged, without allocating, when there is none to remove.
func (r *Rules) StripParams(rawQuery string) string {
	if rawQuery == "" || !r.anyParam(rawQuery) {
		return rawQuery
	}
	var b strings.Builder
	for p := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(p, "=")
		if r.params.has(strings.ToLower(name)) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p)
	}
	return b.String()
}

// anyParam reports whether a query holds a tracking parameter.
func (r *Rules) anyParam(q string) bool {
	for len(q) > 0 {
		p := q
		if i := strings.IndexByte(q, '&'); i >= 0 {
			p, q = q[:i], q[i+1:]
		} else {
			q = ""
		}
		if i := strings.IndexByte(p, '='); i >= 0 {
			p = p[:i]
		}
		if r.params.has(strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// BlocksCookie reports whether a cookie name is an analytics cookie.
func (r *Rules) BlocksCookie(name string) bool { return r.cookies.has(name) }

// embedHost reports, without allocating, whether a lower-case host is an
// embed provider's.
func (r *Rules) embedHost(host []byte) bool {
	for h := host; len(h) > 0; {
		if r.byHost[string(h)] != nil {
			return true
		}
		i := bytes.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return false
}

// embedFor returns the embed provider of host, or nil.
func (r *Rules) embedFor(host string) *embed {
	for h := host; h != ""; {
		if e := r.byHost[h]; e != nil {
			return e
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return nil
}
