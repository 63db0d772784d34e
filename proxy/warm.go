package proxy

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Warmer keeps the cache holding the current news: on a schedule it asks
// the edge, as a reader would, for the site's front pages and for the
// articles its RSS feeds list, so they are cached before the first reader
// asks and stay available through long origin outages.
type Warmer struct {
	// Edge is the handler to ask (the edge, behind any reload switch).
	Edge http.Handler
	// Host returns the mirror domain to ask as; "" skips a round.
	Host func() string
	// Paths are front pages to keep warm, e.g. "/".
	Paths []string
	// Feeds are RSS/Atom feeds whose items are kept warm, e.g. "/api/".
	Feeds []string
	// Every is the time between rounds.
	Every time.Duration
	// MaxItems bounds the articles warmed per feed and round.
	MaxItems int
	// Logger gets a line per round.
	Logger *slog.Logger
}

// maxFeedBytes bounds the feed body the warmer reads.
const maxFeedBytes = 8 << 20

// Run warms at once and then every w.Every, until ctx is done.
func (w *Warmer) Run(ctx context.Context) {
	t := time.NewTicker(w.Every)
	defer t.Stop()
	for {
		w.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round warms every path and every feed's items once.
func (w *Warmer) round(ctx context.Context) {
	host := w.Host()
	if host == "" {
		return
	}
	warmed := 0
	for _, p := range w.Paths {
		if w.get(ctx, host, p, nil) {
			warmed++
		}
	}
	for _, f := range w.Feeds {
		var body bytes.Buffer
		if !w.get(ctx, host, f, &body) {
			continue
		}
		for _, p := range feedPaths(body.Bytes(), host, w.MaxItems) {
			if ctx.Err() != nil {
				return
			}
			if w.get(ctx, host, p, nil) {
				warmed++
			}
		}
	}
	w.Logger.Info("cache warmed", "pages", warmed)
}

// get asks the edge for path on host; the body goes to body (if not nil).
func (w *Warmer) get(ctx context.Context, host, path string, body *bytes.Buffer) bool {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+path, nil)
	if err != nil {
		return false
	}
	r.RequestURI = r.URL.RequestURI()
	// A page is fetched as browsers take it, so that the cache's brotli
	// copy is made on the way in; a feed, which is read here, as it is.
	ae := "br"
	if body != nil {
		ae = "identity"
	}
	r.Header.Set("Accept-Encoding", ae)
	rec := &recorder{header: http.Header{}, body: body, status: http.StatusOK}
	w.Edge.ServeHTTP(rec, r)
	return rec.status == http.StatusOK
}

// feedPaths returns the mirror paths of the items of an RSS or Atom feed
// served on host, at most max of them.
func feedPaths(feed []byte, host string, max int) []string {
	var doc struct {
		Items []struct {
			Link string `xml:"link"`
		} `xml:"channel>item"`
		Entries []struct {
			Link struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if xml.Unmarshal(feed, &doc) != nil {
		return nil
	}
	var links []string
	for _, it := range doc.Items {
		links = append(links, it.Link)
	}
	for _, e := range doc.Entries {
		links = append(links, e.Link.Href)
	}
	var paths []string
	for _, l := range links {
		u, err := url.Parse(l)
		if err != nil || u.Host != host || len(paths) >= max {
			continue // only the mirror's own pages
		}
		paths = append(paths, u.RequestURI())
	}
	return paths
}

// recorder is the ResponseWriter of a warming request: it keeps the
// status, and the body only when asked to.
type recorder struct {
	header http.Header
	body   *bytes.Buffer
	status int
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	if r.body != nil && r.body.Len()+len(p) <= maxFeedBytes {
		r.body.Write(p)
	}
	return len(p), nil
}
