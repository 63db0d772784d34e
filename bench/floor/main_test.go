package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zerkalo/proxy/fakeorigin"
)

// TestFetcher: a miss is the origin's body for the same path and query,
// gzipped, fetched over TLS from the pinned address.
func TestFetcher(t *testing.T) {
	origin, err := fakeorigin.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>"+r.Host+" "+r.URL.RequestURI()+" "+r.Proto+"</p>")
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer origin.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := origin.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	for _, http2 := range []bool{false, true} {
		f, err := newFetcher(origin.Addr(), ca, "www.rferl.org", http2)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, httptest.NewRequest("GET", "https://mirror.test/a/1.html?zb=7", nil))
		body := gunzip(t, rec)
		proto := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[http2]
		if want := "<p>www.rferl.org /a/1.html?zb=7 " + proto + "</p>"; body != want || rec.Code != 200 {
			t.Errorf("http2 %v: %d %q, want %q", http2, rec.Code, body, want)
		}
	}
}

// TestFiles: a hit is the bytes of FILE.gz for /FILE, and of
// index.html.gz for a folder; nothing else is served.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		io.WriteString(zw, content)
		zw.Close()
		f.Close()
	}
	write("index.html.gz", "front")
	write("a/1.html.gz", "article")
	os.WriteFile(filepath.Join(dir, "a/1.html"), []byte("not served"), 0o644)
	files, err := loadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/": "front", "/a/1.html": "article"} {
		rec := httptest.NewRecorder()
		files.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := gunzip(t, rec); got != want || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	rec := httptest.NewRecorder()
	files.ServeHTTP(rec, httptest.NewRequest("GET", "/a/2.html", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown path: %d", rec.Code)
	}
	if _, err := loadFiles(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .gz file") {
		t.Errorf("empty folder: %v", err)
	}
}

func gunzip(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("%d %q: %v", rec.Code, rec.Body.String(), err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
