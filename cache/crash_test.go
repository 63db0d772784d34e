package cache

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const crashEnv = "ZERKALO_CACHE_CRASH_DIR"

var crashKeys = func() []string {
	var k []string
	for i := range 24 {
		k = append(k, fmt.Sprintf("https://www.rferl.org/a/%d.html", i))
	}
	return k
}()

// TestCrashWriter is the child of TestCrashSafety: it stores, refreshes
// and aborts entries in a loop until it is killed.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestCrashSafety")
	}
	s, err := Open(dir, Options{MaxSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for i := 0; i < 100_000; i++ {
		k := crashKeys[rand.IntN(len(crashKeys))]
		if e, _ := s.Lookup(k, "", t0); e != nil && i%4 == 0 {
			e.Choose("gzip, br") // the background worker makes the copies
			s.Refresh(e, e.Meta)
			continue
		}
		w := s.Create(testMeta(k, "text/html"))
		var gz io.Writer = io.Discard
		if i%2 == 0 { // the caller's own gzip encoding, as the edge's
			zw := gzip.NewWriter(w.Encoded(Gzip))
			defer zw.Close()
			gz = zw
		}
		body := bodyFor(k)
		for len(body) > 0 {
			n := min(len(body), 1+rand.IntN(20000))
			w.Write(body[:n])
			gz.Write(body[:n])
			body = body[n:]
		}
		if zw, ok := gz.(*gzip.Writer); ok {
			zw.Close()
		}
		if i%9 == 0 {
			w.Abort()
		} else if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCrashSafety kills a writing child process at random moments and
// checks, after each kill, that every entry the reopened store offers
// decodes to exactly the bytes the writer meant, in every encoding, and
// that nothing of the crash is left behind.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := t.TempDir()
	deadline := time.Now().Add(11 * time.Second)
	var rounds, served int
	for rounds < 20 && time.Now().Before(deadline) {
		rounds++
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		out.Read(buf) // "ready": the child has opened the store
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		s, err := Open(dir, Options{MaxSize: 4 << 20})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", rounds, err)
		}
		for name := range files(t, dir) {
			if strings.HasPrefix(name, tmpDir) {
				t.Errorf("round %d: temporary file left: %s", rounds, name)
			}
		}
		for _, k := range crashKeys {
			e, _ := s.Lookup(k, "", t0)
			if e == nil {
				continue
			}
			for enc := Identity; enc < numEncodings; enc++ {
				if !e.Has(enc) {
					continue // killed before a background copy was made
				}
				got, err := read(e, enc)
				if err != nil {
					// A damaged entry must be reported as such and dropped.
					if e2, _ := s.Lookup(k, "", t0); e2 != nil {
						t.Errorf("round %d: %s %v: %v, yet still listed", rounds, k, enc, err)
					}
					break
				}
				if !bytes.Equal(got, bodyFor(k)) {
					t.Fatalf("round %d: %s %v: torn body (%d bytes, want %d)", rounds, k, enc, len(got), len(bodyFor(k)))
				}
				served++
			}
		}
		for _, k := range crashKeys {
			askCopies(t, s, k, "")
		}
		for _, k := range crashKeys {
			if e, _ := s.Lookup(k, "", t0); e != nil {
				for _, enc := range []Encoding{Gzip, Brotli} {
					if got, err := read(e, enc); err != nil || !bytes.Equal(got, bodyFor(k)) {
						t.Errorf("round %d: %s: %v copy after restart: %v", rounds, k, enc, err)
					}
				}
			}
		}
		s.Close()
	}
	t.Logf("%d rounds, %d bodies checked", rounds, served)
	if served == 0 {
		t.Fatal("the child stored nothing; the test proves nothing")
	}
}
