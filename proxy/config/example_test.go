package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// examplePath is the example configuration shipped in deploy/.
const examplePath = "../../deploy/zerkalo.example.toml"

// TestExampleLoads keeps the example in step with the code: it loads, and
// its values are the defaults (those of root, for the folders).
func TestExampleLoads(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	want := defaults(func(string) string { return "" }, 0)
	want.Path = examplePath
	c.lines = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("example is not the defaults:\n got %+v\nwant %+v", c, want)
	}
}

// TestExampleHasEveryKey checks that every key of Config is in the example,
// set or commented out, in its table, and that the example has no other.
// A subtable header such as [cache.ttl] counts as its key; the quoted keys
// inside it are its contents.
func TestExampleHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	table := ""
	header := regexp.MustCompile(`^\[(\w+)((?:\.\w+)?)\]`)
	key := regexp.MustCompile(`^(?:# )?(\w+) *=`)
	for _, line := range strings.Split(string(data), "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			table = m[1] + m[2] + "."
			if m[2] != "" {
				got = append(got, m[1]+m[2])
			}
		} else if m := key.FindStringSubmatch(line); m != nil {
			got = append(got, table+m[1])
		}
	}
	want := tomlKeys(reflect.TypeFor[Config](), "")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("example keys:\n got %q\nwant %q", got, want)
	}
}

// tomlKeys lists the TOML keys of a struct type, tables flattened.
func tomlKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, tomlKeys(f.Type, prefix+name+".")...)
		} else {
			keys = append(keys, prefix+name)
		}
	}
	return keys
}
