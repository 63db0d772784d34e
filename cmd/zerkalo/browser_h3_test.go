package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserLoadsPageOverHTTP3 runs the real binary in demo mode and has
// Debian's headless Chromium load the mirrored front page over QUIC: the
// browser must report the document's protocol as h3, and the page must
// render.
func TestBrowserLoadsPageOverHTTP3(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: apt-get update && apt-get install -y chromium")
	}
	e, _ := startDemoEdge(t, demoConf)
	_, port, _ := net.SplitHostPort(e.addr)
	spki := leafSPKI(t, e, "mirror.test")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("enable-quic", true),
		chromedp.Flag("origin-to-force-quic-on", "mirror.test:"+port),
		chromedp.Flag("host-resolver-rules", "MAP mirror.test 127.0.0.1"),
		// Chromium's QUIC stack ignores --ignore-certificate-errors for
		// an unknown root; a pinned key it accepts.
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	var mu sync.Mutex
	var documents []*network.Response
	browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if ev, ok := ev.(*network.EventResponseReceived); ok && ev.Type == network.ResourceTypeDocument {
			mu.Lock()
			documents = append(documents, ev.Response)
			mu.Unlock()
		}
	}))
	defer cancelBrowser()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not start within 30 s")
	}

	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()
	pageURL := "https://mirror.test:" + port + "/"
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate to %s: %v", pageURL, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, "Radio Free Europe") {
		t.Errorf("title %q (%v), want the front page's", title, err)
	}
	rendered, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.innerText.includes("Putin")`))
	if err != nil || !rendered {
		t.Errorf("the front page's text did not render (%v)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(documents) == 0 {
		t.Fatal("the browser reported no document response")
	}
	doc := documents[len(documents)-1]
	if doc.URL != pageURL || doc.Status != 200 {
		t.Errorf("document %s: %d, want %s: 200", doc.URL, doc.Status, pageURL)
	}
	if doc.Protocol != "h3" && !strings.HasPrefix(doc.Protocol, "h3-") {
		t.Errorf("the document came over %q, want h3", doc.Protocol)
	}
	t.Logf("%s over %s, title %q", doc.URL, doc.Protocol, title)
}

// leafSPKI returns the base64 SHA-256 of the public key of the leaf the
// edge serves for name, as Chromium's --ignore-certificate-errors-spki-list
// takes it.
func leafSPKI(t *testing.T, e *edgeProcess, name string) string {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{ServerName: name, RootCAs: e.pool}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		t.Fatalf("TLS handshake for %s: %v", name, err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.(*tls.Conn).ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
