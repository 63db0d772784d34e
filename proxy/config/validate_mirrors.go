package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// cache checks the [cache] table.
func (v *validator) cache() {
	c := v.c.Cache
	v.nonEmpty(c.Dir, "cache.dir")
	v.positive("cache.max_size", int64(c.MaxSize))
	v.positive("cache.max_object", int64(c.MaxObject))
	if c.MaxObject > c.MaxSize && c.MaxSize > 0 {
		v.add(fmt.Sprintf("cache.max_object: %v is larger than cache.max_size %v", c.MaxObject, c.MaxSize),
			dotID("cache.max_object"), dotID("cache.max_size"))
	}
	if c.Memory < 0 {
		v.add("cache.memory: must not be negative (0: none)", dotID("cache.memory"))
	}
	if c.StaleIfError < 0 {
		v.add("cache.stale_if_error: must not be negative", dotID("cache.stale_if_error"))
	}
	for _, t := range slices.Sorted(maps.Keys(c.TTL)) {
		id := keyID("cache", "ttl", t)
		name := displayKey([]string{"cache", "ttl", t})
		if !mediaTypeRE.MatchString(t) {
			v.add(fmt.Sprintf(`%s: %q is not a lower-case media type like "text/html", without parameters`, name, t), id, dotID("cache.ttl"))
		}
		if c.TTL[t] < 0 {
			v.add(name+": must not be negative", id, dotID("cache.ttl"))
		}
	}
	if c.Warm {
		if c.WarmEvery > 0 && c.WarmEvery.D() < MinWarmEvery {
			// "5ms" for "5m" would ask for every page back to back.
			v.add(fmt.Sprintf("cache.warm_every: %v is less than %v", c.WarmEvery, MinWarmEvery), dotID("cache.warm_every"))
		}
		v.positive("cache.warm_every", int64(c.WarmEvery))
		v.positive("cache.warm_max_items", int64(c.WarmMaxItems))
	}
	for i, p := range append(slices.Clone(c.WarmPaths), c.WarmFeeds...) {
		key := "cache.warm_paths"
		if i >= len(c.WarmPaths) {
			key = "cache.warm_feeds"
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
			v.add(fmt.Sprintf("%s: %q is not a root-relative mirror path like \"/api/\"", key, p), dotID(key))
		}
	}
}

// MinWarmEvery is the shortest cache.warm_every.
const MinWarmEvery = 10 * time.Second

// mediaTypeRE matches a lower-case type/subtype of RFC 6838's restricted
// names, without parameters or wildcards.
var mediaTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$`)

// mirrors checks the [mirrors] table.
func (v *validator) mirrors() {
	m := v.c.Mirrors
	switch {
	case m.EdgeKey != "" && m.Certificate == "":
		v.add("mirrors.certificate: must be set when mirrors.edge_key is set", dotID("mirrors.certificate"), dotID("mirrors.edge_key"))
	case m.EdgeKey == "" && m.Certificate != "":
		v.add("mirrors.certificate: of no use without mirrors.edge_key", dotID("mirrors.certificate"))
	}
	v.readable(m.EdgeKey, "mirrors.edge_key")
	if v.readable(m.Certificate, "mirrors.certificate") {
		v.readable(m.Certificate+".minisig", "mirrors.certificate")
	}
	// A main domain made from an invalid origin.site is that key's error.
	derived := m.MainDomain == MainDomainOf(v.c.Origin.Site)
	if err := checkHostName(m.MainDomain); err != nil && !(derived && checkHostName(v.c.Origin.Site) != nil) {
		v.add(fmt.Sprintf("mirrors.main_domain: %q: %v", m.MainDomain, err), dotID("mirrors.main_domain"), dotID("origin.site"))
	}
	seen := map[string]bool{}
	for i, a := range m.Alternatives {
		id := keyID("mirrors", "alternatives", fmt.Sprintf("[%d]", i))
		if err := checkAlternative(a); err != nil {
			v.add(fmt.Sprintf("mirrors.alternatives: %q: %v", a, err), id, dotID("mirrors.alternatives"))
		} else if seen[a] {
			v.add(fmt.Sprintf("mirrors.alternatives: %q is listed twice", a), id, dotID("mirrors.alternatives"))
		}
		seen[a] = true
	}
	if m.PublishDomains < 0 {
		v.add("mirrors.publish_domains: must not be negative", dotID("mirrors.publish_domains"))
	}
}

// readable checks that the file named by key, when set, can be read and
// is not empty, and reports whether it is so.
func (v *validator) readable(name, key string) bool {
	if name == "" {
		return false
	}
	b, err := os.ReadFile(name)
	switch {
	case err != nil:
		v.add(fmt.Sprintf("%s: %v", key, err), dotID(key))
	case len(b) == 0:
		v.add(fmt.Sprintf("%s: %s is empty", key, name), dotID(key))
	default:
		return true
	}
	return false
}

// checkAlternative checks an alternative address of the site: an absolute
// https:// URL, or an http:// URL of a .onion service, without user
// information or fragment.
func checkAlternative(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https" && host != "":
	case u.Scheme == "http" && strings.HasSuffix(host, ".onion"):
	default:
		return fmt.Errorf("want an https:// URL or an http:// URL of a .onion service")
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("want a URL without user information or fragment")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	return checkHostName(host)
}
