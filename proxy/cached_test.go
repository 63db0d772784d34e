package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zerkalo/cache"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
)

// withCache gives the edge a cache in a temporary folder.
func withCache(t testing.TB) func(*Options) {
	return func(o *Options) {
		store, err := cache.Open(t.TempDir(), cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		o.Cache = store
		o.CachePolicy = cache.DefaultPolicy()
	}
}

// cachedPage serves an article page with the given Cache-Control and a
// validator, counting conditional requests it answers with 304.
type cachedPage struct {
	cacheControl string
	notModified  atomic.Int32
	delay        time.Duration
}

func (p *cachedPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(p.delay)
	w.Header().Set("Cache-Control", p.cacheControl)
	w.Header().Set("ETag", `"v1"`)
	if r.Header.Get("If-None-Match") == `"v1"` {
		p.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<html><body><a href="https://www.svoboda.org/a/%s">x</a>%s</body></html>`,
		strings.TrimPrefix(r.URL.Path, "/"), strings.Repeat("<p>article text</p>", 200))
}

func TestCacheHitServesStoredEncodings(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=300"}
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	resp, first := te.get(t, "/a/1.html", "Accept-Encoding", "identity")
	if resp.Header.Get("X-Cache") != cacheMiss {
		t.Fatalf("first request: X-Cache %q", resp.Header.Get("X-Cache"))
	}
	for _, ae := range []string{"identity", "gzip", "br", "gzip, br"} {
		resp, body := te.get(t, "/a/1.html", "Accept-Encoding", ae)
		if resp.Header.Get("X-Cache") != cacheHit {
			t.Errorf("%s: X-Cache %q", ae, resp.Header.Get("X-Cache"))
		}
		if got := decodeForTest(t, resp.Header.Get("Content-Encoding"), body); got != string(first) {
			t.Errorf("%s: cached body differs from the first response", ae)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: hit lacks CSP or ETag", ae)
		}
		if resp.ContentLength != int64(len(body)) || resp.Header.Get("Last-Modified") == "" {
			t.Errorf("%s: Content-Length %d for %d bytes, Last-Modified %q", ae, resp.ContentLength, len(body), resp.Header.Get("Last-Modified"))
		}
	}
	if n := te.origin.Count("www.rferl.org", "/a/1.html"); n != 1 {
		t.Errorf("origin got %d requests, want 1", n)
	}
	// A reader's conditional request and a range request are answered
	// from the stored copy.
	resp, _ = te.get(t, "/a/1.html", "Accept-Encoding", "identity")
	resp, _ = te.get(t, "/a/1.html", "Accept-Encoding", "identity", "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional request: %d, want 304", resp.StatusCode)
	}
	resp, body := te.get(t, "/a/1.html", "Accept-Encoding", "identity", "Range", "bytes=0-9")
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(first[:10]) {
		t.Errorf("range request: %d %q", resp.StatusCode, body)
	}
}

func TestConcurrentMissesFetchOnce(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=300", delay: 200 * time.Millisecond}
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	var wg sync.WaitGroup
	bodies := make([]string, 200)
	for i := range bodies {
		wg.Go(func() {
			resp, err := te.client.Get("https://" + mirrorName + "/a/cold.html")
			if err != nil {
				bodies[i] = "error: " + err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies[i] = decodeForTest(t, resp.Header.Get("Content-Encoding"), b)
		})
	}
	wg.Wait()
	if n := te.origin.Count("www.rferl.org", "/a/cold.html"); n != 1 {
		t.Errorf("200 concurrent misses made %d origin requests, want 1", n)
	}
	for i, b := range bodies {
		if b != bodies[0] || !strings.Contains(b, "article text") {
			t.Fatalf("reader %d got a different body: %.80q", i, b)
		}
	}
}

// TestStaleWhenOriginFails: pages seen before are still served, with the
// same body, while the origin refuses, resets, hangs or answers 503.
func TestStaleWhenOriginFails(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=0"} // stale at once; stale-if-error from the policy
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	_, want := te.get(t, "/a/seen.html", "Accept-Encoding", "identity")
	for _, mode := range []fakeorigin.Mode{fakeorigin.Refuse, fakeorigin.Reset, fakeorigin.Status503, fakeorigin.Hang} {
		if err := te.origin.SetDown(mode); err != nil {
			t.Fatal(err)
		}
		te.client.CloseIdleConnections()
		resp, body := te.get(t, "/a/seen.html", "Accept-Encoding", "identity")
		if resp.StatusCode != 200 || string(body) != string(want) || resp.Header.Get("X-Cache") != cacheStale {
			t.Errorf("origin %v: status %d, X-Cache %q, body %d bytes (want %d) %q", mode, resp.StatusCode, resp.Header.Get("X-Cache"), len(body), len(want), resp.Header.Get("Content-Encoding"))
		}
		resp, _ = te.get(t, "/a/never-seen.html")
		if resp.StatusCode < 500 {
			t.Errorf("origin %v: a page never seen got %d", mode, resp.StatusCode)
		}
	}
	if err := te.origin.SetDown(fakeorigin.Up); err != nil {
		t.Fatal(err)
	}
	resp, _ := te.get(t, "/a/seen.html")
	if got := resp.Header.Get("X-Cache"); got != cacheRevalidated {
		t.Errorf("origin back: X-Cache %q, want %s", got, cacheRevalidated)
	}
	if page.notModified.Load() == 0 {
		t.Error("the origin never answered a conditional revalidation")
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=0, stale-while-revalidate=60"}
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	te.get(t, "/a/swr.html")
	resp, _ := te.get(t, "/a/swr.html")
	if got := resp.Header.Get("X-Cache"); got != cacheStale {
		t.Errorf("X-Cache %q, want %s", got, cacheStale)
	}
	deadline := time.Now().Add(5 * time.Second)
	for page.notModified.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if page.notModified.Load() == 0 {
		t.Error("no background revalidation reached the origin")
	}
}

func TestCacheBustingParametersDropped(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=300"}
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	te.get(t, "/a/2.html?nocache=1&utm_source=x")
	resp, _ := te.get(t, "/a/2.html")
	if resp.Header.Get("X-Cache") != cacheHit {
		t.Errorf("X-Cache %q: nocache and utm_source should not split the cache", resp.Header.Get("X-Cache"))
	}
	for _, r := range te.origin.Requests() {
		if strings.Contains(r.URI, "nocache") || strings.Contains(r.URI, "utm_") {
			t.Errorf("origin got %s", r.URI)
		}
	}
}

func TestOriginRateCap(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=300"}
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, func(o *Options) {
		withCache(t)(o)
		o.OriginRate = 1 // burst 2
	})
	busy := 0
	for i := range 20 {
		resp, _ := te.get(t, fmt.Sprintf("/a/random-%d.html", i))
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
			busy++
		}
	}
	if n := len(te.origin.Requests()); n > 4 {
		t.Errorf("origin got %d requests despite a cap of 1/s", n)
	}
	if busy < 15 {
		t.Errorf("only %d of 20 readers were told to retry", busy)
	}
}

// TestOriginFetchesInFlightCap: with two fetches in flight and a cap of
// two, no third fetch is made: a stale copy stands in, or the reader is
// told to retry. Once a fetch ends, the next one is made.
func TestOriginFetchesInFlightCap(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=0"} // stale at once; stale-if-error from the policy
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	te := startEdgeWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/a/slow-") {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		page.ServeHTTP(w, r)
	}), "www.rferl.org", []string{"www.svoboda.org"}, func(o *Options) {
		withCache(t)(o)
		o.OriginFetches = 2
	})
	if resp, _ := te.get(t, "/a/old.html"); resp.StatusCode != http.StatusOK {
		t.Fatalf("first fetch of old.html: %d", resp.StatusCode)
	}
	slow := make(chan error, 2)
	for i := range 2 {
		go func() {
			resp, err := te.client.Get(fmt.Sprintf("https://%s/a/slow-%d.html", mirrorName, i))
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			slow <- err
		}()
	}
	for range 2 {
		select {
		case <-arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the two slow fetches did not reach the origin")
		}
	}
	if got := scrape(t, te, "zerkalo_origin_fetches_in_flight"); got != "2" {
		t.Errorf("fetches in flight: %s, want 2", got)
	}
	before := len(te.origin.Requests())
	if resp, _ := te.get(t, "/a/new.html"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a third fetch while two are in flight: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := te.get(t, "/a/old.html"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != cacheStale {
		t.Errorf("a stale page while two fetches are in flight: %d, X-Cache %q; want 200 STALE", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
	if n := len(te.origin.Requests()) - before; n != 0 {
		t.Errorf("the origin got %d requests beyond the cap", n)
	}
	close(release)
	for range 2 {
		if err := <-slow; err != nil {
			t.Errorf("slow fetch: %v", err)
		}
	}
	if resp, _ := te.get(t, "/a/new.html"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != cacheMiss {
		t.Errorf("after the fetches ended: %d, X-Cache %q; want 200 MISS", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
	if got := scrape(t, te, `zerkalo_origin_fetches_refused_total{cap="in_flight"}`); got != "2" {
		t.Errorf("fetches refused for the in-flight cap: %s, want 2", got)
	}
	if got := scrape(t, te, "zerkalo_origin_fetches_in_flight"); got != "0" {
		t.Errorf("fetches in flight after the last one: %s, want 0", got)
	}
}

// TestPassThroughLeavesFetchCap: a body passed through unchanged (a
// video, say) does not hold one of the origin.max_fetches slots while it
// streams; pages to rewrite are still fetched.
func TestPassThroughLeavesFetchCap(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	te := startEdgeWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/media.mp4" {
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(make([]byte, 64<<10))
			w.(http.Flusher).Flush()
			select { // the rest of a long video
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		(&cachedPage{cacheControl: "max-age=300"}).ServeHTTP(w, r)
	}), "www.rferl.org", []string{"www.svoboda.org"}, func(o *Options) {
		withCache(t)(o)
		o.OriginFetches = 1
	})
	resp, err := te.client.Get("https://" + mirrorName + "/media.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 32<<10)); err != nil {
		t.Fatalf("the video's first bytes: %v", err)
	}
	if resp, _ := te.get(t, "/a/1.html"); resp.StatusCode != http.StatusOK {
		t.Errorf("a page while a video streams, with a cap of one fetch: %d, want 200", resp.StatusCode)
	}
	if got := scrape(t, te, "zerkalo_origin_fetches_in_flight"); got != "0" {
		t.Errorf("fetches in flight while only the video streams: %s, want 0", got)
	}
}

// scrape returns the value of one metric sample ("" if absent) from the
// edge's metrics endpoint.
func scrape(t *testing.T, te *testEdge, sample string) string {
	t.Helper()
	w := httptest.NewRecorder()
	AdminHandler(te.edge.opts.Metrics, func() bool { return true }).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.SplitSeq(w.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

func TestFeedStoredPerHost(t *testing.T) {
	feed := `<?xml version="1.0"?><rss><channel><link>https://www.rferl.org/a/1.html</link></channel></rss>`
	te := startEdgeWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Cache-Control", "max-age=300")
		io.WriteString(w, feed)
	}), "www.rferl.org", nil, withCache(t))
	_, body := te.get(t, "/api/", "Accept-Encoding", "identity")
	if !strings.Contains(string(body), "<link>https://"+mirrorName+"/a/1.html</link>") {
		t.Errorf("feed link not absolute on the mirror: %s", body)
	}
	resp, body2 := te.get(t, "/api/", "Accept-Encoding", "identity")
	if resp.Header.Get("X-Cache") != cacheHit || string(body2) != string(body) {
		t.Errorf("second feed request: X-Cache %q", resp.Header.Get("X-Cache"))
	}
}

// failingWriter is a reader that has gone away.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// rewriteFixture returns, for tests that call pipeRewrite directly, a
// store, a maker of documents for an rferl.org article, and a maker of
// the cache metadata of a 200 of a content type, fresh for a minute.
func rewriteFixture(t *testing.T) (*cache.Store, func() *rewrite.Doc, func(key, ctype string) cache.Meta) {
	t.Helper()
	store, err := cache.Open(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mapper, _ := rewrite.NewMapper("www.rferl.org", nil)
	target, _ := url.Parse("https://www.rferl.org/a/1.html")
	policy := cache.DefaultPolicy()
	meta := func(key, ctype string) cache.Meta {
		m, err := policy.Meta(key, "", 200, http.Header{"Content-Type": {ctype}, "Cache-Control": {"max-age=60"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return store, func() *rewrite.Doc { return rewrite.NewDoc(mapper, target) }, meta
}

// TestReaderGoneAfterTheBody: when the reader disappears just as the last
// bytes are written, the rewritten body is still stored, and nothing
// panics.
func TestReaderGoneAfterTheBody(t *testing.T) {
	store, newDoc, meta := rewriteFixture(t)
	page := "<html><body><p>small page</p></body></html>"
	err := pipeRewrite(context.Background(), failingWriter{}, strings.NewReader(page), rewrite.KindHTML, newDoc(), "", store.Create(meta("k", "text/html")))
	if err == nil {
		t.Error("no error although the reader was gone")
	}
	if _, state := store.Lookup("k", "", time.Now()); state != cache.Fresh {
		t.Errorf("entry state %v, want stored and fresh", state)
	}
}

// TestCanceledFetchNotStored: a body whose fetch was canceled (timed out,
// or its reader left) before the origin ended it is neither stored nor
// ended as complete, rewritten or passed through, even though the origin
// ended it cleanly; the same body from a live fetch is stored.
func TestCanceledFetchNotStored(t *testing.T) {
	store, newDoc, meta := rewriteFixture(t)
	timedOut, cancel := context.WithCancelCause(context.Background())
	cancel(errOriginTimeout)
	const page = "<html><body><p>the page so far</p></body></html>"
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"live", context.Background(), nil},
		{"timed out", timedOut, errOriginTimeout},
	} {
		rewritten, passed := "rewritten "+tc.name, "passed "+tc.name
		err := pipeRewrite(tc.ctx, io.Discard, strings.NewReader(page), rewrite.KindHTML, newDoc(), "gzip", store.Create(meta(rewritten, "text/html")))
		if !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("%s: rewritten body: %v, want %v", tc.name, err, tc.want)
		}
		body := &teeBody{ReadCloser: io.NopCloser(strings.NewReader(page)), w: store.Create(meta(passed, "image/png")), ctx: tc.ctx}
		_, err = io.ReadAll(body)
		body.Close()
		if !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("%s: passed-through body: %v, want %v", tc.name, err, tc.want)
		}
		for _, key := range []string{rewritten, passed} {
			_, state := store.Lookup(key, "", time.Now())
			if stored := state == cache.Fresh; stored != (tc.want == nil) {
				t.Errorf("%s: stored %v", key, stored)
			}
		}
	}
}

// TestGzipWhileCopyIsMade: a page first stored for a reader who took no
// compression is gzipped for a gzip reader on the fly until the cache has
// made its gzip copy, which later hits then serve.
func TestGzipWhileCopyIsMade(t *testing.T) {
	page := &cachedPage{cacheControl: "max-age=300"}
	te := startEdgeWith(t, page, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	_, plain := te.get(t, "/a/2.html", "Accept-Encoding", "identity")
	resp, body := te.get(t, "/a/2.html", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("X-Cache") != cacheHit {
		t.Fatalf("gzip reader: Content-Encoding %q, X-Cache %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("X-Cache"))
	}
	if got := decodeForTest(t, "gzip", body); got != string(plain) {
		t.Fatal("gzipped hit differs from the stored body")
	}
	if et := resp.Header.Get("ETag"); !strings.HasPrefix(et, "W/") {
		t.Errorf("on-the-fly gzip answer has the identity copy's strong ETag %q", et)
	}
	for range 500 { // the entry reaches the disk, then the worker makes the copy: ms
		resp, body = te.get(t, "/a/2.html", "Accept-Encoding", "gzip")
		if !strings.HasPrefix(resp.Header.Get("ETag"), "W/") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || strings.HasPrefix(resp.Header.Get("ETag"), "W/") ||
		resp.ContentLength != int64(len(body)) {
		t.Fatalf("no stored gzip copy after 10 s: ETag %q, Content-Length %d", resp.Header.Get("ETag"), resp.ContentLength)
	}
	if got := decodeForTest(t, "gzip", body); got != string(plain) {
		t.Fatal("stored gzip copy differs from the identity body")
	}
}

// TestBrowserMissGzipThenBrotli: a browser's miss is gzipped (a tenth of
// brotli's CPU); its next hits ask the cache for the brotli copy and get
// it once made, with the same body.
func TestBrowserMissGzipThenBrotli(t *testing.T) {
	te := startEdgeWith(t, &cachedPage{cacheControl: "max-age=300"}, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	const browser = "gzip, deflate, br, zstd"
	resp, body := te.get(t, "/a/1.html", "Accept-Encoding", browser)
	if resp.Header.Get("X-Cache") != cacheMiss || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("miss: X-Cache %q, Content-Encoding %q; want MISS, gzip", resp.Header.Get("X-Cache"), resp.Header.Get("Content-Encoding"))
	}
	want := decodeForTest(t, "gzip", body)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := te.get(t, "/a/1.html", "Accept-Encoding", browser)
		enc := resp.Header.Get("Content-Encoding")
		if resp.Header.Get("X-Cache") != cacheHit || decodeForTest(t, enc, body) != want {
			t.Fatalf("hit: X-Cache %q, %s body differs from the miss's", resp.Header.Get("X-Cache"), enc)
		}
		if enc == "br" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hits still %q after 5 s, want br", enc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBackgroundRefreshStoresBrotli: a body that changed, fetched by a
// background revalidation, is stored with the brotli copy browsers take.
func TestBackgroundRefreshStoresBrotli(t *testing.T) {
	var version atomic.Int32
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := version.Add(1)
		w.Header().Set("Cache-Control", "max-age=0, stale-while-revalidate=60")
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, v))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body><p>version %d</p>%s</body></html>", v, strings.Repeat("<p>text</p>", 100))
	})
	te := startEdgeWith(t, page, "www.rferl.org", nil, withCache(t))
	te.get(t, "/a/changing.html", "Accept-Encoding", "identity")
	te.get(t, "/a/changing.html", "Accept-Encoding", "identity") // stale: refreshed in the background
	for range 500 {
		resp, body := te.get(t, "/a/changing.html", "Accept-Encoding", "gzip, br")
		if strings.Contains(decodeForTest(t, resp.Header.Get("Content-Encoding"), body), "version 1") {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if got := resp.Header.Get("Content-Encoding"); got != "br" {
			t.Fatalf("refreshed entry: Content-Encoding %q for a browser, want br", got)
		}
		return
	}
	t.Fatal("no refreshed body after 10 s")
}
