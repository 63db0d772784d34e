package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"zerkalo/proxy/certs"
	"zerkalo/proxy/demo"
)

// browserPage is one page the real browser loads from the mirror, with
// what must be seen on it.
type browserPage struct {
	path     string
	title    string // a part of document.title
	text     string // a part of the visible text of the article or page
	images   int    // at least this many images from the image host, loaded
	lead     string // CSS selector of the lead image, which must load; "" for none
	worker   bool   // the page starts a worker whose request must be recorded
	firstRun bool   // the page's own first-party script sets data-first-party-ran
}

// browserSites are the bundled real pages and the tracker test page,
// grouped by the origin site the mirror is set up for.
var browserSites = []struct {
	site  string
	pages []browserPage
}{
	{demo.Site, []browserPage{
		{path: "/", title: "Radio Free Europe / Radio Liberty", text: "Putin", images: 5},
		{path: demo.ArticlePath, title: "Russia, China Hit Back", text: "Liu Jieyi", images: 1},
		{path: "/_z/www.svoboda.org/", title: "Радио Свобода", text: "Путин", images: 5},
		{path: demo.TrackersPath, title: "Zerkalo tracker test page", text: "This article text must render on the mirror",
			images: 2, lead: "#lead", worker: true, firstRun: true},
	}},
	{"www.voanews.com", []browserPage{
		{path: demo.VOAArticlePath, title: "child care crisis", text: "Daizha Rioland", images: 3},
	}},
}

// TestBrowserTalksToMirrorAlone loads every bundled page in Debian's
// headless Chromium through a real edge over TLS, with every host name
// resolved to the edge, and checks that every request the page and its
// workers make (documents, subresources, fonts, preloads, XHR and fetch,
// beacons, WebSockets, worker scripts and their fetches) goes to the
// mirror's host; that the page really renders; that the browser reports no
// CSP violation; and that the origin's request log holds nothing of the
// reader's.
func TestBrowserTalksToMirrorAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: apt-get update && apt-get install -y chromium")
	}
	for _, bs := range browserSites {
		t.Run(bs.site, func(t *testing.T) {
			front := startBrowserEdge(t, bs.site)
			browser := startBrowser(t, chromium, front.port)
			for _, p := range bs.pages {
				t.Run(strings.Trim(p.path, "/"), func(t *testing.T) {
					loadInBrowser(t, browser, front, p)
				})
			}
			front.checkServerSide(t)
			checkOriginLog(t, front)
		})
	}
}

// browserFront is an edge on loopback in front of the demo origin, behind
// a TLS server that answers for every host name and records what reached
// it: a name other than the mirror's in SNI or Host is a leak that the
// browser's own records might have missed.
type browserFront struct {
	*testEdge
	port string

	mu         sync.Mutex
	names      []string // SNI of every TLS handshake
	hosts      []string // Host and URI of every request
	own        int      // requests of the browser's own (see browserOwn)
	readerAddr []string // remote addresses of the browser's connections
}

func startBrowserEdge(t *testing.T, site string) *browserFront {
	t.Helper()
	edge, origin, logs := newEdge(t, demo.Handler(), site, demo.Hosts(site), nil)
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f := &browserFront{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if browserOwn[r.Host] != "" && strings.HasPrefix(r.RequestURI, browserOwn[r.Host]) {
			f.own++
		} else {
			f.hosts = append(f.hosts, r.Host+r.RequestURI)
		}
		f.mu.Unlock()
		edge.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{
		GetCertificate: ca.GetCertificate(nil),
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			f.mu.Lock()
			f.names = append(f.names, hello.ServerName)
			f.mu.Unlock()
			return nil, nil
		},
	}
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.mu.Lock()
			f.readerAddr = append(f.readerAddr, c.RemoteAddr().String())
			f.mu.Unlock()
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, f.port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	f.testEdge = &testEdge{origin: origin, server: srv, logs: logs, mapper: edge.opts.Mapper, edge: edge}
	return f
}

// browserOwn are the requests Chromium makes for itself, whatever page it
// shows, and which no flag turns off in Debian's build: the account
// cookie check and the component updater. They are told apart by exact
// host and path, and never seen in a page's or worker's own records.
var browserOwn = map[string]string{
	"accounts.google.com":   "/ListAccounts?",
	"update.googleapis.com": "/service/update2/",
}

// checkServerSide checks that every TLS handshake and every request that
// reached the front named the mirror.
// saw reports whether the edge received a request whose Host and URI
// start with hostPath ("host/path").
func (f *browserFront) saw(hostPath string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.hosts, func(h string) bool { return strings.HasPrefix(h, hostPath) })
}

func (f *browserFront) checkServerSide(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.hosts) == 0 {
		t.Fatal("no request reached the edge")
	}
	for _, n := range f.names {
		if n != mirrorName && browserOwn[n] == "" {
			t.Errorf("TLS handshake for %q reached the edge's address: the browser tried another host", n)
		}
	}
	for _, h := range f.hosts {
		if !strings.HasPrefix(h, mirrorName+"/") {
			t.Errorf("request %q reached the edge's address", h)
		}
	}
	t.Logf("server side: %d connections, %d handshakes, %d requests, all for %s (and %d of the browser's own)",
		len(f.readerAddr), len(f.names), len(f.hosts), mirrorName, f.own)
}

// startBrowser starts headless Chromium with every host name resolved to
// the edge's port, and returns a context of the running browser.
func startBrowser(t *testing.T, chromium, port string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		// Chrome's own services, which would call Google from the browser
		// itself, not from the page; the edge's address would see them.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,OptimizationHints,"+
			"OptimizationHintsFetching,OptimizationGuideModelDownloading,OptimizationTargetPrediction,"+
			"AutofillServerCommunication,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,"+
			"InterestFeedContentSuggestions,PrivacySandboxSettings4,GlobalMediaControls"),
		chromedp.Flag("host-resolver-rules", "MAP * 127.0.0.1:"+port),
		chromedp.Flag("ignore-certificate-errors", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not start within 30s")
	}
	return ctx
}

// pageRecord is everything the browser did for one page.
type pageRecord struct {
	mu       sync.Mutex
	requests []string // "from type url"
	urls     []string
	sockets  []string
	logCSP   []string // CSP messages in the browser's log
	workers  chan target.ID
}

func (r *pageRecord) listener(from string) func(ev any) {
	return func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			r.urls = append(r.urls, ev.Request.URL)
			r.requests = append(r.requests, fmt.Sprintf("%s %s %s", from, ev.Type, ev.Request.URL))
		case *network.EventWebSocketCreated:
			r.urls = append(r.urls, ev.URL)
			r.sockets = append(r.sockets, ev.URL)
		case *log.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				r.logCSP = append(r.logCSP, from+": "+ev.Entry.Text)
			}
		case *target.EventAttachedToTarget:
			if strings.Contains(string(ev.TargetInfo.Type), "worker") {
				select {
				case r.workers <- ev.TargetInfo.TargetID:
				default:
				}
			}
		}
	}
}

// cspProbe records the securitypolicyviolation events of every document.
const cspProbe = `window.__zerkaloCSP = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__zerkaloCSP.push(e.violatedDirective + " " + e.blockedURI);
}, true);`

// loadInBrowser loads one page in a new tab and checks it.
func loadInBrowser(t *testing.T, browser context.Context, front *browserFront, p browserPage) {
	rec := &pageRecord{workers: make(chan target.ID, 8)}
	tab, closeTab := chromedp.NewContext(browser, chromedp.WithListener(rec.listener("page")))
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatal(err)
	}
	go attachWorkers(tab, rec)
	pageURL := "https://" + mirrorName + p.path
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate to %s: %v", pageURL, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, p.title) {
		t.Errorf("title %q (%v), want it to hold %q", title, err, p.title)
	}
	hasText, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.body.innerText.includes(%q)", p.text)))
	if err != nil || !hasText {
		t.Errorf("article text %q not shown (%v)", p.text, err)
	}
	imagesLoaded(t, ctx, p)
	if p.firstRun {
		ran, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.documentElement.hasAttribute("data-first-party-ran")`,
			chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil || !ran {
			t.Errorf("the page's first-party script did not run: %v", err)
		}
	}
	if p.worker {
		// The worker's own record needs the test to attach to the worker,
		// which Chromium sometimes lets happen only late; the edge's record
		// of the request (every name resolves to the edge) is the fallback.
		waitFor(t, "the worker's fetch", 20*time.Second, func() bool {
			return rec.has("worker", "/zerkalo-test/worker-ping") || front.saw(mirrorName+"/zerkalo-test/worker-ping")
		})
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`navigator.serviceWorker.getRegistrations().then(r => r.length)`, chromedp.EvalAwaitPromise))
		if err != nil || n != 0 {
			t.Errorf("service workers registered: %d (%v)", n, err)
		}
	}
	chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond)) // late beacons and timers
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__zerkaloCSP || []`))
	if err != nil {
		t.Errorf("read CSP violations: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	leaks := 0
	for _, u := range rec.urls {
		if !onMirror(u) {
			leaks++
			t.Errorf("request leaves the mirror: %s", u)
		}
	}
	if len(rec.urls) < 3 {
		t.Errorf("only %d requests recorded: nothing loaded", len(rec.urls))
	}
	for _, v := range violations {
		t.Errorf("CSP violation: %s", v)
	}
	for _, m := range rec.logCSP {
		t.Errorf("CSP message in the browser log: %s", m)
	}
	t.Logf("%s: %d requests (%d from workers, %d WebSockets), %d off the mirror, CSP violations: %d (events) %d (log)",
		p.path, len(rec.urls), rec.count("worker"), len(rec.sockets), leaks, len(violations), len(rec.logCSP))
}

// imagesLoaded waits for the page's images from the image host to load,
// and checks that none failed and that the lead image has pixels.
func imagesLoaded(t *testing.T, ctx context.Context, p browserPage) {
	t.Helper()
	const js = `(() => {
  const imgs = Array.from(document.images).filter(i => i.currentSrc.includes("/_z/gdb."));
  return {
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    broken: imgs.filter(i => i.complete && i.naturalWidth === 0).map(i => i.currentSrc),
    pending: imgs.filter(i => !i.complete).length,
  };
})()`
	type state struct {
		Loaded  int      `json:"loaded"`
		Broken  []string `json:"broken"`
		Pending int      `json:"pending"`
	}
	var s state
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		s, err = chromedp.Run(ctx, chromedp.Evaluate[state](js))
		if err != nil {
			t.Fatalf("read images: %v", err)
		}
		if (s.Pending == 0 && s.Loaded >= p.images) || time.Now().After(deadline) {
			break
		}
		chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond))
	}
	if s.Loaded < p.images {
		t.Errorf("%d images loaded from the image host, want at least %d (%d pending)", s.Loaded, p.images, s.Pending)
	}
	for _, b := range s.Broken {
		t.Errorf("image failed to load: %s", b)
	}
	if p.lead != "" {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`(() => { const i = document.querySelector(%q); return !!i && i.complete && i.naturalWidth > 0; })()`, p.lead)))
		if err != nil || !ok {
			t.Errorf("lead image %s did not load (%v)", p.lead, err)
		}
	}
}

// attachWorkers attaches to each worker the page starts, so that the
// worker's own requests are recorded too.
func attachWorkers(tab context.Context, rec *pageRecord) {
	for {
		select {
		case <-tab.Done():
			return
		case id := <-rec.workers:
			wctx, _ := chromedp.NewContext(tab, chromedp.WithTargetID(id), chromedp.WithListener(rec.listener("worker")))
			chromedp.Do(wctx) // ends with the tab
		}
	}
}

// has reports whether a request from the given source was recorded for a
// URL holding path.
func (r *pageRecord) has(from, path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.requests, func(s string) bool {
		return strings.HasPrefix(s, from+" ") && strings.Contains(s, path)
	})
}

func (r *pageRecord) count(from string) int {
	n := 0
	for _, s := range r.requests {
		if strings.HasPrefix(s, from+" ") {
			n++
		}
	}
	return n
}

// onMirror reports whether a URL the browser asked for is on the mirror,
// or one the browser serves itself.
func onMirror(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about":
		return true
	case "https", "wss":
		return u.Hostname() == mirrorName && (u.Port() == "" || u.Port() == "443")
	}
	return false
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("%s: not seen within %s", what, d)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOriginLog checks what the origin received from the edge while the
// browser read the pages: no reader address, no cookie the origin did not
// set (the page's script sets reader_pref; the origin sets pangea_session),
// no analytics cookie, no Referer or Origin naming the mirror, no browser
// User-Agent, and no beacon.
func checkOriginLog(t *testing.T, f *browserFront) {
	t.Helper()
	reqs := f.origin.Requests()
	if len(reqs) < 10 {
		t.Fatalf("the origin saw only %d requests", len(reqs))
	}
	f.mu.Lock()
	addrs := slices.Clone(f.readerAddr)
	f.mu.Unlock()
	cookies := 0
	for _, r := range reqs {
		for k, vs := range r.Header {
			for _, v := range vs {
				for _, a := range addrs {
					_, port, _ := net.SplitHostPort(a)
					if strings.Contains(v, a) || strings.Contains(v, ":"+port) {
						t.Errorf("%s %s: header %s carries the reader's address %s", r.Host, r.URI, k, a)
					}
				}
				if strings.Contains(strings.ToLower(v), mirrorName) {
					t.Errorf("%s %s: header %s names the mirror: %q", r.Host, r.URI, k, v)
				}
			}
			switch http.CanonicalHeaderKey(k) {
			case "X-Forwarded-For", "Forwarded", "X-Real-Ip", "Via", "True-Client-Ip", "Cf-Connecting-Ip":
				t.Errorf("%s %s: forwarding header %s: %q", r.Host, r.URI, k, vs)
			}
		}
		if c := r.Header.Get("Cookie"); c != "" {
			cookies++
			for _, ck := range strings.Split(c, ";") {
				name, _, _ := strings.Cut(strings.TrimSpace(ck), "=")
				if name != "pangea_session" {
					t.Errorf("%s %s: cookie %q reached the origin", r.Host, r.URI, name)
				}
			}
		}
		if ua := r.Header.Get("User-Agent"); ua != "ZerkaloTest/1" {
			t.Errorf("%s %s: User-Agent %q", r.Host, r.URI, ua)
		}
		if u := strings.ToLower(r.URI); strings.Contains(u, "/b/ss/") || strings.Contains(u, "gtm.js") {
			t.Errorf("the origin saw a beacon: %s %s", r.Host, r.URI)
		}
	}
	t.Logf("origin log: %d requests, %d with the origin's own cookie, none with a reader address, reader cookie or mirror Referer", len(reqs), cookies)
}
