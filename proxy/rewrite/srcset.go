package rewrite

import (
	"iter"
	"strings"
)

// Srcset rewrites a srcset attribute value with Doc.URL, one image
// candidate at a time. Candidates are split the way the HTML standard
// parses srcset: a URL runs to the next white space and may hold commas,
// commas at its end separate candidates, and descriptors ("2x", "300w")
// run to the next comma outside parentheses. Everything but the URLs is
// kept byte for byte.
func (d *Doc) Srcset(s string) string {
	var b strings.Builder
	last := 0
	for c := range srcsetCandidates(s) {
		if u := d.URL(s[c.url0:c.url1]); u != s[c.url0:c.url1] {
			b.WriteString(s[last:c.url0])
			b.WriteString(u)
			last = c.url1
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// srcsetCandidate is one image candidate of a srcset value: s[url0:url1]
// is its URL, s[url0:end] the URL with its descriptors.
type srcsetCandidate struct{ url0, url1, end int }

// srcsetCandidates yields the candidates of a srcset value in order, split
// as the HTML standard parses srcset.
func srcsetCandidates(s string) iter.Seq[srcsetCandidate] {
	return func(yield func(srcsetCandidate) bool) {
		for i := 0; ; {
			for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
				i++
			}
			if i == len(s) {
				return
			}
			start := i
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			end := i
			for end > start && s[end-1] == ',' {
				end--
			}
			if end == i { // no commas ended the URL: descriptors may follow
				i = skipDescriptors(s, i)
			}
			if !yield(srcsetCandidate{url0: start, url1: end, end: i}) {
				return
			}
		}
	}
}

// skipDescriptors returns the index after the descriptors of a srcset
// candidate that start at s[i:], and after the comma that ends them.
func skipDescriptors(s string, i int) int {
	inParens := false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case inParens:
			inParens = c != ')'
		case c == '(':
			inParens = true
		case c == ',':
			return i + 1
		}
	}
	return i
}
