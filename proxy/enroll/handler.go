package enroll

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"golang.org/x/time/rate"
)

// exporterLabel names the TLS keying material the edge signs to prove,
// on this very connection, that it holds the pinned key.
const exporterLabel = "EXPORTER-zerkalo-enroll-v1"

// proofMessage is what the edge signs for a connection.
func proofMessage(ekm []byte) []byte {
	return []byte("zerkalo enroll proof v1\n" + hex.EncodeToString(ekm) + "\n")
}

// maxRequest bounds an enrollment request body.
const maxRequest = 16 << 10

// requestRate and requestBurst bound the endpoint's work (each proof is a
// signature, each enrollment a check and a write) per second. No client
// address is kept, so the bound is for all clients together: a flood
// delays enrollments (429, Retry-After), never the edge's other work.
const (
	requestRate  = 20
	requestBurst = 40
)

// enrollRequest is what a relay POSTs to Path.
type enrollRequest struct {
	Token  string `json:"token"`
	Public bool   `json:"public"`
}

// statusRequest is what a relay POSTs to Path + "/status".
type statusRequest struct {
	Domain string `json:"domain"`
	Secret string `json:"secret"`
}

// Answer is the edge's reply to an enrollment or status request.
type Answer struct {
	Domain  string   `json:"domain"`
	Mirrors []string `json:"mirrors"`
	Secret  string   `json:"secret,omitempty"` // only when enrolling
	Error   string   `json:"error,omitempty"`
}

// Handler returns the enrollment endpoint, to be served at Path and
// below on the edge's mirror domains:
//
//	GET  Path          the edge's signature of this TLS connection's keying material
//	POST Path          {"token","public"} → {"domain","mirrors","secret"}
//	POST Path/status   {"domain","secret"} → {"domain","mirrors"}; 403 once revoked
//
// mirrors returns the mirror domains an enrolled relay may send proxy
// readers to.
func (s *Store) Handler(mirrors func() []string) http.Handler {
	limit := rate.NewLimiter(requestRate, requestBurst)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !limit.Allow() {
			w.Header().Set("Retry-After", "1")
			answer(w, http.StatusTooManyRequests, Answer{Error: "busy: try again in a moment"})
			return
		}
		switch {
		case r.URL.Path == Path && r.Method == http.MethodGet:
			s.serveProof(w, r)
		case r.URL.Path == Path && r.Method == http.MethodPost:
			var req enrollRequest
			if !decode(w, r, &req) {
				return
			}
			secret, err := s.Enroll(req.Token, req.Public)
			if err != nil {
				answer(w, http.StatusForbidden, Answer{Error: err.Error()})
				return
			}
			inv, _, _, _ := splitToken(req.Token)
			answer(w, http.StatusOK, Answer{Domain: inv.Domain, Mirrors: mirrors(), Secret: secret})
		case r.URL.Path == Path+"/status" && r.Method == http.MethodPost:
			var req statusRequest
			if !decode(w, r, &req) {
				return
			}
			if !s.Check(strings.ToLower(req.Domain), req.Secret) {
				answer(w, http.StatusForbidden, Answer{Error: "not enrolled: revoked, or unknown credential"})
				return
			}
			answer(w, http.StatusOK, Answer{Domain: req.Domain, Mirrors: mirrors()})
		default:
			http.Error(w, "not found", http.StatusNotFound)
		}
	})
}

// serveProof signs the connection's exported keying material.
func (s *Store) serveProof(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		http.Error(w, "TLS only", http.StatusBadRequest)
		return
	}
	ekm, err := r.TLS.ExportKeyingMaterial(exporterLabel, nil, 32)
	if err != nil {
		http.Error(w, "TLS 1.3 needed", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(s.key.Sign(proofMessage(ekm)))
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		answer(w, http.StatusBadRequest, Answer{Error: "bad request body"})
		return false
	}
	return true
}

func answer(w http.ResponseWriter, status int, a Answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}

// ErrRevoked is returned by Status when the edge no longer knows the
// relay: its enrollment was revoked.
var ErrRevoked = errors.New("enrollment revoked by the edge operator")
