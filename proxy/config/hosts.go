package config

import (
	"slices"
	"strings"
)

// A family is one broadcaster's network of origin hosts: its sites (the
// services a mirror serves as pages) and its asset hosts (images, static
// files, video, audio and documents that those sites load).
type family struct {
	name   string
	sites  []string
	assets []string
}

// families are the built-in origin host families. They are used when the
// configuration file does not set origin.hosts; a file that sets
// origin.hosts REPLACES the family entirely (origin.site is always added).
//
// Only the broadcaster's own public hosts belong here: never a CMS back end
// (such as rfe.pangea-cms.com) and never a third party (analytics, social
// networks, ad servers). Every host listed here can be fetched by the edge,
// so a host added here widens what the edge may be asked to fetch.
var families = []family{
	{
		name: "RFE/RL",
		sites: []string{
			// English service and its satellites.
			"www.rferl.org",
			"rferl.org",
			"pressroom.rferl.org",
			"www.rferl.mobi",
			"gandhara.rferl.org",
			// Russian-language services.
			"www.svoboda.org",
			"archive.svoboda.org",
			"www.svoboda.mobi",
			"www.currenttime.tv",
			"en.currenttime.tv",
			"www.sibreal.org",
			"www.idelreal.org",
			"www.severreal.org",
			"www.kavkazr.com",
			"www.factograph.info",
			// Other language services.
			"www.radiosvoboda.org",    // Ukrainian
			"www.krymr.com",           // Crimea
			"www.svaboda.org",         // Belarusian
			"www.azattyq.org",         // Kazakh
			"www.azattyk.org",         // Kyrgyz
			"www.ozodi.org",           // Tajik
			"www.ozodlik.org",         // Uzbek
			"www.azathabar.com",       // Turkmen
			"www.azatutyun.am",        // Armenian
			"www.azadliq.org",         // Azerbaijani
			"www.radiotavisupleba.ge", // Georgian
			"www.ekhokavkaza.com",     // Echo of the Caucasus
			"www.europalibera.org",    // Romanian, Moldovan
			"www.slobodnaevropa.org",  // Balkan
			"www.evropaelire.org",     // Albanian
			"www.radiofarda.com",      // Persian
			"www.azadiradio.com",      // Afghan
			"www.mashaalradio.com",    // Pashto (Pakistan)
			"www.radiomarsho.com",     // Chechen
			"www.azatliq.org",         // Tatar-Bashkir
			"www.tavisupleba.org",     // Georgian (old name)
		},
		assets: []string{
			"gdb.rferl.org",  // images
			"docs.rferl.org", // documents, files
			"rfe-video-ns.akamaized.net",
			"rfe-video-hls-ns.akamaized.net",
			"rfe-audio-ns.akamaized.net",
			"rfe-ingest.akamaized.net",
		},
	},
	{
		name: "VOA",
		sites: []string{
			"www.voanews.com",
			"learningenglish.voanews.com",
			"projects.voanews.com",
			"www.insidevoa.com",
			"www.voaafrica.com",
			"www.polygraph.info",
			"editorials.voa.gov",
		},
		assets: []string{
			"gdb.voanews.com",
			"av.voanews.com",
			"docs.voanews.eu",
			"voa-video-ns.akamaized.net",
			"voa-video-hls-ns.akamaized.net",
			"voa-audio-ns.akamaized.net",
			"voa-ingest.akamaized.net",
		},
	},
}

// DefaultHosts returns the built-in origin host family for a primary site,
// the site first. It is the value of origin.hosts when the configuration
// file does not set it; setting origin.hosts replaces it entirely.
//
//   - A site of RFE/RL's network (www.rferl.org, www.svoboda.org, …, or a
//     subdomain of one of them) gets the whole RFE/RL family: every sister
//     site and every asset and media host.
//   - A site of another known network (VOA: www.voanews.com, …) gets just
//     the site and that network's asset and media hosts.
//   - Any other site gets just itself.
//
// The site is matched case-insensitively and returned in lower case.
func DefaultHosts(site string) []string {
	site = strings.ToLower(strings.TrimSuffix(site, "."))
	out := []string{site}
	f := familyOf(site)
	if f == nil {
		return out
	}
	if f == &families[0] {
		out = appendNew(out, f.sites...)
	}
	return appendNew(out, f.assets...)
}

// familyOf returns the family that site is a member of, or a subdomain of
// a member of (ignoring a member's leading "www."), or nil.
func familyOf(site string) *family {
	for i := range families {
		f := &families[i]
		for _, list := range [][]string{f.sites, f.assets} {
			for _, h := range list {
				base := strings.TrimPrefix(h, "www.")
				if site == h || site == base || strings.HasSuffix(site, "."+base) {
					return f
				}
			}
		}
	}
	return nil
}

// appendNew appends to list each of hosts that it does not already hold.
func appendNew(list []string, hosts ...string) []string {
	for _, h := range hosts {
		if !slices.Contains(list, h) {
			list = append(list, h)
		}
	}
	return list
}
