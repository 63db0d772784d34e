package rewrite

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// htmlSeeds are small snippets in the style of the fixture pages.
var htmlSeeds = []string{
	`<a href="https://www.rferl.org/a/putin/29105971.html" class="img-wrap">x</a>`,
	`<img data-src="https://gdb.rferl.org/509AE2AB-F926-4852-8166-DF4E02C690D3_w66_r1.png" src="">`,
	`<img src="//gdb.rferl.org/3441E68D-3737-485F-8E3A-8E64BF3C1D04_w80.jpg" alt="">`,
	`<link href="https://www.rferl.org/" rel="canonical" /><meta content="https://gdb.rferl.org/a.jpg" property="og:image" />`,
	`<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-WXZBPZ" height="0" width="0"></iframe></noscript>`,
	`<noscript><img style="position: absolute" src="https://www.rferl.org/b/ss/x?g=1&amp;c=2" border="0" width="1" height="1" /></noscript>`,
	`<style>.x{background:url('//gdb.rferl.org/B81FD519_w282.jpg')no-repeat}</style>`,
	`<script type="application/ld+json">{"url":"https://www.rferl.org/a/1.html"}</script>`,
	`<script>var bar_data = {"apiUrl": "http://rfe.pangea-cms.com/x"};</script><p>`,
	`<!--[if lt IE 9]><script src="https://www.rferl.org/h.js"></script><![endif]--><a href=/x>`,
	`<base href="https://www.svoboda.org/a/"><a href="/b">b</a><img src=c.jpg>`,
	`<meta http-equiv="refresh" content="5; url=https://www.rferl.org/">`,
	`<a class="flexible-iframe" data-iframe="true" data-layout="5" href="/a/russian-echo-widget/27914622.html?layout=5">`,
	`<iframe srcdoc="<a href='https://www.rferl.org/x'>x</a>"></iframe>`,
	`<svg><image xlink:href="https://docs.rferl.org/i.svg"/></svg><!DOCTYPE html><? x ?></ y>`,
	`<div style="background-image: url(https://gdb.rferl.org/4109E965.jpg)" onclick="go('https://www.rferl.org/')">`,
}

// FuzzHTMLTokens checks that the rewriter's tokens end where those of
// golang.org/x/net/html's Tokenizer do.
func FuzzHTMLTokens(f *testing.F) {
	for _, s := range htmlSeeds {
		f.Add(s)
	}
	f.Add("<a b='>' c=\"d>\" e=f/>g</a x='>'></>x</ 1>y<!-->z<!--->a<!-- --!> b --> c<!x>d<?y>e")
	f.Add("<textarea><b></textarea ><title>a</title/><xmp><i></xmp\t>")
	f.Fuzz(func(t *testing.T, in string) {
		if rawTextHTML(in) {
			return // the rewriter's raw-text rules are checked elsewhere
		}
		got := ourTokens(in)
		want := xnetTokens(in)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("tokens of %q:\n got %q\nwant %q", in, got, want)
		}
	})
}

// rawTextHTML reports whether in has elements whose content the rewriter
// reads by rules other than the Tokenizer's (script escapes, noscript).
func rawTextHTML(in string) bool {
	l := strings.ToLower(in)
	return strings.Contains(l, "<script") || strings.Contains(l, "<noscript") ||
		strings.Contains(l, "<style") || strings.Contains(l, "<plaintext")
}

// ourTokens splits in with nextToken, merging adjacent text and feeding
// raw text elements' content as text, like the rewriter does.
func ourTokens(in string) []string {
	var toks []string
	text := ""
	data := []byte(in)
	for len(data) > 0 {
		kind, n := nextToken(data, true)
		tok := string(data[:n])
		data = data[n:]
		if kind == tokText {
			text += tok
			continue
		}
		if text != "" {
			toks = append(toks, text)
			text = ""
		}
		toks = append(toks, tok)
		if kind == tokStart {
			name, _ := tagName([]byte(tok))
			if tag := knownTag(name); tag == "title" || tag == "textarea" || tag == "iframe" ||
				tag == "noembed" || tag == "noframes" || tag == "xmp" {
				n, _ := scanRawText(data, tag, true)
				text += string(data[:n])
				data = data[n:]
			}
		}
	}
	if text != "" {
		toks = append(toks, text)
	}
	return toks
}

// xnetTokens splits in with the Tokenizer, merging adjacent text.
func xnetTokens(in string) []string {
	var toks []string
	text := ""
	z := html.NewTokenizer(strings.NewReader(in))
	for {
		tt := z.Next()
		raw := string(z.Raw())
		if tt == html.TextToken {
			text += raw
			continue
		}
		if text != "" {
			toks = append(toks, text)
			text = ""
		}
		if tt == html.ErrorToken {
			if raw != "" {
				toks = append(toks, raw) // an unfinished tag at the end
			}
			return toks
		}
		toks = append(toks, raw)
	}
}

// FuzzHTML checks that the rewriter never fails on a document it can hold,
// that chunked input gives the same output, and that a well-formed
// document comes out with no origin URL in an href or src attribute.
func FuzzHTML(f *testing.F) {
	for _, s := range htmlSeeds {
		f.Add(s)
	}
	for _, p := range fixturePages(f) {
		page := readTestdata(f, p.file)
		for i := 0; i+2000 <= len(page); i += len(page) / 5 {
			f.Add(string(page[i : i+2000]))
		}
	}
	d := rferlDoc(f)
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		if err := RewriteHTML(&out, strings.NewReader(in), d); err != nil {
			t.Fatalf("RewriteHTML(%q): %v", in, err)
		}
		var chunked bytes.Buffer
		w := NewHTMLWriter(&chunked, d)
		for i := 0; i < len(in); i += 3 {
			w.Write([]byte(in[i:min(i+3, len(in))]))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if chunked.String() != out.String() {
			t.Fatalf("chunked output differs for %q:\n%q\n%q", in, chunked.String(), out.String())
		}
		if !wellFormed(in) {
			return
		}
		root, err := html.Parse(&out)
		if err != nil {
			t.Fatal(err)
		}
		for n := range root.Descendants() {
			for _, a := range n.Attr {
				if a.Namespace == "" && (a.Key == "href" || a.Key == "src") && d.URL(a.Val) != a.Val {
					t.Errorf("input %q\noutput %q\n<%s %s=%q> keeps an origin URL", in, out.String(), n.Data, a.Key, a.Val)
				}
			}
		}
	})
}

// wellFormed reports whether in avoids what the rewriter's token view of a
// document and a browser's tree may disagree on: invalid UTF-8, NUL,
// control bytes, foreign content, script escapes and unfinished markup.
func wellFormed(in string) bool {
	if !utf8.ValidString(in) || strings.ContainsAny(in, "\x00\r\f\t\v\b") {
		return false
	}
	l := strings.ToLower(in)
	for _, bad := range []string{"<svg", "<math", "<!--"} {
		if strings.Contains(l, bad) {
			return false
		}
	}
	last := strings.LastIndexByte(in, '<')
	return last < 0 || strings.IndexByte(in[last:], '>') >= 0
}

// FuzzHTMLScript checks where script content ends: the same whether the
// input comes at once or a byte at a time, and where the Tokenizer ends it
// (but for one place where the Tokenizer leaves the HTML standard: a '<'
// that starts nothing in an escaped script).
func FuzzHTMLScript(f *testing.F) {
	for _, s := range []string{
		"var a = '</scrip'; b < c</script>",
		"<!-- document.write('<script>x</script>') --></script>",
		"<!--<script>--></script>x</script>",
		"<!-- a --!> <SCRIPT/> </script\t-->b</script >",
		"x<!-->y</script>",
		"<!--<1<script></script>x</script>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		whole := scriptEnd(content, len(content)+1)
		if bytewise := scriptEnd(content, 1); bytewise != whole {
			t.Fatalf("content %q ends at %d read at once, at %d read bytewise", content, whole, bytewise)
		}
		if i := strings.Index(content, "<!--"); i >= 0 {
			for j := i + 1; j < len(content); j++ {
				if content[j] == '<' && (j+1 >= len(content) || !isLetter(content[j+1]) && content[j+1] != '/') {
					return // the Tokenizer's quirk
				}
			}
		}
		z := html.NewTokenizer(strings.NewReader("<script>" + content))
		z.Next()
		want := 0
		if z.Next() == html.TextToken {
			want = len(z.Raw())
		}
		if whole != want {
			t.Errorf("content %q: script ends at %d, the Tokenizer says %d", content, whole, want)
		}
	})
}

// scriptEnd returns the length of the script content at the start of
// content, read in chunks of the given size.
func scriptEnd(content string, chunk int) int {
	s := &source{r: &chunkReader{s: content, n: chunk}}
	n, _ := io.Copy(io.Discard, &rawTextReader{s: s, tag: "script"})
	return int(n)
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p, c.s[:min(c.n, len(c.s))])
	c.s = c.s[n:]
	return n, nil
}
