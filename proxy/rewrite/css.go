package rewrite

import (
	"bytes"
	"io"
	"strings"
)

// urlValue rewrites one URL value (an attribute, a CSS url()) that arrives
// in pieces with Doc.URL. A value longer than window is rewritten by its
// first window bytes, which hold any origin prefix, and the rest passes
// through: a data: URI of a megabyte is not held.
type urlValue struct {
	d    *Doc
	buf  []byte
	long bool
	// fetched says the browser fetches the URL (a CSS url(), @import): one
	// not on the mirror becomes "data:,", which fetches nothing.
	fetched bool
}

// add appends p to the value and appends to out what is decided.
func (u *urlValue) add(out, p []byte) []byte {
	if u.long {
		return append(out, p...)
	}
	n := min(len(p), window-len(u.buf))
	u.buf = append(u.buf, p[:n]...)
	if len(u.buf) < window {
		return out
	}
	out = append(out, u.d.URL(string(u.buf))...)
	u.buf, u.long = u.buf[:0], true
	return append(out, p[n:]...)
}

// end appends the rest of the value to out and starts a new value.
func (u *urlValue) end(out []byte) []byte {
	switch {
	case u.long:
	case u.d.Absolute == "" && !bytes.ContainsAny(u.buf, `/\:`):
		out = append(out, u.buf...) // relative: neither a scheme nor a root
	default:
		v := string(u.buf)
		if u.fetched && !u.d.keepAll && u.d.classify(v) != urlLocal {
			out = append(out, blockedURL...)
		} else {
			out = append(out, u.d.URL(v)...)
		}
	}
	u.buf, u.long = u.buf[:0], false
	return out
}

// blockedURL stands for a fetched URL that is not on the mirror: an empty
// data: URL, which the browser resolves without a request.
const blockedURL = "data:,"

// cssState is where a cssWriter is in the stylesheet.
type cssState uint8

const (
	cssCode     cssState = iota
	cssSlash             // after '/': a comment or not
	cssComment           // in /* … */
	cssString            // in "…" or '…'
	cssURLStart          // after "url(", before its value
	cssURL               // in an unquoted url( … )
)

// cssFunc says what the strings inside a CSS function are.
type cssFunc uint8

const (
	fnOther cssFunc = iota
	fnURL           // url( with a quoted value
	fnURLs          // src(, image-set(: its strings are URLs
)

// maxCSSDepth bounds the nesting of functions that is tracked.
const maxCSSDepth = 64

// cssWriter is the streaming CSS rewriter.
type cssWriter struct {
	sink
	d        *Doc
	text     textRun
	url      urlValue
	state    cssState
	quote    byte
	esc      bool
	star     bool
	strURL   bool // the string being read is a URL
	inIdent  bool
	identAt  bool // the identifier is an at-keyword
	identLen int
	ident    [17]byte
	import_  bool // after @import, before its URL
	funcs    []cssFunc
	deep     int // functions open beyond maxCSSDepth
}

// NewCSSWriter returns a streaming rewriter for stylesheets. It lexes the
// CSS — comments, strings, url() — and rewrites every URL of url(),
// @import, image-set() and src() with Doc.URL, so that root-relative URLs
// of a stylesheet from a secondary host keep pointing at that host, and
// origin URLs in other strings with Doc.Embedded. Every other byte passes
// through unchanged, and it holds back at most a few KB. Close flushes; it
// does not close w.
func NewCSSWriter(w io.Writer, d *Doc) io.WriteCloser {
	return newCSSWriter(w, d)
}

func newCSSWriter(w io.Writer, d *Doc) *cssWriter {
	c := new(cssWriter)
	c.reset(w, d)
	return c
}

// reset makes c a new writer that keeps the buffers c grew: the HTML
// rewriter reuses one for each style element of a page.
func (c *cssWriter) reset(w io.Writer, d *Doc) {
	*c = cssWriter{sink: sink{w: w, out: c.out[:0]}, d: d, text: textRun{d: d, buf: c.text.buf[:0]},
		url: urlValue{d: d, fetched: true, buf: c.url.buf[:0]}, funcs: c.funcs[:0]}
}

// CSS rewrites a CSS fragment such as a style attribute.
func (d *Doc) CSS(s string) string {
	if d.Absolute == "" && !strings.ContainsAny(s, `/\`) && !hasHTTPColon(s) {
		return s
	}
	var b strings.Builder
	w := NewCSSWriter(&b, d)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

// Write rewrites p. It returns the first error of the underlying writer.
func (c *cssWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for i := 0; i < len(p); {
		i += c.step(p[i:])
		if len(c.out) >= outFlush && c.flush() != nil {
			return i, c.err
		}
	}
	return len(p), c.flush()
}

// Close writes out what the writer holds. It does not close the
// underlying writer.
func (c *cssWriter) Close() error {
	switch {
	case c.state == cssURL || c.state == cssString && c.strURL:
		c.out = c.url.end(c.out)
	case c.state == cssString:
		c.out = c.text.end(c.out)
	}
	c.state = cssCode
	return c.flush()
}

// step consumes bytes from the start of p and returns how many; zero
// only when the state changed.
func (c *cssWriter) step(p []byte) int {
	switch c.state {
	case cssCode:
		return c.code(p)
	case cssSlash:
		c.state = cssCode
		if p[0] != '*' {
			return 0
		}
		c.state, c.star = cssComment, false
		c.out = append(c.out, '*')
		return 1
	case cssComment:
		for k, b := range p {
			if b == '/' && c.star {
				c.state = cssCode
				c.out = append(c.out, p[:k+1]...)
				return k + 1
			}
			c.star = b == '*'
		}
		c.out = append(c.out, p...)
		return len(p)
	case cssString:
		return c.str(p)
	case cssURLStart:
		switch b := p[0]; {
		case isSpace(b):
			c.out = append(c.out, b)
			return 1
		case b == '"' || b == '\'':
			c.push(fnURL)
			c.out = append(c.out, b)
			c.state, c.quote, c.strURL = cssString, b, true
			return 1
		}
		c.state = cssURL
		return 0
	}
	return c.unquotedURL(p)
}

// code passes code through up to the next byte that changes state,
// keeping track of identifiers, at-keywords and functions.
func (c *cssWriter) code(p []byte) int {
	for k, b := range p {
		if c.esc {
			c.esc = false
			c.identLen = len(c.ident) + 1 // an escaped identifier is none we know
			continue
		}
		if isCSSIdent(b) || b == '@' && !c.inIdent {
			if !c.inIdent {
				c.inIdent, c.identAt, c.identLen = true, b == '@', 0
				if b == '@' {
					continue
				}
			}
			if c.identLen < len(c.ident) {
				c.ident[c.identLen] = lower(b)
			}
			c.identLen++
			continue
		}
		fn := c.endIdent()
		switch b {
		case '\\':
			c.esc, c.inIdent, c.identLen = true, true, len(c.ident)+1
			continue
		case '(':
			if fn == fnURL {
				c.out = append(c.out, p[:k+1]...)
				c.state = cssURLStart
				return k + 1
			}
			c.push(fn)
		case ')':
			c.pop()
		case ';', '{', '}':
			c.import_ = false
		case '"', '\'':
			c.strURL = c.import_ || c.top() == fnURLs
			c.state, c.quote = cssString, b
		case '/':
			c.state = cssSlash
		}
		if c.state != cssCode {
			c.out = append(c.out, p[:k+1]...)
			return k + 1
		}
	}
	c.out = append(c.out, p...)
	return len(p)
}

// endIdent ends the identifier being read and returns the function kind
// it would name.
func (c *cssWriter) endIdent() cssFunc {
	if !c.inIdent {
		return fnOther
	}
	c.inIdent = false
	if c.identLen > len(c.ident) {
		return fnOther
	}
	name := c.ident[:c.identLen]
	if c.identAt {
		if string(name) == "import" {
			c.import_ = true
		}
		return fnOther
	}
	switch string(name) {
	case "url":
		return fnURL
	case "src", "image-set", "-webkit-image-set":
		return fnURLs
	}
	return fnOther
}

func (c *cssWriter) push(f cssFunc) {
	if len(c.funcs) < maxCSSDepth {
		c.funcs = append(c.funcs, f)
	} else {
		c.deep++
	}
}

func (c *cssWriter) pop() {
	switch {
	case c.deep > 0:
		c.deep--
	case len(c.funcs) > 0:
		c.funcs = c.funcs[:len(c.funcs)-1]
	}
}

func (c *cssWriter) top() cssFunc {
	if len(c.funcs) == 0 || c.deep > 0 {
		return fnOther
	}
	return c.funcs[len(c.funcs)-1]
}

// str reads a string up to its closing quote or an unescaped line end.
func (c *cssWriter) str(p []byte) int {
	k := 0
	for ; k < len(p); k++ {
		b := p[k]
		if c.esc {
			c.esc = false
			continue
		}
		if b == '\\' {
			c.esc = true
		} else if b == c.quote || b == '\n' || b == '\r' || b == '\f' {
			break
		}
	}
	if c.strURL {
		c.out = c.url.add(c.out, p[:k])
	} else {
		c.out = c.text.add(c.out, p[:k])
	}
	if k == len(p) {
		return k
	}
	if c.strURL {
		c.out = c.url.end(c.out)
		c.import_ = false
	} else {
		c.out = c.text.end(c.out)
	}
	c.out = append(c.out, p[k])
	c.state = cssCode
	return k + 1
}

// unquotedURL reads the value of url( … ) up to its closing parenthesis.
func (c *cssWriter) unquotedURL(p []byte) int {
	k := 0
	for ; k < len(p); k++ {
		if c.esc {
			c.esc = false
			continue
		}
		if p[k] == '\\' {
			c.esc = true
		} else if p[k] == ')' {
			break
		}
	}
	c.out = c.url.add(c.out, p[:k])
	if k == len(p) {
		return k
	}
	c.out = c.url.end(c.out)
	c.out = append(c.out, ')')
	c.state, c.import_ = cssCode, false
	return k + 1
}

// hasHTTPColon reports whether b holds "http:" or "https:" (any case): a
// URL such as "http:host", which names a host without a slash when the
// page is served over https.
func hasHTTPColon[T string | []byte](b T) bool {
	for i := 4; i < len(b); i++ {
		if b[i] != ':' {
			continue
		}
		j := i
		if lowerASCII(b[j-1]) == 's' {
			j--
		}
		if j >= 4 && lowerASCII(b[j-4]) == 'h' && lowerASCII(b[j-3]) == 't' &&
			lowerASCII(b[j-2]) == 't' && lowerASCII(b[j-1]) == 'p' {
			return true
		}
	}
	return false
}

func isCSSIdent(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '-' || b == '_' || b >= 0x80
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
