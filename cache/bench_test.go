package cache

import (
	"io"
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

// BenchmarkStore stores the 106 KB rferl.org home page with its gzip and
// brotli copies (fsync included); MB/s counts the identity bytes.
func BenchmarkStore(b *testing.B) {
	for _, bc := range []struct {
		name string
		opt  Options
	}{
		{"all", Options{}},
		{"gzip-only", Options{BrotliLevel: -1}},
		{"identity-only", Options{GzipLevel: -1, BrotliLevel: -1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := openStore(b, b.TempDir(), bc.opt)
			defer s.Close()
			page := mustFixture(b)
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				w := s.Create(testMeta("https://www.rferl.org/", "text/html"))
				w.Write(page)
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
