package cache

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestFreshness(t *testing.T) {
	date := t0.Format(http.TimeFormat)
	p := Policy{StaleIfError: time.Hour, Override: map[string]time.Duration{"text/html": time.Minute}, Keyed: []string{"Origin"}}
	tests := []struct {
		name   string
		ctype  string
		status int
		h      http.Header
		// states at 0 s, 30 s, 90 s, 10 min and 2 h after storing; nil
		// means not storable.
		want []State
	}{
		{"max-age", "text/css", 200, http.Header{"Cache-Control": {"max-age=60"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"s-maxage beats max-age", "text/css", 200, http.Header{"Cache-Control": {"max-age=10, s-maxage=600"}},
			[]State{Fresh, Fresh, Fresh, StaleIfError, Expired}},
		{"max-age beats Expires", "text/css", 200, http.Header{"Cache-Control": {"max-age=60"}, "Date": {date},
			"Expires": {t0.Add(time.Hour).Format(http.TimeFormat)}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"Expires minus Date", "text/css", 200, http.Header{"Date": {date},
			"Expires": {t0.Add(5 * time.Minute).Format(http.TimeFormat)}},
			[]State{Fresh, Fresh, Fresh, StaleIfError, Expired}},
		{"invalid Expires is expired", "text/css", 200, http.Header{"Expires": {"0"}},
			[]State{StaleIfError, StaleIfError, StaleIfError, StaleIfError, Expired}},
		{"Age counts", "text/css", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"45"}},
			[]State{Fresh, StaleIfError, StaleIfError, StaleIfError, Expired}},
		{"no lifetime: no heuristic", "text/css", 200, http.Header{},
			[]State{StaleIfError, StaleIfError, StaleIfError, StaleIfError, Expired}},
		{"stale-while-revalidate", "text/css", 200, http.Header{"Cache-Control": {"max-age=60, stale-while-revalidate=300"}},
			[]State{Fresh, Fresh, Stale, StaleIfError, Expired}},
		{"must-revalidate forbids swr", "text/css", 200, http.Header{"Cache-Control": {"max-age=60, stale-while-revalidate=300, must-revalidate"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"origin's longer stale-if-error", "text/css", 200, http.Header{"Cache-Control": {"max-age=60, stale-if-error=86400"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, StaleIfError}},
		{"no-cache stored, revalidate", "text/css", 200, http.Header{"Cache-Control": {`no-cache="Set-Cookie", max-age=600`}},
			[]State{StaleIfError, StaleIfError, StaleIfError, StaleIfError, Expired}},
		{"override beats max-age and no-cache", "text/html; charset=utf-8", 200, http.Header{"Cache-Control": {"no-cache, max-age=0"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"no-store", "text/html", 200, http.Header{"Cache-Control": {"public, NO-STORE"}}, nil},
		{"private", "text/css", 200, http.Header{"Cache-Control": {`private="x", max-age=60`}}, nil},
		{"Vary: Accept-Encoding ok", "text/css", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"accept-encoding"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"Vary on a keyed header ok", "text/css", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept-Encoding, Origin"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"Vary: Cookie", "text/css", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept-Encoding", "Cookie"}}, nil},
		{"Vary: *", "text/css", 200, http.Header{"Vary": {"*"}}, nil},
		{"404 heuristically cacheable", "text/html", 404, http.Header{},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"302 without lifetime", "text/css", 302, http.Header{}, nil},
		{"302 with lifetime", "text/css", 302, http.Header{"Cache-Control": {"max-age=60"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
		{"206 never", "text/css", 206, http.Header{"Cache-Control": {"max-age=60"}}, nil},
		{"bad max-age means 0", "text/css", 200, http.Header{"Cache-Control": {"max-age=soon"}},
			[]State{StaleIfError, StaleIfError, StaleIfError, StaleIfError, Expired}},
		{"first max-age wins", "text/css", 200, http.Header{"Cache-Control": {"max-age=60", "max-age=6000"}},
			[]State{Fresh, Fresh, StaleIfError, StaleIfError, Expired}},
	}
	at := []time.Duration{0, 30 * time.Second, 90 * time.Second, 10 * time.Minute, 2 * time.Hour}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h.Clone()
			h.Set("Content-Type", tt.ctype)
			h.Set("Set-Cookie", "a=b")
			m, err := p.Meta("k", "", tt.status, h, t0)
			if tt.want == nil {
				if !errors.Is(err, ErrNotStorable) {
					t.Fatalf("stored: %+v, %v", m, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Header.Get("Set-Cookie") != "" || m.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("kept headers %v", m.Header)
			}
			for i, d := range at {
				if got := m.Freshness(t0.Add(d)); got != tt.want[i] {
					t.Errorf("after %v: %v, want %v", d, got, tt.want[i])
				}
			}
		})
	}
}

func TestRevalidated(t *testing.T) {
	p := DefaultPolicy()
	old, err := p.Meta("k", "", 200, http.Header{"Cache-Control": {"max-age=60, stale-while-revalidate=30"},
		"Content-Type": {"text/css"}, "Etag": {`"a"`}, "Last-Modified": {"Sat, 01 Mar 2025 10:00:00 GMT"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	// A 304 with no freshness information keeps the old lifetime and validators.
	m, err := p.Revalidated(&old, http.Header{"Date": {later.Format(http.TimeFormat)}}, later)
	if err != nil || m.Lifetime != time.Minute || m.StaleWhileRevalidate != 30*time.Second ||
		m.ETag != `"a"` || m.LastModified != old.LastModified || m.Freshness(later.Add(time.Second)) != Fresh {
		t.Fatalf("%+v %v", m, err)
	}
	m, err = p.Revalidated(&old, http.Header{"Cache-Control": {"max-age=5"}, "Etag": {`"b"`}}, later)
	if err != nil || m.Lifetime != 5*time.Second || m.ETag != `"b"` || m.Header.Get("Content-Type") != "text/css" {
		t.Fatalf("%+v %v", m, err)
	}
	if m.TTL(later.Add(2*time.Second)) != 3*time.Second {
		t.Errorf("TTL %v", m.TTL(later.Add(2*time.Second)))
	}
	if _, err := p.Revalidated(&old, http.Header{"Cache-Control": {"no-store"}}, later); !errors.Is(err, ErrNotStorable) {
		t.Errorf("no-store on 304: %v", err)
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://www.rferl.org", "https://www.rferl.org/"},
		{"HTTPS://WWW.RFERL.ORG:443/a/b.html#top", "https://www.rferl.org/a/b.html"},
		{"http://www.rferl.org:80/", "http://www.rferl.org/"},
		{"http://www.rferl.org:443/", "http://www.rferl.org:443/"},
		{"https://www.rferl.org/?nocache=1", "https://www.rferl.org/"},
		{"https://www.rferl.org/a?utm_source=x&utm_MEDIUM=y&fbclid=1&gclid=2&yclid=3&_ga=4&mc_cid=5&mc_eid=6&p=2", "https://www.rferl.org/a?p=2"},
		{"https://www.rferl.org/loader.b?v=abc&av=7.22.0.0&cb=83", "https://www.rferl.org/loader.b?av=7.22.0.0&cb=83&v=abc"},
		{"https://www.rferl.org/conf.js?x=83", "https://www.rferl.org/conf.js?x=83"},
		{"https://www.rferl.org/s?&&b=2&a=1&b=1&", "https://www.rferl.org/s?a=1&b=2&b=1"},
		{"https://www.rferl.org/s?q=%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8+x", "https://www.rferl.org/s?q=%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8+x"},
		{"https://www.rferl.org/s?%6Eocache=1&z", "https://www.rferl.org/s?z"},
		{"https://user:pw@www.rferl.org/a%2Fb", "https://www.rferl.org/a%2Fb"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Key(u); got != tt.want {
			t.Errorf("Key(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := StripQuery("nocache=1&cb=83&utm_campaign=x&v=1"); got != "cb=83&v=1" {
		t.Errorf("StripQuery = %q", got)
	}
}
