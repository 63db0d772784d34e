package demo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
)

// lastModified is the Last-Modified date of every demo resource.
var lastModified = time.Date(2024, 4, 28, 11, 54, 0, 0, time.UTC)

// Cache-Control values, as an origin would send them.
const (
	cachePage   = "public, max-age=300"
	cacheAsset  = "public, max-age=2592000"
	cacheFeed   = "public, max-age=600"
	cacheError  = "public, max-age=60"
	cacheNone   = "private, no-cache, no-store"
	cacheStream = "public, max-age=3600"
)

// A resource is one response body with its encoded variants.
type resource struct {
	ctype string
	cache string
	body  []byte
	gz    []byte // nil when the type is not compressed
	br    []byte
	etag  string // of the identity body, without quotes
}

// newResource returns a resource for body, compressing text types.
func newResource(ctype, cache string, body []byte) *resource {
	sum := sha256.Sum256(body)
	r := &resource{ctype: ctype, cache: cache, body: body, etag: hex.EncodeToString(sum[:8])}
	if compressible(ctype) {
		r.gz = gzipBytes(body)
		r.br = brotliBytes(body)
	}
	return r
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "xml") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "mpegurl")
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func brotliBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 6)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// serve writes res with the given status. A 200 goes through
// http.ServeContent, which handles HEAD, Range and conditional requests.
func (res *resource) serve(w http.ResponseWriter, r *http.Request, status int) {
	h := w.Header()
	originHeaders(h)
	h.Set("Content-Type", res.ctype)
	h.Set("Cache-Control", res.cache)
	body, etag := res.body, res.etag
	if res.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		switch negotiate(r.Header.Get("Accept-Encoding")) {
		case "br":
			body, etag = res.br, etag+"-br"
			h.Set("Content-Encoding", "br")
		case "gzip":
			body, etag = res.gz, etag+"-gz"
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	if status == http.StatusOK {
		http.ServeContent(w, r, "", lastModified, bytes.NewReader(body))
		return
	}
	h.Set("Last-Modified", lastModified.Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// originHeaders sets the headers Pangea's servers send on every response.
func originHeaders(h http.Header) {
	h.Set("Server", "Microsoft-IIS/10.0")
	h.Set("X-Powered-By", "ASP.NET")
	h.Set("X-AspNet-Version", "4.0.30319")
}

// negotiate picks "br", "gzip" or "" (identity) for an Accept-Encoding
// header: the one with the higher q value, br on a tie. A coding with q=0 is refused; "*" stands for any
// coding not named.
func negotiate(accept string) string {
	q := map[string]float64{}
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		v := 1.0
		for _, p := range strings.Split(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err == nil {
					v = f
				}
			}
		}
		q[name] = v
	}
	get := func(c string) float64 {
		if v, ok := q[c]; ok {
			return v
		}
		return q["*"] // 0 when absent
	}
	br, gz := get("br"), get("gzip")
	switch {
	case br > 0 && br >= gz:
		return "br"
	case gz > 0:
		return "gzip"
	}
	return ""
}
