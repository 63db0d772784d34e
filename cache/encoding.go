package cache

import "strings"

// Encoding names one stored copy of an entry's body.
type Encoding int

// The stored encodings of a body.
const (
	Identity Encoding = iota
	Gzip
	Brotli
	numEncodings
)

var encodingInfo = [numEncodings]struct{ token, ext string }{
	{"", "id"}, {"gzip", "gz"}, {"br", "br"},
}

// String returns the Content-Encoding token of e ("" for Identity).
func (e Encoding) String() string {
	if e < 0 || e >= numEncodings {
		return "invalid"
	}
	return encodingInfo[e].token
}

// Accepts reports the encodings an Accept-Encoding request header value
// allows (q > 0), as a bit set indexed by Encoding; Identity is always
// allowed. It does not allocate.
func Accepts(acceptEncoding string) (set [numEncodings]bool) {
	set[Identity] = true
	for acceptEncoding != "" {
		var item string
		item, acceptEncoding, _ = strings.Cut(acceptEncoding, ",")
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.TrimSpace(coding)
		ok := !zeroQ(params)
		switch {
		case strings.EqualFold(coding, "br"):
			set[Brotli] = ok
		case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
			set[Gzip] = ok
		case coding == "*":
			set[Brotli], set[Gzip] = ok, ok
		}
	}
	return set
}

// zeroQ reports whether parameters like " q=0.000" give a weight of zero.
func zeroQ(params string) bool {
	_, q, ok := strings.Cut(params, "=")
	if !ok {
		return false
	}
	q = strings.TrimSpace(q)
	return strings.Trim(q, "0.") == "" && q != ""
}

// Compressible reports whether a body of the given Content-Type is worth
// storing gzip and brotli copies of: text, JSON, JavaScript, XML (feeds,
// sitemaps, SVG), web manifests, playlists and uncompressed fonts; not
// images, audio, video or archives, which are compressed already.
func Compressible(contentType string) bool {
	mt := mediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/x-javascript",
		"application/ecmascript", "application/xml", "application/xhtml+xml",
		"application/vnd.apple.mpegurl", "application/x-mpegurl",
		"application/wasm", "font/ttf", "font/otf", "application/font-sfnt",
		"application/vnd.ms-fontobject", "image/x-icon", "image/vnd.microsoft.icon",
		"image/bmp":
		return true
	}
	return false
}
