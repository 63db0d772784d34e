package rewrite

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/url"
	"testing"
)

// testHosts are the secondary origin hosts of the tests; www.rferl.org is
// the primary site.
var testHosts = []string{"gdb.rferl.org", "www.svoboda.org", "docs.rferl.org", "pressroom.rferl.org"}

func testMapper(t testing.TB) *Mapper {
	t.Helper()
	m, err := NewMapper("www.rferl.org", testHosts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testDoc returns a Doc for a document fetched from base.
func testDoc(t testing.TB, base string) *Doc {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return NewDoc(testMapper(t), u)
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

type newWriter func(io.Writer, *Doc) io.WriteCloser

// rewriteChunks writes in to a new writer in the given chunk sizes (the
// last size repeats) and returns the output.
func rewriteChunks(t testing.TB, nw newWriter, d *Doc, in []byte, sizes ...int) string {
	t.Helper()
	var b bytes.Buffer
	w := nw(&b, d)
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(sizes) > 0 {
			n = min(n, sizes[min(i, len(sizes)-1)])
		}
		if k, err := w.Write(in[:n]); k != n || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", k, err, n)
		}
		in = in[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return b.String()
}

// rewriteAll checks that writing in at once, byte by byte and in random
// chunks gives the same output, and returns it.
func rewriteAll(t testing.TB, nw newWriter, d *Doc, in string) string {
	t.Helper()
	want := rewriteChunks(t, nw, d, []byte(in))
	if len(in) <= 1<<16 {
		if got := rewriteChunks(t, nw, d, []byte(in), 1); got != want {
			t.Fatalf("byte by byte:\n got %q\nwant %q", got, want)
		}
	}
	r := rand.New(rand.NewPCG(uint64(len(in)), 7))
	for range 3 {
		sizes := make([]int, 64)
		for i := range sizes {
			sizes[i] = 1 + r.IntN(max(1, len(in)/8+1))
		}
		sizes = append(sizes, 1+r.IntN(9000))
		if got := rewriteChunks(t, nw, d, []byte(in), sizes...); got != want {
			t.Fatalf("chunks %v:\n got %q\nwant %q", sizes[:4], got, want)
		}
	}
	return want
}

func TestDocURL(t *testing.T) {
	tests := []struct {
		base, in, want string
		abs            bool
	}{
		{"https://www.rferl.org/a/1.html", "https://www.rferl.org/a/2.html", "/a/2.html", false},
		{"https://www.rferl.org/", "http://www.rferl.org/a?x=1", "/a?x=1", false},
		{"https://www.rferl.org/", "//gdb.rferl.org/x.jpg", "/_z/gdb.rferl.org/x.jpg", false},
		{"https://www.rferl.org/", "HTTPS://GDB.RFERL.ORG/X.jpg", "/_z/gdb.rferl.org/X.jpg", false},
		{"https://www.rferl.org/", "https://gdb.rferl.org:443/x.jpg", "/_z/gdb.rferl.org/x.jpg", false},
		{"https://www.rferl.org/", "https://gdb.rferl.org:8443/x.jpg", "https://gdb.rferl.org:8443/x.jpg", false},
		{"https://www.rferl.org/", "https://www.rferl.org", "/", false},
		{"https://www.rferl.org/", "https://www.rferl.org?q", "/?q", false},
		{"https://www.rferl.org/", " https://www.svoboda.org/a/1.html\n", " /_z/www.svoboda.org/a/1.html\n", false},
		{"https://www.rferl.org/", "https://en.wikipedia.org/wiki/X", "https://en.wikipedia.org/wiki/X", false},
		{"https://www.rferl.org/", "https://www.rferl.org.evil.com/", "https://www.rferl.org.evil.com/", false},
		{"https://www.rferl.org/", "https://user@www.rferl.org/", "https://user@www.rferl.org/", false},
		{"https://www.rferl.org/", "/a/1.html", "/a/1.html", false},
		{"https://www.rferl.org/", "https://www.rferl.org//evil.com/x", "/.//evil.com/x", false},
		{"https://www.rferl.org/", "https://www.rferl.org/\\evil.com/x", "/./\\evil.com/x", false},
		{"https://www.rferl.org/", "https://gdb.rferl.org//x", "/_z/gdb.rferl.org//x", false},
		{"https://www.rferl.org/", "a/1.html", "a/1.html", false},
		{"https://gdb.rferl.org/css/x.css", "/img/a.png", "/_z/gdb.rferl.org/img/a.png", false},
		{"https://gdb.rferl.org/css/x.css", "img/a.png", "img/a.png", false},
		{"https://gdb.rferl.org/css/x.css", "#frag", "#frag", false},
		{"https://gdb.rferl.org/css/x.css", "data:image/png;base64,AAAA", "data:image/png;base64,AAAA", false},
		{"https://www.rferl.org/a/", "b.html", "https://mirror.example/a/b.html", true},
		{"https://www.rferl.org/a/", "/b.html", "https://mirror.example/b.html", true},
		{"https://www.rferl.org/a/", "https://gdb.rferl.org/x", "https://mirror.example/_z/gdb.rferl.org/x", true},
		{"https://www.rferl.org/a/", "mailto:x@rferl.org", "mailto:x@rferl.org", true},
		{"https://www.rferl.org/a/", "#top", "#top", true},
	}
	for _, tt := range tests {
		d := testDoc(t, tt.base)
		if tt.abs {
			d.Absolute = "https://mirror.example"
		}
		if got := d.URL(tt.in); got != tt.want {
			t.Errorf("base %s abs %v: URL(%q) = %q; want %q", tt.base, tt.abs, tt.in, got, tt.want)
		}
	}
}

func TestDocEmbedded(t *testing.T) {
	tests := []struct{ in, want string }{
		{`see https://www.rferl.org/a/1.html now`, `see /a/1.html now`},
		{`https:\/\/www.svoboda.org\/a\/1.html`, `\/_z\/www.svoboda.org\/a\/1.html`},
		{`"//gdb.rferl.org/x.jpg"`, `"/_z/gdb.rferl.org/x.jpg"`},
		{`HTTP://WWW.RFERL.ORG:443/A`, `/A`},
		{`https://www.rferl.org`, `/`},
		{`x=https://www.rferl.org?q=1`, `x=/?q=1`},
		{`a https://en.wikipedia.org/wiki/Rferl b`, `a https://en.wikipedia.org/wiki/Rferl b`},
		{`xhttps://www.rferl.org/`, `xhttps://www.rferl.org/`},
		{`/a/1.html and a/b`, `/a/1.html and a/b`},
		{`https://www.rferl.org.evil.com/`, `https://www.rferl.org.evil.com/`},
		{`1 https://gdb.rferl.org/a 2 https://www.rferl.org/b`, `1 /_z/gdb.rferl.org/a 2 /b`},
		{`https:\\www.rferl.org\a`, `\a`},
		{`https:\/\/www.rferl.org\/\/evil.com`, `\/.\/\/evil.com`},
	}
	d := testDoc(t, "https://www.rferl.org/")
	for _, tt := range tests {
		if got := d.Embedded(tt.in); got != tt.want {
			t.Errorf("Embedded(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	d.Absolute = "https://mirror.example"
	if got, want := d.Embedded(`<a href="https://gdb.rferl.org/x">`), `<a href="https://mirror.example/_z/gdb.rferl.org/x">`; got != want {
		t.Errorf("absolute Embedded = %q; want %q", got, want)
	}
}

func FuzzDocURL(f *testing.F) {
	for _, s := range []string{"https://www.rferl.org/a", "//gdb.rferl.org/x", "/img/a.png", "a.png",
		"HTTPS://WWW.SVOBODA.ORG:443/x?y#z", "https://evil.com/", "\\\\gdb.rferl.org\\x", " https://www.rferl.org "} {
		f.Add(s)
	}
	m, err := NewMapper("www.rferl.org", testHosts)
	if err != nil {
		f.Fatal(err)
	}
	base, _ := url.Parse("https://gdb.rferl.org/css/x.css")
	d := NewDoc(m, base)
	f.Fuzz(func(t *testing.T, s string) {
		out := d.URL(s)
		if out == s {
			return
		}
		// A rewritten reference is a path on the mirror, never a
		// reference to another host.
		a, b := trimSpace(out)
		v := out[a:b]
		if len(v) == 0 || v[0] != '/' || len(v) > 1 && isSlash(v[1]) {
			t.Fatalf("URL(%q) = %q: not a root-relative path", s, out)
		}
	})
}

// TestLocalOriginURL checks the shortcut of privacyAttr against classify:
// it says local only where classify does, and it takes the usual origin
// URLs.
func TestLocalOriginURL(t *testing.T) {
	d := htmlDoc(t, "www.rferl.org", htmlRFEHosts, "https://www.rferl.org/")
	for _, tc := range []struct {
		v    string
		fast bool // the shortcut must take it
	}{
		{"https://gdb.rferl.org/509AE2AB_w66_r1.png", true},
		{"HTTPS://www.rferl.org/a/1.html", true},
		{"http://www.rferl.org", true},
		{"//www.svoboda.org/a?x=1#y", true},
		{"https://www.rferl.org/a \t\n", true},
		{"https://www.rferl.org/b/ss/x?y=1", false}, // a beacon path
		{"https://www.rferl.org/B/SS/x", false},
		{"https://www.rferl.org/ns.html?id=gtm-1", false},
		{"https://www.rferl.org./a", false},
		{"https://WWW.rferl.org/a", false},
		{"https://www.rferl.org:443/a", false},
		{"https://u@www.rferl.org/a", false},
		{"https:\\\\www.rferl.org/a", false},
		{"https://www.rferl.org\\a", false},
		{"https://www.rferl.org.evil.com/a", false},
		{"https://evil.com/www.rferl.org", false},
		{"https://www.google-analytics.com/collect", false},
		{"https:///www.rferl.org", false},
		{"https://", false},
		{"//", false},
		{"/a/1.html", false},
		{"javascript:x", false},
		{"httpx://www.rferl.org/", false},
		{"https:/www.rferl.org/", false},
	} {
		checkPlainOrigin(t, newHTMLRewriter(nil, d, 0), tc.v)
		got := newHTMLRewriter(nil, d, 0).localOriginURL([]byte(tc.v))
		if got && d.classify(tc.v) != urlLocal {
			t.Errorf("localOriginURL(%q) = true, classify says %d", tc.v, d.classify(tc.v))
		}
		if got != tc.fast {
			t.Errorf("localOriginURL(%q) = %v, want %v", tc.v, got, tc.fast)
		}
	}
}

// FuzzLocalOriginURL checks that the shortcut of privacyAttr never says
// local where classify does not.
func FuzzLocalOriginURL(f *testing.F) {
	f.Add("https://gdb.rferl.org/509AE2AB_w66_r1.png")
	f.Add("//www.rferl.org/b/ss/x")
	f.Add("http://www.svoboda.org?x#y ")
	d := htmlDoc(f, "www.rferl.org", htmlRFEHosts, "https://www.rferl.org/")
	r := newHTMLRewriter(nil, d, 0) // kept: its last origin host too
	f.Fuzz(func(t *testing.T, v string) {
		if r.localOriginURL([]byte(v)) && d.classify(v) != urlLocal {
			t.Errorf("localOriginURL(%q) = true, classify says %d", v, d.classify(v))
		}
		checkPlainOrigin(t, r, v)
	})
}

// checkPlainOrigin checks that plainOrigin finds what originPrefix does.
func checkPlainOrigin(t *testing.T, r *htmlRewriter, v string) {
	n, o, ok := r.plainOrigin([]byte(v))
	if !ok {
		return
	}
	d := r.d
	host := o.root[len(HostPrefix):]
	wn, wroot, wok := d.originPrefix(v, 0)
	if !wok || n != wn || d.hostRoot(host) != wroot || o.tracker != (d.rules().Tracker(host) != "") {
		t.Errorf("plainOrigin(%q) = %d, %+v; originPrefix: %d, %q, %v", v, n, o, wn, wroot, wok)
	}
}
