package relay

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// acmePath is where ACME HTTP-01 challenges live (RFC 8555, section 8.3).
const acmePath = "/.well-known/acme-challenge/"

// serveHTTP answers plain HTTP on ln: ACME HTTP-01 challenges for the
// relay's domain go to the edge (so the edge can get a certificate for
// it); every other request is redirected to HTTPS.
func (r *Relay) serveHTTP(ctx context.Context, ln net.Listener) error {
	edge := &url.URL{Scheme: "http", Host: r.cfg.EdgeHTTP}
	challenge := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(edge) // no X-Forwarded-For: the edge learns no reader address
			pr.Out.Host = r.domain
		},
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: r.limits.HandshakeTimeout}).DialContext,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConns:          4,
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			r.stats.edgeErrors.Add(1)
			http.Error(w, "edge unreachable", http.StatusBadGateway)
		},
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			host := strings.ToLower(req.Host)
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if host != r.domain {
				r.stats.refusedName.Add(1)
				http.Error(w, "unknown host", http.StatusMisdirectedRequest)
				return
			}
			if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, acmePath) {
				challenge.ServeHTTP(w, req)
				return
			}
			http.Redirect(w, req, "https://"+r.domain+req.URL.RequestURI(), http.StatusMovedPermanently)
		}),
		ReadHeaderTimeout: r.limits.HandshakeTimeout,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          discardLog,
	}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	return ignoreClosed(srv.Serve(&limitListener{Listener: ln, r: r}))
}
