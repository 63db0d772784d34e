package proxy

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"zerkalo/proxy/mirrorlist"
	"zerkalo/proxy/signing"
)

// MirrorsPath is the folder of the mirror's own documents, served on every
// mirror domain and never fetched from the origin:
//
//	/.well-known/zerkalo/mirrors.json          the mirror list (bypass-mirrors v2)
//	/.well-known/zerkalo/mirrors.json.minisig  its signature by the edge key
//	/.well-known/zerkalo/edge.cert             the edge key's certificate
//	/.well-known/zerkalo/edge.cert.minisig     its signature by the operator's root key
//	/.well-known/zerkalo/mirrors               the list as a plain page for readers
const MirrorsPath = "/.well-known/zerkalo/"

// listTTL is how long a built (and signed) list is reused.
const listTTL = 30 * time.Second

// MirrorList publishes the addresses readers can move to when a mirror
// domain is blocked. Only what the operator chose is listed: the extra
// alternatives, a few of the edge's own active domains, and the relays
// whose volunteers opted in. It is safe for concurrent use.
type MirrorList struct {
	// MainDomain is the site the list is for, e.g. "rferl.org".
	MainDomain string
	// Alternatives are the operator's extra addresses (other edges, onion
	// services).
	Alternatives []string
	// Own returns the edge's own domains to publish, now.
	Own func() []string
	// Relays returns the opted-in relay domains, now; nil for none.
	Relays func() []string
	// Key signs the list; nil serves it unsigned. Cert and CertSig are the
	// key's certificate and the root key's signature of it.
	Key           *signing.Key
	Cert, CertSig []byte
	// Since is the created_at of every listed address.
	Since time.Time

	mu      sync.Mutex
	built   time.Time
	list    []byte
	sig     []byte
	entries []string
}

// ServeHTTP serves the documents under MirrorsPath.
func (m *MirrorList) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	list, sig, entries, err := m.current()
	if err != nil {
		http.Error(w, "the mirror list is not available", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*") // readable by extensions and other mirrors
	var body []byte
	switch strings.TrimPrefix(r.URL.Path, MirrorsPath) {
	case "mirrors.json":
		h.Set("Content-Type", "application/json")
		body = list
	case "mirrors.json.minisig":
		body = sig
	case "edge.cert":
		h.Set("Content-Type", "application/json")
		body = m.Cert
	case "edge.cert.minisig":
		body = m.CertSig
	case "mirrors":
		h.Set("Content-Type", "text/html; charset=utf-8")
		var b bytes.Buffer
		mirrorsPage.Execute(&b, newMirrorsPageData(m.MainDomain, entries))
		body = b.Bytes()
	}
	if body == nil {
		http.NotFound(w, r)
		return
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Write(body)
}

// Links returns the addresses the list holds now, for error pages.
func (m *MirrorList) Links() []string {
	_, _, entries, err := m.current()
	if err != nil {
		return nil
	}
	return entries
}

// current returns the list, its signature and its URLs, rebuilding them
// at most every listTTL.
func (m *MirrorList) current() (list, sig []byte, entries []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.list != nil && time.Since(m.built) < listTTL {
		return m.list, m.sig, m.entries, nil
	}
	var urls []string
	urls = append(urls, m.Alternatives...)
	for _, d := range m.Own() {
		urls = append(urls, "https://"+d)
	}
	if m.Relays != nil {
		for _, d := range m.Relays() {
			urls = append(urls, "https://"+d)
		}
	}
	alts := make([]mirrorlist.Alternative, len(urls))
	for i, u := range urls {
		alts[i] = mirrorlist.Alternative{URL: u, CreatedAt: m.Since}
	}
	list, err = mirrorlist.Build(m.MainDomain, alts).Bytes()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("build mirror list: %w", err)
	}
	if m.Key != nil {
		sig = m.Key.SignFile(list, "mirrors.json")
	}
	m.list, m.sig, m.entries, m.built = list, sig, urls, time.Now()
	return list, sig, urls, nil
}

// mirrorsPage lists the mirror's addresses in the site's language, with
// English below when that is another.
var mirrorsPage = template.Must(template.New("mirrors").Parse(`<!doctype html>
<html lang="{{.Lang}}"{{with .Dir}} dir="{{.}}"{{end}}><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body style="font:16px/1.5 sans-serif;max-width:40em;margin:2em auto;padding:0 1em">
<h1>{{.StopsWorks}}</h1>
<p>{{.Addresses}}</p>
{{with .English}}<p lang="en" dir="ltr">{{.StopsWorks}}. {{.Addresses}}</p>
{{end}}<ul dir="ltr">{{range .Links}}<li><a href="{{.}}" rel="noreferrer">{{.}}</a></li>{{else}}<li>—</li>{{end}}</ul>
<p dir="ltr"><a href="mirrors.json">mirrors.json</a> (signed: <a href="mirrors.json.minisig">mirrors.json.minisig</a>, <a href="edge.cert">edge.cert</a>)</p>
</body></html>
`))

// mirrorsPageData is what mirrorsPage shows for a list of links.
type mirrorsPageData struct {
	messages
	English *messages // nil when the site's language is English
	Links   []string
}

func newMirrorsPageData(site string, links []string) mirrorsPageData {
	d := mirrorsPageData{messages: siteMessages(site), Links: links}
	if d.Lang != english.Lang {
		d.English = &english
	}
	return d
}
