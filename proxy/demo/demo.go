// Package demo is the bundled sample RFE/RL family site: real Pangea pages
// (the rferl.org and svoboda.org home pages, a voanews.com article, an
// rferl.org article built from its text) and small stand-ins for every asset,
// feed, partial and media playlist they reference. `zerkalo serve --demo`
// serves it through proxy/fakeorigin, and the test suites of other packages
// use it as their origin.
//
// Bodies are built and compressed once, when Handler is first called.
package demo

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Site is the primary site of the demo, served at the mirror's root.
const Site = "www.rferl.org"

// A site holds what templates need to know about one origin site.
type site struct {
	Site    string // the site's own host: www.rferl.org
	Static  string // its image host: gdb.rferl.org
	HLS     string // its video host, or ""
	Service string // Pangea service code in asset paths: RFE, VOA
	Brand   string
}

var (
	rferl   = &site{Site: "www.rferl.org", Static: "gdb.rferl.org", HLS: "rfe-video-hls-ns.akamaized.net", Service: "RFE", Brand: "RFE/RL"}
	svoboda = &site{Site: "www.svoboda.org", Static: "gdb.rferl.org", HLS: "rfe-video-hls-ns.akamaized.net", Service: "RFE", Brand: "Радио Свобода"}
	voa     = &site{Site: "www.voanews.com", Static: "gdb.voanews.com", Service: "VOA", Brand: "Voice of America"}
)

// role is what a host is in the demo.
type role int

const (
	roleMain   role = iota // a site with pages
	roleStatic             // images only
	roleHLS                // video playlists and segments
	roleSister             // a sister site: one generic page
)

type hostInfo struct {
	role role
	site *site // the site it belongs to or links back to
}

// hosts maps every host the demo answers for to its role.
var hosts = map[string]hostInfo{
	"www.rferl.org":                  {roleMain, rferl},
	"www.svoboda.org":                {roleMain, svoboda},
	"www.voanews.com":                {roleMain, voa},
	"gdb.rferl.org":                  {roleStatic, rferl},
	"gdb.voanews.com":                {roleStatic, voa},
	"rfe-video-hls-ns.akamaized.net": {roleHLS, rferl},
	"docs.rferl.org":                 {roleSister, rferl},
	"pressroom.rferl.org":            {roleSister, rferl},
	"www.rferl.mobi":                 {roleSister, rferl},
	"www.currenttime.tv":             {roleSister, rferl},
	"www.sibreal.org":                {roleSister, rferl},
	"www.factograph.info":            {roleSister, rferl},
	"www.polygraph.info":             {roleSister, rferl},
	"www.svoboda.mobi":               {roleSister, svoboda},
	"archive.svoboda.org":            {roleSister, svoboda},
	"www.insidevoa.com":              {roleSister, voa},
	"learningenglish.voanews.com":    {roleSister, voa},
	"projects.voanews.com":           {roleSister, voa},
	"pronounce.voanews.com":          {roleSister, voa},
	"www.voaafrica.com":              {roleSister, voa},
	"editorials.voa.gov":             {roleSister, voa},
}

// family reports which family (rferl or voa) a site belongs to.
func family(s *site) *site {
	if s == voa {
		return voa
	}
	return rferl
}

// Hosts returns the host family the demo serves for site (one of
// www.rferl.org, www.svoboda.org, www.voanews.com): site first, then its
// image, video and sister hosts, sorted. It returns nil for any other site.
// RFE/RL's sites (rferl.org, svoboda.org, ...) form one family, VOA's
// another.
func Hosts(site string) []string {
	site = normalizeHost(site)
	h, ok := hosts[site]
	if !ok || h.role != roleMain {
		return nil
	}
	var out []string
	for name, info := range hosts {
		if name != site && family(info.site) == family(h.site) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return append([]string{site}, out...)
}

var (
	once    sync.Once
	handler *server
)

// Handler returns the handler serving the demo site for every host of every
// family, by the request's Host. Requests for other hosts get 404.
func Handler() http.Handler {
	once.Do(func() { handler = newServer() })
	return handler
}

// normalizeHost lower-cases h and removes a port and a trailing dot.
func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
