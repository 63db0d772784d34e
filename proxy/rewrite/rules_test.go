package rewrite

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPrivacyHTML checks every rule family of the HTML rewriter on the
// document https://www.rferl.org/a/1.html.
func TestPrivacyHTML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Scripts loaded from a tracker host, in every spelling.
		{"gtm script", `<p>a</p><script async src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script><p>b</p>`, `<p>a</p><p>b</p>`},
		{"upper-case host", `<script src="HTTPS://WWW.GoogleTagManager.COM/gtm.js"></script>x`, `x`},
		{"protocol-relative host", `<script src="//tags.tiqcdn.com/utag/bbg/voa-pangea/prod/utag.sync.js"></script>x`, `x`},
		{"host with port and dot", `<script src="https://cdn.onesignal.com.:443/sdks/OneSignalSDK.js" async></script>x`, `x`},
		{"character references in src", `<script src="https://counter.rambler.ru/top100.jcn?a=1&amp;b=2"></script>x`, `x`},
		{"script content dropped with it", `<script src="//mc.yandex.ru/metrika/tag.js">var x = "</div>";</script>x`, `x`},
		{"foreign library", `<script src="https://code.jquery.com/jquery.js"></script>x`, `x`},
		{"first-party script kept", `<script src="/Scripts/loader.b?v=1&amp;cb=83"></script>`, `<script src="/Scripts/loader.b?v=1&amp;cb=83"></script>`},
		{"analytics category script", `<script data-cookiecategory="analytics">var utag_data={entity:"VOA"};</script>x`, `x`},

		// Inline scripts, by signature.
		{"gtm inline", `<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});})(window,document,'script','dataLayer','GTM-WXZBPZ');</script>x`, `x`},
		{"gtag", `<script>window.dataLayer=window.dataLayer||[];function g(){dataLayer.push(arguments)} gtag('js', new Date());</script>x`, `x`},
		{"ga(", `<script>ga('create','UA-1','auto');ga('send','pageview');</script>x`, `x`},
		{"chartbeat", `<script>var _sf_async_config = { uid: 1 };</script>x`, `x`},
		{"comscore", `<script>var _comscore = _comscore || []; _comscore.push({ c1: "2" });</script>x`, `x`},
		{"facebook pixel", `<script>!function(f){f.fbq=1}(window); fbq('init', '1');</script>x`, `x`},
		{"yandex metrica", `<script>ym(12345, "init", {clickmap:true});</script>x`, `x`},
		{"gemius", `<script>var pp_gemius_identifier = 'abc';</script>x`, `x`},
		{"hotjar", `<script>window._hjSettings={hjid:1};</script>x`, `x`},
		{"new relic", `<script>;window.NREUM||(NREUM={});NREUM.init={}</script>x`, `x`},
		{"onesignal", "<script>\nvar OneSignal = window.OneSignal || [];\nOneSignal.push([\"init\", {}]);\n</script>x", `x`},
		{"signature only at an identifier start", `<script>omega(1); mega_ga(2);</script>`, `<script>omega(1); mega_ga(2);</script>`},
		{"first-party inline kept", `<script>var imgEnhancerBreakpoints = [0, 144, 256];</script>`, `<script>var imgEnhancerBreakpoints = [0, 144, 256];</script>`},
		{"inline origin URL still rewritten", `<script>var u = "https://www.rferl.org/a/2.html";</script>`, `<script>var u = "/a/2.html";</script>`},

		// Tracker URLs built by string concatenation.
		{"concatenated scheme and host", `<script>var s=document.createElement('script');s.src='https://'+'www.google-analytics.com'+'/analytics.js';</script>x`, `x`},
		{"host then concatenated query", `<script>document.write("<img src='//counter.yadro.ru/hit?t14.6;r"+escape(document.referrer)+"'>")</script>x`, `x`},
		{"host in a variable", `<script>var h = "top-fwz1.mail.ru"; new Image().src = "https://" + h + "/counter?id=1";</script>x`, `x`},
		{"escaped HTML comment in script", "<script><!--\nd.write('<img src=\"https://top-fwz1.mail.ru/counter?id=959355\">');//--></script>x", `x`},
		{"beacon path in a concatenation", `<script>var i=new Image(); i.src="https://ssc.example.com/b/ss/suite/1/G.4--NS/"+Math.random();</script>x`, `x`},

		// <noscript> pixels and frames.
		{"gtm noscript iframe", `<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-WXZBPZ" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>`, `<noscript></noscript>`},
		{"adobe noscript pixel", `<noscript><img style="position: absolute" src="https://bbg.d1.sc.omtrdc.net/b/ss/bbgrrfeenglish/1/G.4--NS/1?pageName=x&amp;g=https%3a%2f%2fwww.rferl.org" border="0" width="1" height="1" /></noscript>`, `<noscript></noscript>`},
		{"counter link with its image", `<noscript><a href="https://top100.rambler.ru/navi/57787/"><img src="https://counter.rambler.ru/top100.cnt?57787" alt="Rambler's Top100" border="0" /></a></noscript>`, `<noscript></noscript>`},
		{"first-party noscript image kept", `<noscript class="nojs-img"><img src="https://gdb.rferl.org/A_w66_r1.jpg"></noscript>`, `<noscript class="nojs-img"><img src="/_z/gdb.rferl.org/A_w66_r1.jpg"></noscript>`},

		// 1×1 beacons and foreign images.
		{"foreign 1x1 pixel", `<img src="https://pixel.example.net/p.gif?u=1" width="1" height="1" alt="">x`, `x`},
		{"foreign 0px pixel", `<img src="//px.example.net/p" width="0px" height="0">x`, `x`},
		{"facebook pixel image", `<img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=1&amp;ev=PageView&amp;noscript=1"/>x`, `x`},
		{"first-party spacer kept", `<img src="https://gdb.rferl.org/00000000-0000-0000-0000-000000000000_w66_r1.gif" width="1" height="1">`, `<img src="/_z/gdb.rferl.org/00000000-0000-0000-0000-000000000000_w66_r1.gif" width="1" height="1">`},
		{"foreign content image loses src only", `<img src="https://upload.example.org/a.jpg" alt="Map">`, `<img alt="Map">`},
		{"lazy foreign image", `<img src="" data-src="https://cdn.example.net/a.jpg" alt="A">`, `<img src="" alt="A">`},
		{"lazy tracker image removed", `<img data-src="https://mc.yandex.ru/watch/1" src="">x`, `x`},

		// Beacons on first-party-looking hosts, recognised by path.
		{"ssc beacon", `<img src="https://ssc.currenttime.tv/b/ss/bbgprod,bbgentityrferl/1/G.4--NS/242520636?pageName=x" alt="">x`, `x`},
		{"upper-case ssc beacon", `<img src="HTTPS://SSC.RFERL.ORG/B/SS/bbgprod/1/G.4--NS/1" width="1" height="1">x`, `x`},
		{"beacon on the site itself", `<img src="/b/ss/bbgprod/1/G.4--NS/1?pageName=x">x`, `x`},

		// srcset.
		{"tracker in srcset", `<img src="/a.jpg" srcset="https://mc.yandex.ru/pixel.gif 1x, //gdb.rferl.org/a_w800.jpg 2x">`, `<img src="/a.jpg" srcset="/_z/gdb.rferl.org/a_w800.jpg 2x">`},
		{"srcset all foreign", `<img src="/a.jpg" srcset="https://cdn.example.net/a.jpg 1x">`, `<img src="/a.jpg" srcset="">`},
		{"picture source foreign", `<picture><source srcset="https://cdn.example.net/a.webp" type="image/webp"><img src="/a.jpg"></picture>`, `<picture><source srcset="" type="image/webp"><img src="/a.jpg"></picture>`},
		{"source src foreign", `<video><source src="https://cdn.example.net/v.mp4"></video>`, `<video></video>`},
		{"video poster foreign", `<video poster="https://cdn.example.net/p.jpg" src="/v.mp4"></video>`, `<video src="/v.mp4"></video>`},

		// Frames and embeds.
		{"youtube iframe", `<iframe width="560" src="https://www.youtube.com/embed/Q3Ky4Z1hwQU?autoplay=1" allowfullscreen></iframe>`, `<div class="zerkalo-embed"><a href="https://www.youtube.com/watch?v=Q3Ky4Z1hwQU" target="_blank" rel="noopener noreferrer">Open on YouTube</a></div>`},
		{"youtube-nocookie iframe", `<iframe src="//www.youtube-nocookie.com/embed/abc_DEF-1"></iframe>`, `<div class="zerkalo-embed"><a href="https://www.youtube.com/watch?v=abc_DEF-1" target="_blank" rel="noopener noreferrer">Open on YouTube</a></div>`},
		{"soundcloud iframe", `<iframe src="https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/123&amp;auto_play=false"></iframe>`, `<div class="zerkalo-embed"><a href="https://api.soundcloud.com/tracks/123" target="_blank" rel="noopener noreferrer">Open on SoundCloud</a></div>`},
		{"facebook post iframe", `<iframe src="https://www.facebook.com/plugins/post.php?href=https%3A%2F%2Fwww.facebook.com%2Fradiosvoboda%2Fposts%2F1"></iframe>`, `<div class="zerkalo-embed"><a href="https://www.facebook.com/radiosvoboda/posts/1" target="_blank" rel="noopener noreferrer">Open on Facebook</a></div>`},
		{"unknown foreign iframe", `<iframe src="https://maps.example.com/embed?q=1"></iframe>`, `<div class="zerkalo-embed"><a href="https://maps.example.com/embed?q=1" target="_blank" rel="noopener noreferrer">Open on maps.example.com</a></div>`},
		{"first-party iframe kept", `<iframe src="https://www.rferl.org/embed/player/0/1.html"></iframe>`, `<iframe src="/embed/player/0/1.html"></iframe>`},
		{"script-built youtube embed", `<div class="external-content-placeholder"></div><script>renderExternalContent("https://www.youtube.com/embed/Q3Ky4Z1hwQU?autoplay=1&&&fs=1")</script>`, `<div class="external-content-placeholder"></div><div class="zerkalo-embed"><a href="https://www.youtube.com/watch?v=Q3Ky4Z1hwQU" target="_blank" rel="noopener noreferrer">Open on YouTube</a></div>`},
		{"telegram widget", `<script async src="https://telegram.org/js/telegram-widget.js?22" data-telegram-post="durov/43" data-width="100%"></script>`, `<div class="zerkalo-embed"><a href="https://t.me/durov/43" target="_blank" rel="noopener noreferrer">Open on Telegram</a></div>`},
		{"twitter widget script removed, quote kept", `<blockquote class="twitter-tweet"><p>Hi</p><a href="https://twitter.com/x/status/1">May 1</a></blockquote><script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>`, `<blockquote class="twitter-tweet"><p>Hi</p><a href="https://twitter.com/x/status/1">May 1</a></blockquote>`},
		{"profile links in JSON-LD kept", `<script type="application/ld+json">{"sameAs":["https://twitter.com/voanews","https://www.youtube.com/user/VOAvideo"]}</script>`, `<script type="application/ld+json">{"sameAs":["https://twitter.com/voanews","https://www.youtube.com/user/VOAvideo"]}</script>`},
		{"foreign object", `<object data="https://cdn.example.net/a.swf"><param name="x" value="1"><p>fallback</p></object>x`, `x`},

		// Link hints.
		{"preconnect", `<link rel="preconnect" href="https://www.google-analytics.com">x`, `x`},
		{"dns-prefetch, even of an origin host", `<link rel="dns-prefetch" href="//gdb.rferl.org">x`, `x`},
		{"preload from a tracker", `<link rel="preload" as="script" href="https://www.googletagmanager.com/gtm.js?id=GTM-1">x`, `x`},
		{"prefetch foreign", `<link rel=prefetch href="https://cdn.example.net/next.js">x`, `x`},
		{"foreign stylesheet", `<link href="https://fonts.googleapis.com/css?family=Roboto" rel="stylesheet">x`, `x`},
		{"first-party preload kept", `<link rel="preload" href="https://www.rferl.org/a.css" as="style">`, `<link rel="preload" href="/a.css" as="style">`},
		{"canonical kept", `<link href="https://www.rferl.org/" rel="canonical" />`, `<link href="/" rel="canonical" />`},
		{"foreign alternate kept", `<link rel="alternate" hreflang="ru" href="https://www.example.org/ru">`, `<link rel="alternate" hreflang="ru" href="https://www.example.org/ru">`},

		// ping, tracking parameters, share links.
		{"ping", `<a href="https://www.rferl.org/a/2.html" ping="https://www.google-analytics.com/collect">x</a>`, `<a href="/a/2.html">x</a>`},
		{"utm on an origin link", `<a href="https://www.rferl.org/a/2.html?utm_source=fb&amp;id=7&amp;UTM_MEDIUM=x#top">x</a>`, `<a href="/a/2.html?id=7#top">x</a>`},
		{"fbclid on a relative link", `<a href="/a/2.html?fbclid=IwAR0">x</a>`, `<a href="/a/2.html">x</a>`},
		{"gclid yclid _ga mc_cid on a foreign link", `<a href="https://www.example.org/?gclid=1&amp;yclid=2&amp;_ga=3&amp;mc_cid=4&amp;q=ok">x</a>`, `<a href="https://www.example.org/?q=ok">x</a>`},
		{"other parameters kept", `<a href="/s?k=putin&amp;tab=all">x</a>`, `<a href="/s?k=putin&amp;tab=all">x</a>`},
		{"facebook share link", `<a href="https://facebook.com/sharer.php?u=https%3a%2f%2fwww.rferl.org%2fa%2f1.html" target="_blank">Share</a>`, `<a target="_blank">Share</a>`},
		{"twitter share link", `<a href="https://twitter.com/share?url=https%3A%2F%2Fwww.rferl.org%2Fa%2F1.html&amp;text=Hi">Tweet</a>`, `<a>Tweet</a>`},
		{"mail share link", `<a href="mailto:?subject=Hi&amp;body=https%3a%2f%2fwww.rferl.org%2fa%2f1.html">Mail</a>`, `<a>Mail</a>`},
		{"share link of a foreign page kept", `<a href="https://facebook.com/sharer.php?u=https%3a%2f%2fwww.example.org%2f">Share</a>`, `<a href="https://facebook.com/sharer.php?u=https%3a%2f%2fwww.example.org%2f">Share</a>`},
		{"follow link kept", `<a href="https://www.facebook.com/radiosvoboda" target="_blank">Facebook</a>`, `<a href="https://www.facebook.com/radiosvoboda" target="_blank">Facebook</a>`},
		{"counter link removed with content", `<a href="https://www.liveinternet.ru/click" target="_blank"><img src="//counter.yadro.ru/hit?t14.6" alt=""><b>n</b></a><p>after</p>`, `<p>after</p>`},
		{"unclosed counter link ends at the next link", `<a href="https://top.mail.ru/jump?from=1"><img src="x.gif"><a href="/ok">ok</a>`, `<a href="/ok">ok</a>`},

		// Elements inside a removed element are dropped whole.
		{"script inside a removed link", `<a href="https://top.mail.ru/jump"><script>var a = "</a>";</script></a>ok`, `ok`},
	}
	d := rferlDoc(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteHTMLString(t, d, tt.in); got != tt.want {
				t.Errorf("\n  in: %s\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestPrivacyHTMLChunks checks that removals do not depend on how the
// document arrives: a tracker script, a held inline script and a removed
// link split across writes of every size.
func TestPrivacyHTMLChunks(t *testing.T) {
	in := `<p>a</p><script>var big = "` + strings.Repeat("x", 3000) + `"; gtag('js');</script>` +
		`<script src="//tags.tiqcdn.com/utag.js"></script><script>var ok = "https://www.rferl.org/";</script>` +
		`<a href="https://top.mail.ru/jump"><img src="https://top-fwz1.mail.ru/c"></a><p>b</p>`
	want := `<p>a</p><script>var ok = "/";</script><p>b</p>`
	d := rferlDoc(t)
	if got := rewriteHTMLString(t, d, in); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	for _, size := range []int{1, 2, 5, 64, 1000} {
		var b strings.Builder
		w := NewHTMLWriter(&b, d)
		for rest := in; len(rest) > 0; {
			n := min(size, len(rest))
			w.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%d-byte writes: %s", size, firstDiff(b.String(), want))
		}
	}
}

// TestPrivacyLongInlineScript checks that a script longer than what is
// judged is streamed, not held.
func TestPrivacyLongInlineScript(t *testing.T) {
	body := "var a = 1;" + strings.Repeat(" ", maxJudgedScript) + `var u = "https://www.rferl.org/x";`
	got := rewriteHTMLString(t, rferlDoc(t), "<script>"+body+"</script>")
	want := "<script>" + strings.Replace(body, "https://www.rferl.org/x", "/x", 1) + "</script>"
	if got != want {
		t.Errorf("long script changed: %d bytes, want %d", len(got), len(want))
	}
}

// TestPrivacyFixtures checks that no tracker named in the fixtures'
// inventory survives the rewrite of the real pages, and that the pages'
// first-party scripts do.
func TestPrivacyFixtures(t *testing.T) {
	trackers := []string{"googletagmanager", "tiqcdn", "omtrdc", "/b/ss/", "onesignal", "utag_data",
		"gtm.start", "rambler", "mail.ru", "yadro", "liveinternet", "pangea-cms", "renderExternalContent",
		"youtube.com/iframe_api", "youtube.com/embed"}
	for _, p := range fixturePages(t) {
		t.Run(p.file, func(t *testing.T) {
			in := string(readTestdata(t, p.file))
			out := rewriteHTMLString(t, p.d, in)
			found := 0
			for _, tr := range trackers {
				if strings.Contains(in, tr) {
					found++
				}
				if strings.Contains(out, tr) {
					i := strings.Index(out, tr)
					t.Errorf("%q left: …%s…", tr, out[max(0, i-80):min(len(out), i+80)])
				}
			}
			if found < 5 {
				t.Errorf("the fixture names only %d trackers: the check proves little", found)
			}
			for _, keep := range []string{"imgEnhancerBreakpoints", "/Scripts/responsive/loader.b"} {
				if strings.Contains(in, keep) && !strings.Contains(out, keep) {
					t.Errorf("first-party %q removed", keep)
				}
			}
		})
	}
}

func TestRulesBuiltIn(t *testing.T) {
	r := DefaultRules()
	hosts := []struct {
		host string
		want bool
	}{
		{"www.googletagmanager.com", true},
		{"googletagmanager.com", true},
		{"bbg.d1.sc.omtrdc.net", true},
		{"tags.tiqcdn.com", true},
		{"counter.yadro.ru", true},
		{"mc.yandex.ru", true},
		{"yandex.ru", false},
		{"notgoogletagmanager.com", false},
		{"www.rferl.org", false},
		{"gdb.rferl.org", false},
		{"twitter.com", false}, // follow links stay; its widget host is blocked
		{"platform.twitter.com", true},
	}
	for _, h := range hosts {
		if got := r.Tracker(h.host) != ""; got != h.want {
			t.Errorf("Tracker(%q) = %v, want %v", h.host, got, h.want)
		}
	}
	urls := []struct {
		host, pq string
		want     bool
	}{
		{"ssc.rferl.org", "/b/ss/bbgprod/1/G.4--NS/1?x=1", true},
		{"www.rferl.org", "/B/SS/x", true},
		{"www.rferl.org", "/a/b/ss/x.html", false},
		{"www.facebook.com", "/tr?id=1", true},
		{"www.facebook.com", "/radiosvoboda", false},
		{"www.rferl.org", "/ns.html?id=GTM-WXZBPZ", true},
	}
	for _, u := range urls {
		if got := r.BlocksURL(u.host, u.pq); got != u.want {
			t.Errorf("BlocksURL(%q, %q) = %v, want %v", u.host, u.pq, got, u.want)
		}
	}
	for name, want := range map[string]bool{"_ga": true, "_ga_ABC": true, "_gid": true, "utag_main": true,
		"AMCV_X%40AdobeOrg": true, "_fbp": true, "ASP.NET_SessionId": false, "pangea_session": false} {
		if got := r.BlocksCookie(name); got != want {
			t.Errorf("BlocksCookie(%q) = %v, want %v", name, got, want)
		}
	}
	params := []struct{ in, want string }{
		{"utm_source=a&utm_medium=b", ""},
		{"id=1&fbclid=x&k=2", "id=1&k=2"},
		{"UTM_Campaign=x&q=1", "q=1"},
		{"q=utm_source", "q=utm_source"},
		{"k=1&nothing", "k=1&nothing"},
		{"", ""},
	}
	for _, p := range params {
		if got := r.StripParams(p.in); got != p.want {
			t.Errorf("StripParams(%q) = %q, want %q", p.in, got, p.want)
		}
	}
}

func TestRulesExtend(t *testing.T) {
	base := DefaultRules()
	r, err := base.Extend(RuleSet{
		BlockHosts:   []string{"Stats.Example.NET", "cdn.example.org/pixel"},
		AllowHosts:   []string{"liveinternet.ru", "facebook.com/tr"},
		BlockScripts: []string{"myTracker(", "__spy"},
		BlockPaths:   []string{"/collect/"},
		StripParams:  []string{"ref_*", "from"},
		StripCookies: []string{"spy_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"operator host", r.Tracker("a.stats.example.net") != "", true},
		{"operator host/path", r.BlocksURL("cdn.example.org", "/pixel.gif"), true},
		{"operator host/path, other path", r.BlocksURL("cdn.example.org", "/lib.js"), false},
		{"allowed built-in host", r.Tracker("www.liveinternet.ru") != "", false},
		{"allowed built-in host/path", r.BlocksURL("www.facebook.com", "/tr?id=1"), false},
		{"other built-in host kept", r.Tracker("counter.yadro.ru") != "", true},
		{"operator signature", r.BlocksScript([]byte(`window.myTracker("x")`)), true},
		{"operator signature at identifier start", r.BlocksScript([]byte(`no__spy = 1`)), false},
		{"operator path", r.BlocksURL("www.rferl.org", "/collect/x"), true},
		{"operator param", r.StripParams("ref_src=1&from=2&id=3") == "id=3", true},
		{"operator cookie", r.BlocksCookie("spy_id"), true},
		{"built-in cookie kept", r.BlocksCookie("_ga"), true},
		{"base unchanged", base.Tracker("stats.example.net") != "" || base.Tracker("liveinternet.ru") == "", false},
		{"fingerprint changes", r.Fingerprint() != base.Fingerprint() && len(base.Fingerprint()) == 16, true},
	}
	same, err := base.Extend(RuleSet{})
	if err != nil || same.Fingerprint() != base.Fingerprint() {
		t.Errorf("an empty Extend changed the fingerprint: %v", err)
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	bad := []RuleSet{
		{BlockHosts: []string{"not a host"}},
		{BlockHosts: []string{"localhost"}},
		{BlockPaths: []string{"b/ss/"}},
		{BlockPaths: []string{"/"}},
		{BlockScripts: []string{"ga"}},
		{BlockScripts: []string{" ga( "}},
		{StripParams: []string{"*"}},
		{StripCookies: []string{"a=b"}},
		{AllowHosts: []string{"never-blocked.example"}},
	}
	for _, s := range bad {
		if _, err := base.Extend(s); err == nil {
			t.Errorf("Extend(%+v) accepted", s)
		}
	}
}

// TestMapperRefusesTrackers checks that the mirror never maps a tracker
// URL to the origin, and that a Mapper's own rules apply to its documents.
func TestMapperRefusesTrackers(t *testing.T) {
	m := mustNewMapper(t, "www.rferl.org", "gdb.rferl.org", "ssc.rferl.org")
	for _, p := range []struct{ path, query string }{
		{"/b/ss/bbgprod/1/G.4--NS/1", "pageName=x"},
		{"/B/SS/bbgprod/1", ""},
		{"/_z/ssc.rferl.org/b/ss/x/1", ""},
		{"/_z/gdb.rferl.org/b/ss/x", ""},
		{"/gtm.js", "id=GTM-1"},
	} {
		if _, err := m.ToOrigin(p.path, p.query); !errors.Is(err, ErrBlocked) {
			t.Errorf("ToOrigin(%q, %q) = %v, want ErrBlocked", p.path, p.query, err)
		}
	}
	if _, err := m.ToOrigin("/a/b/ss/1.html", ""); err != nil {
		t.Errorf("ToOrigin of an article path: %v", err)
	}
	own, err := DefaultRules().Extend(RuleSet{BlockHosts: []string{"widgets.example.com"}, BlockPaths: []string{"/track/"}})
	if err != nil {
		t.Fatal(err)
	}
	m2 := m.WithRules(own)
	if _, err := m2.ToOrigin("/track/1", ""); !errors.Is(err, ErrBlocked) {
		t.Errorf("operator path not refused: %v", err)
	}
	if _, err := m.ToOrigin("/track/1", ""); err != nil {
		t.Errorf("WithRules changed the original Mapper: %v", err)
	}
	d := NewDoc(m2, mustParse(t, "https://www.rferl.org/"))
	if got := rewriteHTMLString(t, d, `<script src="https://widgets.example.com/w.js"></script><img src="/track/1.gif">x`); got != "x" {
		t.Errorf("operator rules not applied to documents: %s", got)
	}
}

func TestPrivacyHeaders(t *testing.T) {
	d := testDoc(t, "https://www.rferl.org/")
	h := http.Header{}
	h.Add("Set-Cookie", "_ga=GA1.2.3; Domain=.rferl.org; Path=/")
	h.Add("Set-Cookie", "utag_main=v_id:1; Path=/")
	h.Add("Set-Cookie", "pangea_session=abc; Domain=.rferl.org; Path=/")
	h.Add("Link", `<https://www.googletagmanager.com>; rel=preconnect, </a.css>; rel=preload; as=style`)
	h.Add("Link", `<https://cdn.example.net/x.js>; rel="preload"; as=script`)
	h.Add("Link", `<https://www.rferl.org/a/1.html>; rel="canonical"`)
	d.Header(h)
	if got := h.Values("Set-Cookie"); !slices.Equal(got, []string{"pangea_session=abc; Path=/"}) {
		t.Errorf("Set-Cookie = %q", got)
	}
	if got := h.Values("Link"); !slices.Equal(got, []string{"</a.css>; rel=preload; as=style", `</a/1.html>; rel="canonical"`}) {
		t.Errorf("Link = %q", got)
	}
	h = http.Header{"Set-Cookie": {"_gid=1"}, "Link": {`<//www.google-analytics.com>; rel="dns-prefetch"`}}
	d.Header(h)
	if len(h) != 0 {
		t.Errorf("headers left: %v", h)
	}
}

// TestRulesHostsDotted checks what Tracker relies on to skip the last
// label of a host: every blocked host name holds a dot.
func TestRulesHostsDotted(t *testing.T) {
	r, err := DefaultRules().Extend(RuleSet{BlockHosts: []string{"a.example", ".b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range []*Rules{DefaultRules(), r} {
		if len(rs.hosts) < 10 {
			t.Fatalf("only %d blocked hosts", len(rs.hosts))
		}
		for h := range rs.hosts {
			if !strings.Contains(h, ".") {
				t.Errorf("blocked host %q has no dot", h)
			}
		}
	}
	if r.Tracker(".b.example") == "" || r.Tracker("x.a.example") == "" || r.Tracker("example") != "" {
		t.Error("Tracker misses a blocked host")
	}
}
