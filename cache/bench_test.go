package cache

import (
	"bytes"
	"compress/gzip"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation, which differs from ns/op
// when work runs in parallel or waits for the disk.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkLookupHit measures the hit path: Lookup, choose the encoding,
// open the (already verified) brotli copy, close it. Serving the bytes is
// the caller's (http.ServeContent's) work.
func BenchmarkLookupHit(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	defer s.Close()
	key := "https://www.rferl.org/"
	put(b, s, testMeta(key, "text/html"), mustFixture(b))
	e, _ := s.Lookup(key, "", t0)
	if _, err := read(e, Brotli); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		e, st := s.Lookup(key, "", t0)
		if st != Fresh {
			b.Fatal(st)
		}
		body, err := e.Open(e.Choose("gzip, deflate, br"))
		if err != nil {
			b.Fatal(err)
		}
		body.Close()
	}
}

// BenchmarkLookupHitRead is BenchmarkLookupHit plus reading the whole
// brotli copy, as serving it would.
func BenchmarkLookupHitRead(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	defer s.Close()
	key := "https://www.rferl.org/"
	put(b, s, testMeta(key, "text/html"), mustFixture(b))
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	for b.Loop() {
		e, _ := s.Lookup(key, "", t0)
		body, err := e.Open(Brotli)
		if err != nil {
			b.Fatal(err)
		}
		io.CopyBuffer(io.Discard, struct{ io.Reader }{body}, buf)
		body.Close()
	}
}

// BenchmarkStore stores the 106 KB rferl.org home page under new keys,
// as a flood of misses would, and waits for the committer to have made
// them durable (syncs included); MB/s counts the identity bytes. With
// "+gzip" the caller also hands over its (here ready-made) gzip copy.
func BenchmarkStore(b *testing.B) {
	page := mustFixture(b)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page)
	zw.Close()
	for _, withGzip := range []bool{false, true} {
		name := "identity"
		if withGzip {
			name += "+gzip"
		}
		b.Run(name, func(b *testing.B) {
			s := openStore(b, b.TempDir(), Options{MaxSize: 1 << 40})
			defer s.Close()
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			i := 0
			for b.Loop() {
				i++
				w := s.Create(testMeta("https://www.rferl.org/?n="+strconv.Itoa(i), "text/html"))
				w.Write(page)
				if withGzip {
					w.Encoded(Gzip).Write(gz.Bytes())
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkHotPagesAfterColdOnes reads 200 pages of 50 KB once each, in
// order, with room in memory for 50 of them, then keeps reading the last
// 20 (today's news after yesterday's), for up to 6 s until all of them
// are served from memory: the budget's first comers must make room for
// them, an eighth of the budget per second. The figures are the time per
// hit on those pages after that, and how many were served from memory.
func BenchmarkHotPagesAfterColdOnes(b *testing.B) {
	const pages, size, hot = 200, 50_000, 20
	s := openStore(b, b.TempDir(), Options{MemSize: 50 * size, GzipLevel: -1, BrotliLevel: -1})
	defer s.Close()
	body := bytes.Repeat([]byte("<p>news</p>\n"), size/12)
	key := func(i int) string { return "https://www.rferl.org/a/" + strconv.Itoa(i) + ".html" }
	for i := range pages {
		put(b, s, testMeta(key(i), "text/html"), body)
	}
	buf := make([]byte, 32<<10)
	hit := func(i int) bool {
		e, _ := s.Lookup(key(i), "", t0)
		body, err := e.Open(Identity)
		if err != nil {
			b.Fatal(err)
		}
		io.CopyBuffer(io.Discard, struct{ io.Reader }{body}, buf)
		body.Close()
		return body.Data != nil
	}
	for i := range pages {
		hit(i)
	}
	for deadline := time.Now().Add(6 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		all := true
		for i := pages - hot; i < pages; i++ {
			all = hit(i) && all
		}
		if all {
			break
		}
	}
	fromMemory := 0
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		if hit(pages - hot + i%hot) {
			fromMemory++
		}
		i++
	}
	b.ReportMetric(float64(fromMemory)/float64(b.N)*100, "%-from-memory")
}
