package config

import (
	"slices"
	"testing"
)

// rferlFamily is the RFE/RL host family as the brief lists it.
var rferlFamily = []string{
	"www.rferl.org", "rferl.org", "gdb.rferl.org", "docs.rferl.org",
	"pressroom.rferl.org", "www.rferl.mobi", "gandhara.rferl.org",
	"rfe-video-ns.akamaized.net", "rfe-video-hls-ns.akamaized.net",
	"rfe-audio-ns.akamaized.net", "rfe-ingest.akamaized.net",
	"www.svoboda.org", "archive.svoboda.org", "www.svoboda.mobi",
	"www.currenttime.tv", "en.currenttime.tv", "www.sibreal.org",
	"www.idelreal.org", "www.severreal.org", "www.kavkazr.com",
	"www.factograph.info", "www.radiosvoboda.org", "www.krymr.com",
	"www.svaboda.org", "www.azattyq.org", "www.azattyk.org", "www.ozodi.org",
	"www.ozodlik.org", "www.azathabar.com", "www.azatutyun.am",
	"www.azadliq.org", "www.radiotavisupleba.ge", "www.ekhokavkaza.com",
	"www.europalibera.org", "www.slobodnaevropa.org", "www.evropaelire.org",
	"www.radiofarda.com", "www.azadiradio.com", "www.mashaalradio.com",
	"www.radiomarsho.com", "www.azatliq.org", "www.tavisupleba.org",
}

var voaAssets = []string{
	"gdb.voanews.com", "av.voanews.com", "voa-video-ns.akamaized.net",
	"voa-video-hls-ns.akamaized.net", "voa-audio-ns.akamaized.net",
	"voa-ingest.akamaized.net", "docs.voanews.eu",
}

func TestDefaultHostsRFERL(t *testing.T) {
	for _, site := range []string{"www.rferl.org", "www.svoboda.org", "WWW.KRYMR.COM", "ru.krymr.com"} {
		got := DefaultHosts(site)
		if want := lowerASCII(site); got[0] != want {
			t.Errorf("DefaultHosts(%q)[0] = %q, want the site", site, got[0])
		}
		for _, h := range rferlFamily {
			if !slices.Contains(got, h) {
				t.Errorf("DefaultHosts(%q) lacks %q", site, h)
			}
		}
		checkClean(t, site, got)
		if slices.ContainsFunc(got, func(h string) bool { return slices.Contains(voaAssets, h) }) {
			t.Errorf("DefaultHosts(%q) holds VOA hosts", site)
		}
	}
}

func TestDefaultHostsOtherNetworks(t *testing.T) {
	tests := []struct {
		site string
		want []string
	}{
		{"www.voanews.com", append([]string{"www.voanews.com"}, voaAssets...)},
		{"learningenglish.voanews.com", append([]string{"learningenglish.voanews.com"}, voaAssets...)},
		{"www.polygraph.info", append([]string{"www.polygraph.info"}, voaAssets...)},
		{"example.org", []string{"example.org"}},
		{"origin.test", []string{"origin.test"}},
	}
	for _, tt := range tests {
		got := DefaultHosts(tt.site)
		if !sameSet(got, tt.want) || got[0] != tt.site {
			t.Errorf("DefaultHosts(%q) = %q, want %q (site first)", tt.site, got, tt.want)
		}
		checkClean(t, tt.site, got)
	}
}

// checkClean checks that a host list has no duplicates, only valid host
// names, and no CMS back end.
func checkClean(t *testing.T, site string, hosts []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			t.Errorf("DefaultHosts(%q): %q twice", site, h)
		}
		seen[h] = true
		if err := checkHostName(h); err != nil {
			t.Errorf("DefaultHosts(%q): %q: %v", site, h, err)
		}
		if h == "rfe.pangea-cms.com" {
			t.Errorf("DefaultHosts(%q) holds the CMS back end", site)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
