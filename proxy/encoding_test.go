package proxy

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
)

// frontPage is the real rferl.org front page (106 KB).
func frontPage(tb testing.TB) []byte {
	tb.Helper()
	page, err := os.ReadFile("demo/site/rferl-org-home-2018.html")
	if err != nil {
		tb.Fatal(err)
	}
	return page
}

func TestBurstEncoder(t *testing.T) {
	page := frontPage(t)
	big := bytes.Repeat(page, 2*burstSize/len(page)+1) // more than two bursts' worth
	for _, enc := range []string{"gzip", "br", ""} {
		for _, tc := range []struct {
			name  string
			in    []byte
			write int // size of each Write
		}{
			{"empty", nil, 1},
			{"one write", page, len(page)},
			{"small writes", page[:20000], 1},
			{"7 KB writes", page, 7 << 10},
			{"one burst exactly", big[:burstSize], 4096},
			{"bursts", big, 32 << 10},
			{"bursts in one write", big, len(big)},
		} {
			t.Run(fmt.Sprintf("%s/%s", enc, tc.name), func(t *testing.T) {
				var out bytes.Buffer
				e := newBurstEncoder(&out, enc)
				defer releaseEncoder(e)
				for in := tc.in; len(in) > 0; {
					n := min(tc.write, len(in))
					if w, err := e.Write(in[:n]); w != n || err != nil {
						t.Fatalf("Write: %d, %v; want %d", w, err, n)
					}
					in = in[n:]
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if got := decodeForTest(t, enc, out.Bytes()); got != string(tc.in) {
					t.Fatalf("decoded %d bytes, want the %d written", len(got), len(tc.in))
				}
			})
		}
	}
}

// TestBurstEncoderFlush checks that what was written before a Flush can be
// decoded from what came out by then: the edge's ticker relies on it to
// show a reader the page while the origin pauses.
func TestBurstEncoderFlush(t *testing.T) {
	page := frontPage(t)
	for _, enc := range []string{"gzip", "br"} {
		t.Run(enc, func(t *testing.T) {
			var out bytes.Buffer
			e := newBurstEncoder(&out, enc)
			defer releaseEncoder(e)
			for i, cut := range []int{1000, 5000, 60000} {
				if _, err := e.Write(page[:cut]); err != nil {
					t.Fatal(err)
				}
				if err := e.Flush(); err != nil {
					t.Fatal(err)
				}
				r, err := decodeBody(bytes.NewReader(out.Bytes()), enc)
				if err != nil {
					t.Fatal(err)
				}
				var want []byte
				for _, c := range []int{1000, 5000, 60000}[:i+1] {
					want = append(want, page[:c]...)
				}
				got := make([]byte, len(want))
				if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("after flush %d: decoded %v, equal %v", i, err, bytes.Equal(got, want))
				}
				r.Close()
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkEncodeInterleaved compresses the front page for 32 readers at
// once, the way 32 misses in flight feed their encoders: 16 KB each in
// turn. "direct" gives each reader its own compressor from the start,
// "burst" gathers each body and compresses it whole at the end
// (burstEncoder). The figure is the time per page.
//
//	go test -run x -bench EncodeInterleaved -cpu 1 ./proxy
func BenchmarkEncodeInterleaved(b *testing.B) {
	page := frontPage(b)
	const streams, piece = 32, 16 << 10
	for _, enc := range []string{"gzip", "br"} {
		for _, mode := range []struct {
			name string
			new  func(io.Writer, string) encoder
		}{{"direct", newEncoder}, {"burst", newBurstEncoder}} {
			b.Run(enc+"/"+mode.name, func(b *testing.B) {
				b.SetBytes(int64(len(page) * streams))
				es := make([]encoder, streams)
				for b.Loop() {
					for i := range es {
						es[i] = mode.new(io.Discard, enc)
					}
					for off := 0; off < len(page); off += piece {
						for _, e := range es {
							e.Write(page[off:min(off+piece, len(page))])
						}
					}
					for _, e := range es {
						e.Close()
						releaseEncoder(e)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*streams), "µs/page")
			})
		}
	}
}
