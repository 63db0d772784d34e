package proxy

import (
	"strings"
	"testing"
	"time"

	"zerkalo/proxy/mirrorlist"
	"zerkalo/proxy/signing"
)

func TestMirrorListSignedChain(t *testing.T) {
	root, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	edgeKey, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert, certSig, err := root.Certify(signing.Certificate{EdgeKey: edgeKey.Public(), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	list := &MirrorList{
		MainDomain:   "rferl.org",
		Alternatives: []string{"https://m2.example", "http://abcdefghijklmnop.onion"},
		Own:          func() []string { return []string{mirrorName} },
		Relays:       func() []string { return []string{"relay.example"} },
		Key:          edgeKey,
		Cert:         cert,
		CertSig:      certSig,
		Since:        now,
	}
	te := startEdgeWith(t, pageHandler(samplePage), "www.rferl.org", nil, func(o *Options) { o.Local = list })
	_, body := te.get(t, MirrorsPath+"mirrors.json")
	_, sig := te.get(t, MirrorsPath+"mirrors.json.minisig")
	_, gotCert := te.get(t, MirrorsPath+"edge.cert")
	_, gotCertSig := te.get(t, MirrorsPath+"edge.cert.minisig")
	if _, err := signing.Verify(body, sig, gotCert, gotCertSig, root.Public(), now); err != nil {
		t.Fatalf("the served list does not verify against the root key: %v", err)
	}
	parsed, err := mirrorlist.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, a := range parsed.Sites[0].Alternatives {
		urls = append(urls, a.URL)
	}
	want := "https://m2.example http://abcdefghijklmnop.onion https://" + mirrorName + " https://relay.example"
	if got := strings.Join(urls, " "); got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	resp, page := te.get(t, MirrorsPath+"mirrors")
	if !strings.Contains(string(page), `href="https://m2.example"`) || strings.Contains(string(page), "<script") {
		t.Errorf("mirror page: %s", page)
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("mirror page lacks the CSP")
	}
	resp, _ = te.get(t, MirrorsPath+"other")
	if resp.StatusCode != 404 {
		t.Errorf("unknown mirror document: %d", resp.StatusCode)
	}
	if n := len(te.origin.Requests()); n != 0 {
		t.Errorf("the origin got %d requests for the mirror's own documents", n)
	}
}
