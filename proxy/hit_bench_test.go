package proxy

import (
	"crypto/tls"
	"net/http"
	"testing"

	"zerkalo/proxy/demo"
)

// benchHit measures gzip hits of path, over HTTP/2 or, with h1, over
// HTTP/1.1 (the client offers only http/1.1 in ALPN).
func benchHit(b *testing.B, path string, h1 bool) {
	te := benchEdge(b)
	if h1 {
		tr := te.client.Transport.(*http.Transport)
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	benchGet(b, te, path, cacheMiss)
	b.ReportAllocs()
	for b.Loop() {
		b.SetBytes(benchGet(b, te, path, cacheHit))
	}
}

func BenchmarkHitArticleH2(b *testing.B) { benchHit(b, demo.ArticlePath, false) }
func BenchmarkHitArticleH1(b *testing.B) { benchHit(b, demo.ArticlePath, true) }
func BenchmarkHitFrontH1(b *testing.B)   { benchHit(b, "/", true) }
