package demo

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"text/template"
)

//go:embed site
var files embed.FS

// Content types.
const (
	typeHTML     = "text/html; charset=utf-8"
	typeCSS      = "text/css; charset=utf-8"
	typeJS       = "application/javascript; charset=utf-8"
	typeJSON     = "application/json; charset=utf-8"
	typeManifest = "application/manifest+json; charset=utf-8"
	typeRSS      = "application/rss+xml; charset=utf-8"
	typeXML      = "application/xml; charset=utf-8"
	typeSVG      = "image/svg+xml"
	typeM3U8     = "application/vnd.apple.mpegurl"
	typeTS       = "video/mp2t"
)

// The demo article on www.rferl.org.
const (
	articleID    = "28650466"
	articleSlug  = "russia-china-hit-back-after-us-criticizes-them-over-north-korea-crisis"
	ArticlePath  = "/a/" + articleSlug + "/" + articleID + ".html"
	articleImage = "0B5E8C3A-7B4F-4C1F-9E0B-5C1D2D7F7A11"
	videoID      = "3b1f0c6e-7d2a-4f0e-9a51-1c8e2f6d0a37"
	videoPoster  = "5C2D4E1F-0A3B-4C5D-8E6F-7A8B9C0D1E2F"

	// VOAArticlePath is the real path of the bundled voanews.com article.
	VOAArticlePath = "/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html"
)

// VideoPath is the path of the demo article's HLS master playlist on
// rfe-video-hls-ns.akamaized.net.
const VideoPath = "/pangeavideo/2017/07/3/37/" + videoID + "/master.m3u8"

// mustRead returns an embedded file; the files are part of the binary, so
// a missing one is a programming error.
func mustRead(name string) []byte {
	b, err := files.ReadFile("site/" + name)
	if err != nil {
		panic(fmt.Sprintf("demo: %v", err))
	}
	return b
}

// render executes the embedded template name with data.
func render(name string, data any) []byte {
	t := template.Must(template.New(name).Parse(string(mustRead(name))))
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		panic(fmt.Sprintf("demo: template %s: %v", name, err))
	}
	return buf.Bytes()
}

// article is the data of the article template. Text fields hold HTML.
type article struct {
	*site
	ID, Slug, URL        string
	Title, Lead, Caption string
	TitleJSON            string
	Paragraphs, Footer   []string
	ImageID              string
	VideoID, VideoPoster string
}

// buildArticle wraps the plain text of the 2017 RFE/RL story in Pangea-like
// markup. The text holds, one item a line: two navigation lines, the title,
// the photo caption (twice), the body paragraphs, then the footer, which
// starts at the line with the bullet "•".
func buildArticle(s *site, text string) []byte {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) < 6 {
		panic("demo: article text too short")
	}
	a := &article{
		site: s, ID: articleID, Slug: articleSlug,
		URL:     "https://" + s.Site + ArticlePath,
		Title:   html.EscapeString(lines[2]),
		Caption: html.EscapeString(lines[3]),
		ImageID: articleImage, VideoID: videoID, VideoPoster: videoPoster,
	}
	t, _ := json.Marshal(lines[2])
	a.TitleJSON = string(t)
	body := lines[5:]
	for i, l := range body {
		if strings.HasPrefix(l, "•") {
			for _, f := range body[i+1:] {
				a.Footer = append(a.Footer, html.EscapeString(f))
			}
			body = body[:i]
			break
		}
	}
	for _, l := range body {
		a.Paragraphs = append(a.Paragraphs, html.EscapeString(l))
	}
	a.Lead = a.Paragraphs[0]
	return render("article.html.tmpl", a)
}

// item is one story in the feed and the sitemap.
type item struct {
	Title, URL, Image, Date, ISODate string
}

// items returns the stories the feed and the sitemap of s list.
func items(s *site) []item {
	base := "https://" + s.Site
	switch s {
	case rferl:
		return []item{
			{"Russia, China Hit Back After U.S. Criticizes Them Over North Korea Crisis", base + ArticlePath, articleImage, "Mon, 31 Jul 2017 14:52:00 GMT", "2017-07-31"},
			{"Putin Expected To Sail To Fourth Term As Russians Vote", base + "/a/putin-expected-to-sail-to-fourth-term-as-russians-vote/29106245.html", "0A1B2C3D-0000-4000-8000-000000000001", "Sun, 18 Mar 2018 06:00:00 GMT", "2018-03-18"},
		}
	case svoboda:
		return []item{
			{"Еще 6 лет Путина", base + "/a/29107500.html", "0A1B2C3D-0000-4000-8000-000000000002", "Sun, 18 Mar 2018 20:00:00 GMT", "2018-03-18"},
		}
	default:
		return []item{
			{"America's child care crisis is holding back moms without college degrees", base + VOAArticlePath, "7C01456E-AFA3-4D09-A6AA-A6042A5159FA", "Sun, 28 Apr 2024 07:00:00 GMT", "2024-04-28"},
		}
	}
}

// feedData is the data of the feed and sitemap templates.
type feedData struct {
	*site
	Items []item
}
