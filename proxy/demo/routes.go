package demo

import (
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// server holds every precomputed resource of the demo.
type server struct {
	images   map[string]*resource // by extension
	font     *resource
	js       *resource // generic script bundle
	loader   *resource
	sw       *resource
	fontsCSS *resource
	segment  *resource
	perSite  map[*site]*siteResources
	sisters  map[string]*resource // by host
	trackers *resource            // the tracker test page (TrackersPath)
	worker   *resource            // its worker script
}

// siteResources are the resources built from one site's templates.
type siteResources struct {
	home, article, notFound            *resource
	css, conf, manifest, feed, sitemap *resource
}

func newServer() *server {
	s := &server{
		images:   images(),
		font:     newResource("font/woff2", cacheAsset, fontBytes),
		js:       newResource(typeJS, cacheAsset, mustRead("assets/generic.js")),
		loader:   newResource(typeJS, cacheAsset, mustRead("assets/loader.js")),
		sw:       newResource(typeJS, cacheAsset, mustRead("assets/sw.js")),
		fontsCSS: newResource(typeCSS, cacheAsset, mustRead("assets/fonts.css")),
		segment:  newResource(typeTS, cacheStream, segment()),
		perSite:  make(map[*site]*siteResources),
		sisters:  make(map[string]*resource),
		trackers: newResource(typeHTML, cachePage, mustRead("trackers.html")),
		worker:   newResource(typeJS, cachePage, mustRead("assets/test-worker.js")),
	}
	for _, st := range []*site{rferl, svoboda, voa} {
		fd := &feedData{site: st, Items: items(st)}
		s.perSite[st] = &siteResources{
			notFound: newResource(typeHTML, cacheError, render("404.html.tmpl", st)),
			css:      newResource(typeCSS, cacheAsset, render("assets/site.css.tmpl", st)),
			conf:     newResource(typeJS, cachePage, render("assets/conf.js.tmpl", st)),
			manifest: newResource(typeManifest, cacheAsset, render("assets/manifest.json.tmpl", st)),
			feed:     newResource(typeRSS, cacheFeed, render("feed.xml.tmpl", fd)),
			sitemap:  newResource(typeXML, cacheFeed, render("sitemap.xml.tmpl", fd)),
		}
	}
	for host, info := range hosts {
		if info.role == roleSister {
			data := struct {
				*site
				Host string
			}{info.site, host}
			s.sisters[host] = newResource(typeHTML, cachePage, render("sister.html.tmpl", data))
		}
	}
	s.perSite[rferl].home = newResource(typeHTML, cachePage, mustRead("rferl-org-home-2018.html"))
	s.perSite[rferl].article = newResource(typeHTML, cachePage, buildArticle(rferl, string(mustRead("rferl-article-2017-07-31.txt"))))
	s.perSite[svoboda].home = newResource(typeHTML, cachePage, mustRead("svoboda-org-home-2018.html"))
	s.perSite[voa].home = newResource(typeHTML, cachePage, mustRead("voanews-com-article-2024.html"))
	s.perSite[voa].article = s.perSite[voa].home
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := normalizeHost(r.Host)
	info, ok := hosts[host]
	if !ok {
		http.Error(w, "demo: unknown host", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		originHeaders(w.Header())
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	res := s.perSite[info.site]
	if a := s.asset(info, p); a != nil {
		a.serve(w, r, http.StatusOK)
		return
	}
	switch info.role {
	case roleMain:
		s.page(w, r, info.site, p)
	case roleHLS:
		s.hls(w, r, host, p)
	case roleSister:
		s.sisters[host].serve(w, r, http.StatusOK)
	default:
		res.notFound.serve(w, r, http.StatusNotFound)
	}
}

// asset returns the resource for a static asset path on any host, or nil.
func (s *server) asset(info hostInfo, p string) *resource {
	res := s.perSite[info.site]
	ext := strings.ToLower(path.Ext(p))
	if img := s.images[ext]; img != nil {
		return img
	}
	switch {
	case ext == ".woff2" || ext == ".woff":
		return s.font
	case strings.HasSuffix(p, "/fonts.css"):
		return s.fontsCSS
	case ext == ".css" || strings.HasPrefix(p, "/api/customization/"):
		return res.css
	case p == "/conf.js":
		return res.conf
	case p == "/manifest.json":
		return res.manifest
	case strings.HasPrefix(p, "/Scripts/responsive/loader."):
		return s.loader
	case strings.HasSuffix(p, "/serviceWorkerInstall.js"):
		return s.sw
	case strings.HasPrefix(p, "/Scripts/") || ext == ".js":
		return s.js
	}
	return nil
}

// page serves the pages of a main site.
func (s *server) page(w http.ResponseWriter, r *http.Request, st *site, p string) {
	res := s.perSite[st]
	switch {
	case p == "/":
		res.home.serve(w, r, http.StatusOK)
	case res.article != nil && (p == ArticlePath && st == rferl || p == VOAArticlePath && st == voa):
		res.article.serve(w, r, http.StatusOK)
	case st == rferl && p == TrackersPath:
		trackerHeaders(w.Header())
		s.trackers.serve(w, r, http.StatusOK)
	case st == rferl && p == TrackerWorkerPath:
		s.worker.serve(w, r, http.StatusOK)
	case st == rferl && p == SlowPath:
		slow(w, r, res.home)
	case p == "/api/" || strings.HasPrefix(p, "/api/z"):
		res.feed.serve(w, r, http.StatusOK)
	case p == "/sitemap.xml":
		res.sitemap.serve(w, r, http.StatusOK)
	case strings.HasPrefix(p, "/part/section/"):
		s.part(w, r, st, p)
	case p == "/redirect-home":
		redirect(w, "https://"+st.Site+"/")
	case p == "/redirect-away":
		redirect(w, "https://en.wikipedia.org/")
	case p == "/set-cookie":
		originHeaders(w.Header())
		http.SetCookie(w, &http.Cookie{Name: "pangea_session", Value: "demo", Domain: "." + parentDomain(st.Site), Path: "/"})
		newResource(typeHTML, cacheNone, []byte("<!DOCTYPE html><p>cookie set</p>\n")).serve(w, r, http.StatusOK)
	default:
		res.notFound.serve(w, r, http.StatusNotFound)
	}
}

// part serves a section fragment, /part/section/{section}/{part}, that the
// article's script loads at run time.
func (s *server) part(w http.ResponseWriter, r *http.Request, st *site, p string) {
	f := strings.Split(strings.TrimPrefix(p, "/part/section/"), "/")
	if len(f) != 2 || !digits(f[0]) || !digits(f[1]) {
		s.perSite[st].notFound.serve(w, r, http.StatusNotFound)
		return
	}
	data := struct {
		*site
		Section, Part, ImageID string
	}{st, f[0], f[1], articleImage}
	newResource(typeHTML, cachePage, render("part.html.tmpl", data)).serve(w, r, http.StatusOK)
}

// hls serves playlists and segments on the video host.
func (s *server) hls(w http.ResponseWriter, r *http.Request, host, p string) {
	dir, name := hlsDir(p)
	switch {
	case name == "master.m3u8":
		newResource(typeM3U8, cacheStream, masterPlaylist(host, dir)).serve(w, r, http.StatusOK)
	case strings.HasSuffix(name, ".m3u8"):
		newResource(typeM3U8, cacheStream, mediaPlaylist(host, dir, name)).serve(w, r, http.StatusOK)
	case strings.HasSuffix(name, ".ts"):
		s.segment.serve(w, r, http.StatusOK)
	default:
		http.Error(w, "404 Not Found", http.StatusNotFound)
	}
}

func redirect(w http.ResponseWriter, to string) {
	originHeaders(w.Header())
	w.Header().Set("Location", to)
	w.Header().Set("Cache-Control", cacheNone)
	w.Header().Set("Content-Type", typeHTML)
	w.WriteHeader(http.StatusFound)
	w.Write([]byte(`<html><head><title>Object moved</title></head><body><h2>Object moved to <a href="` + to + `">here</a>.</h2></body></html>` + "\n"))
}

// parentDomain returns host without its first label: rferl.org for
// www.rferl.org.
func parentDomain(host string) string {
	_, rest, _ := strings.Cut(host, ".")
	return rest
}

func digits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TrackersPath is the path on www.rferl.org of a page written for the
// privacy tests: every kind of tracker, beacon and embed in one page.
const TrackersPath = "/a/zerkalo-tracker-test/1.html"

// TrackerWorkerPath is the worker script the tracker page starts.
const TrackerWorkerPath = "/zerkalo-test/worker"

// SlowPath answers with the front page after the number of milliseconds
// given as ?ms= (at most 10 s), for tests of graceful shutdown and
// timeouts.
const SlowPath = "/zerkalo-test/slow"

// slow waits as SlowPath asks, then serves page; it gives up if the
// client goes away.
func slow(w http.ResponseWriter, r *http.Request, page *resource) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	t := time.NewTimer(time.Duration(min(max(ms, 0), 10000)) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	page.serve(w, r, http.StatusOK)
}

// trackerHeaders adds the tracking headers an origin can send with a page:
// analytics cookies, a connection hint to a tracker, reporting endpoints.
func trackerHeaders(h http.Header) {
	h.Add("Set-Cookie", "_ga=GA1.2.1234.5678; Domain=.rferl.org; Path=/; Max-Age=63072000")
	h.Add("Set-Cookie", "pangea_session=demo; Path=/; HttpOnly")
	h.Add("Link", "<https://www.googletagmanager.com>; rel=preconnect")
	h.Add("Link", "<//connect.facebook.net>; rel=dns-prefetch")
	h.Set("Report-To", `{"group":"default","max_age":86400,"endpoints":[{"url":"https://report.example.net/r"}]}`)
	h.Set("NEL", `{"report_to":"default","max_age":86400}`)
	h.Set("X-Cache", "HIT")
	h.Set("X-Akamai-Transformed", "9 - 0 pmb=mRUM,3")
}
