package fakeorigin

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A Request is one request as the fake origin received it.
type Request struct {
	Time       time.Time
	Method     string
	Host       string // as sent, in the Host header or :authority
	URI        string // the RequestURI: path and query as sent
	Header     http.Header
	RemoteAddr string // the address of the client's (the edge's) connection
	Proto      string // "HTTP/1.1" or "HTTP/2.0"
}

func (s *Server) record(r *http.Request) {
	req := Request{
		Time:       time.Now(),
		Method:     r.Method,
		Host:       r.Host,
		URI:        r.RequestURI,
		Header:     r.Header.Clone(),
		RemoteAddr: r.RemoteAddr,
		Proto:      r.Proto,
	}
	s.mu.Lock()
	s.log = append(s.log, req)
	s.mu.Unlock()
}

// Requests returns a copy of the log of every request received since the
// server started or the log was reset, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	copy(out, s.log)
	return out
}

// Count returns how many logged requests were for host (any case, port
// ignored) and the URL path (query ignored).
func (s *Server) Count(host, path string) int {
	host = hostOnly(host)
	n := 0
	for _, r := range s.Requests() {
		if hostOnly(r.Host) == host && uriPath(r.URI) == path {
			n++
		}
	}
	return n
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func uriPath(uri string) string {
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return uri
	}
	return u.Path
}
