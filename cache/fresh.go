package cache

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// State is what a stored entry may be used for at a given moment.
type State int

// The states of an entry, from most to least usable.
const (
	// Miss means no entry is stored under the key.
	Miss State = iota
	// Fresh entries are served as they are.
	Fresh
	// Stale entries may be served at once while the caller revalidates
	// them in the background (RFC 5861 stale-while-revalidate).
	Stale
	// StaleIfError entries must be revalidated first; they may be served
	// only if the origin fails (RFC 5861 stale-if-error).
	StaleIfError
	// Expired entries must not be served; their validators can still make
	// the origin request conditional.
	Expired
)

var stateNames = [...]string{"MISS", "FRESH", "STALE", "STALE-IF-ERROR", "EXPIRED"}

// String returns the state's name in capitals, e.g. "STALE".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return stateNames[s]
}

// Freshness reports the state of the entry described by m at time now,
// following RFC 9111 section 4.2 (age = initial age + time resident) and
// RFC 5861.
func (m *Meta) Freshness(now time.Time) State {
	age := m.age(now)
	if age < m.Lifetime {
		return Fresh
	}
	stale := age - m.Lifetime
	if !m.MustRevalidate && stale < m.StaleWhileRevalidate {
		return Stale
	}
	if stale < m.StaleIfError {
		return StaleIfError
	}
	return Expired
}

// TTL returns how long the entry stays fresh after now (0 if it is not
// fresh): what the caller may announce to readers in max-age.
func (m *Meta) TTL(now time.Time) time.Duration {
	return max(0, m.Lifetime-m.age(now))
}

func (m *Meta) age(now time.Time) time.Duration {
	return m.Age + max(0, now.Sub(m.Stored))
}

// ErrNotStorable reports a response the cache must not keep; the error
// returned by Policy.Meta wraps it with the reason.
var ErrNotStorable = errors.New("not storable")

// DefaultStaleIfError is the stale-if-error window applied to every entry
// unless the Policy says otherwise: an old article beats an error page for
// a reader behind a block.
const DefaultStaleIfError = 7 * 24 * time.Hour

// DefaultHeaders are the response headers a Policy keeps with an entry when
// its Headers field is nil.
var DefaultHeaders = []string{
	"Content-Type", "Content-Language", "Content-Disposition", "Location", "Link",
}

// Policy turns an origin response's headers into an entry's Meta, following
// the shared-cache subset of RFC 9111 plus RFC 5861:
//
//   - no-store and private (with or without field names): not stored;
//   - lifetime from s-maxage, else max-age, else Expires minus Date; no
//     heuristic freshness (no explicit lifetime means stale at once, kept for
//     revalidation and stale-if-error);
//   - no-cache (with or without field names), must-revalidate and
//     proxy-revalidate: stored, but never served stale-while-revalidate;
//   - Vary: Accept-Encoding is handled by the entry's encoded copies; Vary
//     on a header listed in Keyed is covered by the caller's key; any other
//     Vary (including *) makes the response not storable;
//   - statuses: those RFC 9110 calls heuristically cacheable, others only
//     with an explicit lifetime; never 206 or 304.
//
// The stale-if-error window is the larger of the origin's and the Policy's
// (an operator's out-of-band permission, RFC 9111 section 4.2.4), and it
// applies even after must-revalidate, no-cache or s-maxage. Request
// directives from readers are not consulted: a reader cannot make the edge
// bypass its cache.
type Policy struct {
	// StaleIfError is the default stale-if-error window.
	StaleIfError time.Duration
	// Override maps a media type (lower case, no parameters, e.g.
	// "text/html") to a freshness lifetime that replaces the origin's
	// max-age, s-maxage, Expires and no-cache. no-store and private still
	// win.
	Override map[string]time.Duration
	// Keyed lists request headers the caller's cache key (or variant)
	// already covers; Vary on them is allowed.
	Keyed []string
	// Headers lists the response headers kept with an entry; nil means
	// DefaultHeaders.
	Headers []string
}

// DefaultPolicy returns a Policy with the default stale-if-error window and
// no overrides.
func DefaultPolicy() Policy {
	return Policy{StaleIfError: DefaultStaleIfError}
}

// Meta decides whether an origin response with the given status and headers,
// received at now, may be stored, and returns the entry's metadata. The error
// wraps ErrNotStorable with the reason.
func (p *Policy) Meta(key, variant string, status int, h http.Header, now time.Time) (Meta, error) {
	cc := parseCacheControl(h.Values("Cache-Control"))
	switch {
	case cc.noStore:
		return Meta{}, fmt.Errorf("%w: no-store", ErrNotStorable)
	case cc.private:
		return Meta{}, fmt.Errorf("%w: private", ErrNotStorable)
	}
	if v := p.badVary(h); v != "" {
		return Meta{}, fmt.Errorf("%w: Vary: %s", ErrNotStorable, v)
	}
	m := Meta{Key: key, Variant: variant, Status: status, Stored: now}
	m.Header = p.keep(h)
	m.ETag = h.Get("Etag")
	m.LastModified = h.Get("Last-Modified")
	explicit := p.freshness(&m, cc, h, now)
	if !storableStatus(status, explicit) {
		return Meta{}, fmt.Errorf("%w: status %d", ErrNotStorable, status)
	}
	return m, nil
}

// Revalidated returns the metadata of old after the origin answered a
// conditional request with 304 Not Modified and headers h at now: the kept
// headers and validators present in h replace the stored ones (RFC 9111
// section 4.3.4) and freshness is computed anew. The body is unchanged.
func (p *Policy) Revalidated(old *Meta, h http.Header, now time.Time) (Meta, error) {
	merged := old.Header.Clone()
	if merged == nil {
		merged = http.Header{}
	}
	for k, v := range h {
		merged[k] = v
	}
	for _, k := range []string{"Etag", "Last-Modified"} {
		if merged.Get(k) == "" {
			if v := old.validator(k); v != "" {
				merged.Set(k, v)
			}
		}
	}
	m, err := p.Meta(old.Key, old.Variant, old.Status, merged, now)
	if err == nil && len(h.Values("Cache-Control")) == 0 && h.Get("Expires") == "" {
		// A 304 without freshness information keeps the old lifetime.
		m.Lifetime, m.MustRevalidate = old.Lifetime, old.MustRevalidate
		m.StaleWhileRevalidate, m.StaleIfError = old.StaleWhileRevalidate, old.StaleIfError
	}
	return m, err
}

func (m *Meta) validator(k string) string {
	if k == "Etag" {
		return m.ETag
	}
	return m.LastModified
}

// freshness fills the lifetime and stale windows of m and reports whether
// the origin gave an explicit lifetime.
func (p *Policy) freshness(m *Meta, cc cacheControl, h http.Header, now time.Time) bool {
	m.Age = initialAge(h, now)
	explicit := true
	switch {
	case cc.sMaxAge >= 0:
		m.Lifetime = cc.sMaxAge
	case cc.maxAge >= 0:
		m.Lifetime = cc.maxAge
	case h.Get("Expires") != "":
		m.Lifetime = expiresLifetime(h, now)
	default:
		explicit = false
	}
	m.MustRevalidate = cc.noCache || cc.mustRevalidate
	if cc.noCache {
		m.Lifetime = 0
	}
	if d, ok := p.Override[mediaType(h.Get("Content-Type"))]; ok {
		m.Lifetime, m.MustRevalidate, m.Age, explicit = d, cc.mustRevalidate, 0, true
	}
	m.StaleWhileRevalidate = max(0, cc.swr)
	m.StaleIfError = max(p.StaleIfError, cc.sie)
	return explicit
}

// initialAge is RFC 9111's corrected initial age, taking the response
// time as the request time: max(Age, now - Date).
func initialAge(h http.Header, now time.Time) time.Duration {
	var age time.Duration
	if n, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && n > 0 {
		age = seconds(n)
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		age = max(age, now.Sub(d))
	}
	return age
}

// expiresLifetime is Expires - Date (Date defaulting to now); an invalid
// Expires means already expired.
func expiresLifetime(h http.Header, now time.Time) time.Duration {
	exp, err := http.ParseTime(h.Get("Expires"))
	if err != nil {
		return 0
	}
	date := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		date = d
	}
	return max(0, exp.Sub(date))
}

func storableStatus(status int, explicit bool) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	case 206, 304:
		return false
	}
	return explicit && status >= 200
}

// badVary returns the first Vary value the cache cannot honour, or "".
func (p *Policy) badVary(h http.Header) string {
	for _, line := range h.Values("Vary") {
		for f := range strings.SplitSeq(line, ",") {
			f = strings.TrimSpace(f)
			if f == "" || strings.EqualFold(f, "Accept-Encoding") || p.keyed(f) {
				continue
			}
			return f
		}
	}
	return ""
}

func (p *Policy) keyed(name string) bool {
	for _, k := range p.Keyed {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func (p *Policy) keep(h http.Header) http.Header {
	names := p.Headers
	if names == nil {
		names = DefaultHeaders
	}
	out := http.Header{}
	for _, k := range names {
		if v := h.Values(k); len(v) > 0 {
			out[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
	}
	return out
}

// mediaType returns the lower-case media type of a Content-Type value.
func mediaType(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// cacheControl holds the response directives the cache obeys; durations
// are -1 when absent.
type cacheControl struct {
	noStore, private, noCache, mustRevalidate bool
	maxAge, sMaxAge, swr, sie                 time.Duration
}

func parseCacheControl(lines []string) cacheControl {
	cc := cacheControl{maxAge: -1, sMaxAge: -1, swr: -1, sie: -1}
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			cc.set(strings.ToLower(strings.TrimSpace(name)), strings.Trim(strings.TrimSpace(val), `"`))
		}
	}
	return cc
}

func (cc *cacheControl) set(name, val string) {
	switch name {
	case "no-store":
		cc.noStore = true
	case "private":
		cc.private = true
	case "no-cache":
		cc.noCache = true
	case "must-revalidate", "proxy-revalidate":
		cc.mustRevalidate = true
	case "max-age":
		setDelta(&cc.maxAge, val)
	case "s-maxage":
		setDelta(&cc.sMaxAge, val)
	case "stale-while-revalidate":
		setDelta(&cc.swr, val)
	case "stale-if-error":
		setDelta(&cc.sie, val)
	}
}

// setDelta parses delta-seconds into *d unless *d is already set (the
// first occurrence wins); an invalid value counts as 0, which errs on the
// side of revalidating.
func setDelta(d *time.Duration, val string) {
	if *d >= 0 {
		return
	}
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n < 0 {
		n = 0
	}
	*d = seconds(n)
}

// seconds converts delta-seconds to a Duration, saturating at about 68
// years (RFC 9111 section 1.2.2 allows capping at 2^31 seconds).
func seconds(n int64) time.Duration {
	return time.Duration(min(n, 1<<31)) * time.Second
}
