package rewrite

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// attr is one attribute of a start tag, as spans of the tag's raw bytes.
// The spans follow golang.org/x/net/html's tokenizer exactly, so that the
// tokenizer's TagAttr can unescape a value when it holds character
// references.
type attr struct {
	k0, k1 int // key
	v0, v1 int // value, without quotes
	saved  int // index among the tokenizer's attributes, -1 if it dropped it
	cut    int // with editSet, the new value is val + raw[cut:v1]
	// val and dv index r.strs (plus one; 0 for none), which keeps attr
	// free of pointers, cheap to append: val is the new value (or the
	// value kept for judge), dv the decoded value once value was called.
	val, dv int32
	// The small fields come last, packed together.
	quote byte // '"', '\'' or 0
	kind  attrKind
	edit  uint8 // editNone, editSet or editDrop
	fetch fetchKind
	class urlClass // of a fetch or link URL, before rewriting
}

const (
	editNone uint8 = iota
	editSet
	editDrop
)

// attrKind says how an attribute's value is rewritten.
type attrKind uint8

const (
	attrNone      attrKind = iota
	attrURL                // one URL
	attrURLList            // URLs separated by white space (ping, archive)
	attrSrcset             // srcset syntax
	attrCSS                // a style declaration list
	attrJS                 // an event handler
	attrEmbedded           // free text that may hold absolute URLs
	attrData               // data-*: a URL when it looks like one, else free text
	attrSrcdoc             // an HTML document
	attrContent            // meta content: depends on the other attributes
	attrIntegrity          // dropped when the resource is rewritten
	attrBase               // base href
)

// tagInfo is what a start tag's attributes say about the element.
type tagInfo struct {
	name      string // lower case when it matters to the rewriter, else ""
	typ0      int    // the raw type attribute of a script is raw[typ0:typ1]
	typ1      int
	res       int // index of the src/href of a script or link, -1 if none
	integrity int // index of the integrity attribute, -1 if none
	src       int // index of the src attribute, -1 if none
	post      int // index of data-telegram-post, -1 if none
	// The small fields come last, packed together.
	hasType bool
	metaURL bool  // meta whose content is a URL (og:image, ...)
	refresh bool  // meta http-equiv=refresh
	relHint bool  // link rel dns-prefetch or preconnect
	relLoad bool  // link rel that loads what it names (stylesheet, icon, preload, ...)
	small   uint8 // how many of width and height are 0 or 1 pixel
}

// scriptType returns the raw type attribute of a script start tag raw.
func (t *tagInfo) scriptType(raw []byte) []byte { return raw[t.typ0:t.typ1] }

// startTag rewrites the attributes of a start tag read by scanStartTag,
// says how the element's content is to be read and what the privacy rules
// make of the element, and whether any attribute changed. writeStart
// writes the tag.
func (r *htmlRewriter) startTag(raw []byte) (kind rawKind, act action, changed bool, err error) {
	if len(r.attrs) > 0 {
		r.dec = nil
		for k := range r.attrs {
			a := &r.attrs[k]
			if a.kind == attrNone || a.saved < 0 {
				continue
			}
			if err := r.rewriteAttr(raw, a); err != nil {
				return rawNone, actKeep, false, err
			}
			if a.edit != editNone {
				changed = true
			}
		}
		if t := &r.tag; t.integrity >= 0 && t.res >= 0 && !r.foreign(raw, &r.attrs[t.res]) {
			r.attrs[t.integrity].edit = editDrop
			changed = true
		}
	}
	act = actKeep
	if r.tag.name != "" && !r.d.keepAll {
		act = r.judge(raw)
	}
	return r.contentKind(raw), act, changed, nil
}

// writeStart writes the start tag raw that startTag handled, rewritten
// if changed. A dropped or replaced element's tag is not written; an
// inline script's tag is held in r.held until its content is judged.
func (r *htmlRewriter) writeStart(raw []byte, act action, changed bool) {
	var w tagWriter = r.out
	switch act {
	case actDrop:
		r.separate()
		return
	case actEmbed:
		return // the placeholder takes its place
	case actHold:
		r.held.Reset()
		w = &r.held
	}
	if changed {
		r.writeTag(w, raw)
	} else {
		w.Write(raw)
	}
}

// contentKind says how the content of the current start tag's element,
// raw, is read.
func (r *htmlRewriter) contentKind(raw []byte) rawKind {
	switch r.tag.name {
	case "script":
		return scriptKind(r.tag.scriptType(raw), r.tag.hasType)
	case "style":
		return rawCSS
	case "plaintext":
		return rawPlaintext
	case "title", "textarea", "iframe", "noembed", "noframes", "xmp":
		return rawPass
	}
	// Anything else, noscript included, holds HTML. Trackers hide in
	// noscript: its content is read as a browser without scripts does.
	return rawNone
}

// scriptKind classifies a script by its type attribute.
func scriptKind(typ []byte, hasType bool) rawKind {
	t := strings.ToLower(strings.TrimSpace(string(typ)))
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	if !hasType || t == "" {
		return rawJS
	}
	switch t {
	case "module", "importmap", "speculationrules",
		"text/javascript", "application/javascript", "application/x-javascript",
		"text/ecmascript", "application/ecmascript", "text/x-javascript",
		"text/x-ecmascript", "text/jscript", "text/livescript", "text/babel",
		"application/json", "application/ld+json", "text/json":
		return rawJS
	case "text/html", "text/template", "text/x-template", "text/ng-template",
		"text/x-handlebars-template", "text/x-handlebars", "text/x-jquery-tmpl",
		"text/x-kendo-template", "text/x-underscore-template", "text/x-mustache":
		return rawHTML
	}
	if strings.HasPrefix(t, "text/javascript") || strings.HasSuffix(t, "+json") {
		return rawJS
	}
	return rawOther
}

// knownTag returns the lower-case name of the tags the rewriter treats
// specially, and "" for the others, without allocating.
func knownTag(name []byte) string {
	if len(name) == 0 || len(name) > 10 {
		return ""
	}
	return foldedName(knownTags[tagHash(name)], name)
}

// tagHash is a perfect hash of the names in knownTags, in any case.
func tagHash(n []byte) uint8 {
	return uint8(len(n) + int(n[0]|0x20) + int(n[len(n)-1]|0x20) + 7*int(n[len(n)/2]|0x20))
}

// knownTags are the tags the rewriter treats specially, by tagHash.
var knownTags = hashTable(tagHash,
	"link", "script", "style", "meta", "base", "object", "noscript",
	"plaintext", "title", "textarea", "iframe", "noembed", "noframes",
	"xmp", "a", "area", "img", "image", "source", "track", "embed",
	"input", "frame", "video", "audio",
)

// scanStartTag reads the start tag at the start of data into r.tag and
// r.attrs, the way the Tokenizer's readTag does, and returns its length,
// or -1 when data ends first.
func (r *htmlRewriter) scanStartTag(data []byte) int {
	name, i := tagName(data)
	// Set in two steps: one literal with the name would be built on the
	// stack and then copied.
	r.tag = tagInfo{res: -1, integrity: -1, src: -1, post: -1}
	r.tag.name = knownTag(name)
	r.attrs = r.attrs[:0]
	clear(r.strs)
	r.strs = r.strs[:0]
	saved := 0
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
		r.attrs = append(r.attrs, attr{saved: -1}) // scanned in place
		a := &r.attrs[len(r.attrs)-1]
		i = scanAttr(data, i, a)
		if a.k1 > a.k0 && (saved == 0 || !r.seen(data, data[a.k0:a.k1])) {
			a.saved = saved
			saved++
		}
		if a.saved >= 0 {
			r.classify(data, len(r.attrs)-1)
		}
	}
}

// seen reports whether an attribute named key (any case) came before.
func (r *htmlRewriter) seen(raw, key []byte) bool {
	for k := range r.attrs {
		a := &r.attrs[k]
		if a.saved >= 0 && equalFoldASCII(raw[a.k0:a.k1], key) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// classify sets the kind of attribute k and notes what it says about the
// element.
func (r *htmlRewriter) classify(raw []byte, k int) {
	a := &r.attrs[k]
	key := raw[a.k0:a.k1]
	name, role := knownAttr(key)
	t := &r.tag
	val := raw[a.v0:a.v1]
	switch role {
	case roleText:
		// Text a reader sees, never changed.
	case roleURL:
		a.kind = attrURL
		if (name == "src" && t.name == "script") || (name == "href" && t.name == "link") {
			t.res = k
		}
		r.classifyFetch(name, k)
		if name == "href" && t.name == "base" && !r.baseSet {
			a.kind = attrBase
		}
	case roleObjectData:
		if t.name == "object" {
			a.kind = attrURL
			a.fetch = fetchLoad
		}
	case rolePing:
		a.kind, a.fetch = attrURLList, fetchPing
	case roleArchive:
		a.kind = attrURLList
	case roleSrcset:
		a.kind, a.fetch = attrSrcset, fetchLoad
	case roleStyle:
		a.kind = attrCSS
	case roleContent:
		a.kind = attrEmbedded
		if t.name == "meta" {
			a.kind = attrContent
		}
	case roleValue:
		a.kind = attrEmbedded
	case roleSrcdoc:
		if t.name == "iframe" {
			a.kind = attrSrcdoc
		}
	case roleIntegrity:
		if t.name == "script" || t.name == "link" {
			a.kind = attrIntegrity
			t.integrity = k
		}
	case roleType:
		if t.name == "script" {
			t.typ0, t.typ1, t.hasType = a.v0, a.v1, true
		}
	case roleRel:
		if t.name == "link" {
			t.relHint, t.relLoad = linkRel(val)
		}
	case roleSize:
		if isTinyLength(val) {
			t.small++
		}
	case roleHTTPEquiv:
		if t.name == "meta" && equalFoldASCII(bytes.TrimSpace(val), []byte("refresh")) {
			t.refresh = true
		}
	case roleMetaName:
		if t.name == "meta" && isMetaURL(val) {
			t.metaURL = true
		}
	default:
		switch {
		case len(key) > 2 && lowerASCII(key[0]) == 'o' && lowerASCII(key[1]) == 'n':
			a.kind = attrJS
		case t.name == "script" && equalFoldASCII(key, []byte("data-telegram-post")):
			t.post = k
		case hasSuffixFold(key, "href") || hasSuffixFold(key, "src") || hasSuffixFold(key, "url"):
			a.kind = attrData // js-href, data-*-src, ...
		case len(key) > 5 && equalFoldASCII(key[:5], []byte("data-")):
			a.kind = attrData
		case !(len(key) <= maxAttrName && len(key) >= 5 && equalFoldASCII(key[:5], []byte("aria-"))):
			a.kind = attrEmbedded
		}
	}
}

// attrRole groups the attribute names that classify treats alike. An
// integer switch on it is cheaper than a switch on the name.
type attrRole uint8

const (
	roleOther      attrRole = iota // a name knownAttr does not know
	roleURL                        // one URL: href, src, data-src, ...
	roleObjectData                 // data: a URL on object
	rolePing                       // ping
	roleArchive                    // archive
	roleSrcset                     // srcset and its lazy-loading variants
	roleStyle                      // style
	roleContent                    // content
	roleValue                      // value
	roleSrcdoc                     // srcdoc
	roleIntegrity                  // integrity
	roleType                       // type
	roleRel                        // rel
	roleSize                       // width, height
	roleHTTPEquiv                  // http-equiv
	roleMetaName                   // property, name, itemprop
	roleText                       // text a reader sees: alt, title, class, ...
)

// maxAttrName is the length of the longest name attrName knows.
const maxAttrName = 16

// attrName returns the lower-case name of the attributes classify knows,
// and "" for the others, without allocating.
func attrName(key []byte) string {
	name, _ := knownAttr(key)
	return name
}

// knownAttr returns the lower-case name and the role of the attributes
// classify knows, and "", roleOther for the others, without allocating.
func knownAttr(key []byte) (string, attrRole) {
	if len(key) == 0 || len(key) > maxAttrName {
		return "", roleOther
	}
	if string(key) == "class" {
		return "class", roleText // half the attributes of a page: compared inline first
	}
	h := attrHash(key)
	name := foldedName(attrNames[h], key)
	if name == "" {
		return "", roleOther
	}
	return name, attrRoles[h]
}

// foldedName returns name when it is b in lower case, else "".
func foldedName(name string, b []byte) string {
	if len(name) != len(b) {
		return ""
	}
	if string(b) == name {
		return name // the usual lower-case name, compared without a loop
	}
	for i, c := range b {
		if lowerASCII(c) != name[i] {
			return ""
		}
	}
	return name
}

// attrHash is a perfect hash of the names in attrNames, which it finds in
// any case: c|0x20 is c for lower-case letters, '-' and ':'.
func attrHash(n []byte) uint8 {
	return uint8(len(n) + 3*int(n[0]|0x20) + 24*int(n[len(n)-1]|0x20) + 28*int(n[len(n)/2]|0x20))
}

// knownAttrs are the names attrName knows, with their roles.
var knownAttrs = map[attrRole][]string{
	roleURL: {"href", "src", "action", "formaction", "poster", "background", "cite",
		"longdesc", "manifest", "xlink:href", "codebase", "classid", "icon",
		"profile", "lowsrc", "dynsrc", "data-src", "data-href", "data-url",
		"data-poster", "data-original", "data-lazy-src", "data-bg",
		"data-background", "data-lazy", "data-link", "data-image",
		"data-ajax-url", "data-full-src", "data-thumb"},
	roleObjectData: {"data"},
	rolePing:       {"ping"},
	roleArchive:    {"archive"},
	roleSrcset:     {"srcset", "data-srcset", "imagesrcset", "data-lazy-srcset"},
	roleStyle:      {"style"},
	roleContent:    {"content"},
	roleValue:      {"value"},
	roleSrcdoc:     {"srcdoc"},
	roleIntegrity:  {"integrity"},
	roleType:       {"type"},
	roleRel:        {"rel"},
	roleSize:       {"width", "height"},
	roleHTTPEquiv:  {"http-equiv"},
	roleMetaName:   {"property", "name", "itemprop"},
	// aria-* attributes hold text too; classify knows them by prefix.
	roleText: {"alt", "title", "placeholder", "label", "summary", "abbr", "class", "id"},
}

// attrNames and attrRoles are knownAttrs by attrHash.
var attrNames, attrRoles = attrTables()

func attrTables() (*[256]string, *[256]attrRole) {
	var names []string
	var roles [256]attrRole
	for role, ns := range knownAttrs {
		names = append(names, ns...)
		for _, n := range ns {
			roles[attrHash([]byte(n))] = role
		}
	}
	return hashTable(attrHash, names...), &roles
}

// hashTable returns a table of the names by the perfect hash h.
func hashTable(h func([]byte) uint8, names ...string) *[256]string {
	var t [256]string
	for _, n := range names {
		if len(n) > maxAttrName || t[h([]byte(n))] != "" {
			panic("rewrite: " + n + ": not a perfect hash")
		}
		t[h([]byte(n))] = n
	}
	return &t
}

func hasSuffixFold(b []byte, suffix string) bool {
	if len(b) < len(suffix) {
		return false
	}
	b = b[len(b)-len(suffix):]
	for i := range b {
		if lowerASCII(b[i]) != suffix[i] {
			return false
		}
	}
	return true
}

// isMetaURL reports whether a meta name or property names a URL value.
func isMetaURL(v []byte) bool {
	n := strings.ToLower(strings.TrimSpace(string(v)))
	switch n {
	case "image", "url", "thumbnail", "thumbnailurl", "contenturl", "embedurl",
		"msapplication-config", "msapplication-tileimage", "twitter:image:src":
		return true
	}
	for _, suf := range []string{":url", ":image", ":secure_url", ":player", ":stream", ":video", ":audio"} {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return strings.HasPrefix(n, "msapplication-") && strings.HasSuffix(n, "logo")
}

// value returns an attribute's value with character references decoded.
func (r *htmlRewriter) value(raw []byte, a *attr) string {
	if a.dv == 0 {
		a.dv = r.keep(r.decodeValue(raw, a))
	}
	return r.str(a.dv)
}

// keep stores a string of the current tag in r.strs and returns its
// index for attr.val or attr.dv.
func (r *htmlRewriter) keep(s string) int32 {
	r.strs = append(r.strs, s)
	return int32(len(r.strs))
}

// str returns the string of r.strs that keep returned i for, or "".
func (r *htmlRewriter) str(i int32) string {
	if i == 0 {
		return ""
	}
	return r.strs[i-1]
}

func (r *htmlRewriter) decodeValue(raw []byte, a *attr) string {
	v := raw[a.v0:a.v1]
	if bytes.IndexByte(v, 0) < 0 && bytes.IndexByte(v, '\r') < 0 {
		amp := bytes.IndexByte(v, '&')
		if amp < 0 {
			return string(v)
		}
		if s, ok := decodeSimple(v, amp); ok {
			return s
		}
	}
	// Let the Tokenizer decode it: HTML decodes references in attribute
	// values by rules of their own ("&copy=1" stays as it is).
	if r.dec == nil {
		r.dec = html.NewTokenizer(bytes.NewReader(raw))
		r.dec.Next()
		r.decN = 0
	}
	var val []byte
	for r.decN <= a.saved {
		_, val, _ = r.dec.TagAttr()
		r.decN++
	}
	return string(val)
}

// simpleRefs are character references that decode the same wherever they
// stand in an attribute value.
var simpleRefs = [...]struct{ ref, char string }{
	{"&amp;", "&"}, {"&quot;", `"`}, {"&#39;", "'"}, {"&#34;", `"`}, {"&lt;", "<"}, {"&gt;", ">"},
}

// decodeSimple decodes v, whose first '&' is at amp, when every character
// reference in it is one of simpleRefs; ok is false otherwise.
func decodeSimple(v []byte, amp int) (string, bool) {
	var b strings.Builder
	b.Grow(len(v))
	for amp >= 0 {
		b.Write(v[:amp])
		v = v[amp:]
		found := false
		for _, r := range simpleRefs {
			if len(v) >= len(r.ref) && string(v[:len(r.ref)]) == r.ref {
				b.WriteString(r.char)
				v = v[len(r.ref):]
				found = true
				break
			}
		}
		if !found {
			return "", false
		}
		amp = bytes.IndexByte(v, '&')
	}
	b.Write(v)
	return b.String(), true
}

// mayChange reports, without allocating, whether a value of the given
// kind can be changed by the rewriter.
func (r *htmlRewriter) mayChange(raw []byte, a *attr) bool {
	v := raw[a.v0:a.v1]
	if len(v) == 0 {
		return false
	}
	if r.d.Absolute != "" || bytes.IndexByte(v, '&') >= 0 {
		return true
	}
	if a.fetch == fetchLink && bytes.IndexByte(v, '?') >= 0 {
		return true
	}
	switch a.kind {
	case attrURL, attrBase:
		return r.mayChangeURL(v)
	case attrIntegrity:
		return false
	case attrSrcset:
		// "http:host" names a host too, on a page served over https.
		return bytes.IndexByte(v, '/') >= 0 || bytes.IndexByte(v, ':') >= 0
	case attrCSS:
		return bytes.IndexByte(v, '/') >= 0 || hasHTTPColon(v)
	}
	return bytes.IndexByte(v, '/') >= 0
}

// mayChangeURL reports whether Doc.URL could change the URL v.
func (r *htmlRewriter) mayChangeURL(v []byte) bool {
	i := 0
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	v = v[i:]
	switch {
	case len(v) == 0:
		return false
	case hasTabOrNewline(v) || oddStart(v):
		return true
	case isSlash(v[0]):
		return r.root != "" || (len(v) > 1 && isSlash(v[1]))
	case v[0] == 'h' || v[0] == 'H':
		return bytes.IndexByte(v, ':') >= 0
	case v[0] == 'j' || v[0] == 'J':
		return hasFoldPrefix(string(v[:min(len(v), 11)]), "javascript:")
	}
	return false
}

// spliceURL rewrites the common URL values that need neither decoding
// nor escaping, root-relative or on an origin host, the way Doc.URL
// does, without allocating: the new value is a mirror root followed by
// the end of the raw value. It reports false when the value is not one of
// those, and must be rewritten as usual.
func (r *htmlRewriter) spliceURL(raw []byte, a *attr) bool {
	v := raw[a.v0:a.v1]
	if a.kind != attrURL || r.d.Absolute != "" || len(v) == 0 ||
		a.fetch == fetchLink && bytes.IndexByte(v, '?') >= 0 {
		return false
	}
	if v[0] == '/' && (len(v) == 1 || !isSlash(v[1])) {
		if r.root == "" {
			// Root-relative on the primary site: unchanged, unless a
			// character reference decodes to something else, which
			// mayChange sees, or a browser reads it otherwise.
			return bytes.IndexByte(v, '&') < 0 && !hasTabOrNewline(v)
		}
		if !plainValue(v) {
			return false
		}
		a.edit, a.val, a.cut = editSet, r.keep(r.root), a.v0
		return true
	}
	if !(v[0] == '/' || v[0] == 'h' || v[0] == 'H') || !plainValue(v) || oddStart(v) {
		return false
	}
	if n, o, ok := r.plainOrigin(v); ok && (n < 32 || len(v) <= 32) {
		// The usual origin URL, read in place as originPrefix would
		// read it below (there, from its first 32 bytes).
		root := o.root
		if root[len(HostPrefix):] == r.d.Mapper.site && r.root == "" {
			root = "" // the primary site, in a document of the primary site
		}
		rest := string(v[n:min(len(v), n+4)])
		a.edit, a.val, a.cut = editSet, r.keep(joinRoot(root, rest)), a.v0+n
		return true
	}
	// originPrefix reads the byte after the prefix it finds: the first
	// bytes of a long value are enough when it ends before them.
	k := min(len(v), 32)
	n, root, ok := r.d.originPrefix(string(v[:k]), 0)
	if k < len(v) && (!ok || n >= k) {
		return false
	}
	if ok {
		rest := string(v[n:min(len(v), n+4)]) // all that joinRoot reads
		a.edit, a.val, a.cut = editSet, r.keep(joinRoot(root, rest)), a.v0+n
	}
	return true
}

// plainValue reports whether an attribute value is the same decoded and
// raw, needs no escaping in any quotes, and holds no tab or newline
// (which a browser drops from a URL: see BrowserRef).
func plainValue(v []byte) bool {
	if len(v) >= 32 {
		// One vectorized IndexByte per refused byte reads a long value
		// (a URL) faster than the loop.
		return bytes.IndexByte(v, '&') < 0 && bytes.IndexByte(v, '"') < 0 &&
			bytes.IndexByte(v, '\'') < 0 && bytes.IndexByte(v, 0) < 0 && !hasTabOrNewline(v)
	}
	for _, c := range v {
		if notPlain[c] {
			return false
		}
	}
	return true
}

// notPlain are the bytes plainValue refuses.
var notPlain = [256]bool{'&': true, '"': true, '\'': true, 0: true, '\r': true, '\t': true, '\n': true}

// hasTabOrNewline reports whether v holds a byte browsers drop from a URL
// wherever it is (see BrowserRef).
func hasTabOrNewline(v []byte) bool {
	return bytes.IndexByte(v, '\t') >= 0 || bytes.IndexByte(v, '\n') >= 0 || bytes.IndexByte(v, '\r') >= 0
}

// oddStart reports whether v starts (after "http:" or "https:") with
// slashes and backslashes that BrowserRef reads as "//" but are not
// written so: "\\/host", "/\\host", "///host".
func oddStart(v []byte) bool {
	i, j := slashRun(v)
	return j-i >= 2 && string(v[i:j]) != "//"
}

// rewriteAttr computes the new value of attribute a, if it changes.
func (r *htmlRewriter) rewriteAttr(raw []byte, a *attr) error {
	if a.kind == attrBase {
		v := r.value(raw, a)
		if !r.d.keepAll && r.d.classify(v) != urlLocal {
			r.foreignBase(a)
			return nil
		}
		defer r.setBase(v) // resolve it after rewriting it for the old base
	}
	if a.fetch != fetchNone && !r.d.keepAll && r.privacyAttr(raw, a) {
		return nil
	}
	if r.spliceURL(raw, a) || !r.mayChange(raw, a) {
		return nil
	}
	v := r.value(raw, a)
	var nv string
	d := r.d
	switch a.kind {
	case attrURL, attrBase:
		nv = r.url(v)
		if a.fetch == fetchLink {
			nv = r.link(nv)
		}
	case attrURLList:
		nv = r.urlList(v)
	case attrSrcset:
		nv = d.srcsetLocal(v)
	case attrCSS:
		nv = d.CSS(v)
	case attrJS:
		nv = d.JS(v)
	case attrEmbedded:
		nv = d.Embedded(v)
	case attrData:
		if looksLikeURL(v) {
			nv = r.url(v)
		} else {
			nv = d.Embedded(v)
		}
	case attrContent:
		nv = r.metaContent(v)
	case attrSrcdoc:
		var err error
		if nv, err = r.rewriteHTMLString(v); err != nil {
			return err
		}
	default:
		return nil
	}
	if nv != v {
		a.edit, a.val, a.cut = editSet, r.keep(nv), a.v1
	}
	return nil
}

// foreignBase replaces the first base href when it names a host outside
// the mirror, where the browser would fetch every relative URL of the
// page from: the document's own mirror path takes its place, so that
// relative URLs resolve as the rewriter read them. Later base elements
// do not count, as in browsers.
func (r *htmlRewriter) foreignBase(a *attr) {
	r.baseSet = true
	p, ok := r.d.Mapper.MirrorPath(r.d.Base)
	if !ok {
		a.edit = editDrop
		return
	}
	a.edit, a.val, a.cut = editSet, r.keep(r.d.Absolute+p), a.v1
}

// url rewrites a URL attribute; javascript: URLs are rewritten as scripts.
func (r *htmlRewriter) url(v string) string {
	s, e := trimSpace(v)
	if hasFoldPrefix(v[s:e], "javascript:") {
		p := s + len("javascript:")
		return v[:p] + r.d.JS(v[p:])
	}
	return r.d.URL(v)
}

// urlList rewrites each URL of a white-space separated list.
func (r *htmlRewriter) urlList(v string) string {
	var b strings.Builder
	last := 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && !isSpace(v[i]) {
			continue
		}
		if i > last {
			b.WriteString(r.d.URL(v[last:i]))
		}
		if i < len(v) {
			b.WriteByte(v[i])
		}
		last = i + 1
	}
	return b.String()
}

// looksLikeURL reports whether a data-* value is a single URL.
func looksLikeURL(v string) bool {
	s, e := trimSpace(v)
	v = v[s:e]
	if v == "" || strings.ContainsAny(v, " \t\r\n\f") {
		return false
	}
	return isSlash(v[0]) || hasFoldPrefix(v, "http:") || hasFoldPrefix(v, "https:")
}

// metaContent rewrites the content of a meta element.
func (r *htmlRewriter) metaContent(v string) string {
	switch {
	case r.tag.refresh:
		s, e := refreshURL(v)
		if s == e {
			return v
		}
		if !r.d.keepAll && r.d.classify(v[s:e]) != urlLocal {
			return "" // a redirect off the mirror, without a click: none
		}
		return v[:s] + r.d.URL(v[s:e]) + v[e:]
	case r.tag.metaURL:
		return r.d.URL(v)
	}
	return r.d.Embedded(v)
}

// refreshURL returns the bounds of the URL in a meta refresh value such as
// "5; url='https://example.com/'", following the HTML standard's shared
// declarative refresh steps. It returns s == e when there is none.
func refreshURL(v string) (s, e int) {
	i := 0
	skip := func() {
		for i < len(v) && isSpace(v[i]) {
			i++
		}
	}
	skip()
	start := i
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == start || i == len(v) {
		return 0, 0
	}
	if c := v[i]; c != ';' && c != ',' && !isSpace(c) {
		return 0, 0
	}
	skip()
	if i < len(v) && (v[i] == ';' || v[i] == ',') {
		i++
	}
	skip()
	s = i
	if hasFoldPrefix(v[i:], "url") {
		j := i + 3
		for j < len(v) && isSpace(v[j]) {
			j++
		}
		if j < len(v) && v[j] == '=' {
			i = j + 1
			skip()
			s = i
		}
	}
	e = len(v)
	if s < len(v) && (v[s] == '"' || v[s] == '\'') {
		q := v[s]
		s++
		if k := strings.IndexByte(v[s:], q); k >= 0 {
			e = s + k
		}
	}
	return s, e
}

// foreign reports whether the resource URL in attribute a is on a host
// outside the origin family (so that its integrity still holds).
func (r *htmlRewriter) foreign(raw []byte, a *attr) bool {
	if a.edit == editSet {
		return false // it was an origin URL
	}
	v := r.value(raw, a)
	s, e := trimSpace(v)
	v = v[s:e]
	return hasScheme(v) || (len(v) > 1 && isSlash(v[0]) && isSlash(v[1]))
}

// writeTag writes the raw tag with the edited attributes replaced. A new
// value keeps its attribute's quotes when it can, else it is written in
// double quotes. Repeated attributes, which browsers ignore, are dropped:
// once the first is dropped, the next would count.
func (r *htmlRewriter) writeTag(w tagWriter, raw []byte) {
	last := 0
	for k := range r.attrs {
		a := &r.attrs[k]
		end := a.v1
		if a.quote != 0 {
			end++
		}
		edit := a.edit
		if a.saved < 0 && a.k1 > a.k0 {
			edit = editDrop // a repeated name
		}
		switch edit {
		case editDrop:
			start := a.k0
			for start > last && isSpace(raw[start-1]) {
				start--
			}
			w.Write(raw[last:start])
			last = end
		case editSet:
			val := r.str(a.val)
			start := a.v0
			q := a.quote
			if q != 0 {
				start--
			}
			if q == 0 || strings.IndexByte(val, q) >= 0 {
				q = '"'
			}
			w.Write(raw[last:start])
			w.WriteByte(q)
			writeAttrEscaped(w, val, q)
			w.Write(raw[a.cut:a.v1]) // holds no '&' and no quote
			w.WriteByte(q)
			last = end
		}
	}
	w.Write(raw[last:])
}

// writeAttrEscaped writes an attribute value's text for the given quote:
// "&" and the quote are escaped.
func writeAttrEscaped(w tagWriter, s string, quote byte) {
	for {
		i := 0
		for i < len(s) && s[i] != '&' && s[i] != quote {
			i++
		}
		w.WriteString(s[:i])
		if i == len(s) {
			return
		}
		switch s[i] {
		case '&':
			w.WriteString("&amp;")
		case '"':
			w.WriteString("&#34;")
		default:
			w.WriteString("&#39;")
		}
		s = s[i+1:]
	}
}
