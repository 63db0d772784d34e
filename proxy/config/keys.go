package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyID returns the identifier of a key path in Config.lines. Path
// elements may hold dots (quoted TOML keys such as "www.rferl.org"), so
// they are joined with NUL. Array elements are the element "[i]".
func keyID(path ...string) string { return strings.Join(path, "\x00") }

// dotID is keyID for a dotted path of bare keys, such as "origin.timeout".
func dotID(dotted string) string { return strings.ReplaceAll(dotted, ".", "\x00") }

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// displayKey writes a key path as TOML does, quoting elements that are not
// bare keys: origin.resolve."www.rferl.org".
func displayKey(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		if bareKey.MatchString(p) {
			parts[i] = p
		} else {
			parts[i] = fmt.Sprintf("%q", p)
		}
	}
	return strings.Join(parts, ".")
}

// scanKeys walks the document with the TOML parser and returns the line of
// every key, table header and array element in it, and the kind of every
// value, by key identifier (see keyID).
func scanKeys(data []byte) (map[string]int, map[string]unstable.Kind, error) {
	s := &scanner{lines: map[string]int{}, kinds: map[string]unstable.Kind{}, arrays: map[string]int{}}
	for i, b := range data {
		if b == '\n' {
			s.newlines = append(s.newlines, i)
		}
	}
	s.p.Reset(data)
	var table []string
	for s.p.NextExpression() {
		e := s.p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = s.key(nil, e)
		case unstable.ArrayTable:
			table = s.arrayTable(e)
		case unstable.KeyValue:
			s.value(s.key(table, e), e.Value())
		}
	}
	return s.lines, s.kinds, s.p.Error()
}

type scanner struct {
	p        unstable.Parser
	lines    map[string]int
	kinds    map[string]unstable.Kind
	arrays   map[string]int // elements of each [[array table]] so far
	newlines []int          // offsets of the input's newlines, for line
}

// arrayTable records an [[array table]] header as the next element of an
// array of tables, so that its keys are checked as those of an inline
// table in an array ("domains" [i] "name"), and returns the element's path.
func (s *scanner) arrayTable(n *unstable.Node) []string {
	path := s.key(nil, n)
	id := keyID(path...)
	i := s.arrays[id]
	s.arrays[id] = i + 1
	s.kinds[id] = unstable.Array
	elem := append(path, fmt.Sprintf("[%d]", i))
	s.lines[keyID(elem...)] = s.lines[id]
	s.kinds[keyID(elem...)] = unstable.InlineTable
	return elem
}

// key records the line of the key of a table header or key-value node
// under prefix, and returns its full path.
func (s *scanner) key(prefix []string, n *unstable.Node) []string {
	path := append([]string(nil), prefix...)
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		path = append(path, string(k.Data))
		line = s.line(k, line)
		if _, ok := s.lines[keyID(path...)]; !ok {
			s.lines[keyID(path...)] = line // parent of a dotted key
		}
	}
	s.lines[keyID(path...)] = line
	return path
}

// value records the kind of a value, and the lines of the keys and
// elements inside it.
func (s *scanner) value(path []string, v *unstable.Node) {
	s.kinds[keyID(path...)] = v.Kind
	line := s.lines[keyID(path...)]
	it := v.Children()
	for i := 0; it.Next(); {
		c := it.Node()
		if c.Kind == unstable.Comment {
			continue
		}
		switch v.Kind {
		case unstable.InlineTable: // children are key-values
			s.value(s.key(path, c), c.Value())
		case unstable.Array: // children are values
			p := append(append([]string(nil), path...), fmt.Sprintf("[%d]", i))
			s.lines[keyID(p...)] = s.line(c, line)
			s.value(p, c)
			i++
		}
	}
}

// line returns the line a node starts on, or fallback for nodes without
// a position in the input (arrays, inline tables).
func (s *scanner) line(n *unstable.Node, fallback int) int {
	if n.Raw.Length == 0 || n.Kind == unstable.Array {
		return fallback
	}
	// The parser's Shape counts the lines from the start of the input
	// each time: quadratic over a file of many keys.
	return 1 + sort.SearchInts(s.newlines, int(n.Raw.Offset))
}
