package cache

import (
	"net/url"
	"slices"
	"strings"
)

// Key returns the cache key of an origin URL:
//
//	scheme://host[:port]/escaped/path?sorted&query
//
// Scheme and host are lower-cased and a default port (:80 for http, :443
// for https) is dropped; an empty path becomes "/"; the fragment and
// user information are dropped. The query keeps its raw bytes (no
// re-encoding, so the key names exactly what the origin receives), drops
// the parameters Dropped reports (Pangea's cache-busting nocache and
// tracking parameters) and empty pairs, and is sorted by parameter name,
// keeping the original order among repeated names. Asset version
// parameters (v, cb, av, x, cv, ...) and all other parameters are kept.
func Key(u *url.URL) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(u.Scheme))
	b.WriteString("://")
	b.WriteString(hostKey(strings.ToLower(u.Scheme), strings.ToLower(u.Host)))
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b.WriteString(p)
	pairs := queryPairs(u.RawQuery)
	slices.SortStableFunc(pairs, func(a, b string) int { return strings.Compare(paramName(a), paramName(b)) })
	for i, kv := range pairs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kv)
	}
	return b.String()
}

// StripQuery returns rawQuery without the parameters Dropped reports and
// without empty pairs, in the original order, for the origin request
// (Pangea's nocache=1 bypasses its CDN, so it must not reach the origin).
func StripQuery(rawQuery string) string {
	return strings.Join(queryPairs(rawQuery), "&")
}

// Dropped reports whether a query parameter (decoded name) is left out of
// cache keys and origin requests: Pangea's cache bypass "nocache" and
// tracking parameters (utm_*, fbclid, gclid, yclid, _ga, _gl, mc_cid,
// mc_eid, ...). Matching ignores case.
func Dropped(name string) bool {
	n := strings.ToLower(name)
	if strings.HasPrefix(n, "utm_") {
		return true
	}
	switch n {
	case "nocache", "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid",
		"yclid", "ysclid", "msclkid", "twclid", "ttclid", "igshid", "_ga", "_gl",
		"mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
		"vero_id", "rb_clickid", "s_cid", "wickedid":
		return true
	}
	return false
}

// queryPairs splits a raw query into its kept raw pairs.
func queryPairs(raw string) []string {
	if raw == "" {
		return nil
	}
	var out []string
	for kv := range strings.SplitSeq(raw, "&") {
		if kv == "" || Dropped(paramName(kv)) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// paramName returns the decoded name of a raw "name=value" pair (the raw
// name if it does not decode).
func paramName(kv string) string {
	name, _, _ := strings.Cut(kv, "=")
	if d, err := url.QueryUnescape(name); err == nil {
		return d
	}
	return name
}

func hostKey(scheme, host string) string {
	if h, ok := strings.CutSuffix(host, ":443"); ok && scheme == "https" {
		return h
	}
	if h, ok := strings.CutSuffix(host, ":80"); ok && scheme == "http" {
		return h
	}
	return host
}
