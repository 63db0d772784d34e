package mirrorlist

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	t1 = time.Date(2026, 2, 3, 4, 5, 6, 0, time.FixedZone("MSK", 3*3600))
)

func sampleList() List {
	return Build("www.RFERL.org", []Alternative{
		{URL: "https://m1.example", CreatedAt: t0},
		{URL: "https://m2.example/", CreatedAt: t0, UpdatedAt: t1},
		{URL: "https://rferlo2zxgv23tct66v45s5mecftol5vod3hf4rqbipfp46fqu2q56ad.onion", CreatedAt: t0},
		{URL: "https://m1.example", CreatedAt: t1}, // duplicate: dropped
	})
}

func TestBuild(t *testing.T) {
	l := sampleList()
	if l.Version != "2.0" || len(l.Sites) != 1 {
		t.Fatalf("Build = %+v", l)
	}
	s := l.Sites[0]
	if s.MainDomain != "rferl.org" {
		t.Errorf("main domain %q, want rferl.org", s.MainDomain)
	}
	want := []struct{ proto, typ, url string }{
		{"https", "mirror", "https://m1.example"},
		{"https", "mirror", "https://m2.example/"},
		{"tor", "eotk", "https://rferlo2zxgv23tct66v45s5mecftol5vod3hf4rqbipfp46fqu2q56ad.onion"},
	}
	if len(s.Alternatives) != len(want) {
		t.Fatalf("%d alternatives, want %d: %+v", len(s.Alternatives), len(want), s.Alternatives)
	}
	for i, w := range want {
		a := s.Alternatives[i]
		if a.Proto != w.proto || a.Type != w.typ || a.URL != w.url {
			t.Errorf("alternative %d = %s %s %s, want %s %s %s", i, a.Proto, a.Type, a.URL, w.proto, w.typ, w.url)
		}
	}
	if !s.Alternatives[0].UpdatedAt.Equal(t0) {
		t.Errorf("zero UpdatedAt became %v, want CreatedAt %v", s.Alternatives[0].UpdatedAt, t0)
	}
	if !s.Alternatives[1].UpdatedAt.Equal(t1) {
		t.Errorf("UpdatedAt %v, want %v", s.Alternatives[1].UpdatedAt, t1)
	}
}

func TestBuildKeepsExplicitKinds(t *testing.T) {
	l := Build("rferl.org", []Alternative{{Proto: "https", Type: "relay", URL: "https://r.example", CreatedAt: t0}})
	if a := l.Sites[0].Alternatives[0]; a.Type != "relay" || a.Proto != "https" {
		t.Errorf("got %s/%s, want https/relay", a.Proto, a.Type)
	}
}

func TestBuildEmptyEncodesEmptyArray(t *testing.T) {
	b, err := Build("rferl.org", nil).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":"2.0","sites":[{"main_domain":"rferl.org","available_alternatives":[]}]}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"www.rferl.org":   "rferl.org",
		"WWW.Rferl.Org.":  "rferl.org",
		"rferl.org":       "rferl.org",
		"www2.rferl.org":  "www2.rferl.org",
		" svoboda.org ":   "svoboda.org",
		"www.www.example": "www.example",
	} {
		if got := NormalizeDomain(in); got != want {
			t.Errorf("NormalizeDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	got, err := sampleList().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "rferl.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode differs from %s (run go test -update):\n%s", golden, got)
	}
	if !json.Valid(got) {
		t.Error("Encode wrote invalid JSON")
	}
}

func TestParseRoundTrip(t *testing.T) {
	l := sampleList()
	b, err := l.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Sites) != 1 || len(back.Sites[0].Alternatives) != 3 {
		t.Fatalf("Parse = %+v", back)
	}
	for i, a := range back.Sites[0].Alternatives {
		w := l.Sites[0].Alternatives[i]
		if a.Proto != w.Proto || a.Type != w.Type || a.URL != w.URL ||
			!a.CreatedAt.Equal(w.CreatedAt) || !a.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("alternative %d: got %+v, want %+v", i, a, w)
		}
	}
	var viaJSON List
	if err := json.Unmarshal(b, &viaJSON); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	if s, ok := viaJSON.Site("www.rferl.org"); !ok || len(s.Alternatives) != 3 {
		t.Errorf("Site(www.rferl.org) = %+v, %v", s, ok)
	}
	if _, ok := viaJSON.Site("svoboda.org"); ok {
		t.Error("Site(svoboda.org) found in a list without it")
	}
}

// TestParsePublishedForms reads a list written the way the published Bypass
// Censorship lists are: sorted keys, both timestamp forms they contain.
func TestParsePublishedForms(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "published-forms.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := l.Site("audio.rferl.org")
	if !ok || len(s.Alternatives) != 2 {
		t.Fatalf("audio.rferl.org: %+v %v", s, ok)
	}
	want := time.Date(2022, 5, 25, 15, 12, 38, 854240000, time.UTC)
	if a := s.Alternatives[0]; a.Proto != "tor" || a.Type != "eotk" || !a.CreatedAt.Equal(want) {
		t.Errorf("onion alternative = %+v, want tor/eotk created %v", a, want)
	}
	want = time.Date(2025, 8, 17, 16, 29, 3, 531579000, time.UTC)
	if a := s.Alternatives[1]; !a.CreatedAt.Equal(want) {
		t.Errorf("created_at %v, want %v", a.CreatedAt, want)
	}
	if _, ok := l.Site("rferl.org"); !ok {
		t.Error("rferl.org missing")
	}
}

func TestParseRejects(t *testing.T) {
	const alt = `{"proto":"https","type":"mirror","url":"https://m.example","created_at":"2026-01-02T03:04:05+00:00","updated_at":"2026-01-02 03:04:05"}`
	list := func(site string) string { return `{"version":"2.0","sites":[` + site + `]}` }
	site := func(alts string) string { return `{"main_domain":"rferl.org","available_alternatives":[` + alts + `]}` }
	ok := list(site(alt))
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"not JSON", `{"version":`, "unexpected EOF"},
		{"trailing data", ok + `{}`, "data after"},
		{"version 1", strings.Replace(ok, `"2.0"`, `"1.0"`, 1), `version "1.0"`},
		{"no version", `{"sites":[]}`, `version ""`},
		{"no sites", `{"version":"2.0"}`, "no sites"},
		{"unknown top field", strings.Replace(ok, `"version"`, `"extra":1,"version"`, 1), "unknown field"},
		{"unknown alt field", list(site(strings.Replace(alt, `"proto"`, `"note":"x","proto"`, 1))), "unknown field"},
		{"no alternatives", list(`{"main_domain":"rferl.org"}`), "no available_alternatives"},
		{"www domain", list(strings.Replace(site(alt), "rferl.org", "www.rferl.org", 1)), "not normalized"},
		{"domain with scheme", list(strings.Replace(site(alt), "rferl.org", "https://rferl.org", 1)), "not a host name"},
		{"duplicate domain", list(site(alt) + "," + site(alt)), "listed twice"},
		{"missing created_at", list(site(strings.Replace(alt, `"created_at":"2026-01-02T03:04:05+00:00",`, "", 1))), "created_at: missing"},
		{"bad timestamp", list(site(strings.Replace(alt, "2026-01-02T03:04:05+00:00", "yesterday", 1))), "not an ISO 8601"},
		{"relative url", list(site(strings.Replace(alt, "https://m.example", "/mirror", 1))), "not an absolute"},
		{"ftp url", list(site(strings.Replace(alt, "https://m.example", "ftp://m.example", 1))), "not an absolute"},
		{"empty proto", list(site(strings.Replace(alt, `"proto":"https"`, `"proto":""`, 1))), "proto"},
		{"odd type", list(site(strings.Replace(alt, `"type":"mirror"`, `"type":"Mirror X"`, 1))), "type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse accepted %s", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	for name, l := range map[string]List{
		"zero list":      {},
		"no created_at":  Build("rferl.org", []Alternative{{URL: "https://m.example"}}),
		"relative url":   Build("rferl.org", []Alternative{{URL: "m.example", CreatedAt: t0}}),
		"empty domain":   Build("", nil),
		"javascript url": Build("rferl.org", []Alternative{{URL: "javascript:alert(1)", CreatedAt: t0}}),
	} {
		if b, err := l.MarshalJSON(); err == nil {
			t.Errorf("%s: MarshalJSON = %s, want an error", name, b)
		}
		if err := l.Encode(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: Encode succeeded", name)
		}
	}
}
