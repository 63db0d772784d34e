package rewrite

import (
	"io"
	"mime"
	"strings"
)

// Kind says which rewriter a body needs.
type Kind int

// The kinds of body the mirror rewrites. KindNone passes through unchanged.
const (
	KindNone Kind = iota
	KindHTML      // text/html, application/xhtml+xml
	KindCSS       // text/css
	KindJS        // JavaScript and JSON (string literals are rewritten)
	KindXML       // XML with root-relative URLs allowed: SVG, DASH manifests
	KindFeed      // RSS, Atom, sitemaps: URLs must be absolute (Doc.Absolute)
	KindM3U8      // HLS playlists
)

// String returns the kind's name, for logs and metrics.
func (k Kind) String() string {
	return [...]string{"none", "html", "css", "js", "xml", "feed", "m3u8"}[k]
}

// KindOf returns the kind of a body from its Content-Type header value.
func KindOf(contentType string) Kind {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch mt {
	case "text/html", "application/xhtml+xml":
		return KindHTML
	case "text/css":
		return KindCSS
	case "text/javascript", "application/javascript", "application/x-javascript",
		"application/ecmascript", "text/ecmascript", "application/json",
		"application/ld+json", "application/manifest+json", "text/json":
		return KindJS
	case "image/svg+xml", "application/dash+xml":
		return KindXML
	case "application/rss+xml", "application/atom+xml", "application/xml", "text/xml":
		return KindFeed
	case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl":
		return KindM3U8
	}
	return KindNone
}

// NewWriter returns a streaming rewriter of the given kind that writes the
// rewritten body to w. Close flushes what the rewriter still holds; it does
// not close w. For KindNone the bytes pass through unchanged.
func NewWriter(kind Kind, w io.Writer, d *Doc) io.WriteCloser {
	switch kind {
	case KindHTML:
		return NewHTMLWriter(w, d)
	case KindCSS:
		return NewCSSWriter(w, d)
	case KindJS:
		return NewJSWriter(w, d)
	case KindXML, KindFeed:
		return NewXMLWriter(w, d)
	case KindM3U8:
		return NewM3U8Writer(w, d)
	}
	return nopCloser{w}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
