package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"zerkalo/proxy/demo"
)

// crashConf keeps state and cache in the config file's folder, so that
// every restart reuses the cache. The origin rate cap is off (its 503s
// would stand in for bodies). HTML stays fresh for an hour, so pages
// are hits; feeds go stale at once, so they are revalidated (entry files
// rewritten) under load.
const crashConf = `listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
domains = ["mirror.test"]
state_dir = "state"
[origin]
rate_limit = 0
[cache]
dir = "cache"
warm = false
[cache.ttl]
"text/html" = "1h"
"application/rss+xml" = "1s"
`

// encodings are the Accept-Encoding values every URL is fetched with.
var encodings = []string{"identity", "gzip", "br"}

// A family is a set of URLs the demo answers with the same body whatever
// the name, so URLs never fetched before have a known reference.
type family struct {
	name string
	url  func(id string) string
}

// crashRef is the reference response of a URL: status and identity body.
type crashRef struct {
	status int
	body   []byte
}

// TestCrashRecovery kills an edge with SIGKILL at random moments of a
// write-heavy load, restarts it on the same cache folder and checks that
// every body it then serves, in every encoding, equals the one served
// before any crash, byte for byte, and matches the checksum in its ETag.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: starts and kills the edge many times")
	}
	const (
		maxRounds = 15
		budget    = 40 * time.Second
	)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "zerkalo.toml"), []byte(crashConf), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs []string // stderr of every process, for the panic check
	defer func() { checkNoPanic(t, logs) }()

	// Reference bodies, from an edge that is stopped cleanly.
	e := startCrashEdge(t, dir)
	refs, families, css := crashReferences(t, e)
	e.stop(t)
	logs = append(logs, e.allLogs())

	start := time.Now()
	var (
		rounds, kills, hits, served int
		varHits, varServed          int
		prev                        []variantURL // the last load's new URLs
	)
	for rounds < maxRounds && time.Since(start) < budget {
		rounds++
		e = startCrashEdge(t, dir)
		checkCacheFolder(t, filepath.Join(dir, "cache"))
		set := verifyAll(t, e, refs, nil)
		vars := verifyAll(t, e, refs, prev)
		if t.Failed() {
			e.kill(t)
			logs = append(logs, e.allLogs())
			t.FailNow()
		}
		hits, served = hits+set.hits, served+set.served
		varHits, varServed = varHits+vars.hits, varServed+vars.served
		if set.hits < set.served*9/10 {
			t.Errorf("round %d: only %d of %d responses of URLs cached before the crashes were hits", rounds, set.hits, set.served)
		}
		checkNoCorruption(t, e, rounds)
		seed := uint64(time.Now().UnixNano())
		prev = crashLoad(t, e, families, css, rounds, seed)
		kills++
		logs = append(logs, e.allLogs())
	}
	// A last start after the last kill: clean folder, every body right,
	// clean stop.
	e = startCrashEdge(t, dir)
	checkCacheFolder(t, filepath.Join(dir, "cache"))
	set := verifyAll(t, e, refs, nil)
	vars := verifyAll(t, e, refs, prev)
	hits, served = hits+set.hits, served+set.served
	varHits, varServed = varHits+vars.hits, varServed+vars.served
	checkNoCorruption(t, e, rounds+1)
	e.stop(t)
	logs = append(logs, e.allLogs())
	if rounds < 3 {
		t.Errorf("only %d rounds in %v: the test proves little", rounds, budget)
	}
	if hits < served*9/10 || varHits == 0 {
		t.Errorf("too few hits: %d of %d for the fixed set, %d of %d for URLs first fetched under load", hits, served, varHits, varServed)
	}
	t.Logf("%d rounds, %d SIGKILLs in %v; %d URLs x %d encodings verified after each restart: %d of %d responses HIT; URLs first fetched under load: %d of %d responses HIT",
		rounds, kills, time.Since(start).Round(time.Millisecond), len(refs), len(encodings), hits, served, varHits, varServed)
}

// crashReferences fetches every URL of the fixed set in every encoding
// and returns the identity bodies, the URL families (each checked to give
// one body) and the stylesheet path the CSS family is built on.
func crashReferences(t *testing.T, e *crashProc) (map[string]crashRef, []family, string) {
	t.Helper()
	c := e.client()
	defer c.CloseIdleConnections()
	front := fetchRef(t, c, "/")
	var assets []string
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?:href|src)="(/[^"]*\.(?:css|js)(?:\?[^"]*)?)"`).FindAllStringSubmatch(string(front.body), -1) {
		if u := html.UnescapeString(m[1]); !seen[u] && len(assets) < 12 {
			seen[u] = true
			assets = append(assets, u)
		}
	}
	css := ""
	for _, a := range assets {
		if p, _, _ := strings.Cut(a, "?"); strings.HasSuffix(p, ".css") {
			css = p
			break
		}
	}
	if css == "" {
		t.Fatalf("no stylesheet in the front page; found %q", assets)
	}
	families := []family{
		{"image", func(id string) string { return "/_z/gdb.rferl.org/crash-" + id + ".jpg" }},
		{"css", func(id string) string { return css + "?v=" + id }},
		{"feed", func(id string) string { return "/api/zcrash" + id }},
		{"sister", func(id string) string { return "/_z/docs.rferl.org/crash/" + id }},
		{"notfound", func(id string) string { return "/a/crash-missing-" + id + ".html" }},
	}
	urls := append([]string{"/", demo.ArticlePath, "/_z/www.svoboda.org/", "/api/"}, assets...)
	members := map[string]int{"image": 150, "css": 20, "feed": 3, "sister": 3, "notfound": 3}
	for _, f := range families {
		for i := range members[f.name] {
			urls = append(urls, f.url(fmt.Sprintf("ref%03d", i)))
		}
	}
	refs := make(map[string]crashRef, len(urls))
	var mu sync.Mutex
	parallel(8, len(urls), func(i int) {
		r := fetchRef(t, c, urls[i])
		mu.Lock()
		refs[urls[i]] = r
		mu.Unlock()
	})
	if t.Failed() {
		t.FailNow()
	}
	for _, f := range families {
		first := refs[f.url("ref000")]
		for i := 1; i < members[f.name]; i++ {
			if r := refs[f.url(fmt.Sprintf("ref%03d", i))]; r.status != first.status || !bytes.Equal(r.body, first.body) {
				t.Fatalf("family %s: %s and %s differ; cannot predict bodies of new URLs", f.name, f.url("ref000"), f.url(fmt.Sprintf("ref%03d", i)))
			}
		}
		if first.status != http.StatusOK && f.name != "notfound" {
			t.Fatalf("family %s: status %d", f.name, first.status)
		}
	}
	// Images pass through untouched: the reference is the origin's own bytes.
	rec := httptest.NewRecorder()
	demo.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "https://gdb.rferl.org/crash-x.jpg", nil))
	if img := refs[families[0].url("ref000")].body; !bytes.Equal(img, rec.Body.Bytes()) {
		t.Fatalf("image served by the edge (%d bytes) differs from the origin's (%d bytes)", len(img), rec.Body.Len())
	}
	return refs, families, css
}

// fetchRef fetches path in every encoding, checks that the decoded bodies
// agree and returns the identity one.
func fetchRef(t *testing.T, c *http.Client, path string) crashRef {
	t.Helper()
	var ref crashRef
	for _, ae := range encodings {
		r, err := fetchCrash(context.Background(), c, path, ae)
		if err != nil {
			t.Errorf("reference %s (%s): %v", path, ae, err)
			return ref
		}
		if ae == "identity" {
			ref = crashRef{r.status, r.body}
			if r.status != http.StatusOK && !strings.Contains(path, "crash-missing") {
				t.Errorf("reference %s: status %d", path, r.status)
			}
			continue
		}
		if r.status != ref.status || !bytes.Equal(r.body, ref.body) {
			t.Errorf("reference %s: %s body (%d bytes, status %d) differs from identity (%d bytes, status %d)",
				path, ae, len(r.body), r.status, len(ref.body), ref.status)
		}
	}
	return ref
}

// crashResponse is one response, its body decoded.
type crashResponse struct {
	status                  int
	body                    []byte
	rawLen                  int
	xcache, encoding, etag  string
	checksumOK, hasChecksum bool
}

// fetchCrash GETs path from the edge with the given Accept-Encoding and
// decodes the body. For responses from the cache it also checks the body
// as sent against the checksum its strong ETag is made of (base64url of
// the first 12 bytes of the SHA-256 of the copy, see cache.etag).
func fetchCrash(ctx context.Context, c *http.Client, path, ae string) (crashResponse, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "https://mirror.test"+path, nil)
	if err != nil {
		return crashResponse{}, err
	}
	req.Header.Set("Accept-Encoding", ae)
	resp, err := c.Do(req)
	if err != nil {
		return crashResponse{}, err
	}
	defer resp.Body.Close()
	r := crashResponse{status: resp.StatusCode, xcache: resp.Header.Get("X-Cache"),
		encoding: resp.Header.Get("Content-Encoding"), etag: resp.Header.Get("Etag")}
	raw, err := io.ReadAll(resp.Body)
	r.rawLen = len(raw)
	if err != nil {
		return r, fmt.Errorf("read body (Content-Length %d): %w", resp.ContentLength, err)
	}
	switch r.encoding {
	case "":
		r.body = raw
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			r.body, err = io.ReadAll(zr)
		}
		if err != nil {
			return r, fmt.Errorf("gunzip %d bytes: %w", len(raw), err)
		}
	case "br":
		if r.body, err = io.ReadAll(brotli.NewReader(bytes.NewReader(raw))); err != nil {
			return r, fmt.Errorf("brotli-decode %d bytes: %w", len(raw), err)
		}
	default:
		return r, fmt.Errorf("unexpected Content-Encoding %q", r.encoding)
	}
	if r.encoding != "" && r.encoding != ae {
		return r, fmt.Errorf("Content-Encoding %q for Accept-Encoding %q", r.encoding, ae)
	}
	if r.xcache != "" && r.xcache != "MISS" {
		// A weak tag is the identity copy's, on a copy gzipped on the fly
		// while the cache makes its own (see proxy/gzip_hit.go).
		sent, tag := raw, r.etag
		if t, weak := strings.CutPrefix(r.etag, "W/"); weak {
			sent, tag = r.body, t
		}
		sum := sha256.Sum256(sent)
		r.hasChecksum = true
		r.checksumOK = tag == `"`+base64.RawURLEncoding.EncodeToString(sum[:12])+`"`
	}
	return r, nil
}

// variantURL is a URL first fetched under load, of a known family.
type variantURL struct {
	url    string
	family family
}

// tally counts verified responses and the hits among them.
type tally struct{ served, hits int }

// verifyAll fetches, in every encoding, the fixed set (vars nil) or the
// given URLs first fetched under load, and checks each body against its
// reference.
func verifyAll(t *testing.T, e *crashProc, refs map[string]crashRef, vars []variantURL) tally {
	t.Helper()
	type job struct {
		url string
		ref crashRef
	}
	var jobs []job
	if vars == nil {
		for u, r := range refs {
			jobs = append(jobs, job{u, r})
		}
	} else {
		for _, v := range vars {
			jobs = append(jobs, job{v.url, refs[v.family.url("ref000")]})
		}
	}
	c := e.client()
	defer c.CloseIdleConnections()
	var (
		mu    sync.Mutex
		n     tally
		fails int
	)
	parallel(8, len(jobs)*len(encodings), func(i int) {
		j, ae := jobs[i/len(encodings)], encodings[i%len(encodings)]
		r, err := fetchCrash(context.Background(), c, j.url, ae)
		mu.Lock()
		defer mu.Unlock()
		problem := ""
		switch {
		case err != nil:
			problem = err.Error()
		case r.status != j.ref.status:
			problem = fmt.Sprintf("status %d, want %d", r.status, j.ref.status)
		case !bytes.Equal(r.body, j.ref.body):
			problem = fmt.Sprintf("body of %d bytes (decoded), want %d; first difference at byte %d", len(r.body), len(j.ref.body), firstDiff(r.body, j.ref.body))
		case r.hasChecksum && !r.checksumOK:
			problem = fmt.Sprintf("body as sent (%d bytes) does not match the checksum in its ETag %s", r.rawLen, r.etag)
		}
		if problem != "" {
			if fails++; fails <= 10 {
				t.Errorf("after restart: GET %s (Accept-Encoding %s): X-Cache %q, Content-Encoding %q, %d bytes sent: %s",
					j.url, ae, r.xcache, r.encoding, r.rawLen, problem)
			}
			return
		}
		n.served++
		if r.xcache == "HIT" {
			n.hits++
		}
	})
	return n
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// crashLoad runs 8 workers fetching, in random encodings, mostly URLs
// never fetched before (so that the edge stores new entries) and some of
// the fixed set, kills the edge with SIGKILL 30 to 400 ms into it and
// returns the new URLs requested.
func crashLoad(t *testing.T, e *crashProc, families []family, css string, round int, seed uint64) []variantURL {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(round)))
	delay := 30*time.Millisecond + time.Duration(rng.Int64N(int64(370*time.Millisecond)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := e.client()
	defer c.CloseIdleConnections()
	var (
		mu      sync.Mutex
		vars    []variantURL
		fetched atomic.Int64
		wg      sync.WaitGroup
	)
	fixed := []string{"/", demo.ArticlePath, "/_z/www.svoboda.org/", "/api/", css}
	for w := range 8 {
		r := rand.New(rand.NewPCG(seed, uint64(round*100+w)))
		wg.Go(func() {
			for n := 0; n < 10000 && ctx.Err() == nil; n++ {
				path := fixed[r.IntN(len(fixed))]
				if r.IntN(10) < 7 {
					f := families[r.IntN(len(families))]
					path = f.url(fmt.Sprintf("r%dw%dn%d", round, w, n))
					mu.Lock()
					vars = append(vars, variantURL{path, f})
					mu.Unlock()
				}
				if _, err := fetchCrash(ctx, c, path, encodings[r.IntN(len(encodings))]); err == nil {
					fetched.Add(1)
				}
			}
		})
	}
	time.Sleep(delay)
	e.kill(t)
	cancel()
	wg.Wait()
	t.Logf("round %d (seed %d): SIGKILL %v into the load, after %d complete responses, %d new URLs requested",
		round, seed, delay.Round(time.Millisecond), fetched.Load(), len(vars))
	return vars
}

// parallel calls f(0..n-1) from the given number of goroutines.
func parallel(workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

// checkCacheFolder checks, right after start-up and before any request,
// that the cache folder holds no temporary files, only entry files
// (<name>.<gen>.e), and one file per entry: start-up keeps the newest.
func checkCacheFolder(t *testing.T, dir string) {
	t.Helper()
	tmp, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) > 0 {
		t.Errorf("%d files left in the cache's tmp/ after start-up, such as %s", len(tmp), tmp[0].Name())
	}
	files := map[string]int{} // entry name -> its files
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == "tmp":
			return filepath.SkipDir
		case d.IsDir() || filepath.Dir(p) == dir: // the recency file
			return nil
		}
		name, rest, _ := strings.Cut(d.Name(), ".")
		if len(name) != 32 || !strings.HasSuffix(rest, ".e") {
			t.Errorf("not an entry file after start-up: %s", p)
		}
		files[name]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range files {
		if n != 1 {
			t.Errorf("entry %s has %d files after start-up", name, n)
		}
	}
}

// checkNoCorruption reads the edge's counters: after a SIGKILL the kernel
// keeps every completed write, so a damaged entry (found at start-up or
// on first read) would mean an entry file was published before it was
// complete.
func checkNoCorruption(t *testing.T, e *crashProc, round int) {
	t.Helper()
	admin := e.findLog(t, regexp.MustCompile(`msg="serving admin endpoints" listen=(\S+)`))
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^zerkalo_cache_corrupt_total (\d+)$`).FindSubmatch(metrics)
	if m == nil {
		t.Fatalf("no zerkalo_cache_corrupt_total in metrics")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != 0 {
		t.Errorf("start %d: %d damaged cache entries found after a SIGKILL", round, n)
	}
}

// checkNoPanic checks the edges' stderr for panics and fatal errors.
func checkNoPanic(t *testing.T, logs []string) {
	t.Helper()
	for i, l := range logs {
		if m := regexp.MustCompile(`panic:|fatal error:|goroutine \d+ \[`).FindString(l); m != "" {
			t.Errorf("stderr of edge process %d contains %q:\n%s", i, m, l)
		}
	}
}

// crashProc is an edge child process on a fixed folder, whose exit is
// watched so that it can be killed at any moment.
type crashProc struct {
	*edgeProcess
	exited chan struct{}
	err    error // from Wait, once exited is closed
}

// startCrashEdge runs "zerkalo serve --demo" on dir/zerkalo.toml and waits
// until it serves.
func startCrashEdge(t *testing.T, dir string) *crashProc {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--demo", "--config", filepath.Join(dir, "zerkalo.toml"))
	e := &crashProc{edgeProcess: &edgeProcess{cmd: cmd, logs: make(chan string, 1000)}, exited: make(chan struct{})}
	w := &lineWriter{e: e.edgeProcess}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		e.err = cmd.Wait() // returns once stderr is copied
		w.flush()
		close(e.logs)
		close(e.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-e.exited })
	e.addr = waitForLog(t, e.logs, regexp.MustCompile(`msg=serving listen=(\S+)`))
	e.pool = selfSignedPool(t, filepath.Join(dir, "state"))
	return e
}

// kill sends SIGKILL and waits for the process to end.
func (e *crashProc) kill(t *testing.T) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("edge still running 10 s after SIGKILL")
	}
}

// stop sends SIGTERM and checks the edge exits cleanly in time.
func (e *crashProc) stop(t *testing.T) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.exited:
		if e.err != nil {
			t.Errorf("edge exited with %v after SIGTERM", e.err)
		}
	case <-time.After(25 * time.Second):
		t.Error("edge did not stop within 25 s of SIGTERM")
	}
}

// lineWriter records a process's stderr line by line in an edgeProcess.
type lineWriter struct {
	e       *edgeProcess
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.e.mu.Lock()
		w.e.all = append(w.e.all, line)
		w.e.mu.Unlock()
		select {
		case w.e.logs <- line:
		default: // nobody waits for lines this old
		}
	}
}

// flush records a last line without a newline.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.Write([]byte("\n"))
	}
}
