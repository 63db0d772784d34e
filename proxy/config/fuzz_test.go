package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds Load arbitrary files, seeded with the example
// configuration and variations of it. Load must not panic or hang; it
// returns either a configuration that validates, or errors of one line
// each that name the file.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"",
		"domains = [\"a.test\", { name = \"b.test\", from = 2026-12-01T00:00:00Z }]\n",
		"[[domains]]\nname = \"a.test\"\n[[domains]]\nname = \"b.test\"\nuntil = 2027-01-01T00:00:00Z\n",
		"[origin]\nresolve = { \"*\" = \"127.0.0.1:9443\" }\nmax_body = \"1MiB\"\nrate_limit = 0\n",
		"[cache.ttl]\n\"text/html\" = \"60s\"\n\"text/css\" = \"1h\"\n",
		"memory_limit = \"768MiB\"\ngc_percent = 400\n",
		"[privacy]\nblock_hosts = [\"t.example\"]\nstrip_params = [\"utm_*\"]\n",
		"origin.timeout = \"1s\"\ncache.warm = false\n",
	} {
		f.Add([]byte(s))
	}
	// Lines of the example, one at a time, under their table.
	table := ""
	for _, line := range strings.Split(string(example), "\n") {
		if strings.HasPrefix(line, "[") {
			table = line
		} else if line != "" && !strings.HasPrefix(line, "#") {
			f.Add([]byte(table + "\n" + line + "\n"))
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "z.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		type result struct {
			c   *Config
			err error
		}
		done := make(chan result, 1)
		go func() { c, err := Load(path); done <- result{c, err} }()
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Load still running after 10 s on %q", data)
		}
		if r.err == nil {
			if err := r.c.Validate(); err != nil {
				t.Fatalf("Load accepted a configuration that does not validate: %v\n%q", err, data)
			}
			return
		}
		for _, line := range strings.Split(r.err.Error(), "\n") {
			if !strings.HasPrefix(line, path+":") && !strings.HasPrefix(line, "config: ") {
				t.Fatalf("error line %q does not name the file\n%q", line, data)
			}
		}
	})
}
