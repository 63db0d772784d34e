// Package config loads the edge's one TOML configuration file.
//
// Loading is strict: an unknown key, a value of the wrong type or a value
// that does not make sense is an error, and every error names the file and
// the line of the offending key, like a compiler:
//
//	/etc/zerkalo/zerkalo.toml:7: unknown key "origin.hsts"
//
// The keys, their defaults and their meaning are documented in
// deploy/zerkalo.example.toml, which a test keeps in step with this package.
package config

import (
	"zerkalo/proxy/rewrite"

	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultUserAgent is the User-Agent the edge sends to the origin unless
// origin.user_agent says otherwise: a current desktop browser, so that the
// origin serves the mirror what it serves its readers. The reader's own
// User-Agent is never sent.
const DefaultUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"

// Config is the edge's configuration. The zero value is not useful: start
// from Default or Load.
type Config struct {
	// Listen is the TCP address for HTTP/1.1 and HTTP/2, as host:port.
	Listen string `toml:"listen"`
	// DomainList is the domains key: the mirror domains this edge answers
	// for, each with an optional activity window (DomainList.Names lists
	// them all). Readers are served only the domains that are active: see
	// package zerkalo/proxy/domains.
	DomainList DomainList `toml:"domains"`
	// HTTPListen is the TCP address of the optional plain-HTTP listener,
	// which answers ACME HTTP-01 challenges and redirects the rest to
	// HTTPS. Empty: none.
	HTTPListen string `toml:"http_listen"`
	// StateDir holds keys, certificates and enrollment state.
	StateDir string `toml:"state_dir"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `toml:"log_level"`
	// AdminListen is the TCP address of the operator's endpoints
	// (/metrics, /healthz, /readyz), as host:port. Empty: none. It is not
	// Listen or HTTPListen, so readers never reach these endpoints.
	AdminListen string `toml:"admin_listen"`
	// AdminPprof adds Go's profiler (/debug/pprof/) to the admin
	// listener, to find where an edge spends CPU or memory. Off by default.
	AdminPprof bool `toml:"admin_pprof"`
	// GCPercent is the Go garbage collector's growth target (GOGC): the
	// heap may grow by this percentage of the live heap between
	// collections. Higher trades memory for CPU. From 10 to
	// MaxGCPercent. The GOGC environment variable, when set, wins.
	GCPercent int `toml:"gc_percent"`
	// MemoryLimit is a soft limit on the process's memory (GOMEMLIMIT):
	// as it nears, the collector runs more often whatever GCPercent says.
	// Zero: none; otherwise at least MinMemoryLimit. The GOMEMLIMIT
	// environment variable, when set, wins.
	MemoryLimit Size `toml:"memory_limit"`

	TLS     TLSConfig     `toml:"tls"`
	ACME    ACMEConfig    `toml:"acme"`
	Origin  OriginConfig  `toml:"origin"`
	Cache   CacheConfig   `toml:"cache"`
	Mirrors MirrorsConfig `toml:"mirrors"`
	// Privacy extends the built-in tracker rules (proxy/rewrite/rules.toml).
	Privacy PrivacyConfig `toml:"privacy"`

	// Path is the file the configuration came from, "" for Default.
	Path string `toml:"-"`

	// lines maps key paths (see keyID) to the line they are set on in Path.
	lines map[string]int
}

// TLSConfig is the [tls] table: where the edge's certificates come from.
type TLSConfig struct {
	// Mode is "self-signed" (a certificate made and kept in StateDir),
	// "files" (CertFile and KeyFile) or "acme" (certificates obtained and
	// renewed from an ACME certificate authority: see ACMEConfig).
	Mode     string `toml:"mode"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// ACMEConfig is the [acme] table, used when TLS.Mode is "acme". Account
// keys and certificates are kept in StateDir/acme (see ACMEDir).
type ACMEConfig struct {
	// Directory is the URL of the ACME directory of the certificate
	// authority. Default: Let's Encrypt's production directory.
	Directory string `toml:"directory"`
	// Email is the contact address given to the certificate authority,
	// for expiry and problem notices. Optional.
	Email string `toml:"email"`
	// CAFile is a PEM file of extra certificate authorities to trust for
	// the ACME directory's HTTPS, besides the system's (e.g. a test CA's).
	CAFile string `toml:"ca_file"`
	// RenewBefore is how long before expiry certificates are renewed.
	// Zero means the lesser of 30 days and a third of their lifetime;
	// more than 30 days counts as 30 days.
	RenewBefore Duration `toml:"renew_before"`
}

// DefaultACMEDirectory is Let's Encrypt's production ACME directory, the
// default of acme.directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// OriginConfig is the [origin] table: what the edge fetches and how.
type OriginConfig struct {
	// Site is the primary origin host, served at the mirror's root.
	Site string `toml:"site"`
	// Hosts are the other origin hosts, served under /_z/HOST/. When the
	// file does not set them they are DefaultHosts(Site); when it does, they
	// replace the built-in family.
	Hosts []string `toml:"hosts"`
	// Resolve maps an origin host, or "*" for every origin host, to the
	// host:port to dial instead of resolving the host with DNS and using
	// the default port.
	Resolve map[string]string `toml:"resolve"`
	// CAFile is a PEM file of extra certificate authorities to trust for
	// the origin, besides the system's.
	CAFile string `toml:"ca_file"`
	// Timeout bounds one whole origin fetch, body included.
	Timeout Duration `toml:"timeout"`
	// ConnectTimeout bounds dialing the origin and its TLS handshake.
	ConnectTimeout Duration `toml:"connect_timeout"`
	// MaxBody is the largest origin body the edge rewrites; a larger
	// rewritable body is refused with 502 Bad Gateway.
	MaxBody Size `toml:"max_body"`
	// UserAgent is sent to the origin instead of the reader's.
	UserAgent string `toml:"user_agent"`
	// RateLimit caps origin fetches per second; 0 means no cap. Beyond it
	// readers get a stale copy, or 503 Service Unavailable with
	// Retry-After.
	RateLimit float64 `toml:"rate_limit"`
	// MaxFetches caps the origin fetches in flight at once; 0 means no
	// cap. Beyond it readers get a stale copy, or 503 Service Unavailable
	// with Retry-After. It bounds the memory a slow origin can hold. A
	// body passed through unchanged (images, media) stops counting once
	// its headers are in.
	MaxFetches int `toml:"max_fetches"`
	// Compressed asks the origin for gzip or zstd bodies (the default):
	// about five times fewer bytes from the origin, for the CPU to
	// decompress them before rewriting. False asks for plain bodies.
	Compressed bool `toml:"compressed"`
	// HTTP2 lets the edge fetch over HTTP/2 when the origin offers it.
	// Off (the default), it fetches over HTTP/1.1 on kept-alive
	// connections, which costs less CPU per page.
	HTTP2 bool `toml:"http2"`
}

// CacheConfig is the [cache] table.
type CacheConfig struct {
	// Dir is where cached responses are stored.
	Dir string `toml:"dir"`
	// MaxSize bounds the disk use of the cache.
	MaxSize Size `toml:"max_size"`
	// MaxObject is the largest body the cache stores; larger ones are
	// served but not kept. At most MaxSize.
	MaxObject Size `toml:"max_object"`
	// Memory bounds the bytes of cached copies (up to 256 KiB each) kept
	// in memory, so that hits on them read no file; 0 keeps none.
	Memory Size `toml:"memory"`
	// StaleIfError is how long after it goes stale a cached copy may
	// stand in for a failing origin.
	StaleIfError Duration `toml:"stale_if_error"`
	// TTL overrides freshness by media type: a lower-case "type/subtype"
	// without parameters, such as "text/html", maps to how long a
	// response of that type stays fresh. A file that sets cache.ttl
	// replaces the default table.
	TTL map[string]Duration `toml:"ttl"`
	// Warm turns on the warmer: every WarmEvery it asks the edge for
	// WarmPaths and for up to WarmMaxItems articles of each of WarmFeeds,
	// so the cache holds the current news before readers ask. WarmEvery
	// is at least MinWarmEvery.
	Warm         bool     `toml:"warm"`
	WarmEvery    Duration `toml:"warm_every"`
	WarmPaths    []string `toml:"warm_paths"`
	WarmFeeds    []string `toml:"warm_feeds"`
	WarmMaxItems int      `toml:"warm_max_items"`
}

// PrivacyConfig is the [privacy] table: the operator's additions to the
// built-in tracker rules. See proxy/rewrite/RULES.md.
type PrivacyConfig struct {
	// BlockHosts are tracker hosts (each with the hosts under it), or
	// "host/path" prefixes.
	BlockHosts []string `toml:"block_hosts"`
	// BlockScripts are signatures that mark an inline script as a tracker.
	BlockScripts []string `toml:"block_scripts"`
	// BlockPaths are beacon path prefixes refused on every host.
	BlockPaths []string `toml:"block_paths"`
	// StripParams are query parameters removed from links ("x_*": prefix).
	StripParams []string `toml:"strip_params"`
	// StripCookies are cookie names dropped from origin responses.
	StripCookies []string `toml:"strip_cookies"`
	// AllowHosts lifts built-in host entries, written as in rules.toml.
	AllowHosts []string `toml:"allow_hosts"`
}

// RuleSet returns the privacy additions as the rewriter takes them.
func (p PrivacyConfig) RuleSet() rewrite.RuleSet {
	return rewrite.RuleSet{
		BlockHosts: p.BlockHosts, AllowHosts: p.AllowHosts, BlockScripts: p.BlockScripts,
		BlockPaths: p.BlockPaths, StripParams: p.StripParams, StripCookies: p.StripCookies,
	}
}

// MirrorsConfig is the [mirrors] table: the signed list of the site's
// addresses served at /.well-known/zerkalo/mirrors.json.
type MirrorsConfig struct {
	// EdgeKey is the file of the edge's signing key (zerkalo keygen).
	// Empty: the list is served unsigned.
	EdgeKey string `toml:"edge_key"`
	// Certificate is the file of the edge key's certificate (zerkalo
	// certify), with its signature in Certificate+".minisig". Required
	// when EdgeKey is set.
	Certificate string `toml:"certificate"`
	// MainDomain is the site's own public domain. When the file leaves it
	// out or empty, Load sets it to Origin.Site without a leading "www.".
	MainDomain string `toml:"main_domain"`
	// Alternatives are extra public addresses of the site: absolute
	// https:// URLs, or http:// URLs of .onion services.
	Alternatives []string `toml:"alternatives"`
	// PublishDomains is how many of this edge's own active domains the
	// list holds; 0: none.
	PublishDomains int `toml:"publish_domains"`
	// FooterLink puts a small link to the mirror-list page on pages.
	FooterLink bool `toml:"footer_link"`
}

// MainDomainOf is the default of mirrors.main_domain for an origin site:
// the site without a leading "www.".
func MainDomainOf(site string) string { return strings.TrimPrefix(site, "www.") }

// Default returns the built-in configuration: what an empty file means.
//
// The state and cache folders follow systemd and the XDG base directory
// conventions: $STATE_DIRECTORY and $CACHE_DIRECTORY when systemd sets them;
// otherwise /var/lib/zerkalo and /var/cache/zerkalo for root, and
// $XDG_STATE_HOME/zerkalo (~/.local/state/zerkalo) and
// $XDG_CACHE_HOME/zerkalo (~/.cache/zerkalo) for other users.
func Default() *Config {
	return defaults(os.Getenv, os.Geteuid())
}

// defaults is Default with its environment made explicit, for tests.
func defaults(getenv func(string) string, euid int) *Config {
	const site = "www.rferl.org"
	return &Config{
		Listen:      "localhost:8443",
		DomainList:  DomainList{{Name: "localhost"}},
		StateDir:    userDir(getenv, euid, "STATE_DIRECTORY", "XDG_STATE_HOME", ".local/state", "/var/lib/zerkalo"),
		LogLevel:    "info",
		AdminListen: "127.0.0.1:9464",
		GCPercent:   100,
		TLS:         TLSConfig{Mode: "self-signed"},
		ACME:        ACMEConfig{Directory: DefaultACMEDirectory},
		Origin: OriginConfig{
			Site:           site,
			Hosts:          DefaultHosts(site),
			Timeout:        Duration(30 * time.Second),
			ConnectTimeout: Duration(10 * time.Second),
			MaxBody:        64 << 20,
			UserAgent:      DefaultUserAgent,
			RateLimit:      50,
			MaxFetches:     64,
			Compressed:     true,
		},
		Cache: CacheConfig{
			Dir:          userDir(getenv, euid, "CACHE_DIRECTORY", "XDG_CACHE_HOME", ".cache", "/var/cache/zerkalo"),
			MaxSize:      1 << 30,
			MaxObject:    64 << 20,
			Memory:       64 << 20,
			StaleIfError: Duration(168 * time.Hour),
			TTL:          map[string]Duration{"text/html": Duration(60 * time.Second)},
			Warm:         true,
			WarmEvery:    Duration(5 * time.Minute),
			WarmPaths:    []string{"/"},
			WarmFeeds:    []string{"/api/"},
			WarmMaxItems: 50,
		},
		Privacy: PrivacyConfig{
			BlockHosts: []string{}, BlockScripts: []string{}, BlockPaths: []string{},
			StripParams: []string{}, StripCookies: []string{}, AllowHosts: []string{},
		},
		Mirrors: MirrorsConfig{
			MainDomain:     MainDomainOf(site),
			Alternatives:   []string{},
			PublishDomains: 1,
			FooterLink:     true,
		},
	}
}

// userDir picks a folder for the program's data of one kind: the systemd
// variable (the first of its colon-separated folders), then the system
// folder for root, then the XDG variable or its fallback under $HOME for
// other users. Relative values are ignored, as the XDG specification asks.
func userDir(getenv func(string) string, euid int, systemdVar, xdgVar, homeRel, system string) string {
	if d, _, _ := strings.Cut(getenv(systemdVar), ":"); filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	if euid == 0 {
		return system
	}
	if d := getenv(xdgVar); filepath.IsAbs(d) {
		return filepath.Join(d, "zerkalo")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, homeRel, "zerkalo")
	}
	return system
}

// Hosts returns the effective origin host set: Origin.Site first, then
// Origin.Hosts, without duplicates.
func (c *Config) Hosts() []string {
	return appendNew([]string{c.Origin.Site}, c.Origin.Hosts...)
}
