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
