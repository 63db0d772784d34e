package config

import (
	"zerkalo/proxy/rewrite"

	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks that the configuration makes sense: addresses parse, host
// names are valid, files exist and hold what they should, durations and
// sizes are positive. It returns nil or one *Error per problem, joined in
// line order; for a loaded configuration each names the file and the line
// of the key at fault. Load calls it.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.listen()
	v.domains()
	v.httpListen()
	v.adminListen()
	v.nonEmpty(c.StateDir, "state_dir")
	v.logLevel()
	v.memory()
	v.tls()
	v.acme()
	v.origin()
	v.cache()
	v.mirrors()
	v.privacy()
	return sortErrors(v.errs)
}

// Bounds of gc_percent and memory_limit.
const (
	MaxGCPercent   = 100000   // 1000 times Go's default
	MinMemoryLimit = 64 << 20 // far below it, the collector never rests
)

// validator collects the problems of one configuration.
type validator struct {
	c    *Config
	errs []error
}

// add records a problem with the key at id, or, when the file does not set
// it, with the first of the fallback keys that it sets.
func (v *validator) add(msg string, ids ...string) {
	v.errs = append(v.errs, v.c.errorAt(msg, ids...))
}

func (v *validator) nonEmpty(val, key string) {
	if val == "" {
		v.add(key+": must not be empty", dotID(key))
	}
}

func (v *validator) memory() {
	// Go keeps GOGC in an int32: a larger gc_percent would wrap around,
	// to a negative value that turns the collector off.
	if p := v.c.GCPercent; p < 10 || p > MaxGCPercent {
		v.add(fmt.Sprintf("gc_percent: %d: must be from 10 to %d (100 is Go's default)", p, MaxGCPercent), "gc_percent")
	}
	switch l := v.c.MemoryLimit; {
	case l < 0:
		v.add("memory_limit: must not be negative (0: none)", "memory_limit")
	case l > 0 && l < MinMemoryLimit:
		// Below the live heap the collector runs all the time: a
		// limit of 768 meant "768MiB", not 768 bytes.
		v.add(fmt.Sprintf("memory_limit: %v is less than %v; write a size like \"768MiB\" (0: none)", l, Size(MinMemoryLimit)), "memory_limit")
	}
}

func (v *validator) listen() {
	if err := checkHostPort(v.c.Listen, true); err != nil {
		v.add(fmt.Sprintf("listen: %q: %v", v.c.Listen, err), "listen")
	}
}

func (v *validator) domains() {
	c := v.c
	if len(c.DomainList) == 0 {
		v.add("domains: at least one mirror domain is needed", "domains")
	}
	seen := map[string]bool{}
	for i, d := range c.DomainList {
		id := keyID("domains", fmt.Sprintf("[%d]", i))
		nameID := keyID("domains", fmt.Sprintf("[%d]", i), "name")
		switch err := checkHostName(d.Name); {
		case d.Name == "":
			v.add(`domains: a domain table needs a name, like { name = "m2.example" }`, id, "domains")
		case err != nil:
			v.add(fmt.Sprintf("domains: %q: %v", d.Name, err), nameID, id, "domains")
		case seen[d.Name]:
			v.add(fmt.Sprintf("domains: %q is listed twice", d.Name), nameID, id, "domains")
		}
		seen[d.Name] = true
		if !d.From.IsZero() && !d.Until.IsZero() && !d.Until.After(d.From) {
			v.add(fmt.Sprintf("domains: %q: until %s is not after from %s", d.Name, d.Until.Format(time.RFC3339), d.From.Format(time.RFC3339)),
				keyID("domains", fmt.Sprintf("[%d]", i), "until"), id, "domains")
		}
	}
}

// httpListen checks the optional plain-HTTP listener.
func (v *validator) httpListen() {
	a := v.c.HTTPListen
	if a == "" {
		return
	}
	if err := checkHostPort(a, true); err != nil {
		v.add(fmt.Sprintf("http_listen: %q: %v", a, err), "http_listen")
	} else if a == v.c.Listen {
		v.add(fmt.Sprintf("http_listen: %q is also listen", a), "http_listen")
	}
}

// adminListen checks the optional listener of the operator's endpoints,
// which must not be one that readers reach. Port 0 (any free port) is
// never the same address as another.
func (v *validator) adminListen() {
	a := v.c.AdminListen
	if a == "" {
		return
	}
	if err := checkHostPort(a, true); err != nil {
		v.add(fmt.Sprintf("admin_listen: %q: %v", a, err), "admin_listen")
		return
	}
	if _, port, _ := net.SplitHostPort(a); port == "0" {
		return
	}
	for _, o := range []struct{ key, addr string }{{"listen", v.c.Listen}, {"http_listen", v.c.HTTPListen}} {
		if a == o.addr {
			v.add(fmt.Sprintf("admin_listen: %q is also %s", a, o.key), "admin_listen", o.key)
		}
	}
}

func (v *validator) logLevel() {
	switch v.c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.add(fmt.Sprintf("log_level: %q is not one of debug, info, warn, error", v.c.LogLevel), "log_level")
	}
}

func (v *validator) tls() {
	t := v.c.TLS
	switch t.Mode {
	case "self-signed":
		return
	case "files":
		v.keyPair()
	case "acme":
		v.acmeDomains()
	default:
		v.add(fmt.Sprintf(`tls.mode: %q is not one of "self-signed", "files", "acme"`, t.Mode), dotID("tls.mode"))
	}
}

// keyPair checks the certificate and key files of tls.mode "files".
func (v *validator) keyPair() {
	t := v.c.TLS
	cert := v.readFile(t.CertFile, "tls.cert_file")
	key := v.readFile(t.KeyFile, "tls.key_file")
	if cert == nil || key == nil {
		return
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		v.add(fmt.Sprintf("tls.cert_file, tls.key_file: %v", err), dotID("tls.cert_file"), dotID("tls.key_file"), dotID("tls.mode"))
	}
}

// readFile reads the file named by key, or records why it cannot. The
// problem of a missing name is put on tls.mode when the key is not set.
func (v *validator) readFile(name, key string) []byte {
	if name == "" {
		v.add(key+`: must be set for tls.mode "files"`, dotID(key), dotID("tls.mode"))
		return nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		v.add(fmt.Sprintf("%s: %v", key, err), dotID(key))
		return nil
	}
	return b
}

// acmeDomains checks that every domain can get a certificate from a
// public certificate authority.
func (v *validator) acmeDomains() {
	for i, d := range v.c.DomainList {
		if d.Name != "" && !strings.Contains(d.Name, ".") {
			id := keyID("domains", fmt.Sprintf("[%d]", i))
			v.add(fmt.Sprintf(`domains: %q cannot get a certificate with tls.mode "acme": a public DNS name is needed`, d.Name),
				keyID("domains", fmt.Sprintf("[%d]", i), "name"), id, "domains", dotID("tls.mode"))
		}
	}
}

// acme checks the [acme] table, whatever tls.mode is.
func (v *validator) acme() {
	a := v.c.ACME
	if u, err := url.Parse(a.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
		v.add(fmt.Sprintf("acme.directory: %q is not an https:// URL", a.Directory), dotID("acme.directory"))
	}
	if a.Email != "" {
		local, domain, ok := strings.Cut(a.Email, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsFunc(a.Email, func(r rune) bool { return r <= ' ' || r == 0x7f || r == ',' }) {
			v.add(fmt.Sprintf("acme.email: %q is not an e-mail address", a.Email), dotID("acme.email"))
		}
	}
	if a.RenewBefore < 0 {
		v.add("acme.renew_before: must not be negative", dotID("acme.renew_before"))
	}
	v.pemFile(a.CAFile, "acme.ca_file")
}

func (v *validator) origin() {
	o := v.c.Origin
	if err := checkHostName(o.Site); err != nil {
		v.add(fmt.Sprintf("origin.site: %q: %v", o.Site, err), dotID("origin.site"))
	}
	for i, h := range o.Hosts {
		if h == o.Site {
			continue // checked above
		}
		if err := checkHostName(h); err != nil {
			v.add(fmt.Sprintf("origin.hosts: %q: %v", h, err), keyID("origin", "hosts", fmt.Sprintf("[%d]", i)), dotID("origin.hosts"))
		}
	}
	for i, d := range v.c.DomainList.Names() {
		di := keyID("domains", fmt.Sprintf("[%d]", i))
		if d == o.Site {
			v.add(fmt.Sprintf("origin.site: %q is also a mirror domain", d), dotID("origin.site"), di+"\x00name", di, "domains")
		} else if j := slices.Index(o.Hosts, d); j >= 0 {
			v.add(fmt.Sprintf("origin.hosts: %q is also a mirror domain", d), keyID("origin", "hosts", fmt.Sprintf("[%d]", j)), dotID("origin.hosts"), di+"\x00name", di, "domains")
		}
	}
	v.resolve()
	v.caFile()
	v.positive("origin.timeout", int64(o.Timeout))
	v.positive("origin.connect_timeout", int64(o.ConnectTimeout))
	v.positive("origin.max_body", int64(o.MaxBody))
	if r := o.RateLimit; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		v.add(fmt.Sprintf("origin.rate_limit: %v is not a number of fetches per second >= 0 (0: no cap)", r), dotID("origin.rate_limit"))
	}
	if o.MaxFetches < 0 {
		v.add("origin.max_fetches: must not be negative (0: no cap)", dotID("origin.max_fetches"))
	}
	if o.UserAgent == "" || strings.ContainsFunc(o.UserAgent, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		v.add(fmt.Sprintf("origin.user_agent: %q is empty or holds control characters", o.UserAgent), dotID("origin.user_agent"))
	}
}

func (v *validator) resolve() {
	hosts := v.c.Hosts()
	for _, h := range slices.Sorted(maps.Keys(v.c.Origin.Resolve)) {
		id := keyID("origin", "resolve", h)
		name := displayKey([]string{"origin", "resolve", h})
		if h != "*" && slices.Index(hosts, h) < 0 {
			v.add(fmt.Sprintf(`%s: %q is not an origin host (origin.site or origin.hosts) or "*"`, name, h), id, dotID("origin.resolve"))
		}
		addr := v.c.Origin.Resolve[h]
		if err := checkHostPort(addr, false); err != nil {
			v.add(fmt.Sprintf("%s: %q: %v", name, addr, err), id, dotID("origin.resolve"))
		}
	}
}

func (v *validator) caFile() { v.pemFile(v.c.Origin.CAFile, "origin.ca_file") }

// pemFile checks that the file named by key, when set, holds PEM
// certificates.
func (v *validator) pemFile(name, key string) {
	if name == "" {
		return
	}
	b, err := os.ReadFile(name)
	if err != nil {
		v.add(fmt.Sprintf("%s: %v", key, err), dotID(key))
	} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
		v.add(fmt.Sprintf("%s: %s holds no PEM certificate", key, name), dotID(key))
	}
}

func (v *validator) positive(key string, n int64) {
	if n <= 0 {
		v.add(key+": must be greater than zero", dotID(key))
	}
}

// OriginCAs returns the certificate authorities to trust for the origin:
// the system's, plus those of origin.ca_file when it is set.
func (c *Config) OriginCAs() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if c.Origin.CAFile == "" {
		return pool, nil
	}
	b, err := os.ReadFile(c.Origin.CAFile)
	if err != nil {
		return nil, fmt.Errorf("origin.ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("origin.ca_file: %s holds no PEM certificate", c.Origin.CAFile)
	}
	return pool, nil
}

// checkHostPort checks a host:port address with a numeric port. For a
// listening address the host may be empty (every interface) and the port
// may be 0 (any free port).
func checkHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port: %w", err)
	}
	if host == "" && !listen {
		return fmt.Errorf("no host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) || port[0] == '+' {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

// checkHostName checks a host name: lower case, no port, no wildcard, no
// trailing dot, not an IP address, DNS labels of letters, digits and
// hyphens, and at least two labels unless it is "localhost".
func checkHostName(h string) error {
	switch {
	case h == "":
		return fmt.Errorf("empty host name")
	case h == "localhost":
		return nil
	case strings.Contains(h, "/"):
		return fmt.Errorf("a host name, not a URL, is needed")
	case strings.Contains(h, "*"):
		return fmt.Errorf("wildcards are not supported")
	case strings.Contains(h, ":") && net.ParseIP(h) == nil:
		return fmt.Errorf("a host name, without a port, is needed")
	case net.ParseIP(h) != nil:
		return fmt.Errorf("an IP address is not a host name")
	case strings.ToLower(h) != h:
		return fmt.Errorf("must be lower case")
	case strings.HasSuffix(h, "."):
		return fmt.Errorf("must not end with a dot")
	case len(h) > 253:
		return fmt.Errorf("longer than 253 characters")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return fmt.Errorf("not a fully qualified host name")
	}
	for _, l := range labels {
		if !validLabel(l) {
			return fmt.Errorf("invalid DNS label %q", l)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("all-numeric top-level label")
	}
	return nil
}

// validLabel reports whether l is a DNS label: 1 to 63 letters, digits and
// hyphens, not starting or ending with a hyphen.
func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// privacy checks the [privacy] additions the way the rewriter will read
// them, one key at a time so that an error names its line.
func (v *validator) privacy() {
	p := v.c.Privacy
	for key, set := range map[string]rewrite.RuleSet{
		"block_hosts":   {BlockHosts: p.BlockHosts},
		"block_scripts": {BlockScripts: p.BlockScripts},
		"block_paths":   {BlockPaths: p.BlockPaths},
		"strip_params":  {StripParams: p.StripParams},
		"strip_cookies": {StripCookies: p.StripCookies},
		"allow_hosts":   {AllowHosts: p.AllowHosts},
	} {
		if _, err := rewrite.DefaultRules().Extend(set); err != nil {
			msg := strings.TrimPrefix(err.Error(), "privacy rules: ")
			v.add("privacy."+key+": "+msg, dotID("privacy."+key), dotID("privacy"))
		}
	}
}
