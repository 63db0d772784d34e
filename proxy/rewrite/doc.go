package rewrite

import (
	"net/url"
	"strings"
)

// A Doc describes one document being rewritten: which mapping applies, the
// origin URL the document came from (root-relative references in it resolve
// against that URL's host) and whether rewritten URLs are to be absolute.
type Doc struct {
	Mapper *Mapper
	// Base is the origin URL of the document (or the URL set by its
	// <base href>). It must be an origin URL.
	Base *url.URL
	// Absolute, when not empty, is the mirror origin ("https://mirror.example")
	// that rewritten URLs are made absolute on. Feeds and sitemaps need it;
	// everything else leaves it empty and gets root-relative paths.
	Absolute string
	// Footer, when not empty, is HTML inserted once before the </body> of
	// a top-level HTML document (not in fragments loaded by script, which
	// have no </body>): the mirror's "if this address stops working" link.
	Footer string

	keepAll bool // tests only: map URLs but apply no privacy rule
}

// NewDoc returns a Doc for a document fetched from base.
func NewDoc(m *Mapper, base *url.URL) *Doc {
	return &Doc{Mapper: m, Base: base}
}

// baseRoot is the mirror root of the document's own host: "" for the primary
// site, "/_z/host" for the others.
func (d *Doc) baseRoot() string {
	h, ok := normalizeHost(d.Base.Host)
	if !ok || !d.Mapper.hosts[h] {
		return ""
	}
	return d.Mapper.MirrorRoot(h)
}

// hostRoot is the mirror root for URLs on host found in this document. In
// a document of a secondary host, URLs of the primary site get the
// explicit prefix /_z/site, because the edge routes unprefixed requests
// made from such pages back to their own host (see proxy's script routing).
func (d *Doc) hostRoot(host string) string {
	if host == d.Mapper.site && d.baseRoot() != "" {
		return d.Mapper.roots[host]
	}
	return d.Mapper.MirrorRoot(host)
}

// URL rewrites one URL reference as found in an attribute such as href or
// src. Absolute and protocol-relative URLs on an origin host become mirror
// paths; root-relative paths of a document from a secondary host get that
// host's prefix; relative references and URLs to other sites are returned
// unchanged. Surrounding white space is kept.
func (d *Doc) URL(ref string) string {
	start, end := trimSpace(ref)
	v := ref[start:end]
	if v == "" {
		return ref
	}
	out, changed := d.url(BrowserRef(v))
	if !changed {
		return ref // as the browser reads it, no URL to map: left as written
	}
	return ref[:start] + out + ref[end:]
}

// BrowserRef returns a URL reference as a browser reads it where it
// differs from a plain reading, so that what the rewriter judges and
// writes is what the browser will fetch: tabs and newlines are dropped
// wherever they are, and a run of two or more slashes or backslashes that
// starts the reference, or follows "http:" or "https:", is "//" ("\/host",
// "/\host", "///host" and "https:\\\\host" all name host). Other
// backslashes are left to the readers (JSON escapes, CSS escapes).
func BrowserRef(v string) string {
	if strings.ContainsAny(v, "\t\n\r") {
		v = dropTabsAndNewlines.Replace(v)
	}
	i, j := slashRun(v)
	if j-i < 2 || v[i:j] == "//" {
		return v
	}
	return v[:i] + "//" + v[j:]
}

// slashRun returns the bounds of the run of slashes and backslashes that
// starts v, or follows its "http:" or "https:" (in any case).
func slashRun[T string | []byte](v T) (i, j int) {
	for _, scheme := range [...]string{"https:", "http:"} {
		if foldPrefix(v, scheme) {
			i = len(scheme)
			break
		}
	}
	j = i
	for j < len(v) && isSlash(v[j]) {
		j++
	}
	return i, j
}

// foldPrefix reports whether v starts with prefix, a lower-case ASCII
// string, in any case.
func foldPrefix[T string | []byte](v T, prefix string) bool {
	if len(v) < len(prefix) {
		return false
	}
	for k := range len(prefix) {
		if lowerASCII(v[k]) != prefix[k] {
			return false
		}
	}
	return true
}

var dropTabsAndNewlines = strings.NewReplacer("\t", "", "\n", "", "\r", "")

func (d *Doc) url(v string) (string, bool) {
	if n, root, ok := d.originPrefix(v, 0); ok {
		return d.Absolute + joinRoot(root, v[n:]) + v[n:], true
	}
	if isSlash(v[0]) && (len(v) == 1 || !isSlash(v[1])) {
		root := d.baseRoot()
		if root == "" && d.Absolute == "" {
			return v, false
		}
		return d.Absolute + root + v, true
	}
	if d.Absolute != "" && !hasScheme(v) && v[0] != '#' {
		ref, err := url.Parse(v)
		if err != nil {
			return v, false
		}
		if p, ok := d.Mapper.MirrorPath(d.Base.ResolveReference(ref)); ok {
			return d.Absolute + p, true
		}
	}
	return v, false
}

// Embedded rewrites every absolute or protocol-relative origin URL found
// anywhere in s: in a script's string literal, a JSON value, a data-*
// attribute or a feed's text. The JSON escaping "https:\/\/host\/" is
// recognised and kept. Root-relative paths are left alone, since in free
// text a leading slash does not mark a URL.
func (d *Doc) Embedded(s string) string {
	if !strings.ContainsAny(s, `/\`) {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != 'h' && s[i] != 'H' && s[i] != '/' && s[i] != '\\' {
			continue
		}
		if (s[i] == '/' || s[i] == '\\') && i > 0 && isSchemeByte(s[i-1]) {
			continue // part of scheme:// handled at the scheme, or a path
		}
		n, root, ok := d.originPrefix(s, i)
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[last:i])
		rest := s[i+n:]
		b.WriteString(d.Absolute)
		root = joinRoot(root, rest)
		if strings.Contains(s[i:i+n], `\/`) {
			root = strings.ReplaceAll(root, "/", `\/`)
		}
		b.WriteString(root)
		last = i + n
		i = last - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// originPrefix looks at s[i:] for "http://host", "https://host" or "//host"
// (slashes may be written "\/" or "\"), where host is an origin host with an
// optional port. It returns the length of that prefix and the mirror root
// it stands for.
func (d *Doc) originPrefix(s string, i int) (n int, root string, ok bool) {
	j := i
	if j < len(s) && (s[j] == 'h' || s[j] == 'H') {
		switch {
		case hasFoldPrefix(s[j:], "https:"):
			j += 6
		case hasFoldPrefix(s[j:], "http:"):
			j += 5
		default:
			return 0, "", false
		}
		if i > 0 && isSchemeByte(s[i-1]) && s[i-1] != ':' {
			return 0, "", false // e.g. "xhttps://": not a scheme start
		}
	}
	j, ok = skipSlashPair(s, j)
	if !ok {
		return 0, "", false
	}
	hostStart := j
	for j < len(s) && isHostByte(s[j]) {
		j++
	}
	host := strings.ToLower(s[hostStart:j])
	host = strings.TrimSuffix(host, ".")
	if j < len(s) && s[j] == ':' {
		k := j + 1
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if port := s[j+1 : k]; port != "443" && port != "80" && port != "" {
			return 0, "", false
		}
		j = k
	}
	if j < len(s) && (s[j] == '@' || isHostByte(s[j])) {
		return 0, "", false // user info, or a longer name
	}
	if !d.Mapper.hosts[host] {
		return 0, "", false
	}
	return j - i, d.hostRoot(host), true
}

// skipSlashPair skips "//", "\/\/" or any mix of / and \ that a browser
// reads as two slashes, starting at s[j].
func skipSlashPair(s string, j int) (int, bool) {
	for range 2 {
		switch {
		case strings.HasPrefix(s[j:], `\/`):
			j += 2
		case j < len(s) && (s[j] == '/' || s[j] == '\\'):
			j++
		default:
			return 0, false
		}
	}
	return j, true
}

// joinRoot returns what stands for "scheme://host" in a mirror path, given
// the mirror root of the host and the text after it: the root, plus "/"
// when rest does not start a path, so that "https://host?q" becomes "/?q"
// and "https://host" becomes "/". When rest starts with two slashes and
// the root is empty, it adds "/." so that "https://site//other.host/x" does
// not become the protocol-relative "//other.host/x".
func joinRoot(root, rest string) string {
	if rest == "" || !isSlash(rest[0]) {
		return root + "/"
	}
	if _, ok := skipSlashPair(rest, 0); ok && root == "" {
		return "/."
	}
	return root
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.' || c == ':'
}

// hasScheme reports whether v starts with "scheme:".
func hasScheme(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ':':
			return i > 0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return false
}

// trimSpace returns the bounds of s without leading and trailing ASCII
// white space, the way browsers strip URL attributes.
func trimSpace(s string) (int, int) {
	start, end := 0, len(s)
	for start < end && isSpace(s[start]) {
		start++
	}
	for end > start && isSpace(s[end-1]) {
		end--
	}
	return start, end
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}
