package rewrite

import (
	"bytes"
	"io"
	"strings"
)

// The HTML rewriter applies the privacy rules (see Rules) as it goes:
// elements that would make the browser fetch from a tracker or from any
// host outside the origin family are removed with their content, emptied,
// or replaced by a static link; inline scripts are judged by their text.

// action is what the privacy rules make of an element.
type action uint8

const (
	actKeep  action = iota // write it (its attributes may have changed)
	actDrop                // remove the element and its content
	actEmbed               // replace the element by r.embed
	actHold                // an inline script: its text decides
)

// fetchKind says whether a browser (or a page's lazy loader) fetches what
// an attribute names.
type fetchKind uint8

const (
	fetchNone fetchKind = iota
	fetchLoad           // fetched: emptied when it is not on the mirror
	fetchLink           // a link: followed only when the reader clicks it
	fetchPing           // ping: always removed
)

// maxJudgedScript is how much of an inline script is read to judge it.
// A longer script is judged by its start and streamed.
const maxJudgedScript = 256 << 10

// maxSkip bounds how much markup is removed inside one removed element
// (a tracker's <a> or <object>): a wrapper that is never closed must not
// swallow the page.
const maxSkip = 64 << 10

// tagWriter is where a start tag is written: the output, or r.held.
type tagWriter interface {
	io.Writer
	io.ByteWriter
	io.StringWriter
}

// skipState is a removed element whose content is being dropped.
type skipState struct {
	name  string // "" when not skipping
	depth int
	left  int // bytes that may still be dropped
}

// classifyFetch notes whether URL attribute k, named name, is fetched.
func (r *htmlRewriter) classifyFetch(name string, k int) {
	a := &r.attrs[k]
	t := &r.tag
	switch name {
	case "src":
		t.src = k
		a.fetch = fetchLoad
	case "href":
		switch t.name {
		case "a", "area", "link":
			a.fetch = fetchLink
		}
	case "poster", "background", "lowsrc", "dynsrc", "data-src", "data-original",
		"data-lazy-src", "data-bg", "data-background", "data-lazy", "data-full-src",
		"data-poster", "data-thumb", "data-image":
		a.fetch = fetchLoad
	}
}

// linkRel reports whether a link's rel holds a connection hint
// (dns-prefetch, preconnect), and whether it loads what href names.
func linkRel(v []byte) (hint, load bool) {
	for f := range strings.FieldsSeq(strings.ToLower(string(v))) {
		switch f {
		case "dns-prefetch", "preconnect":
			hint = true
		case "stylesheet", "icon", "shortcut", "preload", "prefetch", "prerender",
			"modulepreload", "manifest", "apple-touch-icon", "apple-touch-icon-precomposed",
			"apple-touch-startup-image", "mask-icon", "fluid-icon", "import", "subresource",
			"compression-dictionary", "expect":
			load = true
		}
	}
	return hint, load
}

// isTinyLength reports whether a width or height is 0 or 1 pixel.
func isTinyLength(v []byte) bool {
	v = bytes.TrimSpace(v)
	v = bytes.TrimSuffix(v, []byte("px"))
	return len(v) == 1 && (v[0] == '0' || v[0] == '1')
}

// privacyAttr applies the rules to a fetched or link attribute before it
// is rewritten. It reports whether the attribute is done with (dropped).
func (r *htmlRewriter) privacyAttr(raw []byte, a *attr) bool {
	if a.fetch == fetchPing {
		a.edit = editDrop // a click beacon, wherever it points
		return true
	}
	if a.kind == attrSrcset {
		return false
	}
	v := trimLeftSpace(raw[a.v0:a.v1])
	if !maybeNotLocal(v) {
		return false
	}
	if len(v) > 1 && v[0] == '/' && !isSlash(v[1]) && bytes.IndexByte(v, '&') < 0 && !hasTabOrNewline(v) {
		// Root-relative: on the mirror, unless a beacon path rule matches.
		// A link is only followed by a click, and the mirror refuses
		// beacon paths; only fetched URLs need the check.
		if a.fetch == fetchLink || !r.d.rules().blocksRootPath(v) {
			return false
		}
	}
	if !(a.fetch == fetchLink && bytes.IndexByte(v, '?') >= 0) && plainValue(v) && r.localOriginURL(v) {
		return false // an origin URL: local, as classify would say
	}
	val := r.value(raw, a)
	a.class = r.d.classify(val)
	if a.class != urlLocal {
		a.val = r.keep(val) // kept for judge: the value is read once
	}
	switch {
	case a.fetch == fetchLoad && a.class != urlLocal:
		a.edit = editDrop
		return true
	case a.fetch == fetchLink && bytes.IndexByte(v, '?') >= 0 && r.d.shareLink(val):
		a.edit = editDrop // a share link would hand out the origin's URL
		return true
	}
	return false
}

// localOriginURL reports, without allocating, whether v, the raw value of
// an attribute that needs no decoding (plainValue), is an absolute or
// protocol-relative URL on an origin host that no rule blocks, which
// classify says is urlLocal. It is a shortcut for the commonest URLs of a
// page: it reports false for any URL that plainHost does not read, which
// classify then judges.
func (r *htmlRewriter) localOriginURL(v []byte) bool {
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1] // classify trims white space
	}
	n, o, ok := r.plainOrigin(v)
	return ok && !o.tracker && !r.d.rules().blocksPathBytes(o.root[len(HostPrefix):], v[n:])
}

// originHost is an origin host that plainOrigin looked up.
type originHost struct {
	root    string // HostPrefix+host, from Mapper.roots
	tracker bool   // a tracker rule names the host
}

// plainOrigin reads the start of v as plainHost does and, when its host
// is an origin host, returns the length of that prefix and the host. The
// last host found is kept in r.origin: a page's URLs come in runs on one
// host, and the look-ups cost more than comparing the name.
func (r *htmlRewriter) plainOrigin(v []byte) (n int, o originHost, ok bool) {
	i, end, ok := plainHost(v)
	if !ok {
		return 0, originHost{}, false
	}
	if h := v[i:end]; r.origin.root == "" || string(h) != r.origin.root[len(HostPrefix):] {
		root, ok := r.d.Mapper.originRoot(h)
		if !ok {
			return 0, originHost{}, false
		}
		r.origin = originHost{root: root, tracker: r.d.rules().Tracker(root[len(HostPrefix):]) != ""}
	}
	return end, r.origin, true
}

// trimLeftSpace returns v without leading HTML white space. It is
// bytes.TrimLeft(v, " \t\r\n\f") without building the cutset's table on
// every call.
func trimLeftSpace(v []byte) []byte {
	for len(v) > 0 && scanClass[v[0]]&clsSpace != 0 {
		v = v[1:]
	}
	return v
}

// maybeNotLocal reports, without allocating, whether a URL value could
// name a host or a beacon path: it is absolute or root-relative.
func maybeNotLocal(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	return isSlash(v[0]) || bytes.IndexByte(v, ':') >= 0 || bytes.IndexByte(v, '&') >= 0
}

// link rewrites a link's URL after mapping: tracking parameters go.
func (r *htmlRewriter) link(v string) string {
	if r.d.keepAll || strings.IndexByte(v, '?') < 0 {
		return v
	}
	return r.d.stripParams(v)
}

// srcsetLocal rewrites a srcset value and drops the candidates that are
// not on the mirror.
func (d *Doc) srcsetLocal(s string) string {
	var kept []string
	dropped := false
	for c := range srcsetCandidates(s) {
		if d.classify(s[c.url0:c.url1]) != urlLocal {
			dropped = true
			continue
		}
		kept = append(kept, strings.TrimRight(strings.TrimSpace(s[c.url0:c.end]), ", \t\r\n\f"))
	}
	if !dropped {
		return d.Srcset(s)
	}
	return d.Srcset(strings.Join(kept, ", "))
}

// judge decides what the rules make of the element whose start tag was
// just scanned and its attributes rewritten.
func (r *htmlRewriter) judge(raw []byte) action {
	t := &r.tag
	worst := urlLocal
	var linkClass urlClass
	for k := range r.attrs {
		a := &r.attrs[k]
		switch {
		case a.saved < 0:
		case a.fetch == fetchLoad:
			worst = max(worst, a.class)
		case a.fetch == fetchLink:
			linkClass = a.class
		}
	}
	switch t.name {
	case "script":
		if t.src < 0 {
			if k := scriptKind(t.scriptType(raw), t.hasType); k == rawJS || k == rawOther {
				return actHold
			}
			return actKeep
		}
		a := &r.attrs[t.src]
		if a.class == urlLocal {
			return actKeep
		}
		if t.post >= 0 {
			p := &r.attrs[t.post]
			if name, link := r.d.postLink(r.str(a.val), string(raw[p.v0:p.v1])); link != "" {
				r.embed = placeholder(name, link)
				return actEmbed
			}
		}
		return actDrop
	case "iframe", "frame":
		if t.src < 0 || r.attrs[t.src].class == urlLocal {
			return actKeep
		}
		a := &r.attrs[t.src]
		if name, link := r.d.embedLink(r.str(a.val), false); link != "" {
			r.embed = placeholder(name, link)
			return actEmbed
		}
		if a.class == urlTracker {
			return actDrop
		}
		if host, rest, ok := splitHost(r.str(a.val)); ok {
			r.embed = placeholder("", "https://"+host+rest)
			return actEmbed
		}
		return actDrop
	case "img", "image", "input":
		if worst == urlTracker || worst == urlForeign && t.small == 2 {
			return actDrop // a beacon: a tracker, or a foreign 1×1 pixel
		}
	case "source", "track", "embed", "object":
		if worst != urlLocal {
			return actDrop
		}
	case "link":
		if t.relHint || linkClass == urlTracker || linkClass == urlForeign && t.relLoad {
			return actDrop
		}
	case "a", "area":
		if linkClass == urlTracker {
			return actDrop // a counter's link
		}
	}
	return actKeep
}

// separator stands for a removed element that followed a '<' of text.
const separator = "<!---->"

// separate writes separator when the element being removed follows a
// '<' of text: without it, that '<' and the text after the element
// would make a new tag ("<<img src=pixel>img src=tracker>" would become
// "<img src=tracker>").
func (r *htmlRewriter) separate() {
	if r.afterLT {
		r.out.WriteString(separator)
		r.afterLT = false
	}
}

// content reads the content of the element whose start tag startTag just
// handled, as its action says.
func (r *htmlRewriter) content(s *source, kind rawKind, act action) error {
	switch act {
	case actKeep:
		if kind != rawNone {
			return r.rawText(s, kind)
		}
		return nil
	case actHold:
		return r.inlineScript(s, kind)
	case actEmbed:
		r.out.WriteString(r.embed)
	}
	switch {
	case kind == rawPlaintext:
		_, err := io.Copy(io.Discard, s)
		return wrapRead(err)
	case kind != rawNone:
		return r.drain(s)
	case !isVoid(r.tag.name):
		r.skip = skipState{name: r.tag.name, depth: 1, left: maxSkip}
	}
	return nil
}

// drain drops the content of a raw-text element, and its end tag.
func (r *htmlRewriter) drain(s *source) error {
	rt := &rawTextReader{s: s, tag: r.tag.name}
	_, err := rt.WriteTo(io.Discard)
	r.dropEnd = true
	return wrapRead(err)
}

// isVoid reports whether an element (of those judge removes) has no
// content and no end tag.
func isVoid(name string) bool {
	switch name {
	case "img", "input", "source", "track", "embed", "link", "area", "image", "frame":
		return true
	}
	return false
}

// skipToken drops one token inside a removed element. It reports false
// when the token ends the removal and must be handled as usual.
func (r *htmlRewriter) skipToken(s *source, kind tokKind, tok []byte) (bool, error) {
	r.skip.left -= len(tok)
	if r.skip.left < 0 {
		r.skip = skipState{}
		return false, nil
	}
	switch kind {
	case tokStart:
		if r.tag.name == r.skip.name {
			if r.skip.name == "a" {
				r.skip = skipState{} // a new <a> closes the open one
				return false, nil
			}
			r.skip.depth++
		}
		switch k := r.contentKind(tok); k {
		case rawNone:
		case rawPlaintext:
			_, err := io.Copy(io.Discard, s)
			return true, wrapRead(err)
		default:
			return true, r.drain(s)
		}
	case tokEnd:
		if name, _ := tagName(tok); equalFoldASCII(name, []byte(r.skip.name)) {
			r.skip.depth--
			if r.skip.depth == 0 {
				r.skip = skipState{}
			}
		}
	}
	return true, nil
}

// inlineScript judges an inline script by its text: a tracker is removed,
// a script that builds a third-party embed becomes its placeholder, and
// any other is written, rewritten, after the start tag held in r.held.
func (r *htmlRewriter) inlineScript(s *source, kind rawKind) error {
	rt := &rawTextReader{s: s, tag: "script"}
	buf := r.script[:0]
	for len(buf) < maxJudgedScript {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rt.Read(buf[len(buf):min(cap(buf), maxJudgedScript)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return wrapRead(err)
		}
	}
	if cap(buf) <= 64<<10 {
		r.script = buf[:0]
	}
	if ph := r.d.embedInScript(buf); ph != "" || r.d.rules().BlocksScript(buf) {
		if ph == "" {
			r.separate()
		}
		r.out.WriteString(ph)
		_, err := rt.WriteTo(io.Discard) // rt knows the script's escape state
		r.dropEnd = true
		return wrapRead(err)
	}
	r.out.Write(r.held.Bytes())
	var w io.WriteCloser
	if kind == rawJS {
		w = r.jsWriter()
	} else {
		w = &embeddedWriter{w: r.out, d: r.d}
	}
	_, err := w.Write(buf)
	if err == nil {
		_, err = rt.WriteTo(w)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return wrapRead(err)
}
