package rewrite

import (
	"bytes"
	"io"
)

// xmlState is where an xmlWriter is in the document.
type xmlState uint8

const (
	xmlText      xmlState = iota
	xmlLT                 // after '<'
	xmlBang               // after "<!", before it is known what follows
	xmlComment            // in <!-- … -->
	xmlCDATA              // in <![CDATA[ … ]]>
	xmlDecl               // in <!DOCTYPE … > and other declarations
	xmlPI                 // in <? … ?>
	xmlEndTag             // in </ … >
	xmlTagName            // in the name of a start tag
	xmlTag                // in a start tag, between attributes
	xmlAttrName           // in an attribute name
	xmlAttrEq             // after an attribute name, before its value
	xmlAttrValue          // in a quoted attribute value
)

// xmlText says how the character data of the current element is rewritten.
type xmlTextMode uint8

const (
	xmlTextFree xmlTextMode = iota // origin URLs anywhere, with Doc.Embedded
	xmlTextURL                     // the text is one URL (DASH <BaseURL>)
	xmlTextCSS                     // the text is a stylesheet (SVG <style>)
)

// xmlValueKind says how an attribute value is rewritten.
type xmlValueKind uint8

const (
	valFree xmlValueKind = iota // with Doc.Embedded
	valURL                      // with Doc.URL
	valRaw                      // not at all (namespace names)
)

// textModes are the local names of the elements whose text is not free.
var textModes = map[string]xmlTextMode{"baseurl": xmlTextURL, "style": xmlTextCSS}

// xmlURLAttrs are the local names of the attributes that hold one URL.
var xmlURLAttrs = map[string]bool{
	"href": true, "src": true, "url": true, "uri": true, "base": true,
	"resource": true, "about": true, // RDF
	"media": true, "initialization": true, "sourceurl": true, // DASH
}

// xmlWriter is the streaming XML rewriter.
type xmlWriter struct {
	sink
	d       *Doc
	text    textRun
	url     urlValue
	css     *cssWriter // for xmlTextCSS
	state   xmlState
	mode    xmlTextMode
	n       int  // bytes matched after "<!"; dashes before '>'; held ']'
	notDash bool // after "<!": not a comment
	notData bool // after "<!": not CDATA
	quote   byte
	kind    xmlValueKind
	tagMode xmlTextMode // the mode of the start tag being read
	closed  bool        // the start tag ends with "/>"
	nameLen int
	name    [24]byte // tag or attribute name, lower case
}

// NewXMLWriter returns a streaming rewriter for XML: RSS and Atom feeds and
// sitemaps (with Doc.Absolute set, so that URLs become absolute on the
// mirror), SVG images and DASH manifests. It lexes tags, attributes,
// character data, CDATA sections, comments and processing instructions.
// URL attributes (href, xlink:href, src, url, media, initialization,
// sourceURL, …) and the text of <BaseURL> are rewritten with Doc.URL, the
// text of an SVG <style> as CSS, and origin URLs in other text, CDATA and
// attributes with Doc.Embedded — which finds them in escaped HTML too.
// Comments, declarations and namespace names are left alone, and every
// other byte passes through unchanged. It holds back at most a few KB.
// Close flushes; it does not close w.
func NewXMLWriter(w io.Writer, d *Doc) io.WriteCloser {
	return &xmlWriter{sink: sink{w: w}, d: d, text: textRun{d: d}, url: urlValue{d: d}}
}

// Write rewrites p. It returns the first error of the underlying writer.
func (x *xmlWriter) Write(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	for i := 0; i < len(p); {
		i += x.step(p[i:])
		if len(x.out) >= outFlush && x.flush() != nil {
			return i, x.err
		}
	}
	return len(p), x.flush()
}

// Close writes out what the writer holds. It does not close the
// underlying writer.
func (x *xmlWriter) Close() error {
	switch x.state {
	case xmlText:
		x.endText()
	case xmlCDATA:
		x.addText([]byte("]]")[:x.n])
		x.endText()
	case xmlAttrValue:
		x.endValue()
	case xmlPI:
		x.out = x.text.add(x.out, []byte("?")[:x.n])
		x.out = x.text.end(x.out)
	}
	x.state, x.n = xmlText, 0
	return x.flush()
}

// step consumes bytes from the start of p and returns how many; zero
// only when the state changed.
func (x *xmlWriter) step(p []byte) int {
	switch x.state {
	case xmlText:
		return x.charData(p)
	case xmlLT:
		switch p[0] {
		case '!':
			x.state, x.n, x.notDash, x.notData = xmlBang, 0, false, false
		case '?':
			x.state, x.n = xmlPI, 0
		case '/':
			x.state, x.mode = xmlEndTag, xmlTextFree
		default:
			x.state, x.nameLen, x.mode = xmlTagName, 0, xmlTextFree
			return 0
		}
		x.out = append(x.out, p[0])
		return 1
	case xmlBang:
		return x.bang(p[0])
	case xmlCDATA:
		return x.cdata(p)
	case xmlTagName, xmlAttrName:
		return x.readName(p)
	case xmlTag, xmlAttrEq:
		return x.inTag(p[0])
	case xmlAttrValue:
		return x.value(p)
	case xmlPI:
		return x.pi(p)
	}
	return x.markup(p)
}

// charData reads character data up to the next '<'.
func (x *xmlWriter) charData(p []byte) int {
	k := 0
	for k < len(p) && p[k] != '<' {
		k++
	}
	x.addText(p[:k])
	if k == len(p) {
		return k
	}
	x.endText()
	x.out = append(x.out, '<')
	x.state = xmlLT
	return k + 1
}

func (x *xmlWriter) addText(p []byte) {
	switch x.mode {
	case xmlTextURL:
		x.out = x.url.add(x.out, p)
	case xmlTextCSS:
		x.css.Write(p)
	default:
		x.out = x.text.add(x.out, p)
	}
}

func (x *xmlWriter) endText() {
	switch x.mode {
	case xmlTextURL:
		x.out = x.url.end(x.out)
	case xmlTextCSS:
		x.css.Close()
	default:
		x.out = x.text.end(x.out)
	}
}

// outWriter appends what an inner rewriter writes to the xmlWriter's output.
type outWriter struct{ x *xmlWriter }

func (o outWriter) Write(p []byte) (int, error) {
	o.x.out = append(o.x.out, p...)
	return len(p), nil
}

// bang reads the byte after "<!" that tells a comment from CDATA and from
// a declaration.
func (x *xmlWriter) bang(c byte) int {
	const cdata = "[CDATA["
	x.notDash = x.notDash || x.n >= 2 || c != '-'
	x.notData = x.notData || c != cdata[x.n]
	switch {
	case x.notDash && x.notData:
		x.state, x.n = xmlDecl, 0
		return 0
	case !x.notDash && x.n == 1:
		x.state, x.n = xmlComment, 0
	case !x.notData && x.n == len(cdata)-1:
		x.state, x.n = xmlCDATA, 0
	default:
		x.n++
	}
	x.out = append(x.out, c)
	return 1
}

// cdata reads a CDATA section up to "]]>", holding back the ']' that may
// start it.
func (x *xmlWriter) cdata(p []byte) int {
	for k, c := range p {
		switch {
		case c == ']':
			if x.n == 2 {
				x.addText(p[k : k+1])
			} else {
				x.n++
			}
		case c == '>' && x.n == 2:
			x.endText()
			x.out = append(x.out, ']', ']', '>')
			x.state, x.n = xmlText, 0
			return k + 1
		default:
			x.addText([]byte("]]")[:x.n])
			x.n = 0
			j := k
			for j < len(p) && p[j] != ']' {
				j++
			}
			x.addText(p[k:j])
			return j
		}
	}
	return len(p)
}

// pi reads a processing instruction such as <?xml-stylesheet href=…?>
// up to "?>", holding back a '?' that may start it.
func (x *xmlWriter) pi(p []byte) int {
	if x.n == 1 {
		x.n = 0
		if p[0] == '>' {
			x.out = x.text.end(x.out)
			x.out = append(x.out, '?', '>')
			x.state = xmlText
			return 1
		}
		x.out = x.text.add(x.out, []byte{'?'})
	}
	j := bytes.IndexByte(p, '?')
	if j < 0 {
		x.out = x.text.add(x.out, p)
		return len(p)
	}
	x.out = x.text.add(x.out, p[:j])
	x.n = 1
	return j + 1
}

// markup passes comments, declarations and end tags through.
func (x *xmlWriter) markup(p []byte) int {
	for k, c := range p {
		end := false
		switch x.state {
		case xmlComment:
			end = c == '>' && x.n >= 2
			if c == '-' {
				x.n++
			} else {
				x.n = 0
			}
		case xmlDecl:
			switch c {
			case '[':
				x.n++
			case ']':
				x.n--
			case '>':
				end = x.n <= 0
			}
		case xmlEndTag:
			end = c == '>'
		}
		if end {
			x.out = append(x.out, p[:k+1]...)
			x.state = xmlText
			return k + 1
		}
	}
	x.out = append(x.out, p...)
	return len(p)
}

// readName reads a tag or attribute name, keeping its lower-case start.
func (x *xmlWriter) readName(p []byte) int {
	for k, c := range p {
		if isSpace(c) || c == '/' || c == '>' || c == '=' {
			x.out = append(x.out, p[:k]...)
			if x.state == xmlTagName {
				x.state, x.closed = xmlTag, false
				x.tagMode = textModes[x.localName()]
			} else {
				x.state, x.kind = xmlAttrEq, x.valueKind()
			}
			return k
		}
		if x.nameLen < len(x.name) {
			x.name[x.nameLen] = lower(c)
		}
		x.nameLen++
	}
	x.out = append(x.out, p...)
	return len(p)
}

// localName returns the name just read without its namespace prefix, or
// "" when it was too long to be one of interest.
func (x *xmlWriter) localName() string {
	if x.nameLen > len(x.name) {
		return ""
	}
	name := x.name[:x.nameLen]
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == ':' {
			return string(name[i+1:])
		}
	}
	return string(name)
}

func (x *xmlWriter) valueKind() xmlValueKind {
	name := x.name[:min(x.nameLen, len(x.name))]
	if string(name) == "xmlns" || len(name) > 6 && string(name[:6]) == "xmlns:" {
		return valRaw
	}
	if xmlURLAttrs[x.localName()] {
		return valURL
	}
	return valFree
}

// inTag reads the bytes of a start tag around its attributes.
func (x *xmlWriter) inTag(c byte) int {
	switch {
	case isSpace(c):
	case c == '/':
		x.closed = true
	case c == '=' && x.state == xmlAttrEq:
	case c == '>':
		x.state = xmlText
		if !x.closed {
			x.startText()
		}
	case (c == '"' || c == '\'') && x.state == xmlAttrEq:
		x.state, x.quote = xmlAttrValue, c
	default: // an attribute's name (or stray bytes)
		x.state, x.nameLen, x.closed = xmlAttrName, 0, false
		return 0
	}
	x.out = append(x.out, c)
	return 1
}

// startText sets how the text after a start tag is rewritten.
func (x *xmlWriter) startText() {
	x.mode = x.tagMode
	if x.mode == xmlTextCSS {
		x.css = newCSSWriter(outWriter{x}, x.d)
	}
}

// value reads an attribute value up to its closing quote.
func (x *xmlWriter) value(p []byte) int {
	k := 0
	for k < len(p) && p[k] != x.quote {
		k++
	}
	switch x.kind {
	case valURL:
		x.out = x.url.add(x.out, p[:k])
	case valFree:
		x.out = x.text.add(x.out, p[:k])
	default:
		x.out = append(x.out, p[:k]...)
	}
	if k == len(p) {
		return k
	}
	x.endValue()
	x.out = append(x.out, x.quote)
	x.state = xmlTag
	return k + 1
}

func (x *xmlWriter) endValue() {
	switch x.kind {
	case valURL:
		x.out = x.url.end(x.out)
	case valFree:
		x.out = x.text.end(x.out)
	}
}
