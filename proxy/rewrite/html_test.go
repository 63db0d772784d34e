package rewrite

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/unicode"
)

// RFE/RL and VOA origin hosts as found in the fixture pages.
var (
	htmlRFEHosts = []string{"gdb.rferl.org", "docs.rferl.org", "pressroom.rferl.org",
		"www.rferl.mobi", "www.svoboda.org", "archive.svoboda.org", "www.svoboda.mobi",
		"www.sibreal.org", "www.factograph.info"}
	htmlVOAHosts = []string{"gdb.voanews.com", "learningenglish.voanews.com",
		"projects.voanews.com", "pronounce.voanews.com", "editorials.voa.gov",
		"www.insidevoa.com", "www.voaafrica.com", "www.polygraph.info", "direct.voa24.news"}
)

func htmlDoc(t testing.TB, site string, hosts []string, base string) *Doc {
	t.Helper()
	m, err := NewMapper(site, hosts)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return NewDoc(m, u)
}

func rferlDoc(t testing.TB) *Doc {
	return htmlDoc(t, "www.rferl.org", htmlRFEHosts, "https://www.rferl.org/a/1.html")
}

func rewriteHTMLString(t testing.TB, d *Doc, in string) string {
	t.Helper()
	var b bytes.Buffer
	if err := RewriteHTML(&b, strings.NewReader(in), d); err != nil {
		t.Fatalf("RewriteHTML(%q): %v", in, err)
	}
	return b.String()
}

func TestHTMLAttributes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"href", `<a href="https://www.rferl.org/a/2.html">x</a>`, `<a href="/a/2.html">x</a>`},
		{"img src secondary", `<img src="https://gdb.rferl.org/x_w66_r1.jpg" alt="">`, `<img src="/_z/gdb.rferl.org/x_w66_r1.jpg" alt="">`},
		{"protocol-relative", `<img src="//gdb.rferl.org/x.jpg">`, `<img src="/_z/gdb.rferl.org/x.jpg">`},
		{"upper-case host and key", `<A HREF="HTTPS://WWW.RFERL.ORG/Z/16">`, `<A HREF="/Z/16">`},
		{"http and port", `<a href="http://www.rferl.org:443/p/1.html">`, `<a href="/p/1.html">`},
		{"host only", `<a href="https://www.svoboda.org">`, `<a href="/_z/www.svoboda.org/">`},
		{"single quotes kept", `<a href='https://www.rferl.org/x'>`, `<a href='/x'>`},
		{"unquoted", `<a href=https://www.rferl.org/x class=c>`, `<a href="/x" class=c>`},
		{"white space kept", `<a href=" https://www.rferl.org/x ">`, `<a href=" /x ">`},
		{"entities", `<a href="https://www.rferl.org/x?a=1&amp;b=2">`, `<a href="/x?a=1&amp;b=2">`},
		{"attribute entity rule", `<a href="https://www.rferl.org/x?a=1&copy=2">`, `<a href="/x?a=1&amp;copy=2">`},
		{"encoded scheme", `<a href="&#104;ttps://www.rferl.org/x">`, `<a href="/x">`},
		{"action", `<form action="https://www.rferl.org/s" method="get">`, `<form action="/s" method="get">`},
		{"formaction", `<button formaction="//www.rferl.org/s">`, `<button formaction="/s">`},
		{"poster", `<video poster="https://gdb.rferl.org/p.jpg">`, `<video poster="/_z/gdb.rferl.org/p.jpg">`},
		{"object data", `<object data="https://docs.rferl.org/a.svg"></object>`, `<object data="/_z/docs.rferl.org/a.svg"></object>`},
		{"data on div is free text", `<div data="https://docs.rferl.org/a.svg"></div>`, `<div data="https://docs.rferl.org/a.svg"></div>`},
		{"background", `<td background="https://gdb.rferl.org/b.png">`, `<td background="/_z/gdb.rferl.org/b.png">`},
		{"cite", `<blockquote cite="https://www.rferl.org/q">`, `<blockquote cite="/q">`},
		{"longdesc", `<img longdesc="https://www.rferl.org/d">`, `<img longdesc="/d">`},
		{"manifest", `<html manifest="https://www.rferl.org/m.appcache">`, `<html manifest="/m.appcache">`},
		{"xlink:href", `<svg><use xlink:href="https://docs.rferl.org/i.svg#a"/></svg>`, `<svg><use xlink:href="/_z/docs.rferl.org/i.svg#a"/></svg>`},
		{"data-src", `<img data-src="https://gdb.rferl.org/a_w33_r1.jpg" src="">`, `<img data-src="/_z/gdb.rferl.org/a_w33_r1.jpg" src="">`},
		{"data-href", `<div data-href="https://www.rferl.org/a">`, `<div data-href="/a">`},
		{"data-url", `<div data-url="//www.rferl.org/a">`, `<div data-url="/a">`},
		{"data-poster", `<div data-poster="https://gdb.rferl.org/p.jpg">`, `<div data-poster="/_z/gdb.rferl.org/p.jpg">`},
		{"data-original", `<img data-original="https://gdb.rferl.org/o.jpg">`, `<img data-original="/_z/gdb.rferl.org/o.jpg">`},
		{"data-lazy-src", `<img data-lazy-src="https://gdb.rferl.org/l.jpg">`, `<img data-lazy-src="/_z/gdb.rferl.org/l.jpg">`},
		{"data-bg", `<div data-bg="https://gdb.rferl.org/b.jpg">`, `<div data-bg="/_z/gdb.rferl.org/b.jpg">`},
		{"other data-* JSON", `<div data-config='{"u":"https://www.rferl.org/x","n":1}'>`, `<div data-config='{"u":"/x","n":1}'>`},
		{"other data-* JSON escaped", `<div data-c="{&quot;u&quot;:&quot;https:\/\/www.rferl.org\/x&quot;}">`, `<div data-c="{&#34;u&#34;:&#34;\/x&#34;}">`},
		{"data-* plain text kept", `<div data-title="A / B">`, `<div data-title="A / B">`},
		{"content on other element", `<span itemprop="x" content="see https://www.rferl.org/y">`, `<span itemprop="x" content="see /y">`},
		{"js-href", `<button js-href="https://www.rferl.org/a/1.html" title="copy https://www.rferl.org/">`, `<button js-href="/a/1.html" title="copy https://www.rferl.org/">`},
		{"unknown attribute", `<div x-config="u=https://gdb.rferl.org/a.jpg" alt="https://www.rferl.org/">`, `<div x-config="u=/_z/gdb.rferl.org/a.jpg" alt="https://www.rferl.org/">`},
		{"value", `<input type="hidden" value="https://www.rferl.org/a/1.html">`, `<input type="hidden" value="/a/1.html">`},
		{"ping removed", `<a href="/x" ping="https://www.rferl.org/p https://www.rferl.org/q">`, `<a href="/x">`},
		{"javascript: URL", `<a href="javascript:go('https://www.rferl.org/x')">`, `<a href="javascript:go('/x')">`},
		{"meta refresh", `<meta http-equiv="Refresh" content="5; url=https://www.rferl.org/x">`, `<meta http-equiv="Refresh" content="5; url=/x">`},
		{"meta refresh quoted", `<meta http-equiv=refresh content="0;URL='https://www.rferl.org/x'">`, `<meta http-equiv=refresh content="0;URL='/x'">`},
		{"meta refresh bare", `<meta content="3, //www.svoboda.org/" http-equiv="refresh">`, `<meta content="3, /_z/www.svoboda.org/" http-equiv="refresh">`},
		{"og:url content first", `<meta content="https://www.rferl.org/a/1.html" property="og:url" />`, `<meta content="/a/1.html" property="og:url" />`},
		{"og:image", `<meta property="og:image" content="https://gdb.rferl.org/i.jpg">`, `<meta property="og:image" content="/_z/gdb.rferl.org/i.jpg">`},
		{"twitter:image", `<meta name="twitter:image" content="https://gdb.rferl.org/i.jpg">`, `<meta name="twitter:image" content="/_z/gdb.rferl.org/i.jpg">`},
		{"meta description text", `<meta name="description" content="News from https://www.rferl.org/ today">`, `<meta name="description" content="News from / today">`},
		{"canonical", `<link href="https://www.rferl.org/" rel="canonical" />`, `<link href="/" rel="canonical" />`},
		{"amphtml", `<link rel="amphtml" href="https://www.rferl.org/amp/x/1.html">`, `<link rel="amphtml" href="/amp/x/1.html">`},
		{"icon", `<link rel="icon" href="https://www.rferl.org/favicon.ico">`, `<link rel="icon" href="/favicon.ico">`},
		{"preload", `<link rel="preload" as="image" href="//gdb.rferl.org/a.jpg">`, `<link rel="preload" as="image" href="/_z/gdb.rferl.org/a.jpg">`},
		{"integrity removed on origin script", `<script src="https://www.rferl.org/a.js" integrity="sha384-x" crossorigin="anonymous"></script>`, `<script src="/a.js" crossorigin="anonymous"></script>`},
		{"integrity removed on relative link", `<link rel=stylesheet integrity="sha384-x" href="/c.css">`, `<link rel=stylesheet href="/c.css">`},
		{"foreign script removed", `<script src="https://code.example/a.js" integrity="sha384-x"></script>`, ``},
		{"integrity kept without src", `<script integrity="sha384-x">1</script>`, `<script integrity="sha384-x">1</script>`},
		{"wikipedia unchanged", `<a href="https://en.wikipedia.org/wiki/RFE/RL">W</a>`, `<a href="https://en.wikipedia.org/wiki/RFE/RL">W</a>`},
		{"lookalike host unchanged", `<a href="https://www.rferl.org.evil.example/x">`, `<a href="https://www.rferl.org.evil.example/x">`},
		{"root-relative on the site unchanged", `<a href="/a/2.html">`, `<a href="/a/2.html">`},
		{"relative unchanged", `<img src="x.png">`, `<img src="x.png">`},
		{"duplicate attribute ignored", `<a href="/x" HREF="https://www.rferl.org/y">`, `<a href="/x" HREF="https://www.rferl.org/y">`},
		{"text never changed", `<p>See https://www.rferl.org/x &amp; //gdb.rferl.org/y</p>`, `<p>See https://www.rferl.org/x &amp; //gdb.rferl.org/y</p>`},
		{"title and textarea text kept", `<title>https://www.rferl.org/</title><textarea>https://www.rferl.org/</textarea>`, `<title>https://www.rferl.org/</title><textarea>https://www.rferl.org/</textarea>`},
		{"noscript content", `<noscript><img src="https://gdb.rferl.org/pixel.gif" width="1"></noscript>`, `<noscript><img src="/_z/gdb.rferl.org/pixel.gif" width="1"></noscript>`},
		{"comment", `<!--[if lt IE 9]><script src="https://www.rferl.org/h.js"></script><![endif]-->`, `<!--[if lt IE 9]><script src="/h.js"></script><![endif]-->`},
		{"template script", `<script type="text/html"><a href="https://www.rferl.org/x">y</a></script><a href="https://www.rferl.org/z">`, `<script type="text/html"><a href="/x">y</a></script><a href="/z">`},
		{"template script with noscript", `<script type=text/x-template><noscript><img src=//gdb.rferl.org/a></noscript></SCRIPT><p>`, `<script type=text/x-template><noscript><img src="/_z/gdb.rferl.org/a"></noscript></SCRIPT><p>`},
		{"unknown script type", `<script type="text/x-config">url = https://www.rferl.org/x</script>`, `<script type="text/x-config">url = /x</script>`},
		{"srcdoc", `<iframe srcdoc="<img src=&quot;https://gdb.rferl.org/a.jpg&quot;>"></iframe>`, `<iframe srcdoc="<img src=&#34;/_z/gdb.rferl.org/a.jpg&#34;>"></iframe>`},
		{"plaintext passes through", `<plaintext><a href="https://www.rferl.org/x">`, `<plaintext><a href="https://www.rferl.org/x">`},
		{"base href", `<base href="https://www.svoboda.org/news/"><a href="/a/2.html">a</a><img src="i.png">`, `<base href="/_z/www.svoboda.org/news/"><a href="/_z/www.svoboda.org/a/2.html">a</a><img src="i.png">`},
		{"second base ignored", `<base href="https://www.svoboda.org/"><base href="https://gdb.rferl.org/"><a href="/x">`, `<base href="/_z/www.svoboda.org/"><base href="/_z/gdb.rferl.org/"><a href="/_z/www.svoboda.org/x">`},
		{"foreign base", `<base href="https://example.com/"><a href="/x"><img src=i.png>`, `<base href="/a/1.html"><a href="/x"><img src=i.png>`},
		{"unfinished tag at end", `<p>a<a href="https://www.rferl.org/x`, `<p>a<a href="https://www.rferl.org/x`},
		{"self-closing and slash", `<img src=https://gdb.rferl.org/a.jpg/>`, `<img src="/_z/gdb.rferl.org/a.jpg/">`},
		{"odd attribute syntax", `<a =x href = "https://www.rferl.org/x" / b>`, `<a =x href = "/x" / b>`},
		{"NUL in value", "<a href=\"https://www.rferl.org/x\x00\">", "<a href=\"/x\uFFFD\">"},
	}
	d := rferlDoc(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteHTMLString(t, d, tt.in); got != tt.want {
				t.Errorf("\n in: %s\ngot: %s\nwant: %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestHTMLSubresources covers what the CSS, JS and srcset rewriters do
// inside HTML.
func TestHTMLSubresources(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"srcset", `<img srcset="https://gdb.rferl.org/a.jpg 1x, //gdb.rferl.org/b.jpg 2x">`, `<img srcset="/_z/gdb.rferl.org/a.jpg 1x, /_z/gdb.rferl.org/b.jpg 2x">`},
		{"data-srcset", `<img data-srcset="https://gdb.rferl.org/a.jpg 100w">`, `<img data-srcset="/_z/gdb.rferl.org/a.jpg 100w">`},
		{"imagesrcset", `<link rel=preload imagesrcset="https://gdb.rferl.org/a.jpg 1x">`, `<link rel=preload imagesrcset="/_z/gdb.rferl.org/a.jpg 1x">`},
		{"style attribute", `<div style="background:url('https://gdb.rferl.org/a.png')no-repeat">`, `<div style="background:url('/_z/gdb.rferl.org/a.png')no-repeat">`},
		{"style element", `<style>.a{background:url(//gdb.rferl.org/b.jpg)}</style><p>`, `<style>.a{background:url(/_z/gdb.rferl.org/b.jpg)}</style><p>`},
		{"event handler", `<a onclick="location.href='https://www.rferl.org/x'">`, `<a onclick="location.href='/x'">`},
		{"script", `<script>var u = "https://www.rferl.org/x";</script>`, `<script>var u = "/x";</script>`},
		{"JSON-LD", `<script type="application/ld+json">{"url":"https://www.rferl.org/a/1.html","logo":"https:\/\/gdb.rferl.org\/l.png"}</script>`, `<script type="application/ld+json">{"url":"/a/1.html","logo":"\/_z\/gdb.rferl.org\/l.png"}</script>`},
		{"script end tag case", `<script>a="https://www.rferl.org/x"</SCRIPT ><a href="https://www.rferl.org/y">`, `<script>a="/x"</SCRIPT ><a href="/y">`},
		{"script holding tags", `<script>document.write('<img src="https://gdb.rferl.org/a">')</script>`, `<script>document.write('<img src="/_z/gdb.rferl.org/a">')</script>`},
	}
	d := rferlDoc(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteHTMLString(t, d, tt.in); got != tt.want {
				t.Errorf("\n in: %s\ngot: %s\nwant: %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestHTMLScriptEscapes checks that script content ends where a browser
// ends it, "<!--" and "<script" included.
func TestHTMLScriptEscapes(t *testing.T) {
	const x, y = `<a href=https://www.rferl.org/x>`, `<a href=https://www.rferl.org/y>`
	tests := []struct{ name, in, want string }{
		{"plain", `<script>a</script>` + y, `<script>a</script><a href="/y">`},
		{"escaped", `<script><!--` + x + `--></script>` + y, `<script><!--` + x + `--></script><a href="/y">`},
		{"double escaped hides end tag", `<script><!--<script></script>` + x + `</script>` + y, `<script><!--<script></script>` + x + `</script><a href="/y">`},
		{"double escape ended by -->", `<script><!--<script>--></script>` + y, `<script><!--<script>--></script><a href="/y">`},
		{"escape without script", `<script><!-- a --></script>` + y, `<script><!-- a --></script><a href="/y">`},
		{"spec, not Tokenizer, after <1", `<script><!--<1<script></script>` + x + `</script>` + y, `<script><!--<1<script></script>` + x + `</script><a href="/y">`},
		{"end tag needs delimiter", `<script>a</scripts>` + x + `</script>` + y, `<script>a</scripts>` + x + `</script><a href="/y">`},
		{"<!--> closes at once", `<script><!--><script></script>` + y, `<script><!--><script></script><a href="/y">`},
	}
	d := rferlDoc(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteHTMLString(t, d, tt.in); got != tt.want {
				t.Errorf("\n in: %s\ngot: %s\nwant: %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestHTMLSecondaryHost(t *testing.T) {
	d := htmlDoc(t, "www.rferl.org", htmlRFEHosts, "https://www.svoboda.org/a/1.html")
	tests := []struct{ in, want string }{
		{`<a href="/a/2.html">`, `<a href="/_z/www.svoboda.org/a/2.html">`},
		{`<a href="a/2.html">`, `<a href="a/2.html">`},
		// How primary-site URLs map from here is the Mapper's business.
		{`<a href="https://www.rferl.org/x">`, `<a href="` + d.URL("https://www.rferl.org/x") + `">`},
		{`<div data-ajax-url="/part/section/5/9228">`, `<div data-ajax-url="/_z/www.svoboda.org/part/section/5/9228">`},
		{`<div data-id="/not/rewritten here">`, `<div data-id="/not/rewritten here">`},
		{`<meta property="og:url" content="/a/1.html">`, `<meta property="og:url" content="/_z/www.svoboda.org/a/1.html">`},
	}
	for _, tt := range tests {
		if got := rewriteHTMLString(t, d, tt.in); got != tt.want {
			t.Errorf("\n in: %s\ngot: %s\nwant: %s", tt.in, got, tt.want)
		}
	}
}

// TestHTMLBaseDocUnchanged checks that <base href> does not change the
// caller's Doc.
func TestHTMLBaseDocUnchanged(t *testing.T) {
	d := rferlDoc(t)
	before := d.Base.String()
	rewriteHTMLString(t, d, `<base href="https://www.svoboda.org/x/">`)
	if d.Base.String() != before {
		t.Errorf("Doc.Base changed to %s", d.Base)
	}
}

// fixturePages are the real Pangea pages with the Doc each is rewritten
// with.
func fixturePages(t testing.TB) []struct {
	file  string
	d     *Doc
	hosts []string
} {
	rfeAll := append([]string{"www.rferl.org"}, htmlRFEHosts...)
	voaAll := append([]string{"www.voanews.com"}, htmlVOAHosts...)
	return []struct {
		file  string
		d     *Doc
		hosts []string
	}{
		{"rferl-org-home-2018.html", htmlDoc(t, "www.rferl.org", htmlRFEHosts, "https://www.rferl.org/"), rfeAll},
		{"svoboda-org-home-2018.html", htmlDoc(t, "www.rferl.org", htmlRFEHosts, "https://www.svoboda.org/"), rfeAll},
		{"voanews-com-article-2024.html", htmlDoc(t, "www.voanews.com", htmlVOAHosts, "https://www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html"), voaAll},
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// originRefs returns the origin URLs (absolute or protocol-relative, with
// "/" or JSON's "\/") found in s.
func originRefs(s string, hosts []string) []string {
	var found []string
	ls := strings.ToLower(s)
	for _, h := range hosts {
		for _, p := range []string{"//" + h, `\/\/` + h} {
			for i := 0; ; {
				j := strings.Index(ls[i:], p)
				if j < 0 {
					break
				}
				j += i
				end := j + len(p)
				if end < len(ls) && (isHostByte(ls[end]) && ls[end] != '.' || ls[end] == '.' && end+1 < len(ls) && isHostByte(ls[end+1])) {
					i = end // a longer host name
					continue
				}
				found = append(found, s[max(0, j-20):min(len(s), end+30)])
				i = end
			}
		}
	}
	return found
}

// checkNoOrigin parses doc and reports origin URLs left in attribute
// values, <style> and JSON-LD.
func checkNoOrigin(t *testing.T, doc string, hosts []string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for node := range root.Descendants() {
		if node.Type != html.ElementNode {
			continue
		}
		for _, a := range node.Attr {
			for _, f := range originRefs(a.Val, hosts) {
				t.Errorf("<%s %s>: origin URL left: %q", node.Data, a.Key, f)
			}
			n++
		}
		if node.Data == "style" || node.Data == "script" && attrVal(node, "type") == "application/ld+json" {
			for c := node.FirstChild; c != nil; c = c.NextSibling {
				for _, f := range originRefs(c.Data, hosts) {
					t.Errorf("<%s> text: origin URL left: %q", node.Data, f)
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d attributes checked", n)
	}
}

func attrVal(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestHTMLFixturePages(t *testing.T) {
	for _, p := range fixturePages(t) {
		t.Run(p.file, func(t *testing.T) {
			in := readTestdata(t, p.file)
			if len(originRefs(string(in), p.hosts)) < 10 {
				t.Fatal("fixture holds too few origin URLs to test anything")
			}
			out := rewriteHTMLString(t, p.d, string(in))
			checkNoOrigin(t, out, p.hosts)
			if got, want := htmlText(t, out), htmlText(t, string(in)); got != want {
				t.Errorf("visible text changed:\n%s", firstDiff(got, want))
			}
		})
	}
}

// htmlText returns the text of a document outside script, style and
// noscript, as a reader sees it.
func htmlText(t testing.TB, doc string) string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "noscript") {
			return
		}
		if n.Type == html.ElementNode && attrVal(n, "class") == "zerkalo-embed" {
			return // an embed's placeholder: a link the rewriter adds
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return b.String()
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return "got:  " + a[max(0, i-40):min(len(a), i+40)] + "\nwant: " + b[max(0, i-40):min(len(b), i+40)]
}

// TestHTMLUntouched checks that a document with nothing to rewrite comes
// out byte for byte.
func TestHTMLUntouched(t *testing.T) {
	d := htmlDoc(t, "www.example.org", nil, "https://www.example.org/")
	d.keepAll = true // the privacy rules would remove every foreign element
	for _, p := range fixturePages(t) {
		in := readTestdata(t, p.file)
		var b bytes.Buffer
		if err := RewriteHTML(&b, bytes.NewReader(in), d); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), in) {
			t.Errorf("%s: changed:\n%s", p.file, firstDiff(b.String(), string(in)))
		}
	}
}

// TestHTMLChunks checks that any split of the input into writes gives the
// same output as one write.
func TestHTMLChunks(t *testing.T) {
	for _, p := range fixturePages(t) {
		in := readTestdata(t, p.file)
		want := rewriteHTMLString(t, p.d, string(in))
		for _, size := range []int{1, 7, 100, 4093, 1 << 20} {
			var b bytes.Buffer
			w := NewHTMLWriter(&b, p.d)
			for rest := in; len(rest) > 0; {
				n := min(size, len(rest))
				if k, err := w.Write(rest[:n]); k != n || err != nil {
					t.Fatalf("Write = %d, %v", k, err)
				}
				rest = rest[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if b.String() != want {
				t.Errorf("%s in %d-byte writes:\n%s", p.file, size, firstDiff(b.String(), want))
			}
		}
	}
}

// TestHTMLArticleText wraps a real RFE/RL article in Pangea-like markup
// with origin links and images and checks that its text survives byte for
// byte.
func TestHTMLArticleText(t *testing.T) {
	text := string(readTestdata(t, "rferl-article-2017-07-31.txt"))
	var page strings.Builder
	page.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>RFE/RL</title>` +
		`<link href="https://www.rferl.org/a/russia-china-north-korea/28650347.html" rel="canonical" />` +
		`<meta content="https://gdb.rferl.org/F8E5B4B2-1E2A-4D46-9C2C-5C1C2F2E9F7A_w1200_r1.jpg" property="og:image" />` +
		`<link href="/Content/responsive/RFE/en-US/RFE-en-US.css?&amp;av=7.22.0.0&amp;cb=83" rel="stylesheet"/></head>` +
		`<body><div class="body-container"><div id="article-content" class="wsw">`)
	var paras []string
	for i, p := range strings.Split(text, "\n\n") {
		page.WriteString(`<p>`)
		page.WriteString(html.EscapeString(p))
		page.WriteString(`</p>`)
		paras = append(paras, p)
		if i%3 == 1 {
			page.WriteString(`<figure><img data-src="https://gdb.rferl.org/3441E68D-3737-485F-8E3A-8E64BF3C1D04_w80.jpg" src="//gdb.rferl.org/3441E68D_w33_r1.jpg" alt="">` +
				`<a href="https://www.rferl.org/a/related/28650000.html" class="link">` + html.EscapeString("“Related”") + `</a></figure>`)
		}
	}
	page.WriteString(`</div></div><script src="https://www.rferl.org/Scripts/responsive/loader.b?&amp;av=7.22&amp;cb=83"></script></body></html>`)
	in := page.String()
	out := rewriteHTMLString(t, rferlDoc(t), in)
	if strings.Contains(out, "https://gdb.rferl.org") || strings.Contains(out, "//gdb.rferl.org") || strings.Contains(out, "https://www.rferl.org") {
		t.Errorf("origin URLs left in the page")
	}
	var got []string
	root, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && n.Data == "p" && n.FirstChild != nil {
			got = append(got, n.FirstChild.Data)
		}
	}
	if strings.Join(got, "\n\n") != text {
		t.Errorf("article text changed:\n%s", firstDiff(strings.Join(got, "\n\n"), text))
	}
	if len(got) != len(paras) || len(got) < 10 {
		t.Errorf("got %d paragraphs, want %d", len(got), len(paras))
	}
}

func TestDecodeHTML(t *testing.T) {
	page := `<!DOCTYPE html><html><head><meta charset="utf-16"><title>Свобода</title></head>` +
		`<body><a href="https://www.rferl.org/a/1.html">Радио Свобода</a></body></html>`
	enc := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()
	utf16, err := enc.String(page)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, contentType, charset, want string
	}{
		{"utf-16 BOM", utf16, "text/html", "utf-8", page},
		{"utf-8 header", page, "text/html; charset=utf-8", "utf-8", page},
		{"windows-1251 header", "<p>\xd1\xe2\xee\xe1\xee\xe4\xe0</p>", "text/html; charset=windows-1251", "windows-1251", "<p>\xd1\xe2\xee\xe1\xee\xe4\xe0</p>"},
		{"inferred", "<p>plain</p>", "text/html", "", "<p>plain</p>"},
		{"empty", "", "text/html", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, cs, err := DecodeHTML(strings.NewReader(tt.body), tt.contentType)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimPrefix(string(b), "\uFEFF")
			if got != tt.want || cs != tt.charset {
				t.Errorf("got %q, %q; want %q, %q", got, cs, tt.want, tt.charset)
			}
		})
	}
	// The decoded UTF-16 page is rewritten like any other.
	r, _, err := DecodeHTML(strings.NewReader(utf16), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := RewriteHTML(&b, r, rferlDoc(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<a href="/a/1.html">Радио Свобода</a>`) {
		t.Errorf("UTF-16 page not rewritten: %q", b.String())
	}
}

func TestHTMLErrors(t *testing.T) {
	d := rferlDoc(t)
	huge := "<!--" + strings.Repeat("x", MaxHTMLToken+10) + "-->"
	err := RewriteHTML(io.Discard, strings.NewReader("<p>"+huge), d)
	if !errors.Is(err, ErrHTMLTokenTooLarge) {
		t.Errorf("huge comment: err = %v, want ErrHTMLTokenTooLarge", err)
	}
	// A huge script is streamed, not refused.
	big := "<script>" + strings.Repeat("var a = 'x';\n", MaxHTMLToken/4) + "</script><p>"
	if err := RewriteHTML(io.Discard, strings.NewReader(big), d); err != nil {
		t.Errorf("huge script: %v", err)
	}
	// The writer reports the error from Write or Close.
	w := NewHTMLWriter(io.Discard, d)
	var werr error
	for i := 0; i < 4 && werr == nil; i++ {
		_, werr = w.Write([]byte(huge))
	}
	cerr := w.Close()
	if !errors.Is(werr, ErrHTMLTokenTooLarge) || !errors.Is(cerr, ErrHTMLTokenTooLarge) {
		t.Errorf("writer: Write err %v, Close err %v", werr, cerr)
	}
	// A failing reader's error is returned.
	rerr := errors.New("origin reset")
	err = RewriteHTML(io.Discard, io.MultiReader(strings.NewReader("<p><script>var x"), &errReader{rerr}), d)
	if !errors.Is(err, rerr) {
		t.Errorf("read error: got %v", err)
	}
	err = RewriteHTML(io.Discard, io.MultiReader(strings.NewReader("<p><a href"), &errReader{rerr}), d)
	if !errors.Is(err, rerr) {
		t.Errorf("read error: got %v", err)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestHTMLWriterNoLeak checks that every writer's goroutine ends on Close,
// also after an error.
func TestHTMLWriterNoLeak(t *testing.T) {
	d := rferlDoc(t)
	before := runtime.NumGoroutine()
	for i := range 300 {
		w := NewHTMLWriter(io.Discard, d)
		w.Write([]byte(`<a href="https://www.rferl.org/x">`))
		if i%20 == 0 {
			w.Write([]byte("<!--" + strings.Repeat("x", MaxHTMLToken)))
		}
		w.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running, %d before", n, before)
	}
}

// TestHTMLMemoryFlat checks that the live heap of the rewriter does not
// grow with the size of an inline script or of the page.
func TestHTMLMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	d := rferlDoc(t)
	script := func(n int) []byte {
		return []byte("<p><script>" + strings.Repeat("var a = 1; // no URLs here\n", n/27) + "</script><p>")
	}
	page := readTestdata(t, "rferl-org-home-2018.html")
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"1 MB script", script(1 << 20)},
		{"5 MB script", script(5 << 20)},
		{"1 MB page", largePage(page, 1<<20)},
		{"20 MB page", largePage(page, 20<<20)},
	} {
		peak := peakHeap(t, tt.in, d)
		t.Logf("%s: peak live heap %d KiB above the input", tt.name, peak>>10)
		if peak > 4<<20 {
			t.Errorf("%s: peak live heap %d bytes", tt.name, peak)
		}
	}
}

// peakHeap rewrites in and returns the largest live heap seen while doing
// so, less the live heap before.
func peakHeap(t testing.TB, in []byte, d *Doc) uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	sr := &sampleReader{r: bytes.NewReader(in), base: m.HeapAlloc}
	if err := RewriteHTML(io.Discard, sr, d); err != nil {
		t.Fatal(err)
	}
	sr.sample()
	return sr.peak
}

// sampleReader measures the live heap after every MiB read.
type sampleReader struct {
	r          io.Reader
	n          int
	base, peak uint64
}

func (s *sampleReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += n
	if s.n >= 1<<20 {
		s.n = 0
		s.sample()
	}
	return n, err
}

func (s *sampleReader) sample() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > s.base && m.HeapAlloc-s.base > s.peak {
		s.peak = m.HeapAlloc - s.base
	}
}

// largePage repeats the body of page until it is about n bytes long.
func largePage(page []byte, n int) []byte {
	i := bytes.Index(page, []byte("<body"))
	head, body := page[:i], page[i:]
	b := bytes.NewBuffer(make([]byte, 0, n+len(page)))
	b.Write(head)
	for b.Len() < n {
		b.Write(body)
	}
	return b.Bytes()
}

func TestHTMLFooter(t *testing.T) {
	m, err := NewMapper("www.rferl.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"<html><body><p>x</p></body></html>", "<html><body><p>x</p><i>F</i></body></html>"},
		{"<html><BODY><p>x</p></BODY >", "<html><BODY><p>x</p><i>F</i></BODY >"},
		{"<noscript></body></noscript></body>", "<noscript></body></noscript><i>F</i></body>"},
		{"<div>a fragment</div>", "<div>a fragment</div>"},
		{"</bodyx></body></body>", "</bodyx><i>F</i></body></body>"},
	} {
		d := NewDoc(m, mustParse(t, "https://www.rferl.org/"))
		d.Footer = "<i>F</i>"
		var out strings.Builder
		if err := RewriteHTML(&out, strings.NewReader(tc.in), d); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, out.String(), tc.want)
		}
	}
}

// TestHTMLAttrValueDecode checks the rewriter's decoding of attribute
// values against golang.org/x/net/html's Tokenizer.
func TestHTMLAttrValueDecode(t *testing.T) {
	for _, v := range []string{
		"/a?b=1&amp;c=2", "&amp;&amp;", "&quot;x&quot;", "&#39;&#34;&lt;&gt;", "&amp",
		"&ampx", "&copy=1", "&copy;", "&#390;", "&#39", "&lt=", "a&amp;b&c", "&", "x&\r\ny",
		"&AMP;", "&amp;&#x27;",
	} {
		raw := []byte(`<a href="` + v + `" title='` + v + `'>`)
		r := newHTMLRewriter(nil, rferlDoc(t), 0)
		if n := r.scanStartTag(raw); n != len(raw) {
			t.Fatalf("%q: scanned %d of %d bytes", raw, n, len(raw))
		}
		z := html.NewTokenizer(bytes.NewReader(raw))
		z.Next()
		for k := range r.attrs {
			_, want, _ := z.TagAttr()
			if got := r.value(raw, &r.attrs[k]); got != string(want) {
				t.Errorf("%q: attribute %d: got %q, want %q", v, k, got, want)
			}
		}
	}
}

// TestKnownNames checks the perfect hashes of attrName and knownTag: each
// known name is found in any case, and other names are not.
func TestKnownNames(t *testing.T) {
	for _, tc := range []struct {
		table *[256]string
		look  func([]byte) string
		other []string
	}{
		{attrNames, attrName, []string{"hre", "hrefs", "data-", "aria-label", "clas", "x", "data-lazy-srcsetx", "srcsEt-"}},
		{knownTags, knownTag, []string{"div", "span", "scripts", "b", "imag", "i", "textareas"}},
	} {
		n := 0
		for _, name := range tc.table {
			if name == "" {
				continue
			}
			n++
			for _, v := range []string{name, strings.ToUpper(name), strings.ToUpper(name[:1]) + name[1:]} {
				if got := tc.look([]byte(v)); got != name {
					t.Errorf("%q: got %q, want %q", v, got, name)
				}
			}
		}
		if n < 20 {
			t.Errorf("only %d names in the table", n)
		}
		for _, v := range tc.other {
			if got := tc.look([]byte(v)); got != "" {
				t.Errorf("%q: got %q, want \"\"", v, got)
			}
		}
	}
}

// TestScanClass checks the scanner's byte classes against the Tokenizer's
// rules for white space and the ends of names, keys and unquoted values.
func TestScanClass(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		for _, tc := range []struct {
			class uint8
			want  bool
		}{
			{clsSpace, isSpace(b)},
			{clsEndName, isSpace(b) || b == '/' || b == '>'},
			{clsEndKey, isSpace(b) || b == '/' || b == '>' || b == '='},
			{clsEndValue, isSpace(b) || b == '>'},
		} {
			if got := scanClass[b]&tc.class != 0; got != tc.want {
				t.Errorf("byte %q, class %b: got %v", b, tc.class, got)
			}
		}
	}
}

// TestPlainValue checks both of plainValue's ways, for short and long
// values: any refused byte anywhere makes a value not plain.
func TestPlainValue(t *testing.T) {
	for _, n := range []int{1, 10, 31, 32, 33, 100} {
		v := bytes.Repeat([]byte("a/"), n)[:n]
		if !plainValue(v) {
			t.Errorf("%q: not plain", v)
		}
		for _, c := range []byte("&\"'\x00\r") {
			for i := range v {
				w := bytes.Clone(v)
				w[i] = c
				if plainValue(w) {
					t.Errorf("%q: plain", w)
				}
			}
		}
	}
}
