// Package mirrorlist builds and parses the list of mirror addresses an edge
// publishes, in the JSON format of the Bypass Censorship "bypass-mirrors"
// list, version 2, so that existing clients such as the Bypass Censorship
// browser extension can read it:
//
//	{
//	  "version": "2.0",
//	  "sites": [
//	    {
//	      "main_domain": "rferl.org",
//	      "available_alternatives": [
//	        {
//	          "proto": "https",
//	          "type": "mirror",
//	          "url": "https://m1.example",
//	          "created_at": "2026-01-02T03:04:05.000000+00:00",
//	          "updated_at": "2026-01-02T03:04:05.000000+00:00"
//	        }
//	      ]
//	    }
//	  ]
//	}
//
// main_domain is the origin's registrable name without "www.": the
// extension strips "www." from the address of the page it is on and looks
// that up. Timestamps are written as ISO 8601 in UTC with microseconds and
// a "+00:00" offset, as the published Bypass Censorship lists do; the
// older "2020-07-08 11:39:07.637811" form (space, no offset) is also read.
package mirrorlist

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Version is the only list format version this package writes and reads.
const Version = "2.0"

// Values of Alternative.Proto and Alternative.Type used by the published
// lists. Others are allowed: clients ignore what they do not know.
const (
	ProtoHTTPS = "https" // reached over the ordinary web
	ProtoHTTP  = "http"
	ProtoTor   = "tor" // reached through Tor (an onion address)

	TypeMirror = "mirror" // a mirror or proxy of the site on another domain
	TypeEOTK   = "eotk"   // an onion service (Enterprise Onion Toolkit)
)

// An Alternative is one other address the site can be read at.
type Alternative struct {
	Proto     string // how it is reached: ProtoHTTPS, ProtoTor, …
	Type      string // what it is: TypeMirror, TypeEOTK, …
	URL       string // absolute http or https URL
	CreatedAt time.Time
	UpdatedAt time.Time
}

// A Site is one origin site and its alternatives.
type Site struct {
	MainDomain   string
	Alternatives []Alternative
}

// A List is a whole mirror list. Its zero value is not valid; use Build or
// Parse.
type List struct {
	Version string
	Sites   []Site
}

// Build returns the list for one site. mainDomain is normalized (lower
// case, no leading "www.", no trailing dot). An alternative with an empty
// Proto or Type gets them from its URL: an onion host is ProtoTor and
// TypeEOTK, anything else is TypeMirror with the URL's scheme as Proto. A
// zero UpdatedAt becomes CreatedAt. A URL listed twice is kept once, at its
// first place; the order is otherwise kept, so the first is the preferred.
func Build(mainDomain string, alts []Alternative) List {
	site := Site{MainDomain: NormalizeDomain(mainDomain), Alternatives: []Alternative{}}
	seen := make(map[string]bool, len(alts))
	for _, a := range alts {
		if seen[a.URL] {
			continue
		}
		seen[a.URL] = true
		site.Alternatives = append(site.Alternatives, complete(a))
	}
	return List{Version: Version, Sites: []Site{site}}
}

// NormalizeDomain returns host as main_domain is written: lower case,
// without a leading "www." or a trailing dot.
func NormalizeDomain(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	return strings.TrimPrefix(host, "www.")
}

func complete(a Alternative) Alternative {
	if a.Proto == "" || a.Type == "" {
		proto, typ := classify(a.URL)
		if a.Proto == "" {
			a.Proto = proto
		}
		if a.Type == "" {
			a.Type = typ
		}
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	return a
}

// classify guesses Proto and Type from an alternative's URL.
func classify(raw string) (proto, typ string) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", ""
	}
	if strings.HasSuffix(strings.ToLower(u.Hostname()), ".onion") {
		return ProtoTor, TypeEOTK
	}
	return strings.ToLower(u.Scheme), TypeMirror
}

// Site returns the site whose main domain is host (normalized as
// NormalizeDomain does) and whether there is one.
func (l List) Site(host string) (Site, bool) {
	host = NormalizeDomain(host)
	for _, s := range l.Sites {
		if s.MainDomain == host {
			return s, true
		}
	}
	return Site{}, false
}

// Validate reports the first reason the list is not a valid version 2 list:
// a wrong version, a main domain that is not a plain host name or appears
// twice, an alternative without proto or type, with a URL that is not an
// absolute http(s) URL, or without a creation time.
func (l List) Validate() error {
	if l.Version != Version {
		return fmt.Errorf("version %q, want %q", l.Version, Version)
	}
	seen := make(map[string]bool, len(l.Sites))
	for i, s := range l.Sites {
		if err := validDomain(s.MainDomain); err != nil {
			return fmt.Errorf("sites[%d]: main_domain: %w", i, err)
		}
		if seen[s.MainDomain] {
			return fmt.Errorf("sites[%d]: main_domain %q listed twice", i, s.MainDomain)
		}
		seen[s.MainDomain] = true
		for j, a := range s.Alternatives {
			if err := a.validate(); err != nil {
				return fmt.Errorf("sites[%d] (%s): available_alternatives[%d]: %w", i, s.MainDomain, j, err)
			}
		}
	}
	return nil
}

func validDomain(d string) error {
	switch {
	case d == "":
		return errors.New("empty")
	case d != NormalizeDomain(d):
		return fmt.Errorf("%q is not normalized (want %q)", d, NormalizeDomain(d))
	case strings.ContainsAny(d, "/:@?#[] \t"):
		return fmt.Errorf("%q is not a host name", d)
	}
	return nil
}

func (a Alternative) validate() error {
	switch {
	case !isToken(a.Proto):
		return fmt.Errorf("proto %q is not a lower-case word", a.Proto)
	case !isToken(a.Type):
		return fmt.Errorf("type %q is not a lower-case word", a.Type)
	case a.CreatedAt.IsZero():
		return errors.New("no created_at")
	case a.UpdatedAt.IsZero():
		return errors.New("no updated_at")
	}
	u, err := url.Parse(a.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("url %q is not an absolute http(s) URL", a.URL)
	}
	return nil
}

// isToken reports whether s is a non-empty word of a-z, 0-9, '-' and '_'.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
