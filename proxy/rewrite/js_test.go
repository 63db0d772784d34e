package rewrite

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJS(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"double quote", `var u = "https://www.rferl.org/a/1.html";`, `var u = "/a/1.html";`},
		{"single quote", `f('//gdb.rferl.org/x.jpg')`, `f('/_z/gdb.rferl.org/x.jpg')`},
		{"http upper case", `x="HTTP://GDB.RFERL.ORG/X.JPG"`, `x="/_z/gdb.rferl.org/X.JPG"`},
		{"port 443", `x="https://www.svoboda.org:443/a"`, `x="/_z/www.svoboda.org/a"`},
		{"other port", `x="https://www.svoboda.org:8080/a"`, `x="https://www.svoboda.org:8080/a"`},
		{"json escapes", `{"url":"https:\/\/www.svoboda.org\/a\/1.html"}`, `{"url":"\/_z\/www.svoboda.org\/a\/1.html"}`},
		{"not origin", `x="https://en.wikipedia.org/wiki/RFE/RL"`, `x="https://en.wikipedia.org/wiki/RFE/RL"`},
		{"look-alike", `x="https://www.rferl.org.example.com/"`, `x="https://www.rferl.org.example.com/"`},
		{"bare host", `x="https://www.rferl.org"`, `x="/"`},
		{"escaped quote", `x="a\"https://www.rferl.org/b\"c"`, `x="a\"/b\"c"`},
		{"line comment", "// https://www.rferl.org/a\nx='https://www.rferl.org/b'", "// https://www.rferl.org/a\nx='/b'"},
		{"block comment", `/* "https://www.rferl.org/a" */ x="https://www.rferl.org/b"`, `/* "https://www.rferl.org/a" */ x="/b"`},
		{"label and comment", "https://www.rferl.org/a\n", "https://www.rferl.org/a\n"},
		{"regex", `if(/https:\/\/www.rferl.org\//.test(u))x="https://www.rferl.org/b"`, `if(/https:\/\/www.rferl.org\//.test(u))x="/b"`},
		{"regex with quote", `return /'/.test(x) ? "https://www.rferl.org/a" : ''`, `return /'/.test(x) ? "/a" : ''`},
		{"regex class", `x=/[/"]/g;y="https://www.rferl.org/a"`, `x=/[/"]/g;y="/a"`},
		{"division", `a = b / 2; c = "https://www.rferl.org/x" / d / "//gdb.rferl.org/y"`, `a = b / 2; c = "/x" / d / "/_z/gdb.rferl.org/y"`},
		{"division after paren", `a=(b)/2/"https://www.rferl.org/x"`, `a=(b)/2/"/x"`},
		{"typeof regex", `typeof /"/`, `typeof /"/`},
		{"template", "`https://www.rferl.org/a/${id}.html`", "`/a/${id}.html`"},
		{"template nested", "`x${`//gdb.rferl.org/${y}`}https://www.rferl.org/z`", "`x${`/_z/gdb.rferl.org/${y}`}/z`"},
		{"template braces", "`${ {a:'https://www.rferl.org/a'}.a }https://www.rferl.org/b$`", "`${ {a:'/a'}.a }/b$`"},
		{"template dollar", "`$$https://www.rferl.org/a`", "`$$/a`"},
		{"unterminated string", "x=\"https://www.rferl.org/a\ny='https://www.rferl.org/b'", "x=\"/a\ny='/b'"},
		{"line continuation", "x='a\\\r\nhttps://www.rferl.org/b'", "x='a\\\r\n/b'"},
		{"secondary base keeps root-relative", `x="/img/a.png"`, `x="/img/a.png"`},
		{"two slashes after site", `x="https://www.rferl.org//evil.com/"`, `x="/.//evil.com/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDoc(t, "https://www.rferl.org/js/x.js")
			if got := rewriteAll(t, NewJSWriter, d, tt.in); got != tt.want {
				t.Errorf("JS(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if got := d.JS(tt.in); got != tt.want {
				t.Errorf("Doc.JS(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestJSFixtures checks that the inline scripts of real pages come out
// byte-identical when none of their hosts is an origin host, and that
// every origin URL of the JSON-LD goes when the page's site is the origin.
func TestJSFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/text/*.js*")
	if err != nil || len(files) < 4 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	other, err := NewMapper("www.example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDoc(other, mustParse(t, "https://www.example.org/"))
		if got := rewriteAll(t, NewJSWriter, d, string(in)); got != string(in) {
			t.Errorf("%s: changed without an origin host", f)
		}
	}
	in, err := os.ReadFile("testdata/text/voanews-article.jsonld")
	if err != nil {
		t.Fatal(err)
	}
	voa, err := NewMapper("www.voanews.com", []string{"gdb.voanews.com"})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDoc(voa, mustParse(t, "https://www.voanews.com/a/1.html"))
	got := rewriteAll(t, NewJSWriter, d, string(in))
	if n := strings.Count(string(in), "https://www.voanews.com/"); n == 0 || strings.Contains(got, "https://www.voanews.com/") {
		t.Errorf("JSON-LD still has origin URLs (%d in input):\n%s", n, got)
	}
	if want := d.Embedded(string(in)); got != want {
		t.Errorf("JSON-LD: writer and Doc.Embedded differ:\n got %s\nwant %s", got, want)
	}
}

// TestJSLongString feeds one multi-megabyte string literal holding origin
// URLs at every offset around the window and checks the output against
// Doc.Embedded and that the writer holds back a bounded amount.
func TestJSLongString(t *testing.T) {
	var content strings.Builder
	urls := []string{"https://www.rferl.org/a/1.html", `https:\/\/www.svoboda.org\/b`, "//gdb.rferl.org/c.jpg", "https://en.wikipedia.org/x"}
	for i := 0; content.Len() < 5<<20; i++ {
		content.WriteString(strings.Repeat("x", i%(window+7)))
		content.WriteString(" ")
		content.WriteString(urls[i%len(urls)])
	}
	d := testDoc(t, "https://www.rferl.org/")
	in := []byte(`var s = "` + content.String() + `";`)
	want := `var s = "` + d.Embedded(content.String()) + `";`

	var out countWriter
	w := NewJSWriter(&out, d)
	const chunk = 64 << 10
	for off := 0; off < len(in); off += chunk {
		p := in[off:min(off+chunk, len(in))]
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		// All that is not written out is the held-back text.
		jw := w.(*jsWriter)
		if held := len(jw.out) + len(jw.text.buf); held > window || cap(jw.text.buf) > 2*window {
			t.Fatalf("after %d bytes the writer holds %d bytes (cap %d)", off+len(p), held, cap(jw.text.buf))
		}
	}
	w.Close()
	if got := out.String(); got != want {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("output differs from Doc.Embedded at byte %d: got %q want %q", i, got[i:min(i+80, len(got))], want[i:min(i+80, len(want))])
	}
	if got := rewriteChunks(t, NewJSWriter, d, in, 1, 3, 4093, 4099, 7, 65536); got != want {
		t.Fatal("odd chunk sizes change the output")
	}
}

// TestJSWindowEdge puts one origin URL at every offset around the point
// where the writer first writes out part of a long literal.
func TestJSWindowEdge(t *testing.T) {
	d := testDoc(t, "https://www.rferl.org/")
	for _, u := range []string{"https://www.rferl.org/p", `https:\/\/gdb.rferl.org\/p`, "//gdb.rferl.org/p"} {
		for off := window - maxPrefix - 40; off < window+8; off++ {
			content := strings.Repeat("a", off) + " " + u + strings.Repeat("b", 2*window)
			want := "x='" + d.Embedded(content) + "'"
			if want == "x='"+content+"'" {
				t.Fatalf("%s not rewritten by Embedded", u)
			}
			if got := rewriteChunks(t, NewJSWriter, d, []byte("x='"+content+"'"), 1000); got != want {
				t.Fatalf("URL %s at %d: got %q", u, off, got[max(0, off-10):off+40])
			}
		}
	}
}

func TestJSCloseKeepsWriterOpen(t *testing.T) {
	var b closeCounter
	w := NewJSWriter(&b, testDoc(t, "https://www.rferl.org/"))
	io.WriteString(w, `x="https://www.rferl.org/a`)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b.closed || b.String() != `x="/a` {
		t.Fatalf("closed %v, out %q", b.closed, b.String())
	}
}

// FuzzJS checks that the JS rewriter never panics, leaves scripts without
// an origin host alone, does not depend on how the input is cut, and
// rewrites a plain string literal as Doc.Embedded does.
func FuzzJS(f *testing.F) {
	for _, s := range []string{
		`var u = "https://www.rferl.org/a/1.html";`,
		"`https://www.rferl.org/a/${`//gdb.rferl.org/${y}`}.html`",
		`if(/"/.test(u))x='https:\/\/www.svoboda.org\/a'`,
		"a=b/2/'//gdb.rferl.org/x' // https://www.rferl.org\n/* */",
		`{"@context":"https://schema.org","url":"https://en.wikipedia.org/wiki/X"}`,
		"x='a\\\r\nb'", "`${ {a:1} }`", "return /[/]/g",
	} {
		f.Add(s, uint8(3))
	}
	m, err := NewMapper("www.rferl.org", testHosts)
	if err != nil {
		f.Fatal(err)
	}
	d := NewDoc(m, mustParse(f, "https://www.rferl.org/"))
	f.Fuzz(func(t *testing.T, s string, chunk uint8) {
		got := rewriteChunks(t, NewJSWriter, d, []byte(s))
		if c := rewriteChunks(t, NewJSWriter, d, []byte(s), 1+int(chunk)); c != got {
			t.Fatalf("chunks of %d: %q; whole: %q", 1+int(chunk), c, got)
		}
		if !hasOriginHost(m, s) && got != s {
			t.Fatalf("no origin host, but %q became %q", s, got)
		}
		if !strings.ContainsAny(s, "\"\\\r\n") {
			if lit, want := d.JS(`"`+s+`"`), `"`+d.Embedded(s)+`"`; lit != want {
				t.Fatalf("literal %q: got %q, want %q", s, lit, want)
			}
		}
	})
}

func BenchmarkJS(b *testing.B) {
	in := benchScript(b)
	d := testDoc(b, "https://www.rferl.org/")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		w := NewJSWriter(io.Discard, d)
		for off := 0; off < len(in); off += 32 << 10 {
			w.Write(in[off:min(off+32<<10, len(in))])
		}
		w.Close()
	}
}

// benchScript is about 1 MB of the fixtures' inline scripts and JSON-LD,
// with origin URLs in about one string in ten.
func benchScript(b *testing.B) []byte {
	files, err := filepath.Glob("testdata/text/*.js*")
	if err != nil || len(files) == 0 {
		b.Fatal(files, err)
	}
	var all []byte
	for _, f := range files {
		p, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		all = append(append(all, p...), '\n')
	}
	var out bytes.Buffer
	for i := 0; out.Len() < 1<<20; i++ {
		out.Write(all)
		out.WriteString("\nvar img = \"https://gdb.rferl.org/" + strings.Repeat("A", i%40) + ".jpg\", u = '//www.rferl.org/a/" + strings.Repeat("9", i%9) + ".html';\n")
	}
	return out.Bytes()
}

// hasOriginHost reports whether s mentions one of m's hosts in any case.
func hasOriginHost(m *Mapper, s string) bool {
	ls := strings.ToLower(s)
	for _, h := range m.Hosts() {
		if strings.Contains(ls, h) {
			return true
		}
	}
	return false
}

type countWriter struct{ bytes.Buffer }

type closeCounter struct {
	bytes.Buffer
	closed bool
}

func (c *closeCounter) Close() error { c.closed = true; return nil }
