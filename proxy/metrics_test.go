package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"zerkalo/proxy/fakeorigin"
)

func TestMetricsCountWithoutReaderDetails(t *testing.T) {
	te := startEdge(t, pageHandler(samplePage), nil)
	te.get(t, "/a/1.html?secret=1")
	te.get(t, "/a/1.html")
	te.origin.SetDown(fakeorigin.Refuse)
	// A pooled connection would fail another way (reset, EOF); a new one
	// is refused.
	te.edge.opts.Transport.(*http.Transport).CloseIdleConnections()
	te.get(t, "/down")
	m := te.edge.opts.Metrics
	admin := AdminHandler(m, func() bool { return true })
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`zerkalo_requests_total{code="200",proto="HTTP/2.0"} 2`,
		`zerkalo_requests_total{code="502",proto="HTTP/2.0"} 1`,
		`zerkalo_origin_errors_total{reason="refused"} 1`,
		`zerkalo_rewrite_seconds_count{kind="html"} 2`,
		`zerkalo_origin_response_seconds_count{outcome="ok"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"127.0.0.1", "secret", "/a/1.html", mirrorName} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics contain %q", leak)
		}
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/nothing": 404} {
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s: %d, want %d", path, w.Code, want)
		}
	}
	notReady := AdminHandler(m, func() bool { return false })
	w = httptest.NewRecorder()
	notReady.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz when not ready: %d", w.Code)
	}
}
