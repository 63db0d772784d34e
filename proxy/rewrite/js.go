package rewrite

import (
	"bytes"
	"io"
	"strings"
)

const (
	// window is the most bytes of one string literal, text run or URL
	// value that a streaming rewriter holds back before writing them out.
	window = 4096
	// maxPrefix bounds the bytes Doc.originPrefix reads from its start:
	// "https:\/\/", a host of at most 253 bytes, ":443" and one byte of
	// look-ahead.
	maxPrefix = 300
	// outFlush is the amount of rewritten output a writer gathers before
	// passing it on.
	outFlush = 32 << 10
)

// sink gathers a streaming rewriter's output and passes it to w.
type sink struct {
	w   io.Writer
	out []byte
	err error
}

// flush writes the gathered output to w and keeps the first error.
func (s *sink) flush() error {
	if s.err == nil && len(s.out) > 0 {
		_, s.err = s.w.Write(s.out)
	}
	s.out = s.out[:0]
	return s.err
}

// textRun rewrites one run of free text (a string literal, a text node)
// that arrives in pieces, the way Doc.Embedded rewrites it whole, while
// holding back at most window bytes: an origin URL prefix that spans two
// pieces is still found.
type textRun struct {
	d   *Doc
	buf []byte // text not written yet; buf[:ctx] was written and is context
	ctx int
}

// add appends p to the run and appends to out what can no longer change.
func (t *textRun) add(out, p []byte) []byte {
	for len(p) > 0 {
		n := min(len(p), window-len(t.buf))
		t.buf = append(t.buf, p[:n]...)
		p = p[n:]
		if len(t.buf) >= window {
			out = t.emit(out, false)
		}
	}
	return out
}

// end appends the rest of the run to out and starts a new run.
func (t *textRun) end(out []byte) []byte { return t.emit(out, true) }

// emit rewrites the held text. Unless final, it keeps the last maxPrefix
// bytes, where a URL prefix may still be incomplete, and one byte before
// them as context.
func (t *textRun) emit(out []byte, final bool) []byte {
	limit := len(t.buf)
	if !final {
		limit -= maxPrefix
	}
	if !hasSlashPair(t.buf[t.ctx:]) { // every origin prefix has one
		out = append(out, t.buf[t.ctx:limit]...)
		t.keep(limit, final)
		return out
	}
	s := string(t.buf)
	last := t.ctx
	for i := t.ctx; i < limit; i++ {
		c := s[i]
		if c != 'h' && c != 'H' && c != '/' && c != '\\' {
			continue
		}
		if (c == '/' || c == '\\') && i > 0 && isSchemeByte(s[i-1]) {
			continue // as in Doc.Embedded
		}
		n, root, ok := t.d.originPrefix(s, i)
		if !ok {
			continue
		}
		out = append(out, s[last:i]...)
		out = append(out, t.d.Absolute...)
		root = joinRoot(root, s[i+n:])
		if strings.Contains(s[i:i+n], `\/`) {
			root = strings.ReplaceAll(root, "/", `\/`)
		}
		out = append(out, root...)
		last = i + n
		i = last - 1
	}
	cut := max(last, limit)
	out = append(out, s[last:cut]...)
	t.keep(cut, final)
	return out
}

// keep drops the written text before cut, keeping one byte of context.
func (t *textRun) keep(cut int, final bool) {
	if final || cut == 0 {
		t.buf, t.ctx = t.buf[:0], 0
		return
	}
	t.buf = t.buf[:copy(t.buf, t.buf[cut-1:])]
	t.ctx = 1
}

// jsState is where a jsWriter is in the script.
type jsState uint8

const (
	jsCode           jsState = iota
	jsSlash                  // after '/' in code: comment, regex or division
	jsLineComment            // in // …
	jsBlockComment           // in /* … */
	jsString                 // in '…' or "…"
	jsTemplate               // in the text of `…`
	jsTemplateDollar         // after '$' in template text
	jsRegex                  // in /…/
	jsRegexClass             // in [ … ] of a regex
)

// maxTemplateDepth bounds the nesting of `${ `${ … }` }` that is tracked.
const maxTemplateDepth = 256

// jsWriter is the streaming JavaScript and JSON rewriter.
type jsWriter struct {
	sink
	d       *Doc
	text    textRun
	state   jsState
	quote   byte // the quote of the string being read
	esc     bool // the previous byte was an escaping backslash
	escCR   bool // an escaped CR may be followed by LF
	star    bool // the previous byte of a block comment was '*'
	regexOK bool // a '/' in code starts a regular expression
	inWord  bool
	wordLen int
	word    [10]byte
	braces  []int // per open ${: depth of { } inside it
}

// NewJSWriter returns a streaming rewriter for JavaScript and JSON (JSON-LD,
// web manifests). It lexes the script — string and template literals,
// comments, regular expression literals — and rewrites the origin URLs
// inside string literals and template text as Doc.Embedded does; every
// other byte passes through unchanged. It holds back at most a few KB
// whatever the size of the script or of one literal. Close flushes; it
// does not close w.
func NewJSWriter(w io.Writer, d *Doc) io.WriteCloser {
	j := new(jsWriter)
	j.reset(w, d)
	return j
}

// reset makes j a new writer that keeps the buffers j grew: the HTML
// rewriter reuses one for each script of a page.
func (j *jsWriter) reset(w io.Writer, d *Doc) {
	*j = jsWriter{sink: sink{w: w, out: j.out[:0]}, d: d, text: textRun{d: d, buf: j.text.buf[:0]},
		regexOK: true, braces: j.braces[:0]}
}

// JS rewrites a small script, such as the value of an onclick attribute.
func (d *Doc) JS(s string) string {
	if !strings.ContainsAny(s, `/\`) {
		return s
	}
	var b strings.Builder
	w := NewJSWriter(&b, d)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

// Write rewrites p. It returns the first error of the underlying writer.
func (j *jsWriter) Write(p []byte) (int, error) {
	if j.err != nil {
		return 0, j.err
	}
	for i := 0; i < len(p); {
		i += j.step(p[i:])
		if len(j.out) >= outFlush && j.flush() != nil {
			return i, j.err
		}
	}
	return len(p), j.flush()
}

// Close writes out what the writer holds. It does not close the
// underlying writer.
func (j *jsWriter) Close() error {
	switch j.state {
	case jsTemplateDollar:
		j.out = j.text.add(j.out, []byte{'$'})
		fallthrough
	case jsString, jsTemplate:
		j.out = j.text.end(j.out)
	}
	j.state = jsCode
	return j.flush()
}

// step consumes bytes from the start of p (at least one, unless it only
// changes state) and returns how many.
func (j *jsWriter) step(p []byte) int {
	switch j.state {
	case jsCode:
		return j.code(p)
	case jsSlash:
		return j.slash(p[0])
	case jsLineComment:
		k := bytes.IndexAny(p, "\n\r")
		if k < 0 {
			k = len(p)
		} else {
			j.state = jsCode
		}
		j.out = append(j.out, p[:k]...)
		return k
	case jsBlockComment:
		return j.blockComment(p)
	case jsString:
		return j.str(p)
	case jsTemplate:
		return j.template(p)
	case jsTemplateDollar:
		j.state = jsTemplate
		if p[0] == '{' {
			j.out = j.text.end(j.out)
			j.out = append(j.out, '$', '{')
			j.openSubst()
			return 1
		}
		j.out = j.text.add(j.out, []byte{'$'})
		return 0
	}
	return j.regex(p)
}

// code passes code through up to the next byte that changes state.
func (j *jsWriter) code(p []byte) int {
	for k, c := range p {
		if isJSIdent(c) {
			if !j.inWord {
				j.inWord, j.wordLen = true, 0
			}
			if j.wordLen < len(j.word) {
				j.word[j.wordLen] = c
			}
			j.wordLen++
			continue
		}
		if j.inWord {
			j.inWord = false
			j.regexOK = j.wordLen <= len(j.word) && regexKeyword(j.word[:j.wordLen])
		}
		next := jsCode
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			continue
		case '\'', '"':
			next, j.quote = jsString, c
		case '`':
			next = jsTemplate
		case '/':
			next = jsSlash
		case '{':
			if n := len(j.braces); n > 0 {
				j.braces[n-1]++
			}
			j.regexOK = true
			continue
		case '}':
			if n := len(j.braces); n > 0 {
				if j.braces[n-1] == 0 {
					j.braces = j.braces[:n-1]
					next = jsTemplate
					break
				}
				j.braces[n-1]--
			}
			j.regexOK = true
			continue
		case ')', ']':
			j.regexOK = false
			continue
		default:
			j.regexOK = true
			continue
		}
		j.out = append(j.out, p[:k+1]...)
		j.state = next
		return k + 1
	}
	j.out = append(j.out, p...)
	return len(p)
}

// slash decides what the byte c after a '/' in code starts.
func (j *jsWriter) slash(c byte) int {
	switch {
	case c == '/':
		j.state = jsLineComment
	case c == '*':
		j.state, j.star = jsBlockComment, false
	case j.regexOK:
		j.state, j.esc = jsRegex, false
		return 0
	default: // division
		j.state, j.regexOK = jsCode, true
		return 0
	}
	j.out = append(j.out, c)
	return 1
}

func (j *jsWriter) blockComment(p []byte) int {
	for k, c := range p {
		if c == '/' && j.star {
			j.out = append(j.out, p[:k+1]...)
			j.state = jsCode
			return k + 1
		}
		j.star = c == '*'
	}
	j.out = append(j.out, p...)
	return len(p)
}

// str reads string literal text up to the closing quote or a line end.
func (j *jsWriter) str(p []byte) int {
	k := j.literal(p, func(c byte) bool { return c == j.quote || c == '\n' || c == '\r' })
	j.out = j.text.add(j.out, p[:k])
	if k == len(p) {
		return k
	}
	j.out = j.text.end(j.out)
	j.out = append(j.out, p[k])
	j.state, j.regexOK = jsCode, false
	return k + 1
}

// template reads template text up to the closing backquote or a '$'.
func (j *jsWriter) template(p []byte) int {
	k := j.literal(p, func(c byte) bool { return c == '`' || c == '$' })
	j.out = j.text.add(j.out, p[:k])
	switch {
	case k == len(p):
		return k
	case p[k] == '$':
		j.state = jsTemplateDollar
		return k + 1
	}
	j.out = j.text.end(j.out)
	j.out = append(j.out, '`')
	j.state, j.regexOK = jsCode, false
	return k + 1
}

// literal returns the length of the literal text at the start of p, up
// to the first unescaped byte for which stop is true.
func (j *jsWriter) literal(p []byte, stop func(byte) bool) int {
	for k, c := range p {
		switch {
		case j.escCR:
			j.escCR = false
			if c == '\n' {
				continue
			}
		case j.esc:
			j.esc, j.escCR = false, c == '\r'
			continue
		}
		if c == '\\' {
			j.esc = true
		} else if stop(c) {
			return k
		}
	}
	return len(p)
}

// openSubst enters the code of a ${ } substitution.
func (j *jsWriter) openSubst() {
	j.state, j.regexOK = jsCode, true
	if len(j.braces) < maxTemplateDepth {
		j.braces = append(j.braces, 0)
	}
}

// regex passes a regular expression literal through.
func (j *jsWriter) regex(p []byte) int {
	for k, c := range p {
		switch {
		case j.esc:
			j.esc = false
		case c == '\\':
			j.esc = true
		case c == '\n' || c == '\r': // not a regex after all
			j.state = jsCode
		case j.state == jsRegexClass:
			if c == ']' {
				j.state = jsRegex
			}
		case c == '[':
			j.state = jsRegexClass
		case c == '/':
			j.state, j.regexOK = jsCode, false
		}
		if j.state == jsCode {
			j.out = append(j.out, p[:k+1]...)
			return k + 1
		}
	}
	j.out = append(j.out, p...)
	return len(p)
}

// hasSlashPair reports whether p holds two adjacent bytes that
// skipSlashPair could start at: "//", "/\\", "\\/" or "\\\\".
func hasSlashPair(p []byte) bool {
	for {
		i := bytes.IndexAny(p, `/\`)
		if i < 0 || i+1 >= len(p) {
			return false
		}
		if isSlash(p[i+1]) {
			return true
		}
		p = p[i+1:]
	}
}

func isJSIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '$' || c >= 0x80
}

// regexKeyword reports whether a '/' after the word w starts a regular
// expression rather than a division.
func regexKeyword(w []byte) bool {
	switch string(w) {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
		"throw", "case", "do", "else", "yield", "await":
		return true
	}
	return false
}
