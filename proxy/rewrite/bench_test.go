package rewrite

import (
	"bytes"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time the process has used. Throughput per CPU
// second stays meaningful on a machine busy with other work, where the
// wall-clock MB/s of the benchmark is not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the throughput per CPU second since start.
func reportCPU(b *testing.B, start time.Duration, n int) {
	if cpu := cpuTime(b) - start; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

// BenchmarkHTML rewrites each fixture page.
//
//	go test -run x -bench HTML -cpu 1 ./proxy/rewrite
func BenchmarkHTML(b *testing.B) {
	for _, p := range fixturePages(b) {
		in := readTestdata(b, p.file)
		b.Run(p.file, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				if err := RewriteHTML(io.Discard, bytes.NewReader(in), p.d); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, len(in))
		})
	}
}

// BenchmarkHTMLLarge rewrites a 20 MB page made of the rferl.org home page
// and reports the largest live heap seen during a rewrite.
func BenchmarkHTMLLarge(b *testing.B) {
	in := largePage(readTestdata(b, "rferl-org-home-2018.html"), 20<<20)
	d := fixturePages(b)[0].d
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if err := RewriteHTML(io.Discard, bytes.NewReader(in), d); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, start, len(in))
	b.ReportMetric(float64(peakHeap(b, in, d))/(1<<10), "peak-heap-KiB")
	runtime.GC()
}
