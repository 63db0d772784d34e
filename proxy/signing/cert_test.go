package signing

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// chain is a root key, an edge key certified by it for 90 days from
// start, and a list signed by the edge.
type chain struct {
	root, edge      *Key
	cert, certSig   []byte
	list, listSig   []byte
	start, notAfter time.Time
}

func newChain(t *testing.T) chain {
	t.Helper()
	root, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	edge, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := chain{root: root, edge: edge, start: start, notAfter: start.Add(90 * 24 * time.Hour)}
	c.cert, c.certSig, err = root.Certify(Certificate{EdgeKey: edge.Public(), NotBefore: start, NotAfter: c.notAfter, Comment: "edge m1.example"})
	if err != nil {
		t.Fatal(err)
	}
	c.list = []byte(`{"version":"2.0","sites":[]}` + "\n")
	c.listSig = edge.SignFile(c.list, "mirrors.json")
	return c
}

func TestVerifyChain(t *testing.T) {
	c := newChain(t)
	now := c.start.Add(24 * time.Hour)
	got, err := Verify(c.list, c.listSig, c.cert, c.certSig, c.root.Public(), now)
	if err != nil {
		t.Fatal(err)
	}
	if !got.EdgeKey.Equal(c.edge.Public()) || !got.NotAfter.Equal(c.notAfter) || got.Comment != "edge m1.example" {
		t.Errorf("certificate = %+v", got)
	}
	s, err := ParseSignature(c.certSig)
	if err != nil {
		t.Fatal(err)
	}
	if want := "zerkalo edge certificate: key " + c.edge.ID() + " valid 2026-03-01T12:00:00Z to 2026-05-30T12:00:00Z"; s.TrustedComment != want {
		t.Errorf("certificate's trusted comment %q, want %q", s.TrustedComment, want)
	}
	if s, _ := ParseSignature(c.listSig); !s.Prehashed || !strings.HasSuffix(s.TrustedComment, "\tfile:mirrors.json\thashed") {
		t.Errorf("list signature %+v, want prehashed with the file name", s)
	}
}

func TestVerifyChainRejects(t *testing.T) {
	c := newChain(t)
	other, _ := GenerateKey()
	now := c.start.Add(24 * time.Hour)

	// A certificate the root really signed, but not in the strict format.
	lax := bytes.Replace(c.cert, []byte(`"comment"`), []byte(`"extra": 1, "comment"`), 1)
	laxSig := c.root.SignWithComment(lax, "lax")
	// A certificate for the edge signed by the edge itself.
	selfCert, selfSig, _ := c.edge.Certify(Certificate{EdgeKey: c.edge.Public(), NotBefore: c.start, NotAfter: c.notAfter})

	for _, tc := range []struct {
		name                         string
		list, listSig, cert, certSig []byte
		root                         PublicKey
		now                          time.Time
		want                         error
		says                         string
	}{
		{"expired", c.list, c.listSig, c.cert, c.certSig, c.root.Public(), c.notAfter.Add(time.Second), ErrCertExpired, "valid until 2026-05-30T12:00:00Z"},
		{"not yet valid", c.list, c.listSig, c.cert, c.certSig, c.root.Public(), c.start.Add(-time.Second), ErrNotYetValid, "valid from"},
		{"wrong root", c.list, c.listSig, c.cert, c.certSig, other.Public(), now, ErrWrongRootKey, "made by key " + c.root.ID()},
		{"self-certified edge", c.list, c.listSig, selfCert, selfSig, c.root.Public(), now, ErrWrongRootKey, ""},
		{"tampered list", append(bytes.Clone(c.list), ' '), c.listSig, c.cert, c.certSig, c.root.Public(), now, ErrSignature, "altered"},
		{"list by another key", c.list, other.Sign(c.list), c.cert, c.certSig, c.root.Public(), now, ErrSignature, "made by key " + other.ID()},
		{"list signed by root", c.list, c.root.Sign(c.list), c.cert, c.certSig, c.root.Public(), now, ErrSignature, "certified edge key"},
		{"tampered cert", c.list, c.listSig, bytes.Replace(c.cert, []byte("2026-05-30"), []byte("2036-05-30"), 1), c.certSig, c.root.Public(), now, ErrSignature, "altered"},
		{"cert signature swapped", c.list, c.listSig, c.cert, c.listSig, c.root.Public(), now, ErrWrongRootKey, ""},
		{"lax cert", c.list, c.listSig, lax, laxSig, c.root.Public(), now, ErrCertificate, "unknown field"},
		{"garbage signature", c.list, []byte("not a signature"), c.cert, c.certSig, c.root.Public(), now, ErrSignature, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.list, tc.listSig, tc.cert, tc.certSig, tc.root, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err %q lacks %q", err, tc.says)
			}
		})
	}
}

func TestVerifyAtWindowEdges(t *testing.T) {
	c := newChain(t)
	for _, now := range []time.Time{c.start, c.notAfter} {
		if _, err := Verify(c.list, c.listSig, c.cert, c.certSig, c.root.Public(), now); err != nil {
			t.Errorf("at %v: %v", now, err)
		}
	}
}

func TestCertifyRejects(t *testing.T) {
	root, _ := GenerateKey()
	edge, _ := GenerateKey()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]Certificate{
		"no edge key":      {NotBefore: t0, NotAfter: t0.Add(time.Hour)},
		"no window":        {EdgeKey: edge.Public()},
		"inverted window":  {EdgeKey: edge.Public(), NotBefore: t0, NotAfter: t0.Add(-time.Hour)},
		"zero-length span": {EdgeKey: edge.Public(), NotBefore: t0, NotAfter: t0},
	} {
		if _, _, err := root.Certify(c); !errors.Is(err, ErrCertificate) {
			t.Errorf("%s: err = %v, want ErrCertificate", name, err)
		}
	}
}

func TestParseCertificateRejects(t *testing.T) {
	edge, _ := GenerateKey()
	good := `{"format":"zerkalo-edge-certificate-v1","edge_public_key":"` + edge.Public().String() +
		`","not_before":"2026-01-01T00:00:00Z","not_after":"2026-02-01T00:00:00Z","comment":""}`
	if _, err := ParseCertificate([]byte(good)); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	for name, doc := range map[string]string{
		"other format":  strings.Replace(good, "-v1", "-v2", 1),
		"bad key":       strings.Replace(good, edge.Public().String(), "RWQnotakey", 1),
		"missing after": strings.Replace(good, `"not_after":"2026-02-01T00:00:00Z",`, "", 1),
		"trailing":      good + "{}",
		"bad time":      strings.Replace(good, "2026-01-01T00:00:00Z", "January", 1),
	} {
		if _, err := ParseCertificate([]byte(doc)); !errors.Is(err, ErrCertificate) {
			t.Errorf("%s: err = %v, want ErrCertificate", name, err)
		}
	}
}

func TestCommentsStayOnOneLine(t *testing.T) {
	k, _ := GenerateKey()
	msg := []byte("m")
	sig := k.SignWithComment(msg, "line one\ntrusted comment: injected\r")
	if err := k.Public().Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(sig, []byte("\n")); n != 4 {
		t.Errorf("signature has %d lines, want 4:\n%s", n, sig)
	}
}
