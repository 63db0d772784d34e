package rewrite

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCSS(t *testing.T) {
	const site, gdb = "https://www.rferl.org/", "https://gdb.rferl.org/css/x.css"
	tests := []struct{ name, base, in, want string }{
		{"unquoted", site, `a{background:url(https://gdb.rferl.org/a.png)}`, `a{background:url(/_z/gdb.rferl.org/a.png)}`},
		{"single quoted", site, `a{background:url('//gdb.rferl.org/a.png')}`, `a{background:url('/_z/gdb.rferl.org/a.png')}`},
		{"double quoted, spaces", site, `a{background:url( "http://www.rferl.org/a.png" )}`, `a{background:url( "/a.png" )}`},
		{"unquoted spaces", site, "a{b:url(  https://www.rferl.org/a.png\t)}", "a{b:url(  /a.png\t)}"},
		{"upper case", site, `a{b:URL(HTTPS://GDB.RFERL.ORG:443/A.PNG)}`, `a{b:URL(/_z/gdb.rferl.org/A.PNG)}`},
		{"not origin: fetches nothing", site, `a{b:url(https://upload.wikimedia.org/a.png)}`, `a{b:url(data:,)}`},
		{"relative kept", site, `a{b:url(img/a.png)}`, `a{b:url(img/a.png)}`},
		{"tracker import", site, `@import url("//fonts.googleapis.com/css?family=Roboto");a{}`, `@import url("data:,");a{}`},
		{"tracker import string", site, `@import 'https://WWW.Google-Analytics.com/x.css' screen;`, `@import 'data:,' screen;`},
		{"beacon path on the site", site, `a{background:url(/b/ss/rs/1/G.4--NS/1?pageName=x)}`, `a{background:url(data:,)}`},
		{"image-set foreign", site, `a{b:image-set("https://cdn.example/a.png" 1x, "/x.png" 2x)}`, `a{b:image-set("data:," 1x, "/x.png" 2x)}`},
		{"font src", site, `@font-face{src:url(https://fonts.gstatic.com/a.woff2) format("woff2")}`, `@font-face{src:url(data:,) format("woff2")}`},
		{"other strings not URLs", site, `a::after{content:"https://x.example/"}`, `a::after{content:"https://x.example/"}`},
		{"root-relative on site", site, `a{b:url(/img/a.png)}`, `a{b:url(/img/a.png)}`},
		{"root-relative on secondary", gdb, `a{b:url(/img/a.png)}`, `a{b:url(/_z/gdb.rferl.org/img/a.png)}`},
		{"quoted root-relative on secondary", gdb, `a{b:url("/img/a.png")}`, `a{b:url("/_z/gdb.rferl.org/img/a.png")}`},
		{"relative on secondary", gdb, `a{b:url(../img/a.png)}`, `a{b:url(../img/a.png)}`},
		{"import string", gdb, `@import "/css/b.css";`, `@import "/_z/gdb.rferl.org/css/b.css";`},
		{"import upper case", site, `@IMPORT '//www.svoboda.org/b.css' screen;`, `@IMPORT '/_z/www.svoboda.org/b.css' screen;`},
		{"import url", gdb, `@import url(/css/b.css) layer(x);`, `@import url(/_z/gdb.rferl.org/css/b.css) layer(x);`},
		{"string after import", gdb, `@import "a.css"; a{content:"/x"}`, `@import "a.css"; a{content:"/x"}`},
		{"image-set", gdb, `a{b:image-set("/a.png" 1x, "/b.png" 2x)}`, `a{b:image-set("/_z/gdb.rferl.org/a.png" 1x, "/_z/gdb.rferl.org/b.png" 2x)}`},
		{"webkit image-set with url", gdb, `a{b:-webkit-image-set(url(/a.png) 1x)}`, `a{b:-webkit-image-set(url(/_z/gdb.rferl.org/a.png) 1x)}`},
		{"font-face src", gdb, `@font-face{font-family:X;src:url(/f.woff2) format("woff2"),url("/f.woff") format("woff")}`,
			`@font-face{font-family:X;src:url(/_z/gdb.rferl.org/f.woff2) format("woff2"),url("/_z/gdb.rferl.org/f.woff") format("woff")}`},
		{"comment", gdb, `/* url(/a.png) "https://www.rferl.org/" */a{b:url(/c.png)}`, `/* url(/a.png) "https://www.rferl.org/" */a{b:url(/_z/gdb.rferl.org/c.png)}`},
		{"other string", site, `a::after{content:"see https://www.rferl.org/a"}`, `a::after{content:"see /a"}`},
		{"escaped string", site, `a{content:"\"https://www.rferl.org/a\""}`, `a{content:"\"/a\""}`},
		{"custom property", site, `:root{--bg:url(https://gdb.rferl.org/a.png)}`, `:root{--bg:url(/_z/gdb.rferl.org/a.png)}`},
		{"escaped paren", gdb, `a{b:url(/a\).png)}`, `a{b:url(/_z/gdb.rferl.org/a\).png)}`},
		{"not url function", gdb, `a{b:myurl(/a.png);c:urlx("/b")}`, `a{b:myurl(/a.png);c:urlx("/b")}`},
		{"data uri", gdb, `a{b:url(data:image/svg+xml;utf8,<svg/>)}`, `a{b:url(data:image/svg+xml;utf8,<svg/>)}`},
		{"empty url", gdb, `a{b:url()}`, `a{b:url()}`},
		{"division slash", gdb, `a{grid-area:1/2/3/4;b:url(/a)}`, `a{grid-area:1/2/3/4;b:url(/_z/gdb.rferl.org/a)}`},
		{"escaped json-ish", site, `a{content:"https:\/\/www.svoboda.org\/a\/1.html"}`, `a{content:"\/_z\/www.svoboda.org\/a\/1.html"}`},
		{"bad string", site, "a{content:\"https://www.rferl.org/a\nb{c:url(//gdb.rferl.org/x)}", "a{content:\"/a\nb{c:url(/_z/gdb.rferl.org/x)}"},
		{"unterminated url", gdb, `a{b:url(/a.png`, `a{b:url(/_z/gdb.rferl.org/a.png`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDoc(t, tt.base)
			if got := rewriteAll(t, NewCSSWriter, d, tt.in); got != tt.want {
				t.Errorf("CSS(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if got := d.CSS(tt.in); got != tt.want {
				t.Errorf("Doc.CSS(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCSSFixtures rewrites the inline styles of real pages: they keep every
// byte but the origin URLs, which all go.
func TestCSSFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/text/*.css")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := testDoc(t, "https://www.svoboda.org/")
		got := rewriteAll(t, NewCSSWriter, d, string(in))
		if strings.Contains(got, "gdb.rferl.org/") != strings.Contains(got, "/_z/gdb.rferl.org/") ||
			strings.Contains(got, "//gdb.rferl.org") || strings.Contains(got, "https://www.svoboda.org") {
			t.Errorf("%s: origin URL left:\n%s", f, got)
		}
		if want := d.Embedded(string(in)); got != want {
			t.Errorf("%s: differs from Doc.Embedded (the styles have only absolute URLs):\n%s", f, got)
		}
		other := NewDoc(mustNewMapper(t, "www.example.org"), mustParse(t, "https://www.example.org/"))
		other.keepAll = true // else every foreign url() would go
		if got := rewriteAll(t, NewCSSWriter, other, string(in)); got != string(in) {
			t.Errorf("%s: changed without an origin host", f)
		}
	}
}

// TestCSSLongDataURI checks that a data: URI of a megabyte passes through
// without being held whole.
func TestCSSLongDataURI(t *testing.T) {
	data := "data:image/png;base64," + strings.Repeat("QUJD", 1<<18)
	for _, q := range []string{"", `"`} {
		in := "a{b:url(" + q + data + q + ")}c{d:url(/x.png)}"
		want := "a{b:url(" + q + data + q + ")}c{d:url(/_z/gdb.rferl.org/x.png)}"
		d := testDoc(t, "https://gdb.rferl.org/a.css")
		var out bytes.Buffer
		w := NewCSSWriter(&out, d)
		for off := 0; off < len(in); off += 8192 {
			w.Write([]byte(in[off:min(off+8192, len(in))]))
			if cw := w.(*cssWriter); len(cw.url.buf) > window || cap(cw.url.buf) > 2*window {
				t.Fatalf("url buffer holds %d (cap %d)", len(cw.url.buf), cap(cw.url.buf))
			}
		}
		w.Close()
		if out.String() != want {
			t.Fatalf("quote %q: data URI changed", q)
		}
		if got := rewriteChunks(t, NewCSSWriter, d, []byte(in), 1, 4095, 1, 4097, 3); got != want {
			t.Fatalf("quote %q: chunking changes the output", q)
		}
	}
	// A long origin URL is still rewritten by its head.
	long := "https://gdb.rferl.org/" + strings.Repeat("a", 3*window)
	d := testDoc(t, "https://www.rferl.org/")
	if got, want := rewriteAll(t, NewCSSWriter, d, "a{b:url("+long+")}"), "a{b:url("+d.URL(long)+")}"; got != want {
		t.Fatalf("long URL: got %.60q…", got)
	}
}

// FuzzCSS checks that the CSS rewriter never panics, leaves stylesheets
// without an origin host alone, and does not depend on how the input is cut.
func FuzzCSS(f *testing.F) {
	for _, s := range []string{
		`a{background:url(https://gdb.rferl.org/a.png)}`,
		`@import "/css/b.css";@import url('//www.rferl.org/c.css');`,
		`a{b:image-set("/a.png" 1x, url(/b.png) 2x)}/* url(/c) */`,
		`@font-face{src:url(/f.woff2) format("woff2")}`,
		`a{content:"\"https:\/\/www.svoboda.org\/a"}`, `u\72l(/a)`, `a{b:url(`,
		`a{b:url(//)}`, `x url(A0000:0/`, // foreign: replaced by data:,
	} {
		f.Add(s, uint8(2))
	}
	m := mustNewMapper(f, "www.rferl.org", testHosts...)
	d := NewDoc(m, mustParse(f, "https://gdb.rferl.org/css/x.css"))
	site := NewDoc(m, mustParse(f, "https://www.rferl.org/"))
	f.Fuzz(func(t *testing.T, s string, chunk uint8) {
		got := rewriteChunks(t, NewCSSWriter, d, []byte(s))
		if c := rewriteChunks(t, NewCSSWriter, d, []byte(s), 1+int(chunk)); c != got {
			t.Fatalf("chunks of %d: %q; whole: %q", 1+int(chunk), c, got)
		}
		// Without an origin host and without a way to name another host or
		// scheme (no "//", no ":", no escapes), the primary site's CSS is
		// left as it is; a foreign URL would be replaced by the privacy
		// rules.
		if !hasOriginHost(m, s) && !strings.Contains(s, "//") && !strings.ContainsAny(s, `:\`) && site.CSS(s) != s {
			t.Fatalf("no host named, but %q became %q", s, site.CSS(s))
		}
	})
}

func BenchmarkCSS(b *testing.B) {
	in := benchCSS()
	d := testDoc(b, "https://gdb.rferl.org/css/x.css")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		w := NewCSSWriter(io.Discard, d)
		for off := 0; off < len(in); off += 32 << 10 {
			w.Write(in[off:min(off+32<<10, len(in))])
		}
		w.Close()
	}
}

// benchCSS is about 1 MB of a Pangea-like stylesheet: rules, comments,
// fonts, and a background image in one rule out of four.
func benchCSS() []byte {
	var b bytes.Buffer
	b.WriteString(`@import url(/Content/responsive/RFE/fonts.css);` + "\n")
	for i := 0; b.Len() < 1<<20; i++ {
		b.WriteString("/* block " + strings.Repeat("=", i%17) + " */\n")
		b.WriteString(".media-block__content .title--" + strings.Repeat("x", i%11) + ":hover{color:#1a1a1a;font:400 1.125rem/1.4 \"Skolar Sans\",Arial,sans-serif;margin:0 0 .5rem;transition:color .2s ease-in-out}\n")
		if i%4 == 0 {
			b.WriteString(".hero-" + strings.Repeat("y", i%7) + "{background:#000 url(\"/img/hero_w1200.jpg\") no-repeat center/cover}\n")
			b.WriteString("@font-face{font-family:\"Skolar\";src:url(https://gdb.rferl.org/fonts/skolar.woff2) format(\"woff2\")}\n")
		}
	}
	return b.Bytes()
}

func mustNewMapper(t testing.TB, site string, hosts ...string) *Mapper {
	t.Helper()
	m, err := NewMapper(site, hosts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
