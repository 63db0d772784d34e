package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLoadTTL: a file that sets cache.ttl, in any TOML form, replaces the
// default table; one that does not keeps it.
func TestLoadTTL(t *testing.T) {
	minute := Duration(time.Minute)
	tests := []struct {
		name, text string
		want       map[string]Duration
	}{
		{"default", "[cache]\ndir = \"/c\"\n", map[string]Duration{"text/html": Duration(60 * time.Second)}},
		{"replaced", "[cache.ttl]\n\"image/png\" = \"1m\"\n", map[string]Duration{"image/png": minute}},
		{"empty header", "[cache.ttl]\n", map[string]Duration{}},
		{"empty inline", "[cache]\nttl = {}\n", map[string]Duration{}},
		{"inline", "cache = { ttl = { \"text/css\" = \"1m\", \"text/html\" = \"0s\" } }\n", map[string]Duration{"text/css": minute, "text/html": 0}},
		{"dotted", "cache.ttl.\"application/vnd.api+json\" = \"1m\"\n", map[string]Duration{"application/vnd.api+json": minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeFile(t, t.TempDir(), "z.toml", tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Cache.TTL, tt.want) {
				t.Errorf("cache.ttl = %v, want %v", c.Cache.TTL, tt.want)
			}
		})
	}
	if a, b := Default(), Default(); reflect.ValueOf(a.Cache.TTL).Pointer() == reflect.ValueOf(b.Cache.TTL).Pointer() {
		t.Error("Default() configurations share their cache.ttl map")
	}
}

// TestLoadMainDomain: mirrors.main_domain follows origin.site unless the
// file sets it to a name.
func TestLoadMainDomain(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", "rferl.org"},
		{"[origin]\nsite = \"www.svoboda.org\"\n", "svoboda.org"},
		{"[origin]\nsite = \"origin.test\"\n", "origin.test"},
		{"[origin]\nsite = \"www.svoboda.org\"\n[mirrors]\nmain_domain = \"\"\n", "svoboda.org"},
		{"[origin]\nsite = \"www.svoboda.org\"\n[mirrors]\nmain_domain = \"www.svoboda.org\"\n", "www.svoboda.org"},
	}
	for _, tt := range tests {
		c, err := Load(writeFile(t, t.TempDir(), "z.toml", tt.text))
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
		} else if c.Mirrors.MainDomain != tt.want {
			t.Errorf("%q: main_domain %q, want %q", tt.text, c.Mirrors.MainDomain, tt.want)
		}
	}
}

// TestLoadNewKeyForms checks values of the newer keys that load.
func TestLoadNewKeyForms(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "keys"), "edge.key", "key\n")
	writeFile(t, filepath.Join(dir, "keys"), "edge.cert", "{}\n")
	writeFile(t, filepath.Join(dir, "keys"), "edge.cert.minisig", "sig\n")
	tests := []struct {
		text  string
		check func(c *Config) bool
	}{
		{"[origin]\nrate_limit = 5\n", func(c *Config) bool { return c.Origin.RateLimit == 5 }},
		{"[origin]\nrate_limit = 0.25\n", func(c *Config) bool { return c.Origin.RateLimit == 0.25 }},
		{"[origin]\nrate_limit = 0\n", func(c *Config) bool { return c.Origin.RateLimit == 0 }},
		{"", func(c *Config) bool { return c.Origin.MaxFetches == 64 }},
		{"[origin]\nmax_fetches = 0\n", func(c *Config) bool { return c.Origin.MaxFetches == 0 }},
		{"", func(c *Config) bool { return c.Cache.Memory == 64<<20 }},
		{"[cache]\nmemory = 0\n", func(c *Config) bool { return c.Cache.Memory == 0 }},
		{"[cache]\nmemory = \"1GiB\"\n", func(c *Config) bool { return c.Cache.Memory == 1<<30 }},
		{"admin_listen = \"\"\n", func(c *Config) bool { return c.AdminListen == "" }},
		{"listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n", func(c *Config) bool { return c.AdminListen == "127.0.0.1:0" }},
		{"[cache]\nmax_size = 4096\nmax_object = \"4KiB\"\nstale_if_error = \"0s\"\n", func(c *Config) bool {
			return c.Cache.MaxSize == 4096 && c.Cache.MaxObject == 4096 && c.Cache.StaleIfError == 0
		}},
		{"[mirrors]\npublish_domains = 0\nfooter_link = false\nalternatives = [\"https://[2001:db8::1]:8443/\"]\n", func(c *Config) bool {
			return c.Mirrors.PublishDomains == 0 && !c.Mirrors.FooterLink && len(c.Mirrors.Alternatives) == 1
		}},
		{"[mirrors]\nedge_key = \"keys/edge.key\"\ncertificate = \"keys/edge.cert\"\n", func(c *Config) bool {
			return c.Mirrors.EdgeKey == filepath.Join(dir, "keys/edge.key") && c.Mirrors.Certificate == filepath.Join(dir, "keys/edge.cert")
		}},
	}
	for _, tt := range tests {
		c, err := Load(writeFile(t, dir, "z.toml", tt.text))
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
		} else if !tt.check(c) {
			t.Errorf("%q: loaded %+v", tt.text, c)
		}
	}
}

// TestLoadNewKeyErrors is TestLoadErrors for the newer keys.
func TestLoadNewKeyErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"admin is listen", "listen = \"127.0.0.1:8443\"\nadmin_listen = \"127.0.0.1:8443\"\n", []string{`2: admin_listen: "127.0.0.1:8443" is also listen`}},
		{"admin is http_listen", "http_listen = \":80\"\n\nadmin_listen = \":80\"\n", []string{`3: admin_listen: ":80" is also http_listen`}},
		{"default admin is listen", "\nlisten = \"127.0.0.1:9464\"\n", []string{`2: admin_listen: "127.0.0.1:9464" is also listen`}},
		{"admin no port", "admin_listen = \"9464\"\n", []string{`1: admin_listen: "9464": not host:port`}},
		{"admin type", "admin_listen = 9464\n", []string{`1: admin_listen: want a string, not an integer`}},
		{"rate negative", "[origin]\nrate_limit = -1.5\n", []string{`2: origin.rate_limit: -1.5 is not a number of fetches per second >= 0 (0: no cap)`}},
		{"rate inf", "[origin]\nrate_limit = inf\n", []string{`2: origin.rate_limit: +Inf is not a number`}},
		{"rate nan", "[origin]\nrate_limit = nan\n", []string{`2: origin.rate_limit: NaN is not a number`}},
		{"rate string", "[origin]\nrate_limit = \"50\"\n", []string{`2: origin.rate_limit: want a number of fetches per second like 50.0, not a string`}},
		{"fetches negative", "[origin]\nmax_fetches = -1\n", []string{`2: origin.max_fetches: must not be negative (0: no cap)`}},
		{"fetches float", "[origin]\nmax_fetches = 1.5\n", []string{`2: origin.max_fetches: want an integer, not a float`}},
		{"max size zero", "[cache]\nmax_size = 0\n", []string{`2: cache.max_size: must be greater than zero`}},
		{"max object zero", "[cache]\nmax_object = \"0MiB\"\n", []string{`2: cache.max_object: must be greater than zero`}},
		{"memory negative", "[cache]\nmemory = -1\n", []string{`2: cache.memory: must not be negative (0: none)`}},
		{"memory bad", "[cache]\nmemory = true\n", []string{`2: cache.memory: want a size like "64MiB" or a number of bytes, not a boolean`}},
		{"max object over max size", "[cache]\nmax_size = \"1MiB\"\nmax_object = \"2MiB\"\n", []string{`3: cache.max_object: 2MiB is larger than cache.max_size 1MiB`}},
		{"default max object over max size", "[cache]\n\nmax_size = \"1MiB\"\n", []string{`3: cache.max_object: 64MiB is larger than cache.max_size 1MiB`}},
		{"max size float", "[cache]\nmax_size = 1.5\n", []string{`2: cache.max_size: want a size like "1GiB" or a number of bytes, not a float`}},
		{"max object bad", "[cache]\nmax_object = \"big\"\n", []string{`2: cache.max_object: invalid size "big"`}},
		{"stale negative", "[cache]\nstale_if_error = \"-1s\"\n", []string{`2: cache.stale_if_error: must not be negative`}},
		{"stale integer", "[cache]\nstale_if_error = 5\n", []string{`2: cache.stale_if_error: want a duration string like "168h", not an integer`}},
		{"warm path relative", "[cache]\nwarm_paths = [\"api\"]\n", []string{`2: cache.warm_paths: "api" is not a root-relative mirror path like "/api/"`}},
		{"warm feed protocol-relative", "[cache]\n\nwarm_feeds = [\"//x.example/api/\"]\n", []string{`3: cache.warm_feeds: "//x.example/api/" is not a root-relative mirror path like "/api/"`}},
		{"privacy short signature", "[privacy]\nblock_scripts = [\"x(\"]\n", []string{`2: privacy.block_scripts: block_scripts "x(": a signature needs 3 or more characters`}},
		{"privacy not strings", "[privacy]\nblock_hosts = [1]\n", []string{`2: privacy.block_hosts`}},
		{"warm every zero", "[cache]\nwarm_every = \"0s\"\n", []string{`2: cache.warm_every: must be greater than zero`}},
		{"warm every integer", "[cache]\nwarm_every = 300\n", []string{`2: cache.warm_every: want a duration string like "5m", not an integer`}},
		{"ttl upper case", "[cache.ttl]\n\"text/html\" = \"1m\"\n\"Text/CSS\" = \"1m\"\n", []string{`3: cache.ttl."Text/CSS": "Text/CSS" is not a lower-case media type like "text/html", without parameters`}},
		{"ttl parameters", "[cache.ttl]\n\"text/html; charset=utf-8\" = \"1m\"\n", []string{`2: cache.ttl."text/html; charset=utf-8": "text/html; charset=utf-8" is not a lower-case media type`}},
		{"ttl wildcard", "[cache]\nttl = { \"image/*\" = \"1h\" }\n", []string{`2: cache.ttl."image/*": "image/*" is not a lower-case media type`}},
		{"ttl no subtype", "[cache.ttl]\nhtml = \"1h\"\n", []string{`2: cache.ttl.html: "html" is not a lower-case media type`}},
		{"ttl negative", "[cache.ttl]\n\n\"text/html\" = \"-1m\"\n", []string{`3: cache.ttl."text/html": must not be negative`}},
		{"ttl integer", "[cache.ttl]\n\"text/html\" = 60\n", []string{`2: cache.ttl."text/html": want a duration string like "60s", not an integer`}},
		{"ttl bad duration", "[cache.ttl]\n\"text/html\" = \"a minute\"\n", []string{`2: cache.ttl."text/html": invalid duration "a minute"`}},
		{"ttl unquoted", "[cache]\nttl.text.html = \"1s\"\n", []string{`2: cache.ttl: text.html: quote the media type, like "text/html" = "60s"`}},
		{"ttl not a table", "[cache]\nttl = \"60s\"\n", []string{`2: cache.ttl: want a table of media types like { "text/html" = "60s" }, not a string`}},
		{"key without certificate", "[mirrors]\nedge_key = \"edge.key\"\n", []string{`2: mirrors.certificate: must be set when mirrors.edge_key is set`}},
		{"certificate without key", "[mirrors]\ncertificate = \"edge.cert\"\n", []string{`2: mirrors.certificate: of no use without mirrors.edge_key`}},
		{"key missing", "[mirrors]\nedge_key = \"none.key\"\ncertificate = \"edge.cert\"\n", []string{`2: mirrors.edge_key: open `, `none.key: no such file`}},
		{"key empty", "[mirrors]\nedge_key = \"empty.key\"\ncertificate = \"edge.cert\"\n", []string{`2: mirrors.edge_key: `, `empty.key is empty`}},
		{"key is a folder", "[mirrors]\nedge_key = \".\"\ncertificate = \"edge.cert\"\n", []string{`2: mirrors.edge_key: `, `is a directory`}},
		{"certificate missing", "[mirrors]\nedge_key = \"edge.key\"\ncertificate = \"none.cert\"\n", []string{`3: mirrors.certificate: open `, `none.cert: no such file`}},
		{"signature missing", "[mirrors]\nedge_key = \"edge.key\"\n\ncertificate = \"nosig.cert\"\n", []string{`4: mirrors.certificate: open `, `nosig.cert.minisig: no such file`}},
		{"main domain", "[mirrors]\nmain_domain = \"https://rferl.org/\"\n", []string{`2: mirrors.main_domain: "https://rferl.org/": a host name, not a URL`}},
		{"main domain from site", "[origin]\nsite = \"www.example\"\n", []string{`2: mirrors.main_domain: "example": not a fully qualified host name`}},
		{"alternatives", "[mirrors]\nalternatives = [\n  \"https://a.test/\",\n  \"http://a.test/\",\n  \"ftp://a.test/\",\n  \"https://u:p@a.test/\",\n  \"https://b.test/#top\",\n  \"https://A.test/\",\n  \"//a.test/\",\n  \"https://a.test/\",\n  \"http://" + onion + ".onion/\",\n  \"https://a b.test/\",\n]\n", []string{
			`4: mirrors.alternatives: "http://a.test/": want an https:// URL or an http:// URL of a .onion service`,
			`5: mirrors.alternatives: "ftp://a.test/": want an https:// URL`,
			`6: mirrors.alternatives: "https://u:p@a.test/": want a URL without user information or fragment`,
			`7: mirrors.alternatives: "https://b.test/#top": want a URL without user information or fragment`,
			`8: mirrors.alternatives: "https://A.test/": must be lower case`,
			`9: mirrors.alternatives: "//a.test/": want an https:// URL`,
			`10: mirrors.alternatives: "https://a.test/" is listed twice`,
			`12: mirrors.alternatives: "https://a b.test/": not a URL`,
		}},
		{"alternatives not an array", "[mirrors]\nalternatives = \"https://a.test/\"\n", []string{`2: mirrors.alternatives: want an array of URL strings, not a string`}},
		{"alternative not a string", "[mirrors]\nalternatives = [\"https://a.test/\",\n 1]\n", []string{`3: mirrors.alternatives: want a URL string, not an integer`}},
		{"publish negative", "[mirrors]\npublish_domains = -1\n", []string{`2: mirrors.publish_domains: must not be negative`}},
		{"publish float", "[mirrors]\npublish_domains = 1.0\n", []string{`2: mirrors.publish_domains: want an integer, not a float`}},
		{"footer string", "[mirrors]\nfooter_link = \"yes\"\n", []string{`2: mirrors.footer_link: want true or false, not a string`}},
		{"mirrors not a table", "\nmirrors = []\n", []string{`2: mirrors: want a table, not an array`}},
		{"unknown mirrors key", "[mirrors]\nedge_cert = \"x\"\n", []string{`2: unknown key "mirrors.edge_cert"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "edge.key", "key\n")
			writeFile(t, dir, "empty.key", "")
			writeFile(t, dir, "edge.cert", "{}\n")
			writeFile(t, dir, "edge.cert.minisig", "sig\n")
			writeFile(t, dir, "nosig.cert", "{}\n")
			path := writeFile(t, dir, "zerkalo.toml", tt.text)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			checkErrors(t, path, err, tt.want)
		})
	}
}

// TestValidateMirrorsWithoutFile: problems of a configuration built in
// code are found too.
func TestValidateMirrorsWithoutFile(t *testing.T) {
	c := Default()
	c.AdminListen = c.Listen
	c.Cache.TTL["Text/HTML"] = Duration(time.Second)
	c.Mirrors.PublishDomains = -2
	err := c.Validate()
	want := []string{
		`admin_listen: "localhost:8443" is also listen`,
		`cache.ttl."Text/HTML": "Text/HTML" is not a lower-case media type like "text/html", without parameters`,
		`mirrors.publish_domains: must not be negative`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Validate = %v\nwant %s", err, strings.Join(want, "\n"))
	}
}
