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
	// Domains are the mirror host names this edge answers for.
	Domains []string `toml:"domains"`
	// StateDir holds keys, certificates and enrollment state.
	StateDir string `toml:"state_dir"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `toml:"log_level"`

	TLS    TLSConfig    `toml:"tls"`
	Origin OriginConfig `toml:"origin"`
	Cache  CacheConfig  `toml:"cache"`

	// Path is the file the configuration came from, "" for Default.
	Path string `toml:"-"`

	// lines maps key paths (see keyID) to the line they are set on in Path.
	lines map[string]int
}

// TLSConfig is the [tls] table: where the edge's certificates come from.
type TLSConfig struct {
	// Mode is "self-signed" (a certificate made and kept in StateDir) or
	// "files" (CertFile and KeyFile). "acme" is not supported yet.
	Mode     string `toml:"mode"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

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
}

// CacheConfig is the [cache] table.
type CacheConfig struct {
	// Dir is where cached responses are stored.
	Dir string `toml:"dir"`
}

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
		Listen:   "localhost:8443",
		Domains:  []string{"localhost"},
		StateDir: userDir(getenv, euid, "STATE_DIRECTORY", "XDG_STATE_HOME", ".local/state", "/var/lib/zerkalo"),
		LogLevel: "info",
		TLS:      TLSConfig{Mode: "self-signed"},
		Origin: OriginConfig{
			Site:           site,
			Hosts:          DefaultHosts(site),
			Timeout:        Duration(30 * time.Second),
			ConnectTimeout: Duration(10 * time.Second),
			MaxBody:        64 << 20,
			UserAgent:      DefaultUserAgent,
		},
		Cache: CacheConfig{
			Dir: userDir(getenv, euid, "CACHE_DIRECTORY", "XDG_CACHE_HOME", ".cache", "/var/cache/zerkalo"),
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
