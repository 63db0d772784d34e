package proxy

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"zerkalo/proxy/demo"
)

// TestWarmerFillsTheCache: one warming round caches the front page and the
// articles of the feed, so the first reader already gets a hit.
func TestWarmerFillsTheCache(t *testing.T) {
	te := startEdgeWith(t, demo.Handler(), demo.Site, demo.Hosts(demo.Site), withCache(t))
	w := &Warmer{
		Edge:     te.edge,
		Host:     func() string { return mirrorName },
		Paths:    []string{"/"},
		Feeds:    []string{"/api/"},
		Every:    time.Hour,
		MaxItems: 10,
		Logger:   slog.New(slog.DiscardHandler),
	}
	w.round(context.Background())
	if te.origin.Count("www.rferl.org", demo.ArticlePath) != 1 {
		t.Fatalf("the feed's article was not fetched; origin log: %d requests", len(te.origin.Requests()))
	}
	for _, path := range []string{"/", demo.ArticlePath} {
		resp, _ := te.get(t, path, "Accept-Encoding", "gzip, br")
		if got := resp.Header.Get("X-Cache"); got != cacheHit {
			t.Errorf("%s after warming: X-Cache %q, want %s", path, got, cacheHit)
		}
		// The brotli copy browsers take was made on the way in.
		if got := resp.Header.Get("Content-Encoding"); got != "br" {
			t.Errorf("%s after warming: Content-Encoding %q for a browser, want br", path, got)
		}
	}
}

func TestFeedPaths(t *testing.T) {
	rss := `<rss><channel><item><link>https://m.test/a/1.html?x=1</link></item><item><link>https://elsewhere.test/a/2.html</link></item><item><link>https://m.test/a/3.html</link></item></channel></rss>`
	atom := `<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="https://m.test/a/4.html"/></entry></feed>`
	for _, tc := range []struct {
		feed string
		max  int
		want []string
	}{
		{rss, 10, []string{"/a/1.html?x=1", "/a/3.html"}},
		{rss, 1, []string{"/a/1.html?x=1"}},
		{atom, 10, []string{"/a/4.html"}},
		{"not xml", 10, nil},
	} {
		got := feedPaths([]byte(tc.feed), "m.test", tc.max)
		if len(got) != len(tc.want) {
			t.Errorf("feedPaths(%.30q, %d) = %v, want %v", tc.feed, tc.max, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("feedPaths(%.30q, %d) = %v, want %v", tc.feed, tc.max, got, tc.want)
			}
		}
	}
}
