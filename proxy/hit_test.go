package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"zerkalo/proxy/demo"
)

// TestHitHeaders: a hit carries the stored headers, the policy's, a
// Cache-Control naming the seconds left, a current Date, and the TCP
// wrapper's Alt-Svc and HSTS; the shared values reach the reader intact
// over many hits.
func TestHitHeaders(t *testing.T) {
	te := startEdgeWith(t, &cachedPage{cacheControl: "max-age=300"}, "www.rferl.org", []string{"www.svoboda.org"}, withCache(t))
	te.server.Config.Handler = advertiseHTTP3(te.server.Config.Handler)
	te.get(t, "/a/1.html", "Accept-Encoding", "gzip")
	for i := range 3 {
		before := time.Now().Truncate(time.Second)
		resp, _ := te.get(t, "/a/1.html", "Accept-Encoding", "gzip")
		h := resp.Header
		if h.Get("X-Cache") != cacheHit || h.Get("Content-Encoding") != "gzip" {
			t.Fatalf("hit %d: X-Cache %q, Content-Encoding %q", i, h.Get("X-Cache"), h.Get("Content-Encoding"))
		}
		age, ok := strings.CutPrefix(h.Get("Cache-Control"), "public, max-age=")
		if n, err := strconv.Atoi(age); !ok || err != nil || n < 290 || n > 300 {
			t.Errorf("hit %d: Cache-Control %q", i, h.Get("Cache-Control"))
		}
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil || date.Before(before) || date.After(time.Now()) {
			t.Errorf("hit %d: Date %q (%v), want between %v and now", i, h.Get("Date"), err, before)
		}
		for k, want := range map[string]string{
			"Alt-Svc":                   `h3=":443"; ma=86400`,
			"Strict-Transport-Security": HSTS,
			"Content-Security-Policy":   ContentSecurityPolicy,
			"Vary":                      "Accept-Encoding",
		} {
			if got := h.Values(k); len(got) != 1 || got[0] != want {
				t.Errorf("hit %d: %s = %q, want %q", i, k, got, want)
			}
		}
		if i == 1 {
			time.Sleep(1100 * time.Millisecond) // the next hit is in another second
		}
	}
}

// TestHitCacheControlFollowsTTL: the Cache-Control value made once per
// second names the seconds left whatever order the hits come in.
func TestHitCacheControlFollowsTTL(t *testing.T) {
	var pre hitHeaders
	for _, ttl := range []time.Duration{300 * time.Second, 299*time.Second + 900*time.Millisecond, 299 * time.Second, 300 * time.Second, 0} {
		got := pre.cacheControl(ttl)
		want := "public, max-age=" + strconv.Itoa(int(ttl.Seconds()))
		if len(got) != 1 || got[0] != want || cap(got) != 1 {
			t.Errorf("ttl %v: %q (cap %d), want [%q]", ttl, got, cap(got), want)
		}
	}
}

// TestHTTPDate: the shared Date value is the second asked for.
func TestHTTPDate(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	for _, now := range []time.Time{t0, t0.Add(400 * time.Millisecond), t0.Add(time.Second), t0.Add(-time.Hour), t0.In(time.FixedZone("X", 3600))} {
		got := httpDate(now)
		if want := now.UTC().Format(http.TimeFormat); len(got) != 1 || got[0] != want || cap(got) != 1 {
			t.Errorf("%v: %q, want [%q]", now, got, want)
		}
	}
}

// TestAdvertiseHTTP3: Alt-Svc names the port of Host (443 without one),
// whatever order the ports come in; HSTS goes with it; an Add by the
// handler does not change what the next response gets.
func TestAdvertiseHTTP3(t *testing.T) {
	h := advertiseHTTP3(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Alt-Svc", "clear")
	}))
	for _, tt := range []struct{ host, port string }{
		{"mirror.test", "443"},
		{"mirror.test:8443", "8443"},
		{"mirror.test:8443", "8443"},
		{"[::1]:9443", "9443"},
		{"[::1]", "443"},
		{"mirror.test:", "443"},
		{"a:b:c", "443"},
		{"mirror.test", "443"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		want := []string{`h3=":` + tt.port + `"; ma=86400`, "clear"}
		if got := w.Header().Values("Alt-Svc"); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Host %q: Alt-Svc %q, want %q", tt.host, got, want)
		}
		if got := w.Header().Get("Strict-Transport-Security"); got != HSTS {
			t.Errorf("Host %q: HSTS %q", tt.host, got)
		}
	}
}

// TestHitBodyOverHTTP2: a hit on a body of several HTTP/2 pieces (the
// 106 KB front page, and its 20 KB gzip copy) reaches the reader whole.
func TestHitBodyOverHTTP2(t *testing.T) {
	withStore := withCache(t)
	te := startEdgeWith(t, demo.Handler(), demo.Site, demo.Hosts(demo.Site), func(o *Options) {
		withStore(o)
		o.CachePolicy.Override = map[string]time.Duration{"text/html": time.Hour}
	})
	for _, enc := range []string{"identity", "gzip"} {
		miss, want := te.get(t, "/", "Accept-Encoding", enc)
		if miss.ProtoMajor != 2 || len(want) <= h2Chunk {
			t.Fatalf("%s: %s, %d bytes: not a test of pieces", enc, miss.Proto, len(want))
		}
		compared := false
		for i := 0; i < 100 && !compared; i++ { // the gzip copy is made in the background: a few ms
			resp, body := te.get(t, "/", "Accept-Encoding", enc)
			if resp.Header.Get("X-Cache") != cacheHit {
				t.Fatalf("%s: X-Cache %q", enc, resp.Header.Get("X-Cache"))
			}
			if resp.ContentLength == int64(len(body)) && !strings.HasPrefix(resp.Header.Get("ETag"), "W/") {
				if enc == "gzip" {
					body, want = []byte(decodeForTest(t, "gzip", body)), []byte(decodeForTest(t, "gzip", want))
				}
				if string(body) != string(want) {
					t.Fatalf("%s: hit of %d bytes differs from the miss's %d", enc, len(body), len(want))
				}
				compared = true
				continue
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !compared {
			t.Errorf("%s: no hit from the stored copy after 2 s", enc)
		}
	}
}

// TestWriteBody: over HTTP/2 a body goes in pieces of h2Chunk, the last
// one whatever is left; over HTTP/1.1 in one Write.
func TestWriteBody(t *testing.T) {
	data := []byte(strings.Repeat("x", 2*h2Chunk+100))
	for _, tt := range []struct {
		major int
		n     int
		want  []int
	}{
		{2, len(data), []int{h2Chunk, h2Chunk, 100}},
		{2, h2Chunk, []int{h2Chunk}},
		{2, h2Chunk + 1, []int{h2Chunk, 1}},
		{2, 0, []int{0}},
		{1, len(data), []int{len(data)}},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.ProtoMajor = tt.major
		w := &writeSizes{ResponseRecorder: httptest.NewRecorder()}
		writeBody(w, r, data[:tt.n])
		if fmt.Sprint(w.sizes) != fmt.Sprint(tt.want) || w.Body.String() != string(data[:tt.n]) {
			t.Errorf("HTTP/%d, %d bytes: writes %v, want %v", tt.major, tt.n, w.sizes, tt.want)
		}
	}
}

type writeSizes struct {
	*httptest.ResponseRecorder
	sizes []int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.ResponseRecorder.Write(p)
}
