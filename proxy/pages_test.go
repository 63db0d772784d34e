package proxy

import (
	"net/http"
	"strings"
	"testing"

	"zerkalo/proxy/fakeorigin"
)

func TestFooterAndErrorPages(t *testing.T) {
	te := startEdgeWith(t, pageHandler(samplePage), "www.svoboda.org", []string{"gdb.rferl.org"}, func(o *Options) {
		o.Footer = Footer("svoboda.org")
		o.MirrorLinks = func() []string { return []string{"https://m2.example"} }
	})
	_, body := te.get(t, "/a/1.html")
	want := Footer("svoboda.org") + "</body>"
	if !strings.Contains(string(body), want) || !strings.Contains(want, "Если этот адрес перестанет работать") {
		t.Errorf("page lacks the Russian footer before </body>:\n%s", body)
	}
	resp, page := te.get(t, "/_z/unknown.example/x")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(page), `lang="ru"`) ||
		!strings.Contains(string(page), `href="https://m2.example"`) || strings.Contains(string(page), "<script") {
		t.Errorf("not-found page: %d\n%s", resp.StatusCode, page)
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("error page lacks the CSP")
	}
	if err := te.origin.SetDown(fakeorigin.Refuse); err != nil {
		t.Fatal(err)
	}
	resp, page = te.get(t, "/a/never-seen.html")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(page), "Эта страница сейчас недоступна") {
		t.Errorf("origin down: %d\n%s", resp.StatusCode, page)
	}
}

// TestPageLanguages checks that each RFE/RL service's readers get the
// mirror's own words in its language, written in the right direction,
// and that the mirror-list page adds English below any other language.
func TestPageLanguages(t *testing.T) {
	for _, tc := range []struct {
		site, lang, dir, words string
	}{
		{"rferl.org", "en", "", "If this address stops working"},
		{"www.svoboda.org", "ru", "", "Если этот адрес перестанет работать"},
		{"krymr.com", "ru", "", "Если этот адрес перестанет работать"},
		{"www.radiosvoboda.org", "uk", "", "Якщо ця адреса перестане працювати"},
		{"www.svaboda.org", "be", "", "Калі гэты адрас перастане працаваць"},
		{"www.radiofarda.com", "fa", "rtl", "اگر این نشانی از کار افتاد"},
		{"notsvaboda.org", "en", "", "If this address stops working"},
	} {
		footer := Footer(tc.site)
		if !strings.Contains(footer, tc.words) || strings.Contains(footer, `dir="rtl"`) != (tc.dir == "rtl") {
			t.Errorf("%s: footer %s, want %q (dir %q)", tc.site, footer, tc.words, tc.dir)
		}
		var b strings.Builder
		if err := mirrorsPage.Execute(&b, newMirrorsPageData(tc.site, []string{"https://m2.example"})); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		open := `<html lang="` + tc.lang + `"`
		if tc.dir != "" {
			open += ` dir="` + tc.dir + `"`
		}
		if !strings.Contains(page, open+`>`) || !strings.Contains(page, "<h1>"+tc.words+"</h1>") ||
			!strings.Contains(page, `href="https://m2.example"`) {
			t.Errorf("%s: mirror page lacks %q or %q:\n%s", tc.site, open, tc.words, page)
		}
		if english := strings.Contains(page, `<p lang="en" dir="ltr">If this address stops working.`); english != (tc.lang != "en") {
			t.Errorf("%s: English lines shown %v, want %v", tc.site, english, tc.lang != "en")
		}
		m := siteMessages(tc.site)
		b.Reset()
		err := errorPage.Execute(&b, struct {
			messages
			Status, Message string
			Mirrors         []string
		}{m, "Not Found", m.NotFound, nil})
		if err != nil || !strings.Contains(b.String(), open+`>`) || !strings.Contains(b.String(), m.NotFound) {
			t.Errorf("%s: error page lacks %q: %v\n%s", tc.site, open, err, b.String())
		}
	}
}
