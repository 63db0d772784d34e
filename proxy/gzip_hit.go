package proxy

import (
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip"

	"zerkalo/cache"
)

// gzipWhileCopyIsMade reports whether a hit on entry, for which the cache
// offers only the identity copy (Entry.Choose has asked for the others),
// should be gzipped for this reader, as a miss would be: a compressible 200
// for a GET that takes gzip and asks for the whole body.
func gzipWhileCopyIsMade(r *http.Request, entry *cache.Entry) bool {
	return r.Method == http.MethodGet && entry.Meta.Status == http.StatusOK && plainRequest(r) &&
		cache.Compressible(entry.Meta.Header.Get("Content-Type")) &&
		cache.Accepts(r.Header.Get("Accept-Encoding"))[cache.Gzip]
}

// gzipResponse gzips a 200 response on its way to the reader (any other
// status passes unchanged). Close ends the stream.
type gzipResponse struct {
	http.ResponseWriter
	zw          *gzip.Writer
	wroteHeader bool
}

func (g *gzipResponse) WriteHeader(code int) {
	if g.wroteHeader {
		return
	}
	g.wroteHeader = true
	if code == http.StatusOK {
		h := g.Header()
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
			h.Set("ETag", "W/"+et)
		}
		g.zw = gzipWriters.Get().(*gzip.Writer)
		g.zw.Reset(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipResponse) Write(p []byte) (int, error) {
	g.WriteHeader(http.StatusOK)
	if g.zw != nil {
		return g.zw.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

// Close writes the end of the gzip stream.
func (g *gzipResponse) Close() error {
	if g.zw == nil {
		return nil
	}
	err := g.zw.Close()
	releaseEncoder(g.zw)
	g.zw = nil
	return err
}
