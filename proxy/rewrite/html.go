package rewrite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/html"
)

// MaxHTMLToken is the largest single tag or comment the HTML rewriter
// holds in memory. Text and the content of raw-text elements (script,
// style, textarea, ...) are streamed and have no such limit.
const MaxHTMLToken = 1 << 20

// maxHTMLDepth bounds HTML nested in HTML (template scripts, srcdoc).
const maxHTMLDepth = 4

// ErrHTMLTokenTooLarge is returned (wrapped) when a single tag or comment
// exceeds MaxHTMLToken. The document cannot be rewritten safely and must
// not be served. It is html.ErrBufferExceeded.
var ErrHTMLTokenTooLarge = html.ErrBufferExceeded

// RewriteHTML copies the HTML document src to dst, rewriting every
// origin-family URL for the mirror as described by d. Tokens that need no
// change are copied byte for byte; text is never changed. Memory stays
// bounded whatever the size of the document (see MaxHTMLToken). Output is
// flushed to dst whenever src would be read, so a slow origin still
// streams. After an error dst holds part of the document, which must not
// be served.
func RewriteHTML(dst io.Writer, src io.Reader, d *Doc) error {
	b := htmlBufs.Get().(*htmlBuf)
	defer b.release()
	b.out.Reset(dst)
	s := &source{r: src, out: b.out, buf: b.in[:0]}
	r := newHTMLRewriter(b.out, d, 0)
	r.script = b.script
	err := r.run(s)
	if ferr := b.out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("rewrite html: %w", ferr)
	}
	b.in, b.script = s.buf, r.script
	return err
}

// htmlBuf holds the buffers of one RewriteHTML call, for reuse.
type htmlBuf struct {
	out    *bufio.Writer
	in     []byte
	script []byte // htmlRewriter.script
}

var htmlBufs = sync.Pool{New: func() any {
	return &htmlBuf{out: bufio.NewWriterSize(nil, 32<<10), in: make([]byte, 0, sourceChunk)}
}}

func (b *htmlBuf) release() {
	b.out.Reset(nil)
	if cap(b.in) > 4*sourceChunk {
		return // grown for a large token: let it go
	}
	htmlBufs.Put(b)
}

// NewHTMLWriter returns a streaming HTML rewriter that writes the rewritten
// document to w. It runs RewriteHTML in a goroutine fed by the writes;
// Close must be called to end that goroutine. Close flushes the output and
// returns the first error, but does not close w. After an error, Write
// returns it.
func NewHTMLWriter(w io.Writer, d *Doc) io.WriteCloser {
	pr, pw := io.Pipe()
	hw := &htmlWriter{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(hw.done)
		hw.err = RewriteHTML(w, pr, d)
		if hw.err != nil {
			pr.CloseWithError(hw.err)
		} else {
			pr.CloseWithError(errWriterDone)
		}
	}()
	return hw
}

var errWriterDone = errors.New("rewrite html: write after end of document")

type htmlWriter struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error // set by the goroutine before done is closed
}

func (hw *htmlWriter) Write(p []byte) (int, error) {
	n, err := hw.pw.Write(p)
	if err != nil && err != io.ErrClosedPipe {
		<-hw.done
		if hw.err != nil {
			err = hw.err
		}
	}
	return n, err
}

func (hw *htmlWriter) Close() error {
	hw.pw.Close()
	<-hw.done
	return hw.err
}

// rawKind says how the content of an element the tokenizer reads as raw
// text is handled.
type rawKind uint8

const (
	rawNone      rawKind = iota // not a raw-text element, or left to the tokenizer
	rawJS                       // script: JavaScript or JSON
	rawCSS                      // style
	rawHTML                     // script holding an HTML template
	rawOther                    // script of another type: Embedded
	rawPass                     // title, textarea, iframe, ...: copied as is
	rawPlaintext                // plaintext: the rest of the document as is
)

// htmlRewriter rewrites one HTML document (or a document nested in one).
type htmlRewriter struct {
	out     *bufio.Writer
	d       *Doc
	root    string // d.baseRoot(), cached
	baseSet bool   // a <base href> was seen
	depth   int

	footerDone bool // Doc.Footer was written
	noscript   int  // open <noscript> elements, whose content is read as HTML

	origin originHost // the last origin host plainOrigin found

	// The writers of script and style content, reused (see jsWriter).
	js  *jsWriter
	css *cssWriter

	attrs []attr
	strs  []string // strings of the current tag's attrs (attr.val, attr.dv)
	tag   tagInfo
	dec   *html.Tokenizer // decodes the current tag's attribute values
	decN  int             // TagAttr calls made on dec

	held    bytes.Buffer // an inline script's start tag, until its text is judged
	script  []byte       // an inline script's text being judged
	embed   string       // the placeholder of an element being replaced
	afterLT bool         // the current start tag follows a '<' of text (see separate)
	dropEnd bool         // the next end tag closes a removed raw-text element
	skip    skipState    // a removed element whose content is dropped
}

func newHTMLRewriter(out *bufio.Writer, d *Doc, depth int) *htmlRewriter {
	return &htmlRewriter{out: out, d: d, root: d.baseRoot(), depth: depth}
}

// run rewrites the document read from s, token by token. The content of
// raw-text elements (script, style, ...) is streamed from s. Runs of
// tokens copied unchanged, s.buf[copied:], are written at once, before
// anything else is written and before s.buf is refilled.
func (r *htmlRewriter) run(s *source) error {
	copied := s.off
	flushTo := func(end int) {
		if copied < end {
			r.out.Write(s.buf[copied:end])
		}
		copied = end
	}
	for {
		data := s.buf[s.off:]
		eof := s.err != nil
		if len(data) == 0 {
			flushTo(s.off)
			if eof {
				if s.err == io.EOF {
					return nil
				}
				return wrapRead(s.err)
			}
			s.fill()
			copied = s.off
			continue
		}
		if data[0] != '<' && r.skip.name == "" {
			// Text, copied as is, up to the next '<': the commonest
			// token, taken before the general case.
			if i := bytes.IndexByte(data, '<'); i >= 0 {
				s.off += i
			} else {
				s.off += len(data)
			}
			continue
		}
		if data[0] == '<' && len(data) > 2 && data[1] == '/' && isLetter(data[2]) && r.endTagsPlain() {
			// An end tag, copied as is: the next commonest token.
			if n := tagLen(data); n >= 0 {
				s.off += n
				continue
			}
		}
		var kind tokKind
		var n int
		if data[0] == '<' && len(data) > 1 && isLetter(data[1]) {
			kind, n = tokStart, r.scanStartTag(data)
			if n < 0 && eof {
				kind, n = tokOther, len(data) // dropped by browsers
			}
		} else {
			kind, n = nextToken(data, eof)
		}
		if n < 0 {
			flushTo(s.off)
			if len(data) >= MaxHTMLToken {
				return fmt.Errorf("rewrite html: token of more than %d bytes: %w", MaxHTMLToken, ErrHTMLTokenTooLarge)
			}
			s.fillToken(len(data))
			copied = s.off
			continue
		}
		tok := data[:n]
		start := s.off
		s.off += n
		if kind == tokEnd && r.dropEnd {
			flushTo(start)
			copied = s.off
			r.dropEnd = false
			continue
		}
		if r.skip.name != "" {
			flushTo(start)
			skipped, err := r.skipToken(s, kind, tok)
			if err != nil {
				return err
			}
			if skipped {
				copied = s.off
				continue
			}
		}
		switch kind {
		case tokStart:
			if len(tok) > 9 && equalFoldASCII(tok[1:9], []byte("noscript")) && !isLetter(tok[9]) {
				r.noscript++
			}
			raw, act, changed, err := r.startTag(tok)
			if err == nil && raw == rawNone && act == actKeep && !changed {
				continue // copied as is
			}
			flushTo(start)
			r.afterLT = s.before(start) == '<'
			if err == nil {
				r.writeStart(tok, act, changed)
				err = r.content(s, raw, act)
			}
			if err != nil {
				return err
			}
			copied = s.off
		case tokComment:
			if bytes.IndexByte(tok, '/') < 0 {
				continue // copied as is
			}
			flushTo(start)
			r.writeEmbedded(tok)
			copied = s.off
		case tokEnd:
			if r.noscript > 0 && isEndTagOf(tok, "noscript") {
				r.noscript--
			}
			if r.depth == 0 && r.noscript == 0 && r.d.Footer != "" && !r.footerDone && isEndTagOf(tok, "body") {
				flushTo(start) // the end tag is copied after the footer
				r.out.WriteString(r.d.Footer)
				r.footerDone = true
			}
		}
	}
}

// endTagsPlain reports whether an end tag needs nothing but copying now:
// none of the end tags that run watches for (see tokEnd there) matters.
func (r *htmlRewriter) endTagsPlain() bool {
	return !r.dropEnd && r.skip.name == "" && r.noscript == 0 &&
		(r.depth > 0 || r.d.Footer == "" || r.footerDone)
}

// isEndTagOf reports whether tok, an end tag, closes the element name
// (lower case).
func isEndTagOf(tok []byte, name string) bool {
	if len(tok) < len(name)+3 || !equalFoldASCII(tok[2:2+len(name)], []byte(name)) {
		return false
	}
	switch tok[2+len(name)] {
	case '>', '/', ' ', '\t', '\n', '\r', '\f':
		return true
	}
	return false
}

// rawText streams the content of a script, style or plaintext element.
func (r *htmlRewriter) rawText(s *source, kind rawKind) error {
	if kind == rawPlaintext {
		_, err := io.Copy(r.out, s)
		return wrapRead(err)
	}
	rt := &rawTextReader{s: s, tag: r.tag.name}
	if kind == rawPass {
		_, err := rt.WriteTo(r.out)
		return wrapRead(err)
	}
	if kind == rawHTML && r.depth < maxHTMLDepth {
		nested := newHTMLRewriter(r.out, r.d, r.depth+1)
		return nested.run(&source{r: rt})
	}
	var w io.WriteCloser
	switch kind {
	case rawJS:
		w = r.jsWriter()
	case rawCSS:
		if r.css == nil {
			r.css = new(cssWriter)
		}
		r.css.reset(r.out, r.d)
		w = r.css
	default:
		w = &embeddedWriter{w: r.out, d: r.d}
	}
	_, err := rt.WriteTo(w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return wrapRead(err)
}

// jsWriter returns r.js reset to write a script to r.out.
func (r *htmlRewriter) jsWriter() *jsWriter {
	if r.js == nil {
		r.js = new(jsWriter)
	}
	r.js.reset(r.out, r.d)
	return r.js
}

func wrapRead(err error) error {
	if err != nil {
		return fmt.Errorf("rewrite html: %w", err)
	}
	return nil
}

// writeEmbedded writes b with the origin URLs in it rewritten.
func (r *htmlRewriter) writeEmbedded(b []byte) {
	if bytes.IndexByte(b, '/') < 0 {
		r.out.Write(b)
		return
	}
	r.out.WriteString(r.d.Embedded(string(b)))
}

// setBase makes the document's URLs resolve against the first <base href>,
// when it names an origin URL. The caller's Doc is not changed.
func (r *htmlRewriter) setBase(href string) {
	r.baseSet = true
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return
	}
	u := r.d.Base.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || !r.d.Mapper.IsOrigin(u.Host) {
		return
	}
	d := *r.d
	d.Base = u
	r.d = &d
	r.root = d.baseRoot()
}

// rewriteHTMLString rewrites an HTML document held in a string, such as an
// iframe's srcdoc.
func (r *htmlRewriter) rewriteHTMLString(v string) (string, error) {
	if r.depth >= maxHTMLDepth {
		return r.d.Embedded(v), nil
	}
	var b strings.Builder
	out := bufio.NewWriterSize(&b, 4096)
	err := newHTMLRewriter(out, r.d, r.depth+1).run(&source{r: strings.NewReader(v)})
	if err != nil {
		return "", err
	}
	if err := out.Flush(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// embeddedWriter applies Doc.Embedded to a stream, cutting it only at
// bytes that cannot be part of a URL.
type embeddedWriter struct {
	w   io.Writer
	d   *Doc
	buf []byte
}

func (e *embeddedWriter) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	if len(e.buf) < 32<<10 {
		return len(p), nil
	}
	cut := bytes.LastIndexAny(e.buf, " \t\r\n\"'<>")
	if cut < 0 && len(e.buf) < MaxHTMLToken {
		return len(p), nil
	}
	if cut < 0 {
		cut = len(e.buf) - 1
	}
	if err := e.flush(cut + 1); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *embeddedWriter) flush(n int) error {
	_, err := io.WriteString(e.w, e.d.Embedded(string(e.buf[:n])))
	e.buf = e.buf[:copy(e.buf, e.buf[n:])]
	return err
}

func (e *embeddedWriter) Close() error { return e.flush(len(e.buf)) }
