package proxy

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"zerkalo/cache"
	"zerkalo/proxy/demo"
)

// benchEdge is an edge with a cache (HTML fresh for an hour, as in
// bench/run.sh) in front of the bundled demo site.
func benchEdge(b *testing.B) *testEdge {
	b.Helper()
	withStore := withCache(b)
	return startEdgeWith(b, demo.Handler(), demo.Site, demo.Hosts(demo.Site), func(o *Options) {
		withStore(o)
		o.CachePolicy.Override = map[string]time.Duration{"text/html": time.Hour}
		o.Logger = nil
	})
}

// benchGet fetches path with Accept-Encoding: gzip and checks X-Cache.
func benchGet(b *testing.B, te *testEdge, path, wantCache string) int64 {
	req, err := http.NewRequest("GET", "https://"+mirrorName+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := te.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != wantCache {
		b.Fatalf("GET %s: %d, X-Cache %q, %v", path, resp.StatusCode, resp.Header.Get("X-Cache"), err)
	}
	return n
}

// BenchmarkMissFrontPage measures the miss path for the real rferl.org
// front page (106 KB): every request is a new URL, so each one is an
// origin fetch (gzip), a rewrite, a gzip response and a store. The time
// includes the origin and the client, which run in this process too.
func BenchmarkMissFrontPage(b *testing.B) {
	te := benchEdge(b)
	i := 0
	for b.Loop() {
		i++
		b.SetBytes(benchGet(b, te, "/?zb="+strconv.Itoa(i), cacheMiss))
	}
	reportStore(b, te.edge.opts.Cache)
}

// BenchmarkHitFrontPage measures a gzip hit of the front page over HTTP/2.
func BenchmarkHitFrontPage(b *testing.B) {
	te := benchEdge(b)
	benchGet(b, te, "/", cacheMiss)
	for b.Loop() {
		b.SetBytes(benchGet(b, te, "/", cacheHit))
	}
}

func reportStore(b *testing.B, s *cache.Store) {
	st := s.Stats()
	b.ReportMetric(float64(st.Stores)/float64(b.N), "stores/op")
}
