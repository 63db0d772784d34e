package proxy

import "net/http"

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
	"X-Powered-By",
	"X-SourceMap",
}

// ContentSecurityPolicy makes the browser itself refuse every host but the
// mirror, as a backstop for whatever the rewriter did not recognise. It
// names no host, so one cached body serves every mirror domain.
const ContentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self' 'unsafe-inline' 'unsafe-eval'; " +
	"style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; " +
	"media-src 'self' data: blob:; " +
	"font-src 'self' data:; " +
	"connect-src 'self'; " +
	"frame-src 'self'; " +
	"worker-src 'self' blob:; " +
	"object-src 'none'; " +
	"base-uri 'self'; " +
	"form-action 'self'; " +
	"frame-ancestors 'self'"

// securityHeaders go on every proxied response.
var securityHeaders = map[string]string{
	"Content-Security-Policy": ContentSecurityPolicy,
	"Referrer-Policy":         "same-origin",
	"X-Content-Type-Options":  "nosniff",
	"Permissions-Policy": "accelerometer=(), ambient-light-sensor=(), browsing-topics=(), camera=(), " +
		"geolocation=(), gyroscope=(), interest-cohort=(), magnetometer=(), microphone=(), payment=(), usb=()",
}

// applyHeaderPolicy strips what reveals or tracks from an origin
// response's headers and adds the mirror's own security headers.
func applyHeaderPolicy(h http.Header) {
	for _, k := range strippedHeaders {
		h.Del(k)
	}
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
}
