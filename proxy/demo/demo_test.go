package demo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
)

// origin starts the demo behind a fake origin and returns a client that
// sends every request to it and does not follow redirects or decode bodies.
func origin(t *testing.T) *http.Client {
	t.Helper()
	s, err := fakeorigin.Start(Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CA().Pool()},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr())
		},
		ForceAttemptHTTP2:  true,
		DisableCompression: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	*http.Response
	body []byte
}

func fetch(t *testing.T, c *http.Client, u string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return response{resp, b}
}

func TestFixturesExact(t *testing.T) {
	readme := string(mustRead("README.md"))
	re := regexp.MustCompile(`(?m)^([0-9a-f]{64})  (\S+)$`)
	m := re.FindAllStringSubmatch(readme, -1)
	files := map[string]bool{}
	for _, f := range m {
		files[f[2]] = true
		sum := sha256.Sum256(mustRead(f[2]))
		if got := hex.EncodeToString(sum[:]); got != f[1] {
			t.Errorf("%s: sha256 %s, README says %s", f[2], got, f[1])
		}
	}
	if len(files) != 4 {
		t.Fatalf("README lists checksums of %d files, want 4", len(files))
	}
}

func TestRoutes(t *testing.T) {
	c := origin(t)
	tests := []struct {
		url      string
		status   int
		ctype    string
		contains string
	}{
		{"https://www.rferl.org/", 200, "text/html", "gdb.rferl.org"},
		{"https://WWW.RFERL.ORG:443/", 200, "text/html", "gdb.rferl.org"},
		{"https://www.svoboda.org/", 200, "text/html", "Радио Свобода"},
		{"https://www.voanews.com/", 200, "text/html", "child care crisis"},
		{"https://www.voanews.com" + VOAArticlePath, 200, "text/html", "child care crisis"},
		{"https://www.rferl.org" + ArticlePath, 200, "text/html", "Liu Jieyi"},
		{"https://www.rferl.org/a/no-such-story/1.html", 404, "text/html", "Page not found"},
		{"https://www.rferl.org/nothing/here", 404, "text/html", "Page not found"},
		{"https://www.svoboda.org" + ArticlePath, 404, "text/html", "Page not found"},
		{"https://gdb.rferl.org/0B5E8C3A_w33_r1.jpg", 200, "image/jpeg", "\xff\xd8\xff"},
		{"https://gdb.rferl.org/x.PNG", 200, "image/png", "\x89PNG"},
		{"https://gdb.voanews.com/y_w250_r0_s.gif", 200, "image/gif", "GIF89a"},
		{"https://gdb.rferl.org/not-an-image.html", 404, "text/html", "Page not found"},
		{"https://www.rferl.org/Content/responsive/RFE/img/webApp/favicon.ico", 200, "image/x-icon", "\x00\x00\x01\x00"},
		{"https://www.voanews.com/Content/responsive/VOA/en-US/img/logo.svg", 200, "image/svg+xml", "<svg"},
		{"https://www.rferl.org/Content/responsive/RFE/en-US/RFE-en-US.css?&av=7.22.0.0&cb=83", 200, "text/css", "url(https://gdb.rferl.org/"},
		{"https://www.voanews.com/Content/responsive/VOA/en-US/VOA-en-US.css", 200, "text/css", "url(https://gdb.voanews.com/"},
		{"https://www.rferl.org/Content/responsive/fonts.css", 200, "text/css", "@font-face"},
		{"https://www.rferl.org/Content/responsive/fonts/SkolarSans-Regular.woff2", 200, "font/woff2", "wOF2"},
		{"https://docs.rferl.org/branding/cdn/html_banners/banners-styles.css", 200, "text/css", "@import"},
		{"https://www.svoboda.org/api/customization/sectionversioncss?sectionversionid=6492&cv=3", 200, "text/css", "{"},
		{"https://www.rferl.org/Scripts/responsive/loader.b?v=x", 200, "application/javascript", `"part", "section"`},
		{"https://www.rferl.org/Scripts/responsive/infographics.b", 200, "application/javascript", "window.RFE"},
		{"https://www.rferl.org/conf.js?x=83", 200, "application/javascript", `https:\/\/www.rferl.org\/`},
		{"https://www.voanews.com/Scripts/responsive/serviceWorkerInstall.js?cb=276", 200, "application/javascript", "serviceWorker"},
		{"https://www.svoboda.org/manifest.json", 200, "application/manifest+json", `"start_url":"/"`},
		{"https://www.rferl.org/api/", 200, "application/rss+xml", "<enclosure url=\"https://gdb.rferl.org/"},
		{"https://www.rferl.org/api/zrqiteuuir", 200, "application/rss+xml", "<link>https://www.rferl.org" + ArticlePath},
		{"https://www.voanews.com/api/", 200, "application/rss+xml", "https://gdb.voanews.com/"},
		{"https://www.rferl.org/sitemap.xml", 200, "application/xml", "<loc>https://www.rferl.org" + ArticlePath},
		{"https://www.rferl.org/part/section/5/9228", 200, "text/html", `data-part="9228"`},
		{"https://www.rferl.org/part/section/5/x", 404, "text/html", "Page not found"},
		{"https://rfe-video-hls-ns.akamaized.net" + VideoPath, 200, "application/vnd.apple.mpegurl", "#EXT-X-STREAM-INF"},
		{"https://rfe-video-hls-ns.akamaized.net/pangeavideo/v/index_720.m3u8", 200, "application/vnd.apple.mpegurl", "index_720_0.ts"},
		{"https://rfe-video-hls-ns.akamaized.net/pangeavideo/v/index_720_0.ts", 200, "video/mp2t", "\x47\x40\x00"},
		{"https://rfe-video-hls-ns.akamaized.net/other", 404, "text/plain", "404"},
		{"https://www.currenttime.tv/", 200, "text/html", `href="https://www.rferl.org/"`},
		{"https://docs.rferl.org/some/page", 200, "text/html", `href="https://www.rferl.org/"`},
		{"https://archive.svoboda.org/", 200, "text/html", `href="https://www.svoboda.org/"`},
		{"https://www.insidevoa.com/", 200, "text/html", `href="https://www.voanews.com/"`},
		{"https://example.com/", 404, "text/plain", "unknown host"},
	}
	for _, tt := range tests {
		r := fetch(t, c, tt.url)
		if r.StatusCode != tt.status || !strings.HasPrefix(r.Header.Get("Content-Type"), tt.ctype) || !bytes.Contains(r.body, []byte(tt.contains)) {
			t.Errorf("GET %s: %d %q, body has %q: %v; want %d %q",
				tt.url, r.StatusCode, r.Header.Get("Content-Type"), tt.contains, bytes.Contains(r.body, []byte(tt.contains)), tt.status, tt.ctype)
		}
		if tt.ctype != "text/plain" && (r.Header.Get("Server") != "Microsoft-IIS/10.0" || r.Header.Get("X-Powered-By") != "ASP.NET" ||
			r.Header.Get("Cache-Control") == "" || r.Header.Get("ETag") == "" || r.Header.Get("Last-Modified") == "") {
			t.Errorf("GET %s: origin headers missing: %v", tt.url, r.Header)
		}
	}
}

func TestFixturesServedExact(t *testing.T) {
	c := origin(t)
	for u, file := range map[string]string{
		"https://www.rferl.org/":   "rferl-org-home-2018.html",
		"https://www.svoboda.org/": "svoboda-org-home-2018.html",
		"https://www.voanews.com/": "voanews-com-article-2024.html",
	} {
		if r := fetch(t, c, u); !bytes.Equal(r.body, mustRead(file)) {
			t.Errorf("GET %s: body differs from %s", u, file)
		}
	}
}

func decode(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return out
}

func TestCompression(t *testing.T) {
	c := origin(t)
	urls := []string{
		"https://www.rferl.org/",
		"https://www.rferl.org" + ArticlePath,
		"https://www.rferl.org/Content/responsive/RFE/en-US/RFE-en-US.css",
		"https://www.rferl.org/Scripts/responsive/loader.b",
		"https://www.rferl.org/api/",
		"https://www.rferl.org/part/section/5/9228",
		"https://www.rferl.org/missing",
	}
	accepts := []struct{ accept, want string }{
		{"", ""},
		{"identity", ""},
		{"gzip", "gzip"},
		{"br", "br"},
		{"gzip, deflate, br", "br"},
		{"br;q=0.5, gzip", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		{"*", "br"},
		{"*;q=0.1, br;q=0", "gzip"},
	}
	for _, u := range urls {
		plain := fetch(t, c, u)
		for _, a := range accepts {
			r := fetch(t, c, u, "Accept-Encoding", a.accept)
			if got := r.Header.Get("Content-Encoding"); got != a.want {
				t.Errorf("GET %s, Accept-Encoding %q: Content-Encoding %q, want %q", u, a.accept, got, a.want)
				continue
			}
			if !slices.Contains(r.Header.Values("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s: no Vary: Accept-Encoding", u)
			}
			if a.want != "" && len(r.body) >= len(plain.body) {
				t.Errorf("GET %s, %s: %d bytes, identity %d", u, a.want, len(r.body), len(plain.body))
			}
			if got := decode(t, a.want, r.body); !bytes.Equal(got, plain.body) {
				t.Errorf("GET %s, %s: decoded body differs", u, a.want)
			}
			if a.want != "" && r.Header.Get("ETag") == plain.Header.Get("ETag") {
				t.Errorf("GET %s, %s: same ETag as identity", u, a.want)
			}
		}
	}
	img := fetch(t, c, "https://gdb.rferl.org/a.jpg", "Accept-Encoding", "gzip, br")
	if img.Header.Get("Content-Encoding") != "" || img.Header.Get("Vary") != "" {
		t.Errorf("image compressed: %v", img.Header)
	}
}

func TestConditionalAndRange(t *testing.T) {
	c := origin(t)
	u := "https://www.rferl.org/"
	first := fetch(t, c, u, "Accept-Encoding", "gzip")
	etag := first.Header.Get("ETag")
	if r := fetch(t, c, u, "Accept-Encoding", "gzip", "If-None-Match", etag); r.StatusCode != 304 {
		t.Errorf("If-None-Match %s: %d, want 304", etag, r.StatusCode)
	}
	if r := fetch(t, c, u, "If-Modified-Since", lastModified.Format(http.TimeFormat)); r.StatusCode != 304 {
		t.Errorf("If-Modified-Since: %d, want 304", r.StatusCode)
	}
	seg := "https://rfe-video-hls-ns.akamaized.net/v/index_720_0.ts"
	full := fetch(t, c, seg)
	r := fetch(t, c, seg, "Range", "bytes=188-375")
	if r.StatusCode != 206 || !bytes.Equal(r.body, full.body[188:376]) {
		t.Errorf("Range: %d, %d bytes", r.StatusCode, len(r.body))
	}
}

func TestRedirectsAndCookie(t *testing.T) {
	c := origin(t)
	for path, want := range map[string]string{
		"/redirect-home": "https://www.rferl.org/",
		"/redirect-away": "https://en.wikipedia.org/",
	} {
		r := fetch(t, c, "https://www.rferl.org"+path)
		if r.StatusCode != 302 || r.Header.Get("Location") != want {
			t.Errorf("%s: %d Location %q, want 302 %q", path, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	r := fetch(t, c, "https://www.rferl.org/set-cookie")
	sc := r.Header.Get("Set-Cookie")
	if r.StatusCode != 200 || !strings.Contains(sc, "Domain=rferl.org") && !strings.Contains(sc, "Domain=.rferl.org") || !strings.Contains(sc, "Path=/") {
		t.Errorf("set-cookie: %d %q", r.StatusCode, sc)
	}
}

func TestArticle(t *testing.T) {
	c := origin(t)
	r := fetch(t, c, "https://www.rferl.org"+ArticlePath)
	page := string(r.body)
	abs := "https://www.rferl.org" + ArticlePath
	for _, want := range []string{
		`<link href="` + abs + `" rel="canonical" />`,
		`<meta content="` + abs + `" property="og:url" />`,
		`<meta content="https://gdb.rferl.org/`,
		`<title>Russia, China Hit Back After U.S. Criticizes Them Over North Korea Crisis</title>`,
		`srcset="https://gdb.rferl.org/`,
		`data-src="https://gdb.rferl.org/`,
		`href="/Content/responsive/RFE/en-US/RFE-en-US.css`,
		`src="/Scripts/responsive/loader.b`,
		`"siteUrl":"https:\/\/www.rferl.org\/"`,
		`poster="https://gdb.rferl.org/`,
		`<source src="https://rfe-video-hls-ns.akamaized.net` + VideoPath + `"`,
		`href="https://en.wikipedia.org/wiki/`,
		`<p>With reporting by AP, Reuters, and Interfax</p>`,
		`<p>RFE/RL has been declared an &#34;undesirable organization&#34; by the Russian government.</p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("article lacks %s", want)
		}
	}
	if strings.Contains(page, "/part/section/5/9228") && !strings.Contains(page, `data-src="https://www.rferl.org/part/section/5/9228"`) {
		t.Error("the run-time section URL appears literally in the page")
	}
	// Every paragraph of the source text is in the page.
	text := string(mustRead("rferl-article-2017-07-31.txt"))
	n := 0
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if len(l) > 40 && !strings.Contains(l, `"`) && !strings.Contains(l, "'") {
			n++
			if !strings.Contains(page, l) {
				t.Errorf("article lacks paragraph %.50q", l)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d paragraphs checked", n)
	}
	// JSON-LD parses and holds absolute URLs.
	m := regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no JSON-LD")
	}
	var ld struct {
		Type  string               `json:"@type"`
		URL   string               `json:"url"`
		Image struct{ URL string } `json:"image"`
	}
	if err := json.Unmarshal([]byte(m[1]), &ld); err != nil {
		t.Fatalf("JSON-LD: %v", err)
	}
	if ld.Type != "NewsArticle" || ld.URL != abs || !strings.HasPrefix(ld.Image.URL, "https://gdb.rferl.org/") {
		t.Errorf("JSON-LD: %+v", ld)
	}
}

func TestHosts(t *testing.T) {
	for _, tt := range []struct {
		site     string
		has, not []string
	}{
		{"www.rferl.org", []string{"gdb.rferl.org", "rfe-video-hls-ns.akamaized.net", "www.svoboda.org", "docs.rferl.org", "www.currenttime.tv"}, []string{"www.voanews.com", "gdb.voanews.com"}},
		{"WWW.SVOBODA.ORG", []string{"www.rferl.org", "gdb.rferl.org"}, []string{"gdb.voanews.com"}},
		{"www.voanews.com", []string{"gdb.voanews.com", "www.insidevoa.com"}, []string{"gdb.rferl.org", "www.rferl.org"}},
	} {
		hs := Hosts(tt.site)
		if len(hs) == 0 || hs[0] != strings.ToLower(tt.site) {
			t.Errorf("Hosts(%q) = %v: site not first", tt.site, hs)
			continue
		}
		if _, err := rewrite.NewMapper(hs[0], hs[1:]); err != nil {
			t.Errorf("Hosts(%q) not accepted by rewrite.NewMapper: %v", tt.site, err)
		}
		for _, h := range tt.has {
			if !slices.Contains(hs, h) {
				t.Errorf("Hosts(%q) lacks %s", tt.site, h)
			}
		}
		for _, h := range tt.not {
			if slices.Contains(hs, h) {
				t.Errorf("Hosts(%q) has %s", tt.site, h)
			}
		}
	}
	for _, s := range []string{"gdb.rferl.org", "example.com", ""} {
		if hs := Hosts(s); hs != nil {
			t.Errorf("Hosts(%q) = %v, want nil", s, hs)
		}
	}
}

// refRE finds URL references in HTML attributes, srcset lists and CSS.
var refRE = regexp.MustCompile(`(?:(?:src|href|data-src|poster)="([^"]*)")|(?:srcset="([^"]*)")|(?:url\(\s*['"]?([^'")]+))|(?:content="((?:/|https:)[^"]*)")`)

// TestNoMissingAssets crawls every bundled page and what its stylesheets
// and playlists reference: every asset (anything but a page) on a demo
// host must answer 200.
func TestNoMissingAssets(t *testing.T) {
	c := origin(t)
	queue := []string{
		"https://www.rferl.org/", "https://www.svoboda.org/", "https://www.voanews.com/",
		"https://www.rferl.org" + ArticlePath, "https://www.rferl.org/part/section/5/9228",
		"https://www.rferl.org/missing", "https://www.currenttime.tv/",
	}
	seen := map[string]bool{}
	checked := 0
	for i := 0; i < len(queue) && i < 2000; i++ {
		u := queue[i]
		r := fetch(t, c, u)
		ctype := r.Header.Get("Content-Type")
		base, _ := url.Parse(u)
		if i >= 7 && r.StatusCode != 200 {
			t.Errorf("asset %s: %d", u, r.StatusCode)
		}
		for _, ref := range refs(ctype, string(r.body)) {
			ref = strings.ReplaceAll(strings.TrimSpace(ref), "&amp;", "&")
			ru, err := base.Parse(ref)
			if err != nil || ru.Scheme != "https" || hosts[ru.Hostname()].site == nil || !isAsset(ru) {
				continue
			}
			ru.Fragment = ""
			if !seen[ru.String()] {
				seen[ru.String()] = true
				queue = append(queue, ru.String())
				checked++
			}
		}
	}
	if checked < 60 {
		t.Fatalf("only %d assets found", checked)
	}
	t.Logf("%d assets checked", checked)
}

func refs(ctype, body string) []string {
	var out []string
	if strings.Contains(ctype, "mpegurl") {
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	for _, m := range refRE.FindAllStringSubmatch(body, -1) {
		switch {
		case m[1] != "":
			out = append(out, m[1])
		case m[2] != "":
			for _, cand := range strings.Split(m[2], ",") {
				if f := strings.Fields(cand); len(f) > 0 {
					out = append(out, f[0])
				}
			}
		case m[3] != "":
			out = append(out, m[3])
		case m[4] != "":
			out = append(out, m[4])
		}
	}
	return out
}

// isAsset reports whether u names a file a page loads rather than a page.
func isAsset(u *url.URL) bool {
	p := u.Path
	ext := strings.ToLower(p[strings.LastIndexByte(p, '/')+1:])
	if i := strings.LastIndexByte(ext, '.'); i >= 0 {
		ext = ext[i:]
	} else {
		ext = ""
	}
	return strings.HasPrefix(p, "/Scripts/") || strings.HasPrefix(p, "/Content/") || p == "/manifest.json" ||
		strings.HasPrefix(p, "/api/customization/") ||
		(ext != "" && ext != ".html" && ext != ".htm" && ext != ".aspx")
}
