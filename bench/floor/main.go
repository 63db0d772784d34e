// Command floor is the least a Go server on net/http and crypto/tls does
// for the benchmark's requests, so that bench/run.sh can tell the cost of
// the edge's own work from the cost of the parts it is built on.
//
// By default, for a cache miss, it fetches the page from the origin over
// TLS (a pooled connection, plain body, like nginx's EOTK set-up) and
// streams it to the reader gzipped at level 1 (klauspost/compress, as the
// edge does): the edge's miss without the rewrite and the store.
//
//	floor -listen ADDR -cert leaf.pem -key leaf.key -origin ADDR -origin-ca ca.pem
//
// With -files DIR, for a cache hit, it answers every GET for a file DIR
// holds as FILE.gz (DIR/index.html.gz for "/") with those bytes, held in
// memory, gzip-encoded: the edge's hit without the lookup and its headers.
//
//	floor -listen ADDR -cert leaf.pem -key leaf.key -files DIR
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve HTTPS on")
	certFile := flag.String("cert", "", "certificate (PEM)")
	keyFile := flag.String("key", "", "key (PEM)")
	origin := flag.String("origin", "", "origin address (host:port), answering for -site")
	originCA := flag.String("origin-ca", "", "the origin's CA certificate (PEM)")
	site := flag.String("site", "www.rferl.org", "the origin's host name")
	originHTTP2 := flag.Bool("origin-http2", false, "fetch from the origin over HTTP/2 instead of HTTP/1.1 (the edge's origin.http2)")
	files := flag.String("files", "", "serve the .gz files under this folder instead of fetching")
	flag.Parse()
	var h http.Handler
	var err error
	if *files != "" {
		h, err = loadFiles(*files)
	} else {
		h, err = newFetcher(*origin, *originCA, *site, *originHTTP2)
	}
	if err == nil {
		err = serve(*listen, *certFile, *keyFile, h)
	}
	if err != nil {
		log.Fatalf("floor: %v", err)
	}
}

// serve serves h over HTTPS (HTTP/1.1 and HTTP/2) until SIGINT or SIGTERM.
func serve(listen, certFile, keyFile string, h http.Handler) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load certificate: %w", err)
	}
	srv := &http.Server{
		Addr:              listen,
		Handler:           h,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServeTLS("", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fetcher answers a miss: the origin's body, gzipped on the way.
type fetcher struct {
	client *http.Client
	site   string
}

func newFetcher(origin, originCA, site string, originHTTP2 bool) (*fetcher, error) {
	pem, err := os.ReadFile(originCA)
	if err != nil {
		return nil, fmt.Errorf("read origin CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("origin CA %s: no certificate", originCA)
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(originHTTP2)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, origin)
		},
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		Protocols:           protocols,
		MaxIdleConnsPerHost: 64,
		DisableCompression:  true,
	}
	return &fetcher{client: &http.Client{Transport: tr}, site: site}, nil
}

var (
	gzips = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, 1); return w }}
	bufs  = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
)

// ServeHTTP fetches the same path and query from the origin and streams
// the body to the reader, gzipped.
func (f *fetcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "https://"+f.site+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := f.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(resp.StatusCode)
	zw := gzips.Get().(*gzip.Writer)
	defer gzips.Put(zw)
	zw.Reset(w)
	buf := bufs.Get().(*[]byte)
	defer bufs.Put(buf)
	if _, err := io.CopyBuffer(zw, resp.Body, *buf); err != nil {
		return
	}
	zw.Close()
}

// files answers a hit: bytes gzipped beforehand, by path.
type files map[string][]byte

// loadFiles reads every FILE.gz under dir as the body for /FILE.
func loadFiles(dir string) (files, error) {
	out := files{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".gz") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, strings.TrimSuffix(p, ".gz"))
		if err != nil {
			return err
		}
		path := "/" + filepath.ToSlash(rel)
		out[strings.TrimSuffix(path, "index.html")] = b
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("no .gz file under %s", dir)
	}
	return out, err
}

func (f files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := f[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
