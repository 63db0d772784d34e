package rewrite

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestXMLFeeds(t *testing.T) {
	const rss = `<?xml version="1.0" encoding="utf-8"?>
<?xml-stylesheet type="text/xsl" href="https://www.rferl.org/feed.xsl"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
<title>RFE/RL &amp; friends</title>
<link>https://www.rferl.org</link>
<atom:link href="https://www.rferl.org/api/epiqq" rel="self" type="application/rss+xml"/>
<item>
<link>http://www.rferl.org/a/story/1.html</link>
<guid isPermaLink="false">https://www.rferl.org/a/1.html?x=1&amp;y=2</guid>
<description>&lt;img src=&quot;https://gdb.rferl.org/x.jpg&quot;&gt; see https://en.wikipedia.org/wiki/X</description>
<content:encoded><![CDATA[<p><a href="//www.svoboda.org/a/2.html">]x]]</a> ]]]></content:encoded>
<enclosure url="https://gdb.rferl.org/y.jpg" length="1" type="image/jpeg"/>
<media:content url='HTTPS://GDB.RFERL.ORG:443/z.mp4' medium="video"/>
<!-- https://www.rferl.org/comment -->
</item>
</channel>
</rss>
`
	const rssWant = `<?xml version="1.0" encoding="utf-8"?>
<?xml-stylesheet type="text/xsl" href="https://mirror.example/feed.xsl"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
<title>RFE/RL &amp; friends</title>
<link>https://mirror.example/</link>
<atom:link href="https://mirror.example/api/epiqq" rel="self" type="application/rss+xml"/>
<item>
<link>https://mirror.example/a/story/1.html</link>
<guid isPermaLink="false">https://mirror.example/a/1.html?x=1&amp;y=2</guid>
<description>&lt;img src=&quot;https://mirror.example/_z/gdb.rferl.org/x.jpg&quot;&gt; see https://en.wikipedia.org/wiki/X</description>
<content:encoded><![CDATA[<p><a href="https://mirror.example/_z/www.svoboda.org/a/2.html">]x]]</a> ]]]></content:encoded>
<enclosure url="https://mirror.example/_z/gdb.rferl.org/y.jpg" length="1" type="image/jpeg"/>
<media:content url='https://mirror.example/_z/gdb.rferl.org/z.mp4' medium="video"/>
<!-- https://www.rferl.org/comment -->
</item>
</channel>
</rss>
`
	const atom = `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://www.rferl.org/"><link href="/a/1.html"/><link rel="alternate" href="2.html"/><icon>https://gdb.rferl.org/i.png</icon><entry><id>tag:rferl.org,2018:1</id><content type="html">&lt;a href="https://www.rferl.org/b"&gt;</content></entry></feed>`
	const atomWant = `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://mirror.example/"><link href="https://mirror.example/a/1.html"/><link rel="alternate" href="https://mirror.example/z/2.html"/><icon>https://mirror.example/_z/gdb.rferl.org/i.png</icon><entry><id>tag:rferl.org,2018:1</id><content type="html">&lt;a href="https://mirror.example/b"&gt;</content></entry></feed>`
	const sitemap = `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"><url><loc>https://www.rferl.org/a/1.html</loc><image:image><image:loc>https://gdb.rferl.org/a.jpg</image:loc></image:image></url><url><loc> https://www.svoboda.org/ </loc></url></urlset>`
	const sitemapWant = `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"><url><loc>https://mirror.example/a/1.html</loc><image:image><image:loc>https://mirror.example/_z/gdb.rferl.org/a.jpg</image:loc></image:image></url><url><loc> https://mirror.example/_z/www.svoboda.org/ </loc></url></urlset>`
	tests := []struct{ name, base, in, want string }{
		{"rss", "https://www.rferl.org/api/epiqq", rss, rssWant},
		{"atom", "https://www.rferl.org/z/feed.xml", atom, atomWant},
		{"sitemap", "https://www.rferl.org/sitemap.xml", sitemap, sitemapWant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDoc(t, tt.base)
			d.Absolute = "https://mirror.example"
			if got := rewriteAll(t, NewXMLWriter, d, tt.in); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestXMLRelative(t *testing.T) {
	const gdb = "https://gdb.rferl.org/img/x.svg"
	tests := []struct{ name, base, in, want string }{
		{"svg", gdb,
			`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"><image xlink:href="/img/a.png" href="https://www.svoboda.org/b.png"/><use href="#icon"/><path d="M0 0L10 10"/><text x="1">//www.svoboda.org/t</text></svg>`,
			`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"><image xlink:href="/_z/gdb.rferl.org/img/a.png" href="/_z/www.svoboda.org/b.png"/><use href="#icon"/><path d="M0 0L10 10"/><text x="1">/_z/www.svoboda.org/t</text></svg>`},
		{"svg style", gdb,
			`<svg><style><![CDATA[.a{fill:url(/img/p.png)}]]></style><style type="text/css">.b{background:url("/img/q.png")} .c{content:"a<"}</style><g style="x"/><style/>/img/r.png</svg>`,
			`<svg><style><![CDATA[.a{fill:url(/_z/gdb.rferl.org/img/p.png)}]]></style><style type="text/css">.b{background:url("/_z/gdb.rferl.org/img/q.png")} .c{content:"a<"}</style><g style="x"/><style/>/img/r.png</svg>`},
		{"dash", gdb,
			`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><BaseURL>/media/v1/</BaseURL><Period><AdaptationSet><SegmentTemplate media="/seg/$Number$.m4s" initialization="https://gdb.rferl.org/init.mp4" startNumber="1"/><Representation id="1"><BaseURL> https://www.svoboda.org/v/ </BaseURL><BaseURL>rel/</BaseURL></Representation></AdaptationSet></Period></MPD>`,
			`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><BaseURL>/_z/gdb.rferl.org/media/v1/</BaseURL><Period><AdaptationSet><SegmentTemplate media="/_z/gdb.rferl.org/seg/$Number$.m4s" initialization="/_z/gdb.rferl.org/init.mp4" startNumber="1"/><Representation id="1"><BaseURL> /_z/www.svoboda.org/v/ </BaseURL><BaseURL>rel/</BaseURL></Representation></AdaptationSet></Period></MPD>`},
		{"doctype and namespaces", gdb,
			`<!DOCTYPE svg [ <!ENTITY x "https://www.svoboda.org/e"> ]><svg xmlns:a="https://www.svoboda.org/ns"><!----><a:b>x</a:b></svg>`,
			`<!DOCTYPE svg [ <!ENTITY x "https://www.svoboda.org/e"> ]><svg xmlns:a="https://www.svoboda.org/ns"><!----><a:b>x</a:b></svg>`},
		{"escaped json in text", gdb, `<x>{"u":"https:\/\/www.svoboda.org\/a\/1.html"}</x>`, `<x>{"u":"\/_z\/www.svoboda.org\/a\/1.html"}</x>`},
		{"not origin", gdb, `<a href="https://en.wikipedia.org/x">https://en.wikipedia.org/y</a>`, `<a href="https://en.wikipedia.org/x">https://en.wikipedia.org/y</a>`},
		{"odd markup", gdb, `<a b href='/x' src = "/y" /><<!x><![CDAT[ ]]><? ?? ?><a =/>`, `<a b href='/_z/gdb.rferl.org/x' src = "/_z/gdb.rferl.org/y" /><<!x><![CDAT[ ]]><? ?? ?><a =/>`},
		{"unterminated", gdb, `<a href="/x`, `<a href="/_z/gdb.rferl.org/x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteAll(t, NewXMLWriter, testDoc(t, tt.base), tt.in); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestXMLLong checks that a long SVG path and a long text pass through
// without being held whole, and that a URL after them is still rewritten.
func TestXMLLong(t *testing.T) {
	path := strings.Repeat("M0 0L10 10 ", 100000)
	text := strings.Repeat("word https://www.svoboda.org/a ", 40000)
	in := `<svg><path d="` + path + `"/><desc>` + text + `</desc><a href="https://www.svoboda.org/x"/></svg>`
	d := testDoc(t, "https://www.rferl.org/a.svg")
	want := `<svg><path d="` + path + `"/><desc>` + d.Embedded(text) + `</desc><a href="/_z/www.svoboda.org/x"/></svg>`
	var out bytes.Buffer
	w := NewXMLWriter(&out, d)
	for off := 0; off < len(in); off += 16 << 10 {
		w.Write([]byte(in[off:min(off+16<<10, len(in))]))
		if xw := w.(*xmlWriter); len(xw.out)+len(xw.text.buf)+len(xw.url.buf) > window {
			t.Fatalf("holds %d bytes", len(xw.out)+len(xw.text.buf)+len(xw.url.buf))
		}
	}
	w.Close()
	if out.String() != want {
		t.Fatal("long document rewritten wrongly")
	}
	if got := rewriteChunks(t, NewXMLWriter, d, []byte(in), 1, 3, 4099, 5); got != want {
		t.Fatal("chunking changes the output")
	}
}

// FuzzXML checks that the XML rewriter never panics or hangs, leaves
// documents without an origin host alone, and does not depend on how the
// input is cut.
func FuzzXML(f *testing.F) {
	for _, s := range []string{
		`<rss><link>https://www.rferl.org/a</link><enclosure url="//gdb.rferl.org/x"/></rss>`,
		`<svg><style><![CDATA[a{b:url(/x)}]]></style><image href="/a"/></svg>`,
		`<!DOCTYPE x [<!ENTITY a "b">]><?pi https://www.rferl.org/?><!-- -- -->`,
		`<MPD><BaseURL>/m/</BaseURL><S media="/s/$N$.m4s"/></MPD>`, `<a b='c' d=e f>`, `<![CDATA[]]]]>`,
	} {
		f.Add(s, uint8(1))
	}
	m := mustNewMapper(f, "www.rferl.org", testHosts...)
	d := NewDoc(m, mustParse(f, "https://gdb.rferl.org/x.svg"))
	site := NewDoc(m, mustParse(f, "https://www.rferl.org/x.svg"))
	f.Fuzz(func(t *testing.T, s string, chunk uint8) {
		got := rewriteChunks(t, NewXMLWriter, d, []byte(s))
		if c := rewriteChunks(t, NewXMLWriter, d, []byte(s), 1+int(chunk)); c != got {
			t.Fatalf("chunks of %d: %q; whole: %q", 1+int(chunk), c, got)
		}
		if !hasOriginHost(m, s) {
			if out := rewriteChunks(t, NewXMLWriter, site, []byte(s)); out != s {
				t.Fatalf("no origin host, but %q became %q", s, out)
			}
		}
	})
}

var _ io.WriteCloser = (*xmlWriter)(nil)
