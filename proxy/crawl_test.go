package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"zerkalo/proxy/demo"
	"zerkalo/proxy/fakeorigin"
)

type fakeRequest = fakeorigin.Request

// crawlCase is one bundled page to mirror and crawl.
type crawlCase struct {
	site  string
	pages []string // mirror paths
}

var crawlCases = []crawlCase{
	{"www.rferl.org", []string{"/", demo.ArticlePath, "/_z/www.svoboda.org/"}},
	{"www.voanews.com", []string{"/", demo.VOAArticlePath}},
}

// TestCrawlMirroredPages serves the bundled real pages through the edge
// and checks, for every page: no origin-host URL is left in any
// URL-bearing position; the visible text is byte-identical to the origin's;
// and every mirror URL in the page resolves through the mirror to the origin
// resource it stands for (every one, not a sample).
func TestCrawlMirroredPages(t *testing.T) {
	for _, cc := range crawlCases {
		t.Run(cc.site, func(t *testing.T) {
			te := startEdgeFor(t, demo.Handler(), cc.site, demo.Hosts(cc.site))
			direct := directClient(te)
			leftover := originURLPattern(te.mapper.Hosts())
			for _, page := range cc.pages {
				resp, body := te.get(t, page, "Accept-Encoding", "identity")
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d", page, resp.StatusCode)
				}
				originURL, _ := te.mapper.ToOrigin(page, "")
				originBody := fetchDirect(t, direct, originURL.String())
				found := scanPage(t, body)
				if n := countMatches(leftover, scanPage(t, originBody).values); n == 0 {
					t.Fatalf("%s: the origin page has no origin URLs; the check below would prove nothing", page)
				} else {
					t.Logf("%s: %d origin URLs in the origin page", page, n)
				}
				for _, v := range found.values {
					if m := leftover.FindString(v); m != "" {
						t.Errorf("%s: origin URL %q left in %q", page, m, truncate(v, 160))
					}
				}
				if want, got := visibleText(t, originBody), visibleText(t, body); got != want {
					t.Errorf("%s: visible text differs from the origin's (%d vs %d bytes)", page, len(got), len(want))
				}
				base, _ := url.Parse("https://" + mirrorName + page)
				checkResolves(t, te, direct, base, found.urls)
			}
		})
	}
}

// pageScan is what scanPage found in a page.
type pageScan struct {
	values []string // every attribute value, style and script text
	urls   []string // URL references in URL-bearing attributes
}

var urlAttrs = map[string]bool{
	"href": true, "src": true, "data-src": true, "poster": true, "action": true,
	"formaction": true, "data": true, "background": true, "xlink:href": true,
}

var srcsetAttrs = map[string]bool{"srcset": true, "data-srcset": true, "imagesrcset": true}

// scanPage parses a page and collects what the crawl checks.
func scanPage(t *testing.T, body []byte) pageScan {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var s pageScan
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				key := a.Key
				if a.Namespace != "" {
					key = a.Namespace + ":" + a.Key
				}
				s.values = append(s.values, a.Val)
				switch {
				case urlAttrs[key] && n.DataAtom != atom.A && n.DataAtom != atom.Form:
					s.urls = append(s.urls, a.Val)
				case srcsetAttrs[key]:
					for c := range strings.SplitSeq(a.Val, ",") {
						if f := strings.Fields(c); len(f) > 0 {
							s.urls = append(s.urls, f[0])
						}
					}
				case key == "href" && n.DataAtom == atom.A:
					s.urls = append(s.urls, a.Val)
				}
			}
			if n.DataAtom == atom.Script || n.DataAtom == atom.Style {
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					s.values = append(s.values, c.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return s
}

// originURLPattern matches an absolute or protocol-relative URL on any of
// the hosts, also in JSON's \/ escaping.
func originURLPattern(hosts []string) *regexp.Regexp {
	quoted := make([]string, len(hosts))
	for i, h := range hosts {
		quoted[i] = regexp.QuoteMeta(h)
	}
	return regexp.MustCompile(`(?i)(https?:)?(\\?/){2}(` + strings.Join(quoted, "|") + `)([:/\\?#"'\s)]|$)`)
}

// embedPlaceholder is the link the privacy rules put in place of a
// third-party embed ("Open on YouTube"): text the origin page does not have.
var embedPlaceholder = regexp.MustCompile(`<div class="zerkalo-embed">.*?</div>`)

// visibleText returns the text of a page outside scripts and styles, in
// document order.
func visibleText(t *testing.T, body []byte) string {
	t.Helper()
	body = embedPlaceholder.ReplaceAll(body, nil)
	z := html.NewTokenizer(bytes.NewReader(body))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken:
			name, _ := z.TagName()
			if n := string(name); n == "script" || n == "style" || n == "noscript" {
				skip++
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if n := string(name); (n == "script" || n == "style" || n == "noscript") && skip > 0 {
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}

// checkResolves fetches every mirror URL of a page through the mirror and
// checks that the origin saw a request for the very URL it stands for, and
// that the mirror answered with the origin's status.
func checkResolves(t *testing.T, te *testEdge, direct *http.Client, base *url.URL, refs []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "data:") ||
			strings.HasPrefix(ref, "javascript:") || strings.HasPrefix(ref, "mailto:") || strings.HasPrefix(ref, "tel:") {
			continue
		}
		u, err := base.Parse(ref)
		if err != nil || u.Host != mirrorName {
			continue // a link to another site, kept as it was
		}
		u.Fragment = ""
		path := u.RequestURI()
		if seen[path] {
			continue
		}
		seen[path] = true
		p, q, _ := strings.Cut(path, "?")
		originURL, err := te.mapper.ToOrigin(p, q)
		if err != nil {
			t.Errorf("page URL %q (%s) does not map to the origin: %v", ref, path, err)
			continue
		}
		te.origin.ResetLog()
		resp, _ := te.get(t, path, "Referer", base.String())
		if resp.StatusCode == http.StatusTemporaryRedirect {
			// Only URLs built by scripts are routed by Referer; a URL
			// written in the page must already carry its host's prefix.
			t.Errorf("static URL %s of %s was routed by Referer to %s", path, base.Path, resp.Header.Get("Location"))
			continue
		}
		reqs := te.origin.Requests()
		if !slices.ContainsFunc(reqs, func(r fakeRequest) bool {
			return r.Host == originURL.Host && r.URI == originURL.RequestURI()
		}) {
			t.Errorf("mirror URL %s did not reach the origin as %s", path, originURL)
			continue
		}
		want := directStatus(t, direct, originURL.String())
		if resp.StatusCode != want && !(want >= 300 && want < 400) {
			t.Errorf("mirror URL %s: status %d, origin %s gives %d", path, resp.StatusCode, originURL, want)
		}
	}
	t.Logf("%s: %d mirror URLs crawled", base.Path, len(seen))
	if len(seen) < 5 {
		t.Errorf("%s: only %d mirror URLs crawled; the page looks empty", base, len(seen))
	}
}

// directClient talks to the fake origin directly, as the edge does.
func directClient(te *testEdge) *http.Client {
	addr := te.origin.Addr()
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: te.origin.CA().Pool()},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func fetchDirect(t *testing.T, c *http.Client, u string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func directStatus(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func countMatches(re *regexp.Regexp, values []string) int {
	n := 0
	for _, v := range values {
		n += len(re.FindAllStringIndex(v, -1))
	}
	return n
}
