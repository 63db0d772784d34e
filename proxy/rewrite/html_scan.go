package rewrite

import "bytes"

// The HTML rewriter splits its input into tokens with the functions of this
// file rather than with golang.org/x/net/html's Tokenizer: they follow that
// Tokenizer's rules exactly (FuzzHTMLTokens checks it), but work in place on
// the input buffer, without copying or allocating per tag or attribute,
// which makes the rewriter several times faster. The Tokenizer still
// decodes attribute values that hold character references.

// tokKind is the kind of an HTML token.
type tokKind uint8

const (
	tokText    tokKind = iota // text; may be split anywhere
	tokStart                  // start tag, self-closing or not
	tokEnd                    // end tag
	tokComment                // comment or bogus comment ("<?x>", "</ x>", "<!x>")
	tokOther                  // doctype, "</>", or an unfinished token at the end
)

// nextToken returns the kind and length of the token at the start of data
// (which is not empty), or -1 when data ends before the token does and eof
// is false. At eof an unfinished token takes the rest of data.
func nextToken(data []byte, eof bool) (tokKind, int) {
	if data[0] != '<' {
		if i := bytes.IndexByte(data[1:], '<'); i >= 0 {
			return tokText, i + 1
		}
		return tokText, len(data)
	}
	if len(data) < 2 {
		return tokText, more(eof, 1)
	}
	kind, n := tokOther, -1
	switch c := data[1]; {
	case isLetter(c):
		kind, n = tokStart, tagLen(data)
	case c == '/':
		switch {
		case len(data) < 3:
			kind = tokText // "</" at the end is text
		case data[2] == '>':
			n = 3
		case isLetter(data[2]):
			kind, n = tokEnd, tagLen(data)
		default:
			kind, n = tokComment, closeAngle(data, 2)
		}
	case c == '!':
		switch {
		case len(data) < 4:
			kind = tokComment
		case data[2] == '-' && data[3] == '-':
			kind, n = tokComment, commentLen(data)
		case hasFoldPrefix(string(data[2:min(len(data), 9)]), "doctype"):
			n = closeAngle(data, 2)
		default:
			kind, n = tokComment, closeAngle(data, 2)
		}
	case c == '?':
		kind, n = tokComment, closeAngle(data, 2)
	default:
		return tokText, 1 // a '<' that starts no tag
	}
	if n < 0 {
		n = more(eof, len(data))
		if kind == tokStart || kind == tokEnd {
			kind = tokOther // an unfinished tag at the end: dropped by browsers
		}
	}
	return kind, n
}

// more returns -1 to ask for more input, or n at the end of the input.
func more(eof bool, n int) int {
	if eof {
		return n
	}
	return -1
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// closeAngle returns the length up to the first '>' at or after data[i],
// or -1.
func closeAngle(data []byte, i int) int {
	if j := bytes.IndexByte(data[i:], '>'); j >= 0 {
		return i + j + 1
	}
	return -1
}

// commentLen returns the length of the comment starting "<!--" in data,
// or -1, following the Tokenizer's readComment.
func commentLen(data []byte) int {
	dashes, beginning := 0, true
	for i := 4; i < len(data); i++ {
		switch data[i] {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return i + 1
			}
		case '!':
			if dashes >= 2 {
				i++
				if i >= len(data) {
					return -1
				}
				switch data[i] {
				case '>':
					return i + 1
				case '-':
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
	return -1
}

// tagLen returns the length of the start or end tag at the start of data
// ("<a ...>" or "</a ...>"), or -1, following the Tokenizer's readTag.
func tagLen(data []byte) int {
	_, i := tagName(data)
	for {
		for i < len(data) && scanClass[data[i]]&clsSpace != 0 {
			i++
		}
		if i >= len(data) {
			return -1
		}
		if data[i] == '>' {
			return i + 1
		}
		var a attr
		i = scanAttr(data, i, &a)
	}
}

// tagName returns the name of the tag in raw ("<name ...>" or "</name
// ...>") and the offset after it, as the Tokenizer's readTagName reads it.
func tagName(raw []byte) ([]byte, int) {
	start := 1
	if raw[1] == '/' {
		start = 2
	}
	for i := start + 1; i < len(raw); i++ {
		if c := raw[i]; scanClass[c]&clsEndName != 0 {
			if scanClass[c]&clsSpace != 0 {
				return raw[start:i], i + 1
			}
			return raw[start:i], i
		}
	}
	return raw[start:], len(raw)
}

// scanAttr reads the attribute at raw[i:] (not white space, not '>') like
// the Tokenizer's readTagAttrKey and readTagAttrVal, sets a's spans and
// returns the offset after it.
func scanAttr(raw []byte, i int, a *attr) int {
	a.k0 = i
	if i < len(raw) && raw[i] == '=' {
		i++ // a key may start with '='
	}
	for i < len(raw) && scanClass[raw[i]]&clsEndKey == 0 {
		i++
	}
	a.k1 = i
	a.v0, a.v1, a.quote = i, i, 0
	return scanAttrVal(raw, i, a)
}

// scanAttrVal reads "= value" after an attribute key at raw[i:] like the
// Tokenizer's readTagAttrVal, and returns the offset after it.
func scanAttrVal(raw []byte, i int, a *attr) int {
	for i < len(raw) && scanClass[raw[i]]&clsSpace != 0 {
		i++
	}
	if i >= len(raw) {
		return i
	}
	switch raw[i] {
	case '/':
		return i + 1
	case '=':
		i++
	default:
		return i
	}
	for i < len(raw) && scanClass[raw[i]]&clsSpace != 0 {
		i++
	}
	if i >= len(raw) {
		return i
	}
	switch q := raw[i]; q {
	case '>':
		return i
	case '"', '\'':
		a.quote = q
		a.v0 = i + 1
		end := bytes.IndexByte(raw[i+1:], q)
		if end < 0 {
			a.v1 = len(raw)
			return len(raw)
		}
		a.v1 = a.v0 + end
		return a.v1 + 1
	}
	a.v0 = i
	i++
	for i < len(raw) && scanClass[raw[i]]&clsEndValue == 0 {
		i++
	}
	a.v1 = i
	return i
}

// Byte classes of the scanner, which finds them with one table look-up
// per byte rather than a chain of comparisons.
const (
	clsSpace    uint8 = 1 << iota // HTML white space: ' ', '\t', '\n', '\r', '\f'
	clsEndName                    // ends a tag name: white space, '/', '>'
	clsEndKey                     // ends an attribute key: white space, '/', '>', '='
	clsEndValue                   // ends an unquoted attribute value: white space, '>'
)

// scanClass holds the classes of each byte.
var scanClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\f") {
		t[c] = clsSpace | clsEndName | clsEndKey | clsEndValue
	}
	t['/'] = clsEndName | clsEndKey
	t['>'] = clsEndName | clsEndKey | clsEndValue
	t['='] = clsEndKey
	return t
}()
