package rewrite

import (
	"net/http"
	"strings"
)

// urlHeaders hold a single URL reference.
var urlHeaders = []string{"Location", "Content-Location"}

// originHeaders name an origin that only made sense on the origin's own host;
// on the mirror everything is same-origin, so they are dropped when they name
// an origin host.
var originHeaders = []string{"Access-Control-Allow-Origin", "Timing-Allow-Origin"}

// Header rewrites, in place, the URL-bearing response headers of an origin
// response: Location, Content-Location, Link, Refresh, Set-Cookie (Domain
// removed so the cookie belongs to the mirror host, Path mapped to the
// mirror path) and CORS headers naming an origin host.
//
// A Location pointing outside the origin family is left as it is; the caller
// decides what to do with it (see Mapper.IsOrigin).
func (d *Doc) Header(h http.Header) {
	for _, k := range urlHeaders {
		if v := h.Get(k); v != "" {
			h.Set(k, d.URL(v))
		}
	}
	if vs := h.Values("Link"); len(vs) > 0 {
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			if v = d.linkHeader(d.keptLinks(v)); v != "" {
				out = append(out, v)
			}
		}
		h.Del("Link")
		if len(out) > 0 {
			h["Link"] = out
		}
	}
	if v := h.Get("Refresh"); v != "" {
		h.Set("Refresh", d.Refresh(v))
	}
	if vs := h.Values("Set-Cookie"); len(vs) > 0 {
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			name, _, _ := strings.Cut(v, "=")
			if d.rules().BlocksCookie(strings.TrimSpace(name)) {
				continue // an analytics cookie
			}
			out = append(out, d.SetCookie(v))
		}
		h.Del("Set-Cookie")
		if len(out) > 0 {
			h["Set-Cookie"] = out
		}
	}
	for _, k := range originHeaders {
		for _, v := range h.Values(k) {
			if v != "*" && v != "null" && d.Embedded(v) != v {
				h.Del(k)
				break
			}
		}
	}
}

// keptLinks returns an RFC 8288 Link header value without the links the
// privacy rules remove: connection hints (preconnect, dns-prefetch), which
// the browser follows from headers before any CSP applies, and links that
// load from a tracker or from outside the origin family.
func (d *Doc) keptLinks(v string) string {
	var kept []string
	changed := false
	for _, l := range splitLinks(v) {
		s, e := strings.IndexByte(l, '<'), strings.IndexByte(l, '>')
		if s < 0 || e < s {
			kept = append(kept, l)
			continue
		}
		hint, load := linkRel([]byte(linkParam(l[e+1:], "rel")))
		c := d.classify(l[s+1 : e])
		if hint || c == urlTracker || c == urlForeign && load {
			changed = true
			continue
		}
		kept = append(kept, l)
	}
	if !changed {
		return v
	}
	return strings.Join(kept, ", ")
}

// splitLinks splits a Link header value at the commas between links.
func splitLinks(v string) []string {
	var out []string
	inURL, quoted, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inURL:
			inURL = c != '>'
		case quoted:
			quoted = c != '"'
		case c == '<':
			inURL = true
		case c == '"':
			quoted = true
		case c == ',':
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// linkParam returns the value of a link's parameter, such as rel.
func linkParam(params, name string) string {
	for p := range strings.SplitSeq(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	return ""
}

// linkHeader rewrites every <URI-reference> of an RFC 8288 Link header.
func (d *Doc) linkHeader(v string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(v[:i+1])
		b.WriteString(d.URL(v[i+1 : i+j]))
		v = v[i+j:]
	}
	b.WriteString(v)
	return b.String()
}

// RefreshURL returns the bounds of the URL in a Refresh header or
// <meta http-equiv=refresh> content value such as "5; url=/x", following
// the HTML standard's declarative refresh steps; start == end when there
// is none.
func RefreshURL(v string) (start, end int) { return refreshURL(v) }

// Refresh rewrites the URL of a Refresh header or of a
// <meta http-equiv=refresh> content value: "5; url=https://host/x".
func (d *Doc) Refresh(v string) string {
	lower := strings.ToLower(v)
	i := strings.Index(lower, "url")
	if i < 0 {
		return v
	}
	j := i + 3
	for j < len(v) && isSpace(v[j]) {
		j++
	}
	if j >= len(v) || v[j] != '=' {
		return v
	}
	j++
	for j < len(v) && isSpace(v[j]) {
		j++
	}
	rest := v[j:]
	quote := ""
	if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
		quote = rest[:1]
		rest = rest[1:]
	}
	end := len(rest)
	if quote != "" {
		if k := strings.IndexByte(rest, quote[0]); k >= 0 {
			end = k
		}
	}
	return v[:j] + quote + d.URL(rest[:end]) + rest[end:]
}

// SetCookie rewrites one Set-Cookie header value: the Domain attribute is
// removed (the cookie becomes host-only on the mirror) and the Path is
// mapped into the mirror path of the document's origin host.
func (d *Doc) SetCookie(v string) string {
	parts := strings.Split(v, ";")
	out := parts[:1]
	root := d.baseRoot()
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "domain":
			continue
		case "path":
			if strings.HasPrefix(val, "/") {
				p = " Path=" + root + val
			}
		}
		out = append(out, p)
	}
	return strings.Join(out, ";")
}
