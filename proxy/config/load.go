package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is one problem with a configuration. Load and Validate return one
// Error, or several joined with errors.Join (one per line, in line order).
type Error struct {
	File string // the file, "" when the configuration has none
	Line int    // 1-based line in File, 0 when no line is responsible
	Msg  string // what is wrong, usually starting with the key
}

// Error formats e as "FILE:LINE: MSG", "FILE: MSG" or "MSG".
func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line == 0:
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// typedKeys are the keys of the types Duration and Size, with the kinds of
// TOML value they accept and what to call them in messages. The decoder
// would take an integer Duration as nanoseconds, and reports other kinds
// without a line, so Load checks them first.
var typedKeys = []struct {
	key   string
	kinds []unstable.Kind
	want  string
}{
	{"memory_limit", []unstable.Kind{unstable.String, unstable.Integer}, `a size like "768MiB" or a number of bytes`},
	{"origin.timeout", []unstable.Kind{unstable.String}, `a duration string like "30s"`},
	{"origin.connect_timeout", []unstable.Kind{unstable.String}, `a duration string like "10s"`},
	{"origin.max_body", []unstable.Kind{unstable.String, unstable.Integer}, `a size like "64MiB" or a number of bytes`},
	{"acme.renew_before", []unstable.Kind{unstable.String}, `a duration string like "720h"`},
	{"origin.rate_limit", []unstable.Kind{unstable.Float, unstable.Integer}, "a number of fetches per second like 50.0"},
	{"origin.max_fetches", []unstable.Kind{unstable.Integer}, "an integer"},
	{"cache.max_size", []unstable.Kind{unstable.String, unstable.Integer}, `a size like "1GiB" or a number of bytes`},
	{"cache.max_object", []unstable.Kind{unstable.String, unstable.Integer}, `a size like "64MiB" or a number of bytes`},
	{"cache.memory", []unstable.Kind{unstable.String, unstable.Integer}, `a size like "64MiB" or a number of bytes`},
	{"cache.stale_if_error", []unstable.Kind{unstable.String}, `a duration string like "168h"`},
	{"cache.ttl", []unstable.Kind{unstable.InlineTable}, `a table of media types like { "text/html" = "60s" }`},
	{"cache.warm_every", []unstable.Kind{unstable.String}, `a duration string like "5m"`},
	{"mirrors.alternatives", []unstable.Kind{unstable.Array}, "an array of URL strings"},
	{"privacy.block_hosts", []unstable.Kind{unstable.Array}, "an array of strings"},
	{"privacy.block_scripts", []unstable.Kind{unstable.Array}, "an array of strings"},
	{"privacy.block_paths", []unstable.Kind{unstable.Array}, "an array of strings"},
	{"privacy.strip_params", []unstable.Kind{unstable.Array}, "an array of strings"},
	{"privacy.strip_cookies", []unstable.Kind{unstable.Array}, "an array of strings"},
	{"privacy.allow_hosts", []unstable.Kind{unstable.Array}, "an array of strings"},
	{"mirrors.publish_domains", []unstable.Kind{unstable.Integer}, "an integer"},
	{"mirrors.footer_link", []unstable.Kind{unstable.Bool}, "true or false"},
	{"domains", []unstable.Kind{unstable.Array}, "an array of host names or tables"},
}

type domainKind struct {
	key  string
	kind unstable.Kind
	want string
}

// domainKinds are the kinds of TOML value accepted in a domain table, and
// what to call them in messages.
var domainKinds = []domainKind{
	{"name", unstable.String, "a host name string"},
	{"from", unstable.DateTime, "a date-time with a time zone like 2026-12-01T00:00:00Z"},
	{"until", unstable.DateTime, "a date-time with a time zone like 2026-12-01T00:00:00Z"},
}

// Load reads the TOML file at path on top of Default and validates the
// result. Unknown keys, values of the wrong type and invalid values are
// errors of type *Error, formatted "FILE:LINE: message".
//
// When the file does not set origin.hosts, they are DefaultHosts of the
// file's origin.site; when it does not set mirrors.main_domain, or sets it
// empty, it is MainDomainOf the file's origin.site. Relative file names in the file are made absolute
// against the file's folder.
func Load(path string) (*Config, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	c := Default()
	c.Path = path
	// The parser gives the line of every key, for errors. When it fails,
	// the decoder below says where.
	lines, kinds, scanErr := scanKeys(data)
	c.lines = lines
	if scanErr == nil {
		if err := c.checkKinds(kinds); err != nil {
			return nil, err
		}
	}
	if _, ok := lines["cache\x00ttl"]; ok {
		c.Cache.TTL = map[string]Duration{} // the file's table replaces the default
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, decodeErrors(path, err)
	}
	if scanErr != nil { // not expected: the decoder accepted the same bytes
		return nil, &Error{File: path, Msg: scanErr.Error()}
	}
	if _, ok := lines["origin\x00hosts"]; !ok {
		c.Origin.Hosts = DefaultHosts(c.Origin.Site)
	}
	if _, ok := lines["mirrors\x00main_domain"]; !ok || c.Mirrors.MainDomain == "" {
		c.Mirrors.MainDomain = MainDomainOf(c.Origin.Site)
	}
	if err := c.resolvePaths(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// MaxFileSize bounds the configuration file Load reads. The example,
// with every key and its comments, is about 12 KB.
const MaxFileSize = 1 << 20

// readConfig reads the file at path: a regular file of at most
// MaxFileSize bytes. Anything else (a folder, a FIFO, a device such as
// /dev/zero) would hang or exhaust memory.
func readConfig(path string) ([]byte, error) {
	// Stat first: opening a FIFO blocks until someone writes to it.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	switch {
	case fi.IsDir():
		return nil, &Error{File: path, Msg: "is a directory, not a config file"}
	case !fi.Mode().IsRegular():
		return nil, &Error{File: path, Msg: "not a regular file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %v", Size(MaxFileSize))}
	}
	return data, nil
}

// checkKinds checks the kinds of the values of typedKeys.
func (c *Config) checkKinds(kinds map[string]unstable.Kind) error {
	var errs []error
	bad := map[string]bool{} // keys of the wrong kind: their insides are not checked
	ids := slices.Sorted(maps.Keys(kinds))
	for _, k := range typedKeys {
		id := dotID(k.key)
		if kind, ok := kinds[id]; ok && !slices.Contains(k.kinds, kind) {
			errs = append(errs, c.errorAt(fmt.Sprintf("%s: want %s, not %s", k.key, k.want, kindName(kind)), id))
			bad[k.key] = true
		}
	}
	for i := 0; !bad["domains"]; i++ {
		id := keyID("domains", fmt.Sprintf("[%d]", i))
		kind, ok := kinds[id]
		if !ok {
			break
		}
		if kind != unstable.String && kind != unstable.InlineTable {
			errs = append(errs, c.errorAt(fmt.Sprintf(`domains: want a host name or a table like { name = "m2.example", from = 2026-12-01T00:00:00Z }, not %s`, kindName(kind)), id))
			continue
		}
		errs = append(errs, c.checkDomainKinds(kinds, ids, i)...)
	}
	if !bad["cache.ttl"] {
		errs = append(errs, c.checkTTLKinds(kinds, ids)...)
	}
	errs = append(errs, c.checkArrayKinds(kinds, "mirrors.alternatives", unstable.String, "a URL string")...)
	for _, k := range []string{"block_hosts", "block_scripts", "block_paths", "strip_params", "strip_cookies", "allow_hosts"} {
		errs = append(errs, c.checkArrayKinds(kinds, "privacy."+k, unstable.String, "a string")...)
	}
	return sortErrors(errs)
}

// checkDomainKinds checks the keys of domain table i and their kinds. ids
// are the keys of kinds, sorted.
func (c *Config) checkDomainKinds(kinds map[string]unstable.Kind, ids []string, i int) []error {
	var errs []error
	prefix := keyID("domains", fmt.Sprintf("[%d]", i)) + "\x00"
	for _, id := range withPrefix(ids, prefix) {
		key := strings.TrimPrefix(id, prefix)
		j := slices.IndexFunc(domainKinds, func(dk domainKind) bool { return dk.key == key })
		if j < 0 {
			errs = append(errs, c.errorAt(fmt.Sprintf("domains: unknown key %q in a domain table (want name, from, until)", displayKey(strings.Split(key, "\x00"))), id))
		} else if kinds[id] != domainKinds[j].kind {
			errs = append(errs, c.errorAt(fmt.Sprintf("domains: %s: want %s, not %s", key, domainKinds[j].want, kindName(kinds[id])), id))
		}
	}
	return errs
}

// checkTTLKinds checks that every entry of cache.ttl is a duration string
// keyed by one quoted media type. ids are the keys of kinds, sorted.
func (c *Config) checkTTLKinds(kinds map[string]unstable.Kind, ids []string) []error {
	var errs []error
	prefix := dotID("cache.ttl") + "\x00"
	for _, id := range withPrefix(ids, prefix) {
		key := strings.TrimPrefix(id, prefix)
		switch {
		case strings.Contains(key, "\x00"):
			errs = append(errs, c.errorAt(fmt.Sprintf(`cache.ttl: %s: quote the media type, like "text/html" = "60s"`, displayKey(strings.Split(key, "\x00"))), id))
		case kinds[id] != unstable.String:
			errs = append(errs, c.errorAt(fmt.Sprintf(`%s: want a duration string like "60s", not %s`, displayKey([]string{"cache", "ttl", key}), kindName(kinds[id])), id))
		}
	}
	return errs
}

// withPrefix returns the run of the sorted ids that start with prefix.
// (Going through every id for each domain table was quadratic: a file of
// 8,000 domains took a minute.)
func withPrefix(ids []string, prefix string) []string {
	i, _ := slices.BinarySearch(ids, prefix)
	j := i
	for j < len(ids) && strings.HasPrefix(ids[j], prefix) {
		j++
	}
	return ids[i:j]
}

// checkArrayKinds checks that every element of the array at the dotted key
// is of kind, which messages call want.
func (c *Config) checkArrayKinds(kinds map[string]unstable.Kind, key string, kind unstable.Kind, want string) []error {
	var errs []error
	for i := 0; ; i++ {
		id := keyID(dotID(key), fmt.Sprintf("[%d]", i))
		k, ok := kinds[id]
		if !ok {
			return errs
		}
		if k != kind {
			errs = append(errs, c.errorAt(fmt.Sprintf("%s: want %s, not %s", key, want, kindName(k)), id))
		}
	}
}

// resolvePaths makes the relative file names set in the file absolute
// against the file's folder.
func (c *Config) resolvePaths() error {
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return &Error{File: c.Path, Msg: err.Error()}
	}
	dir := filepath.Dir(abs)
	// The keys that hold file names: state_dir, tls.cert_file,
	// tls.key_file, acme.ca_file, origin.ca_file, cache.dir,
	// mirrors.edge_key, mirrors.certificate.
	for _, p := range []*string{&c.StateDir, &c.TLS.CertFile, &c.TLS.KeyFile, &c.ACME.CAFile, &c.Origin.CAFile, &c.Cache.Dir, &c.Mirrors.EdgeKey, &c.Mirrors.Certificate} {
		// Defaults are absolute, so only names from the file are changed.
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return nil
}

// decodeErrors turns an error of the TOML decoder into *Error values.
func decodeErrors(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, _ := e.Position()
			what := "key"
			if strings.Contains(e.Error(), "table") {
				what = "table"
			}
			errs = append(errs, &Error{File: path, Line: line, Msg: fmt.Sprintf("unknown %s %q", what, strings.Join(e.Key(), "."))})
		}
		return sortErrors(errs)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if len(de.Key()) > 0 {
			msg = displayKey(de.Key()) + ": " + typeMessage(msg)
		}
		return &Error{File: path, Line: line, Msg: msg}
	}
	return &Error{File: path, Msg: err.Error()}
}

var typeErrorRE = regexp.MustCompile(`^cannot decode TOML (\w+(?: \w+)?) into .* of type (\S+)$`)

// typeMessage rewrites the decoder's message about a value of the wrong
// type in the terms of the file; other messages are kept.
func typeMessage(msg string) string {
	m := typeErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := map[string]string{
		"string":                     "a string",
		"[]string":                   "an array of strings",
		"map[string]string":          "a table of strings",
		"config.Duration":            `a duration string like "30s"`,
		"config.Size":                `a size like "64MiB" or a number of bytes`,
		"config.TLSConfig":           "a table",
		"config.ACMEConfig":          "a table",
		"config.OriginConfig":        "a table",
		"config.CacheConfig":         "a table",
		"config.MirrorsConfig":       "a table",
		"map[string]config.Duration": `a table of media types like { "text/html" = "60s" }`,
		"float64":                    "a number",
		"int":                        "an integer",
		"bool":                       "true or false",
	}[m[2]]
	if want == "" {
		return msg
	}
	return fmt.Sprintf("want %s, not %s %s", want, article(m[1]), m[1])
}

func article(s string) string {
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

// kindName names a kind of TOML value for messages.
func kindName(k unstable.Kind) string {
	switch k {
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "a table"
	case unstable.String:
		return "a string"
	}
	return "a date or time"
}

// sortErrors joins errs ordered by line.
func sortErrors(errs []error) error {
	line := func(e error) int {
		var ce *Error
		if errors.As(e, &ce) {
			return ce.Line
		}
		return 0
	}
	for i := 1; i < len(errs); i++ { // insertion sort: stable, and short lists
		for j := i; j > 0 && line(errs[j]) < line(errs[j-1]); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errors.Join(errs...)
}

// errorAt returns an *Error for msg on the line of the first of ids that
// the file sets. With no such key the error has no line.
func (c *Config) errorAt(msg string, ids ...string) error {
	e := &Error{File: c.Path, Msg: msg}
	for _, id := range ids {
		if l, ok := c.lines[id]; ok {
			e.Line = l
			break
		}
	}
	return e
}
