package rewrite

import "strings"

// Srcset rewrites a srcset attribute value with Doc.URL, one image
// candidate at a time. Candidates are split the way the HTML standard
// parses srcset: a URL runs to the next white space and may hold commas,
// commas at its end separate candidates, and descriptors ("2x", "300w")
// run to the next comma outside parentheses. Everything but the URLs is
// kept byte for byte.
func (d *Doc) Srcset(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		end := i
		for end > start && s[end-1] == ',' {
			end--
		}
		if u := d.URL(s[start:end]); u != s[start:end] {
			b.WriteString(s[last:start])
			b.WriteString(u)
			last = end
		}
		if end < i { // the URL ended with commas: no descriptors
			continue
		}
		i = skipDescriptors(s, i)
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
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
