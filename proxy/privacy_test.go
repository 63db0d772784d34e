package proxy

import (
	"net/http"
	"strings"
	"testing"

	"zerkalo/proxy/demo"
)

// trackerMarks are strings that only trackers put in a page: hosts,
// inline-script signatures and beacon paths of demo.TrackersPath.
var trackerMarks = []string{
	"googletagmanager", "google-analytics", "GOOGLE-ANALYTICS", "tiqcdn", "omtrdc", "/b/ss/",
	"onesignal", "OneSignal", "utag_data", "gtm.start", "gtag(", "chartbeat", "_sf_async_config",
	"scorecardresearch", "_comscore", "connect.facebook.net", "fbq(", "facebook.com/tr",
	"mc.yandex.ru", "gemius", "hotjar", "NREUM", "rambler", "yadro", "liveinternet",
	"pixel.example.net", "fonts.googleapis", "fonts.gstatic", "platform.twitter.com",
	"telegram.org/js", "youtube.com/embed", "w.soundcloud.com", "utm_", "fbclid", "ping=",
	"sharer.php", "mailto:?", "renderExternalContent",
}

// TestTrackerPageMirrored serves the tracker test page through the edge and
// checks that every tracker is gone from the body and the headers, while
// the article, its images and the first-party code stay.
func TestTrackerPageMirrored(t *testing.T) {
	te := startEdgeFor(t, demo.Handler(), demo.Site, demo.Hosts(demo.Site))
	direct := directClient(te)
	origin := string(fetchDirect(t, direct, "https://"+demo.Site+demo.TrackersPath))
	resp, b := te.get(t, demo.TrackersPath, "Accept-Encoding", "identity")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	body := string(b)
	for _, m := range trackerMarks {
		if !strings.Contains(origin, m) {
			t.Errorf("the origin page lacks %q: the check below proves nothing for it", m)
		}
		if i := strings.Index(body, m); i >= 0 {
			t.Errorf("%q left in the mirrored page: …%s…", m, body[max(0, i-100):min(len(body), i+100)])
		}
	}
	for _, want := range []string{
		"<title>Zerkalo tracker test page</title>",
		"This article text must render on the mirror",
		`<img id="lead" src="/_z/gdb.rferl.org/0B5E8C3A-7B4F-4C1F-9E0B-5C1D2D7F7A11_w1023_r1.jpg" srcset="/_z/gdb.rferl.org/0B5E8C3A-7B4F-4C1F-9E0B-5C1D2D7F7A11_w1597_r1.jpg 2x"`,
		`data-src="/_z/gdb.rferl.org/5C2D4E1F-0A3B-4C5D-8E6F-7A8B9C0D1E2F_w250_r1.jpg"`,
		`<a id="related" href="/a/russia-china-hit-back-after-us-criticizes-them-over-north-korea-crisis/28650466.html?id=1">`,
		`<a id="share-fb" target="_blank">`,
		`<a id="follow" href="https://twitter.com/RFERL"`,
		`<a href="https://www.youtube.com/watch?v=Q3Ky4Z1hwQU" target="_blank" rel="noopener noreferrer">Open on YouTube</a>`,
		`<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ" target="_blank" rel="noopener noreferrer">Open on YouTube</a>`,
		`<a href="https://api.soundcloud.com/tracks/123" target="_blank" rel="noopener noreferrer">Open on SoundCloud</a>`,
		`<a href="https://t.me/svobodaradio/1" target="_blank" rel="noopener noreferrer">Open on Telegram</a>`,
		`<p>A tweet, kept as text.</p>`,
		`background: url(/_z/gdb.rferl.org/98C32695-28D2-45A3-BDEF-FE57871AB33A.png)`,
		`<script src="/Scripts/responsive/loader.b?v=x&amp;av=7.22.0.0&amp;cb=83"></script>`,
		`data-first-party-ran`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("mirrored page lacks %q", want)
		}
	}
	h := resp.Header
	if got := h.Values("Set-Cookie"); len(got) != 1 || !strings.HasPrefix(got[0], "pangea_session=demo") {
		t.Errorf("Set-Cookie = %q, want the session cookie alone", got)
	}
	for _, k := range []string{"Link", "Report-To", "NEL", "X-Cache", "X-Akamai-Transformed", "Server", "X-Powered-By"} {
		if v := h.Values(k); len(v) > 0 {
			t.Errorf("origin header %s: %q reached the reader", k, v)
		}
	}
	for k, want := range map[string]string{
		"Referrer-Policy":        "same-origin",
		"X-Content-Type-Options": "nosniff",
		"X-DNS-Prefetch-Control": "off",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "connect-src 'self'", "frame-src 'self'", "img-src 'self' data: blob:",
		"form-action 'self'", "base-uri 'self'", "frame-ancestors 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP lacks %q: %s", d, csp)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, mirrorName) || strings.Contains(csp, "nonce-") {
		t.Errorf("CSP names a host or a nonce; one cached body must serve every domain: %s", csp)
	}
	if pp := h.Get("Permissions-Policy"); !strings.Contains(pp, "browsing-topics=()") || !strings.Contains(pp, "geolocation=()") {
		t.Errorf("Permissions-Policy = %q", pp)
	}
}

// TestBeaconPathsNeverProxied checks that the edge refuses beacon paths on
// the site's own host and on first-party-looking hosts, and that none of
// them reaches the origin.
func TestBeaconPathsNeverProxied(t *testing.T) {
	hosts := append(demo.Hosts(demo.Site), "ssc.rferl.org")
	te := startEdgeFor(t, demo.Handler(), demo.Site, hosts)
	for _, p := range []string{
		"/b/ss/bbgprod/1/G.4--NS/1?pageName=x",
		"/B/SS/bbgprod/1/G.4--NS/1",
		"/_z/ssc.rferl.org/b/ss/bbgprod,bbgentityrferl/1/G.4--NS/242520636",
		"/_z/gdb.rferl.org/b/ss/x",
		"/gtm.js?id=GTM-WXZBPZ",
	} {
		resp, _ := te.get(t, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
	for _, r := range te.origin.Requests() {
		if strings.Contains(strings.ToLower(r.URI), "/b/ss/") || strings.Contains(r.URI, "gtm.js") {
			t.Errorf("the origin saw a beacon: %s %s", r.Host, r.URI)
		}
	}
	if resp, _ := te.get(t, "/a/b/ss/1.html"); resp.StatusCode == http.StatusNotFound && te.origin.Count(demo.Site, "/a/b/ss/1.html") == 0 {
		t.Errorf("an article path holding b/ss was refused without asking the origin")
	}
}

// TestServiceWorkerNotInstalled checks that the edge refuses every service
// worker script, so that nothing can serve pages past the rewriter.
func TestServiceWorkerNotInstalled(t *testing.T) {
	te := startEdgeFor(t, demo.Handler(), "www.voanews.com", demo.Hosts("www.voanews.com"))
	p := "/Scripts/responsive/serviceWorkerInstall.js?cb=276"
	if resp, _ := te.get(t, p); resp.StatusCode != http.StatusOK {
		t.Fatalf("plain GET of %s: %d; the check below would prove nothing", p, resp.StatusCode)
	}
	te.origin.ResetLog()
	if resp, _ := te.get(t, p, "Service-Worker", "script"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("service worker script served: %d", resp.StatusCode)
	}
	if n := len(te.origin.Requests()); n != 0 {
		t.Errorf("the origin was asked for the worker script %d times", n)
	}
}
