package proxy

import (
	"net/http"
	"strings"
)

// strippedHeaders are origin response headers that reveal the origin's
// software, point the browser at other hosts, or only make sense on the
// origin's own domain.
var strippedHeaders = []string{
	"Alt-Svc",
	"Content-Security-Policy",
	"Content-Security-Policy-Report-Only",
	"Expect-CT",
	"NEL",
	"P3P",
	"Public-Key-Pins",
	"Report-To",
	"Reporting-Endpoints",
	"Server",
	"Server-Timing",
	"Service-Worker-Allowed",
	"SourceMap",
	"Strict-Transport-Security",
	"Via",
	"X-AspNet-Version",
	"X-AspNetMvc-Version",
	"X-Backend-Server",
	"X-Cache",
	"X-Cache-Hits",
	"X-Generator",
	"X-Powered-By",
	"X-Runtime",
	"X-Served-By",
	"X-SourceMap",
	"X-Timer",
	"X-Varnish",
	"CF-Cache-Status",
	"CF-Ray",
}

// strippedPrefixes are prefixes of origin response headers stripped for
// the same reasons: CDN and origin diagnostics.
var strippedPrefixes = []string{"X-Akamai-", "Akamai-", "X-Amz-Cf-", "X-Azure-", "X-Drupal-"}

// ContentSecurityPolicy makes the browser itself refuse every host but the
// mirror, as a backstop for whatever the rewriter did not recognise. It
// names no host, so one cached body serves every mirror domain.
//
// Inline scripts and styles stay allowed ('unsafe-inline') rather than
// pinned by nonces or hashes: a nonce differs per response and would break
// the shared cached body, and hashes would have to be computed from the
// rewritten body and stored with every cache entry, and would also turn
// off 'unsafe-inline' for the pages' inline event handlers. Inline code
// cannot reach another host under this policy anyway: every fetch,
// connection, frame, form and navigation target is held to 'self'. The
// rewriter removes the trackers; this policy stops what it missed.
// 'unsafe-eval' keeps Pangea's bundles working. style-src allows data:
// because the rewriter turns a foreign @import into url(data:,).
const ContentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self' 'unsafe-inline' 'unsafe-eval'; " +
	"style-src 'self' 'unsafe-inline' data:; " +
	"img-src 'self' data: blob:; " +
	"media-src 'self' data: blob:; " +
	"font-src 'self' data:; " +
	"connect-src 'self'; " +
	"frame-src 'self'; " +
	"worker-src 'self' blob:; " +
	"manifest-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'self'; " +
	"form-action 'self'; " +
	"frame-ancestors 'self'"

// securityHeaders go on every proxied response.
var securityHeaders = map[string]string{
	"Content-Security-Policy": ContentSecurityPolicy,
	"Referrer-Policy":         "same-origin",
	"X-Content-Type-Options":  "nosniff",
	// Chrome may resolve the host names of links ahead of a click; a name
	// lookup for another site tells the reader's resolver what is read.
	"X-DNS-Prefetch-Control": "off",
	"Permissions-Policy": "accelerometer=(), ambient-light-sensor=(), attribution-reporting=(), " +
		"bluetooth=(), browsing-topics=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), " +
		"hid=(), idle-detection=(), interest-cohort=(), join-ad-interest-group=(), magnetometer=(), " +
		"microphone=(), payment=(), private-state-token-issuance=(), private-state-token-redemption=(), " +
		"run-ad-auction=(), serial=(), usb=()",
}

// applyHeaderPolicy strips what reveals or tracks from an origin
// response's headers and adds the mirror's own security headers.
func applyHeaderPolicy(h http.Header) {
	for _, k := range strippedHeaders {
		h.Del(k)
	}
	for k := range h {
		for _, p := range strippedPrefixes {
			if strings.HasPrefix(k, p) {
				delete(h, k)
			}
		}
	}
	setSecurityHeaders(h)
}

// setSecurityHeaders adds the mirror's security headers to a response the
// edge makes itself (the mirror list, error pages), leaving what the server
// set (Alt-Svc, HSTS) in place.
func setSecurityHeaders(h http.Header) {
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
}
