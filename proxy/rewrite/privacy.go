package rewrite

import (
	"bytes"
	"html"
	"net/url"
	"strings"
)

// urlClass says where a browser would go for a URL reference.
type urlClass uint8

const (
	urlLocal   urlClass = iota // the mirror (origin family, relative) or the browser itself (data:, blob:, ...)
	urlForeign                 // another site
	urlTracker                 // a tracker, on any host: the rules name it
)

// rules returns the document's rules, the built-in ones when the Mapper
// carries none.
func (d *Doc) rules() *Rules {
	if d.Mapper.rules != nil {
		return d.Mapper.rules
	}
	return DefaultRules()
}

// classify says where a browser would fetch the URL reference ref from.
func (d *Doc) classify(ref string) urlClass {
	s, e := trimSpace(ref)
	v := BrowserRef(ref[s:e])
	if v == "" || v[0] == '#' || v[0] == '?' {
		return urlLocal
	}
	host, rest, ok := splitHost(v)
	if !ok {
		if hasScheme(v) {
			return schemeClass(v)
		}
		if !isSlash(v[0]) {
			return urlLocal // relative: same host, path rules need a root
		}
		host, _ = normalizeHost(d.Base.Host)
		rest = v
	}
	if d.rules().BlocksURL(host, rest) {
		return urlTracker
	}
	if d.Mapper.hosts[host] {
		return urlLocal
	}
	return urlForeign
}

// plainHost reads the start of v the simple way: "https://", "http://"
// or "//" (in any case), then a host in lower case, without port, user
// info or trailing dot, which ends v or is followed by '/', '?' or '#'.
// It returns the bounds of the host, v[i:end]. ok is false for anything
// else (an upper-case host, a port, backslashes, ...), which splitHost and
// originPrefix read; for what it reads, they find the same host, and
// originPrefix, for an origin host, a prefix of length end.
func plainHost(v []byte) (i, end int, ok bool) {
	switch {
	case hasPrefixFoldASCII(v, "https://"):
		i = len("https://")
	case hasPrefixFoldASCII(v, "http://"):
		i = len("http://")
	case hasPrefixFoldASCII(v, "//"):
		i = len("//")
	default:
		return 0, 0, false
	}
	end = i
	for end < len(v) && isLowerHostByte(v[end]) {
		end++
	}
	if end == i || v[end-1] == '.' || end < len(v) && v[end] != '/' && v[end] != '?' && v[end] != '#' {
		return 0, 0, false
	}
	return i, end, true
}

// isLowerHostByte reports whether c may be part of a host name that
// splitHost reads as it is: a lower-case letter, a digit, '-' or '.'.
func isLowerHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// schemeClass classifies a URL with a scheme other than http(s).
func schemeClass(v string) urlClass {
	scheme, _, _ := strings.Cut(v, ":")
	switch strings.ToLower(scheme) {
	case "data", "blob", "about", "javascript", "mailto", "tel", "sms", "cid":
		return urlLocal
	}
	return urlForeign
}

// splitHost splits an absolute http(s) or protocol-relative URL into its
// host (lower case, without port, trailing dot and user info) and the rest
// (path, query, fragment). ok is false for any other reference.
func splitHost(v string) (host, rest string, ok bool) {
	i := 0
	switch {
	case hasFoldPrefix(v, "https:"):
		i = 6
	case hasFoldPrefix(v, "http:"):
		i = 5
	}
	j, ok := skipSlashPair(v, i)
	if !ok {
		return "", "", false
	}
	end := j
	for end < len(v) && v[end] != '/' && v[end] != '\\' && v[end] != '?' && v[end] != '#' {
		end++
	}
	h := v[j:end]
	if at := strings.LastIndexByte(h, '@'); at >= 0 {
		h = h[at+1:]
	}
	if c := strings.LastIndexByte(h, ':'); c >= 0 && !strings.Contains(h[c:], "]") {
		h = h[:c]
	}
	if !isLowerHost(h) {
		h = strings.ToLower(h)
	}
	return strings.TrimSuffix(h, "."), v[end:], true
}

// shareLink reports whether a link carries an origin URL, URL-encoded, in
// a query value: a share link (facebook.com/sharer.php?u=…, mailto:?body=…)
// that would hand the origin's address, not the mirror's, to whoever
// receives it.
func (d *Doc) shareLink(v string) bool {
	_, q, ok := strings.Cut(v, "?")
	if !ok || !(strings.Contains(q, "%3") || strings.Contains(q, "://")) {
		return false
	}
	if i := strings.IndexByte(q, '#'); i >= 0 {
		q = q[:i]
	}
	for p := range strings.SplitSeq(q, "&") {
		_, val, _ := strings.Cut(p, "=")
		u, err := url.QueryUnescape(val)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(u) {
			if host, _, ok := splitHost(f); ok && (hasFoldPrefix(f, "http") || hasFoldPrefix(f, "//")) && d.Mapper.hosts[host] {
				return true
			}
		}
	}
	return false
}

// stripParams removes tracking parameters from a link's query.
func (d *Doc) stripParams(v string) string {
	i := strings.IndexByte(v, '?')
	if i < 0 {
		return v
	}
	q, frag := v[i+1:], ""
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q, frag = q[:j], q[j:]
	}
	nq := d.rules().StripParams(q)
	if nq == q {
		return v
	}
	if nq == "" {
		return v[:i] + frag
	}
	return v[:i+1] + nq + frag
}

// embedLink returns the provider name and a plain link to the original
// for a third-party embed URL, or "" when no embed rule knows its host.
// With inScript, the URL must also have an embed path of the provider.
func (d *Doc) embedLink(v string, inScript bool) (name, link string) {
	host, rest, ok := splitHost(strings.TrimSpace(v))
	if !ok {
		return "", ""
	}
	e := d.rules().embedFor(host)
	if e == nil || inScript && !containsAny(rest, e.Paths) {
		return "", ""
	}
	return e.Name, e.linkFor(v)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// linkFor derives the link to the original from an embed URL.
func (e *embed) linkFor(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "//") {
		v = "https:" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	if e.IDAfter != "" {
		if _, after, ok := strings.Cut(u.Path, e.IDAfter); ok {
			id, _, _ := strings.Cut(after, "/")
			if id != "" {
				return e.Link + url.PathEscape(id)
			}
		}
	}
	if e.LinkParam != "" {
		if p := u.Query().Get(e.LinkParam); hasFoldPrefix(p, "https:") || hasFoldPrefix(p, "http:") {
			return p
		}
	}
	u.Scheme = "https"
	return u.String()
}

// postLink returns the link of a widget script that names its post in an
// attribute (Telegram's data-telegram-post="channel/123").
func (d *Doc) postLink(src, post string) (name, link string) {
	host, _, ok := splitHost(strings.TrimSpace(src))
	if !ok {
		return "", ""
	}
	e := d.rules().embedFor(host)
	if e == nil || e.PostAttr == "" || post == "" {
		return "", ""
	}
	for i := 0; i < len(post); i++ {
		if c := post[i]; !isJSIdent(c) && c != '/' && c != '-' {
			return "", ""
		}
	}
	return e.Name, e.Link + post
}

// placeholder is the static stand-in for an embed: a plain link to the
// original, which loads nothing until the reader follows it.
func placeholder(name, link string) string {
	if link == "" {
		return ""
	}
	label := "Open on " + name
	if name == "" {
		host, _, _ := splitHost(link)
		label = "Open on " + host
	}
	return `<div class="zerkalo-embed"><a href="` + html.EscapeString(link) +
		`" target="_blank" rel="noopener noreferrer">` + html.EscapeString(label) + `</a></div>`
}

// embedInScript finds the first embed URL in an inline script's text and
// returns its placeholder, or "".
func (d *Doc) embedInScript(text []byte) string {
	r := d.rules()
	for off := 0; off < len(text); {
		i := bytes.Index(text[off:], []byte("//"))
		if i < 0 {
			return ""
		}
		i += off
		off = i + 2
		h := off
		for h < len(text) && isHostByte(text[h]) {
			h++
		}
		var lb [253]byte
		if h-off > len(lb) || !r.embedHost(lowerInto(lb[:0], text[off:h])) {
			continue
		}
		start := i
		if start >= 6 && equalFoldASCII(text[start-6:start], []byte("https:")) {
			start -= 6
		} else if start >= 5 && equalFoldASCII(text[start-5:start], []byte("http:")) {
			start -= 5
		}
		end := h
		for end < len(text) && bytes.IndexByte([]byte("\"'`\\ \t\r\n<>)"), text[end]) < 0 {
			end++
		}
		if name, link := d.embedLink(string(text[start:end]), true); link != "" {
			return placeholder(name, link)
		}
	}
	return ""
}

// isLowerHost reports whether h has no upper-case ASCII letter.
func isLowerHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return false
		}
	}
	return true
}
