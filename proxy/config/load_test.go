package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDefaultValid(t *testing.T) {
	envs := []map[string]string{
		{},
		{"HOME": "/home/u"},
		{"HOME": "/home/u", "XDG_STATE_HOME": "/x/state", "XDG_CACHE_HOME": "/x/cache"},
		{"STATE_DIRECTORY": "/var/lib/zerkalo", "CACHE_DIRECTORY": "/var/cache/zerkalo"},
	}
	for _, env := range envs {
		for _, euid := range []int{0, 1000} {
			c := defaults(func(k string) string { return env[k] }, euid)
			if err := c.Validate(); err != nil {
				t.Errorf("defaults(%v, %d).Validate() = %v", env, euid, err)
			}
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestDefaultDirs(t *testing.T) {
	tests := []struct {
		env          map[string]string
		euid         int
		state, cache string
	}{
		{map[string]string{"HOME": "/root"}, 0, "/var/lib/zerkalo", "/var/cache/zerkalo"},
		{map[string]string{"HOME": "/home/u"}, 1000, "/home/u/.local/state/zerkalo", "/home/u/.cache/zerkalo"},
		{map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "/s", "XDG_CACHE_HOME": "/c"}, 1000, "/s/zerkalo", "/c/zerkalo"},
		{map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "rel", "XDG_CACHE_HOME": "rel"}, 1000, "/home/u/.local/state/zerkalo", "/home/u/.cache/zerkalo"},
		{map[string]string{"STATE_DIRECTORY": "/run/st:/other", "CACHE_DIRECTORY": "/run/ca"}, 1000, "/run/st", "/run/ca"},
		{map[string]string{"STATE_DIRECTORY": "/run/st", "CACHE_DIRECTORY": "/run/ca"}, 0, "/run/st", "/run/ca"},
		{map[string]string{}, 1000, "/var/lib/zerkalo", "/var/cache/zerkalo"},
	}
	for _, tt := range tests {
		c := defaults(func(k string) string { return tt.env[k] }, tt.euid)
		if c.StateDir != tt.state || c.Cache.Dir != tt.cache {
			t.Errorf("defaults(%v, %d): state %q cache %q, want %q %q", tt.env, tt.euid, c.StateDir, c.Cache.Dir, tt.state, tt.cache)
		}
	}
}

// onion is the host name of a v3 onion service, without ".onion".
const onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx"

func TestLoadEveryKey(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "tls/cert.pem", "tls/key.pem")
	ca, _ := writeKeyPair(t, dir, "origin-ca.pem", "unused-key.pem")
	writeKeyPair(t, dir, "acme-ca.pem", "acme-key.pem")
	writeFile(t, dir, "keys/edge.key", "untrusted comment: edge key\nkey\n")
	writeFile(t, dir, "keys/edge.cert", "{}\n")
	writeFile(t, dir, "keys/edge.cert.minisig", "untrusted comment: signature\nsig\n")
	path := writeFile(t, dir, "zerkalo.toml", `
listen    = "127.0.0.1:9443"
domains   = [
  "mirror.test",
  { name = "other.test", from = 2026-12-01T00:00:00Z, until = 2027-03-01T03:00:00+03:00 },
  { name = "late.test", from = 2027-01-01T00:00:00Z },
  { name = "old.test", until = 2020-01-01T00:00:00Z },
]
http_listen = ":8080"
state_dir = "/srv/state"
log_level = "debug"
admin_listen = "[::1]:9100"
admin_pprof = true
gc_percent = 250
memory_limit = "2GiB"
[tls]
mode = "files"
cert_file = "tls/cert.pem"
key_file = "tls/key.pem"
[acme]
directory = "https://127.0.0.1:14000/dir"
email = "ops@example.org"
ca_file = "acme-ca.pem"
renew_before = "240h"
[origin]
site    = "www.svoboda.org"
hosts   = ["gdb.rferl.org", "www.rferl.org"]
resolve = { "*" = "127.0.0.1:9443", "gdb.rferl.org" = "[::1]:9444" }
ca_file = "origin-ca.pem"
timeout = "45s"
connect_timeout = "2.5s"
max_body = "512KiB"
user_agent = "test-agent/1"
rate_limit = 2.5
max_fetches = 9
compressed = false
http2 = true
[cache]
dir = "/srv/cache"
max_size = "10GiB"
max_object = 1048576
memory = "256MiB"
stale_if_error = "24h"
warm = true
warm_every = "10m"
warm_paths = ["/", "/news"]
warm_feeds = ["/api/zrqiteuuir"]
warm_max_items = 7
[cache.ttl]
"text/html" = "5m"
"application/json" = "0s"
[mirrors]
edge_key = "keys/edge.key"
certificate = "./keys/edge.cert"
main_domain = "rferl.org"
alternatives = ["https://mirror2.example/ru/", "http://`+onion+`.onion/"]
publish_domains = 3
footer_link = false
[privacy]
block_hosts = ["stats.example.net", "cdn.example.org/pixel"]
block_scripts = ["myTracker("]
block_paths = ["/collect/"]
strip_params = ["ref_*"]
strip_cookies = ["spy_id"]
allow_hosts = []
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.lines = nil
	date := func(s string) time.Time {
		d, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := &Config{
		Listen: "127.0.0.1:9443",
		DomainList: DomainList{
			{Name: "mirror.test"},
			{Name: "other.test", From: date("2026-12-01T00:00:00Z"), Until: date("2027-03-01T03:00:00+03:00")},
			{Name: "late.test", From: date("2027-01-01T00:00:00Z")},
			{Name: "old.test", Until: date("2020-01-01T00:00:00Z")},
		},
		HTTPListen:  ":8080",
		StateDir:    "/srv/state",
		LogLevel:    "debug",
		AdminListen: "[::1]:9100",
		AdminPprof:  true,
		GCPercent:   250,
		MemoryLimit: 2 << 30,
		TLS: TLSConfig{
			Mode:     "files",
			CertFile: filepath.Join(dir, "tls/cert.pem"),
			KeyFile:  filepath.Join(dir, "tls/key.pem"),
		},
		ACME: ACMEConfig{
			Directory:   "https://127.0.0.1:14000/dir",
			Email:       "ops@example.org",
			CAFile:      filepath.Join(dir, "acme-ca.pem"),
			RenewBefore: Duration(240 * time.Hour),
		},
		Origin: OriginConfig{
			Site:           "www.svoboda.org",
			Hosts:          []string{"gdb.rferl.org", "www.rferl.org"},
			Resolve:        map[string]string{"*": "127.0.0.1:9443", "gdb.rferl.org": "[::1]:9444"},
			CAFile:         filepath.Join(dir, "origin-ca.pem"),
			Timeout:        Duration(45 * time.Second),
			ConnectTimeout: Duration(2500 * time.Millisecond),
			MaxBody:        512 << 10,
			UserAgent:      "test-agent/1",
			RateLimit:      2.5,
			MaxFetches:     9,
			Compressed:     false,
			HTTP2:          true,
		},
		Cache: CacheConfig{
			Dir:          "/srv/cache",
			MaxSize:      10 << 30,
			MaxObject:    1 << 20,
			Memory:       256 << 20,
			StaleIfError: Duration(24 * time.Hour),
			TTL:          map[string]Duration{"text/html": Duration(5 * time.Minute), "application/json": 0},
			Warm:         true,
			WarmEvery:    Duration(10 * time.Minute),
			WarmPaths:    []string{"/", "/news"},
			WarmFeeds:    []string{"/api/zrqiteuuir"},
			WarmMaxItems: 7,
		},
		Mirrors: MirrorsConfig{
			EdgeKey:        filepath.Join(dir, "keys/edge.key"),
			Certificate:    filepath.Join(dir, "keys/edge.cert"),
			MainDomain:     "rferl.org",
			Alternatives:   []string{"https://mirror2.example/ru/", "http://" + onion + ".onion/"},
			PublishDomains: 3,
			FooterLink:     false,
		},
		Privacy: PrivacyConfig{
			BlockHosts:   []string{"stats.example.net", "cdn.example.org/pixel"},
			BlockScripts: []string{"myTracker("},
			BlockPaths:   []string{"/collect/"},
			StripParams:  []string{"ref_*"},
			StripCookies: []string{"spy_id"},
			AllowHosts:   []string{},
		},
		Path: path,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", c, want)
	}
	if got := c.Hosts(); !reflect.DeepEqual(got, []string{"www.svoboda.org", "gdb.rferl.org", "www.rferl.org"}) {
		t.Errorf("Hosts() = %q", got)
	}
	pool, err := c.OriginCAs()
	if err != nil || pool == nil {
		t.Fatalf("OriginCAs() = %v, %v", pool, err)
	}
	if !c.DomainList[1].Until.Equal(date("2027-03-01T00:00:00Z")) {
		t.Errorf("until with +03:00 = %v, want midnight UTC", c.DomainList[1].Until)
	}
	if c.ACMEDir() != "/srv/state/acme" {
		t.Errorf("ACMEDir() = %q", c.ACMEDir())
	}
	if pool, err := c.ACMECAs(); err != nil || pool == nil {
		t.Fatalf("ACMECAs() = %v, %v", pool, err)
	}
	if !strings.Contains(string(ca), "CERTIFICATE") {
		t.Fatal("test CA is not PEM")
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	path := writeFile(t, t.TempDir(), "empty.toml", "# nothing\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Path = path
	c.lines = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(empty) = %+v\nwant %+v", c, want)
	}
}

func TestLoadSizeForms(t *testing.T) {
	tests := []struct {
		text string
		want Size
	}{
		{`max_body = 1048576`, 1 << 20},
		{`max_body = "1048576"`, 1 << 20},
		{`max_body = "1GiB"`, 1 << 30},
		{`max_body = "10MB"`, 10_000_000},
	}
	for _, tt := range tests {
		path := writeFile(t, t.TempDir(), "z.toml", "[origin]\n"+tt.text+"\n")
		c, err := Load(path)
		if err != nil {
			t.Errorf("%s: %v", tt.text, err)
			continue
		}
		if c.Origin.MaxBody != tt.want {
			t.Errorf("%s: max_body %d, want %d", tt.text, c.Origin.MaxBody, tt.want)
		}
	}
}

func TestLoadHostsFollowSite(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"rferl default", "", DefaultHosts("www.rferl.org")},
		{"voa site", "[origin]\nsite = \"www.voanews.com\"\n", DefaultHosts("www.voanews.com")},
		{"replaced", "[origin]\nhosts = [\"gdb.rferl.org\"]\n", []string{"gdb.rferl.org"}},
		{"emptied", "[origin]\nhosts = []\n", []string{}},
		{"dotted key", "origin.site = \"origin.test\"\n", []string{"origin.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeFile(t, t.TempDir(), "z.toml", tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Origin.Hosts, tt.want) {
				t.Errorf("origin.hosts = %q, want %q", c.Origin.Hosts, tt.want)
			}
		})
	}
}

func TestLoadRelativePaths(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc", "zerkalo")
	writeKeyPair(t, dir, "certs/c.pem", "certs/k.pem")
	writeKeyPair(t, root, "ca.pem", "ca-key.pem")
	writeFile(t, dir, "z.toml", `
state_dir = "state"
[tls]
mode = "files"
cert_file = "certs/c.pem"
key_file = "./certs/k.pem"
[origin]
ca_file = "../../ca.pem"
[cache]
dir = "/abs/cache"
`)
	// Load from another working folder, with a relative path to the file:
	// names are relative to the file, not to the working folder.
	t.Chdir(root)
	c, err := Load(filepath.Join("etc", "zerkalo", "z.toml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"state_dir":      {c.StateDir, filepath.Join(dir, "state")},
		"tls.cert_file":  {c.TLS.CertFile, filepath.Join(dir, "certs/c.pem")},
		"tls.key_file":   {c.TLS.KeyFile, filepath.Join(dir, "certs/k.pem")},
		"origin.ca_file": {c.Origin.CAFile, filepath.Join(root, "ca.pem")},
		"cache.dir":      {c.Cache.Dir, "/abs/cache"},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
}

// TestLoadErrors checks every kind of error: its message and, exactly, the
// line it names. want holds one "LINE: text" per expected error, in order;
// text must occur in the message.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"syntax", "listen = \"a:1\"\nlog_level = \n", []string{`2: unexpected character`}},
		{"duplicate key", "listen = \"a:1\"\n\nlisten = \"b:2\"\n", []string{`3: listen: key listen is already defined`}},
		{"max body float", "[origin]\nmax_body = 1.5\n", []string{`2: origin.max_body: want a size like "64MiB" or a number of bytes, not a float`}},
		{"duration array", "[origin]\n timeout = [\"1s\"]\n", []string{`2: origin.timeout: want a duration string like "30s", not an array`}},
		{"inline table line", "origin = {\n  site = \"www.rferl.org\",\n  timeout = \"0s\",\n}\n", []string{`3: origin.timeout: must be greater than zero`}},
		{"unknown key", "listen = \"127.0.0.1:1\"\nlistn = \"x\"\n", []string{`2: unknown key "listn"`}},
		{"unknown key in table", "[tls]\nmode = \"self-signed\"\n\n[origin]\nsite = \"www.rferl.org\"\nhsts = []\n", []string{`6: unknown key "origin.hsts"`}},
		{"unknown table", "\n[orign]\nsite = \"x\"\n", []string{`2: unknown table "orign"`}},
		{"several unknown", "a = 1\n[cache]\ndir = \"/c\"\nsize = 1\n", []string{`1: unknown key "a"`, `4: unknown key "cache.size"`}},
		{"string as int", "\nlisten = 8443\n", []string{`2: listen: want a string, not an integer`}},
		{"array as string", "domains = \"mirror.test\"\n", []string{`1: domains: want an array of host names or tables, not a string`}},
		{"int in array", "domains = [\n  \"a.test\",\n  7,\n]\n", []string{`3: domains: want a host name or a table like { name = "m2.example"`, `not an integer`}},
		{"unknown key in domain table", "domains = [\n  \"a.test\",\n  { name = \"b.test\", form = 2026-01-01T00:00:00Z },\n]\n", []string{`3: domains: unknown key "form" in a domain table (want name, from, until)`}},
		{"dotted key in domain table", "domains = [{ name = \"a.test\", from.x = 1 }]\n", []string{`1: domains: unknown key "from.x"`}},
		{"domain table without name", "domains = [\n  \"a.test\",\n  { from = 2026-01-01T00:00:00Z },\n]\n", []string{`3: domains: a domain table needs a name`}},
		{"domain table bad name", "domains = [\n  \"a.test\",\n  { from = 2026-01-01T00:00:00Z,\n    name = \"B_.test\" },\n]\n", []string{`4: domains: "B_.test": must be lower case`}},
		{"domain name not a string", "domains = [{ name = 5 }]\n", []string{`1: domains: name: want a host name string, not an integer`}},
		{"domain until before from", "domains = [\n  { name = \"a.test\",\n    from = 2027-01-01T00:00:00Z,\n    until = 2026-01-01T00:00:00Z },\n]\n", []string{`4: domains: "a.test": until 2026-01-01T00:00:00Z is not after from 2027-01-01T00:00:00Z`}},
		{"domain until equals from", "domains = [{ name = \"a.test\", from = 2027-01-01T00:00:00Z, until = 2027-01-01T01:00:00+01:00 }]\n", []string{`1: domains: "a.test": until`}},
		{"domain local date-time", "domains = [\n{ name = \"a.test\",\n  from = 2027-01-01T00:00:00 }]\n", []string{`3: domains: from: want a date-time with a time zone like 2026-12-01T00:00:00Z, not a date or time`}},
		{"domain date as string", "domains = [{ name = \"a.test\", until = \"2027-01-01\" }]\n", []string{`1: domains: until: want a date-time with a time zone`, `not a string`}},
		{"duplicate domain table", "domains = [\n\"a.test\",\n{ name = \"a.test\", from = 2027-01-01T00:00:00Z }]\n", []string{`3: domains: "a.test" is listed twice`}},
		{"http listen bad", "\nhttp_listen = \"80\"\n", []string{`2: http_listen: "80": not host:port`}},
		{"http listen is listen", "listen = \":8443\"\nhttp_listen = \":8443\"\n", []string{`2: http_listen: ":8443" is also listen`}},
		{"acme localhost", "domains = [\"a.test\",\n \"localhost\"]\n[tls]\nmode = \"acme\"\n", []string{`2: domains: "localhost" cannot get a certificate with tls.mode "acme"`}},
		{"acme default localhost", "[tls]\n# acme needs a real name\nmode = \"acme\"\n", []string{`3: domains: "localhost" cannot get a certificate`}},
		{"acme directory http", "[acme]\ndirectory = \"http://ca.test/dir\"\n", []string{`2: acme.directory: "http://ca.test/dir" is not an https:// URL`}},
		{"acme email", "[acme]\n\nemail = \"ops at example\"\n", []string{`3: acme.email: "ops at example" is not an e-mail address`}},
		{"acme renew negative", "[acme]\nrenew_before = \"-1h\"\n", []string{`2: acme.renew_before: must not be negative`}},
		{"acme renew int", "[acme]\nrenew_before = 3600\n", []string{`2: acme.renew_before: want a duration string like "720h", not an integer`}},
		{"acme ca missing", "[acme]\nca_file = \"pebble.pem\"\n", []string{`2: acme.ca_file: open `}},
		{"acme ca not pem", "[acme]\nca_file = \"junk.pem\"\n", []string{`2: acme.ca_file: `, `holds no PEM certificate`}},
		{"acme unknown key", "[acme]\nemail = \"a@b.test\"\nterms = true\n", []string{`3: unknown key "acme.terms"`}},
		{"acme as string", "acme = \"on\"\n", []string{`1: acme: want a table, not a string`}},
		{"table as string", "tls = \"files\"\n", []string{`1: tls: want a table, not a string`}},
		{"duration as int", "[origin]\n\ntimeout = 5\n", []string{`3: origin.timeout: want a duration string like "30s", not an integer`}},
		{"duration as float", "[origin]\nconnect_timeout = 1.5\n", []string{`2: origin.connect_timeout: want a duration string like "10s", not a float`}},
		{"bad duration", "[origin]\ntimeout = \"soon\"\n", []string{`2: origin.timeout: invalid duration "soon"`}},
		{"bad size", "[origin]\nsite = \"www.rferl.org\"\nmax_body = \"lots\"\n", []string{`3: origin.max_body: invalid size "lots"`}},
		{"size as bool", "[origin]\nmax_body = true\n", []string{`2: origin.max_body: want a size like "64MiB" or a number of bytes, not a boolean`}},
		{"resolve value type", "[origin]\nresolve = { \"*\" = 9443 }\n", []string{`2: origin.resolve: want a string, not an integer`}},
		{"listen no port", "log_level = \"info\"\nlisten = \"localhost\"\n", []string{`2: listen: "localhost": not host:port`}},
		{"listen bad port", "listen = \"localhost:99999\"\n", []string{`1: listen: "localhost:99999": invalid port`}},
		{"listen named port", "listen = \"localhost:https\"\n", []string{`1: listen: "localhost:https": invalid port`}},
		{"no domains", "\n\ndomains = []\n", []string{`3: domains: at least one`}},
		{"wildcard domain", "domains = [\"a.test\", \"*.b.test\"]\n", []string{`1: domains: "*.b.test": wildcards`}},
		{"domain element line", "domains = [\n  \"a.test\",\n  \"B.test\",\n]\n", []string{`3: domains: "B.test": must be lower case`}},
		{"domain port", "domains = [\"a.test:443\"]\n", []string{`1: domains: "a.test:443": a host name, without a port`}},
		{"domain ip", "domains = [\"10.0.0.1\"]\n", []string{`1: domains: "10.0.0.1": an IP address`}},
		{"domain single label", "domains = [\"mirror\"]\n", []string{`1: domains: "mirror": not a fully qualified`}},
		{"domain bad label", "domains = [\"a_b.test\"]\n", []string{`1: domains: "a_b.test": invalid DNS label "a_b"`}},
		{"domain trailing dot", "domains = [\"a.test.\"]\n", []string{`1: domains: "a.test.": must not end with a dot`}},
		{"duplicate domain", "domains = [\n\"a.test\",\n\"a.test\"]\n", []string{`3: domains: "a.test" is listed twice`}},
		{"bad log level", "\nlog_level = \"verbose\"\n", []string{`2: log_level: "verbose" is not one of`}},
		{"gc percent too low", "gc_percent = 5\n", []string{`1: gc_percent: 5: must be from 10 to 100000`}},
		{"gc percent wraps int32", "gc_percent = 4294967295\n", []string{`1: gc_percent: 4294967295: must be from 10 to 100000`}},
		{"memory limit in bytes by mistake", "memory_limit = 768\n", []string{`1: memory_limit: 768 is less than 64MiB; write a size like "768MiB"`}},
		{"memory limit float", "\nmemory_limit = 1.5\n", []string{`2: memory_limit: want a size like "768MiB" or a number of bytes, not a float`}},
		{"memory limit bool", "memory_limit = true\n", []string{`1: memory_limit: want a size like "768MiB" or a number of bytes, not a boolean`}},
		{"warm every typo", "[cache]\nwarm_every = \"5ms\"\n", []string{`2: cache.warm_every: 5ms is less than 10s`}},
		{"array table domain local date", "[[domains]]\nname = \"a.test\"\n[[domains]]\nname = \"b.test\"\nfrom = 2027-01-01\n", []string{`5: domains: from: want a date-time with a time zone like 2026-12-01T00:00:00Z, not a date or time`}},
		{"array table domain date string", "[[domains]]\nname = \"a.test\"\nuntil = \"2027-01-01T00:00:00Z\"\n", []string{`3: domains: until: want a date-time with a time zone`, `not a string`}},
		{"array table domain typo", "[[domains]]\nname = \"a.test\"\n\n[[domains]]\nnme = \"b.test\"\n", []string{`5: domains: unknown key "nme" in a domain table`}},
		{"array table ttl", "[[cache.ttl]]\n\"text/html\" = \"1s\"\n", []string{`1: cache.ttl: want a table of media types`, `not an array`}},
		{"array table privacy", "[privacy]\n[[privacy.block_hosts]]\nx = 1\n", []string{`2: privacy.block_hosts: want a string, not a table`}},
		{"negative memory limit", "\nmemory_limit = -1\n", []string{`2: memory_limit: must not be negative`}},
		{"empty state dir", "state_dir = \"\"\n", []string{`1: state_dir: must not be empty`}},
		{"empty cache dir", "[cache]\ndir = \"\"\n", []string{`2: cache.dir: must not be empty`}},
		{"bad tls mode", "[tls]\nmode = \"letsencrypt\"\n", []string{`2: tls.mode: "letsencrypt" is not one of`}},
		{"files without names", "[tls]\nmode = \"files\"\n", []string{`2: tls.cert_file: must be set`, `2: tls.key_file: must be set`}},
		{"files missing", "[tls]\nmode = \"files\"\ncert_file = \"nope.pem\"\nkey_file = \"nope-key.pem\"\n", []string{`3: tls.cert_file: open `, `4: tls.key_file: open `}},
		{"files not a pair", "[tls]\nmode = \"files\"\ncert_file = \"junk.pem\"\nkey_file = \"junk.pem\"\n", []string{`3: tls.cert_file, tls.key_file: `}},
		{"site invalid", "[origin]\nsite = \"https://www.rferl.org/\"\n", []string{`2: origin.site: "https://www.rferl.org/": a host name, not a URL`}},
		{"site is a domain", "domains = [\"www.rferl.org\"]\n[origin]\nsite = \"www.rferl.org\"\n", []string{`3: origin.site: "www.rferl.org" is also a mirror domain`}},
		{"default site is a domain", "\ndomains = [\"mirror.test\", \"www.rferl.org\"]\n", []string{`2: origin.site: "www.rferl.org" is also a mirror domain`}},
		{"host is a domain", "domains = [\"gdb.rferl.org\"]\n[origin]\nhosts = [\n\"docs.rferl.org\",\n\"gdb.rferl.org\"]\n", []string{`5: origin.hosts: "gdb.rferl.org" is also a mirror domain`}},
		{"bad host", "[origin]\nhosts = [\"gdb.rferl.org\", \"x y.test\"]\n", []string{`2: origin.hosts: "x y.test": invalid DNS label "x y"`}},
		{"resolve unknown host", "[origin]\nresolve = {\n  \"*\" = \"127.0.0.1:1\",\n  \"evil.example\" = \"127.0.0.1:2\",\n}\n", []string{`4: origin.resolve."evil.example": "evil.example" is not an origin host`}},
		{"resolve table form", "[origin.resolve]\n\"www.rferl.org\" = \"127.0.0.1\"\n", []string{`2: origin.resolve."www.rferl.org": "127.0.0.1": not host:port`}},
		{"resolve port 0", "origin.resolve.\"*\" = \"127.0.0.1:0\"\n", []string{`1: origin.resolve."*": "127.0.0.1:0": invalid port`}},
		{"resolve no host", "[origin]\nresolve = { \"*\" = \":443\" }\n", []string{`2: origin.resolve."*": ":443": no host`}},
		{"ca missing", "[origin]\nca_file = \"ca.pem\"\n", []string{`2: origin.ca_file: open `}},
		{"ca not pem", "[origin]\nca_file = \"junk.pem\"\n", []string{`2: origin.ca_file: `, `holds no PEM certificate`}},
		{"zero timeout", "[origin]\ntimeout = \"0s\"\n", []string{`2: origin.timeout: must be greater than zero`}},
		{"negative connect timeout", "[origin]\nconnect_timeout = \"-1s\"\n", []string{`2: origin.connect_timeout: must be greater than zero`}},
		{"zero max body", "[origin]\nmax_body = 0\n", []string{`2: origin.max_body: must be greater than zero`}},
		{"negative max body", "[origin]\nmax_body = -5\n", []string{`2: origin.max_body: must be greater than zero`}},
		{"empty user agent", "[origin]\nuser_agent = \"\"\n", []string{`2: origin.user_agent: "" is empty`}},
		{"user agent newline", "[origin]\nuser_agent = \"a\\r\\nX-Evil: 1\"\n", []string{`2: origin.user_agent: `}},
		{"array of tables", "\n[[origin]]\nsite = \"x\"\n", []string{`2: origin: cannot store an array table`}},
		{"nested array", "domains = [[\"a.test\"]]\n", []string{`1: domains: want a host name or a table`, `not an array`}},
		{"date as string", "log_level = 2024-01-01\n", []string{`1: log_level: want a string, not a local date`}},
		{"unknown subtable", "domains = [ # c\n \"a.test\", # d\n \"b.test\" ]\n[tls]\n[tls.extra]\n", []string{`5: unknown table "tls.extra"`}},
		{"huge integer", "[origin]\nmax_body = 99999999999999999999\n", []string{`2: origin.max_body: `}},
		{"several, in line order", "[origin]\ntimeout = \"0s\"\n[tls]\nmode = \"ftp\"\n[cache]\ndir = \"\"\n", []string{`2: origin.timeout`, `4: tls.mode: "ftp"`, `6: cache.dir`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "junk.pem", "not a certificate\n")
			path := writeFile(t, dir, "zerkalo.toml", tt.text)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			checkErrors(t, path, err, tt.want)
		})
	}
}

// checkErrors checks that err holds one line per want, each "PATH:LINE: "
// followed by a message holding want's text ("LINE: text"). A want that
// does not start with a number continues the previous error's check.
func checkErrors(t *testing.T, path string, err error, want []string) {
	t.Helper()
	got := strings.Split(err.Error(), "\n")
	var n int
	for _, w := range want {
		line, text, ok := strings.Cut(w, ": ")
		if !ok || strings.Trim(line, "0123456789") != "" {
			if n == 0 || !strings.Contains(got[n-1], w) {
				t.Errorf("error %q lacks %q", got[max(n-1, 0)], w)
			}
			continue
		}
		if n >= len(got) {
			t.Errorf("missing error %q; got %q", w, err)
			return
		}
		prefix := path + ":" + line + ": "
		if !strings.HasPrefix(got[n], prefix) || !strings.Contains(got[n][len(prefix):], text) {
			t.Errorf("error %d = %q, want prefix %q and %q", n, got[n], prefix, text)
		}
		n++
	}
	if n != len(got) {
		t.Errorf("got %d errors, want %d: %q", len(got), n, err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || ce.Line == 0 {
		t.Errorf("error is not a *Error with file and line: %#v", err)
	}
}

// TestLoadArrayTableDomains: domains written as [[domains]] tables load as
// the inline tables they are.
func TestLoadArrayTableDomains(t *testing.T) {
	path := writeFile(t, t.TempDir(), "z.toml", "[[domains]]\nname = \"a.test\"\n\n[[domains]]\nname = \"b.test\"\nfrom = 2027-01-01T00:00:00Z\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DomainList{{Name: "a.test"}, {Name: "b.test", From: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if len(c.DomainList) != 2 || c.DomainList[0].Name != want[0].Name || c.DomainList[1].Name != want[1].Name || !c.DomainList[1].From.Equal(want[1].From) {
		t.Errorf("domains = %v, want %v", c.DomainList, want)
	}
}

// TestLoadOddFiles: a folder, a device or FIFO, or a file too large is an
// error naming the file, at once (reading /dev/zero or a FIFO never ends).
func TestLoadOddFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := writeFile(t, dir, "big.toml", "# "+strings.Repeat("x", MaxFileSize)+"\n")
	for _, tt := range []struct{ path, want string }{
		{dir, dir + ": is a directory"},
		{fifo, fifo + ": not a regular file"},
		{"/dev/zero", "/dev/zero: not a regular file"},
		{big, big + ": larger than 1MiB"},
	} {
		done := make(chan error, 1)
		go func() { _, err := Load(tt.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Load(%s) = %v, want %q", tt.path, err, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) still reading after 10 s", tt.path)
		}
	}
}

// TestLoadManyKeysLinear: checking a file of many keys takes time in
// proportion to its size. Each domain table went through every key of the
// file, sorted (8,000 domains took 62 s), and finding a key's line counted
// the lines from the start of the file (175,000 array elements took 6 s).
func TestLoadManyKeysLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("domains = [\n")
	for i := range 8000 {
		fmt.Fprintf(&b, "  { name = \"d%d.test\" },\n", i)
	}
	b.WriteString("  { name = \"last.test\", from = 7 },\n]\n[privacy]\nblock_scripts = [")
	for b.Len() < MaxFileSize-100 {
		b.WriteString(`"abc",`)
	}
	b.WriteString("7]\n")
	path := writeFile(t, t.TempDir(), "z.toml", b.String())
	done := make(chan error, 1)
	go func() { _, err := Load(path); done <- err }()
	select {
	case err := <-done:
		checkErrors(t, path, err, []string{
			`8002: domains: from: want a date-time with a time zone`,
			`8005: privacy.block_scripts: want a string, not an integer`,
		})
	case <-time.After(10 * time.Second):
		t.Fatal("Load still running after 10 s")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

// TestCheck is the use of a --check option: Load, change, Validate again.
// Errors found after Load still name the file and line.
func TestCheck(t *testing.T) {
	path := writeFile(t, t.TempDir(), "z.toml", "listen = \"127.0.0.1:8443\"\n\n[origin]\ntimeout = \"5s\"\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after Load: %v", err)
	}
	c.Origin.Timeout = 0
	c.Listen = "nowhere"
	c.LogLevel = "loud" // not in the file: no line, listed first
	err = c.Validate()
	want := []string{
		path + `: log_level: "loud" is not one of debug, info, warn, error`,
		path + `:1: listen: "nowhere": not host:port`,
		path + `:4: origin.timeout: must be greater than zero`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("Validate = %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestValidateWithoutFile: a configuration built in code has no file, and
// its errors no position.
func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.SetDomains()
	err := c.Validate()
	if err == nil || err.Error() != "domains: at least one mirror domain is needed" {
		t.Errorf("Validate = %v", err)
	}
	c.SetDomains(Domain{Name: "a.test"}, Domain{Name: "b.test", From: time.Now()})
	if err := c.Validate(); err != nil {
		t.Errorf("Validate after SetDomains = %v", err)
	}
}
