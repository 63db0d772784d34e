package proxy

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// originAcceptEncoding is what the edge asks the origin for. It decodes
// whatever comes (gzip, br or zstd) before rewriting, but does not ask for
// brotli, the slowest of them to decode.
const originAcceptEncoding = "gzip, zstd"

// decodeBody returns a reader of the decoded body for a Content-Encoding
// value. Only one encoding layer is accepted; anything else is an error so
// that an undecodable body is never passed to the rewriter as text.
func decodeBody(body io.Reader, encoding string) (io.ReadCloser, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return io.NopCloser(body), nil
	case "gzip", "x-gzip":
		zr, ok := gzipReaders.Get().(*gzip.Reader)
		var err error
		if ok {
			err = zr.Reset(body)
		} else {
			zr, err = gzip.NewReader(body)
		}
		if err != nil {
			if zr != nil {
				gzipReaders.Put(zr)
			}
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &pooledGzipReader{zr}, nil
	case "br":
		return io.NopCloser(brotli.NewReader(body)), nil
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("unsupported content encoding %q", encoding)
}

// encoder is a compressing writer that can be flushed mid-stream.
type encoder interface {
	io.WriteCloser
	Flush() error
}

type identityEncoder struct{ io.Writer }

func (identityEncoder) Close() error { return nil }
func (identityEncoder) Flush() error { return nil }

// Compression levels of a rewritten body on its way to the reader. The
// same bytes become the cache's copy in that encoding, which later hits
// serve. Brotli at 4 as the cache's own brotli copies (what browsers get
// on hits); gzip, what a miss streams (see streamEncoding), at 1: twice as
// fast as 5 and 10 % larger (the 106 KB front page: 23.5 KB against 21.3
// KB).
const (
	brotliLevel = 4
	gzipLevel   = 1
)

// Compressors and decompressors hold large tables (hundreds of KB each):
// they are reused rather than made per response.
var (
	gzipWriters = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzipLevel) // a valid level: no error
		return zw
	}}
	brotliWriters = sync.Pool{New: func() any {
		return brotli.NewWriterOptions(io.Discard, brotli.WriterOptions{Quality: brotliLevel, LGWin: 18})
	}}
	gzipReaders sync.Pool // of *gzip.Reader
)

// newEncoder returns a writer that encodes into w with the named encoding
// ("br", "gzip" or "" for identity). releaseEncoder gives it back.
func newEncoder(w io.Writer, encoding string) encoder {
	switch encoding {
	case "br":
		bw := brotliWriters.Get().(*brotli.Writer)
		bw.Reset(w)
		return bw
	case "gzip":
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(w)
		return zw
	}
	return identityEncoder{w}
}

// releaseEncoder makes an encoder from newEncoder or newBurstEncoder,
// closed or abandoned, available again. It must not be used after.
func releaseEncoder(enc encoder) {
	switch e := enc.(type) {
	case *burstEncoder:
		e.release()
	case *gzip.Writer:
		e.Reset(io.Discard)
		gzipWriters.Put(e)
	case *brotli.Writer:
		e.Reset(io.Discard)
		brotliWriters.Put(e)
	}
}

// burstSize is how much input a burstEncoder gathers before it compresses:
// more than most HTML pages, which are then compressed in one go.
const burstSize = 256 << 10

// burstBuffers holds the input buffers of burstEncoders.
var burstBuffers = sync.Pool{New: func() any { return new([burstSize]byte) }}

// burstEncoder gathers its input until it has burstSize bytes, a Flush or
// the Close, and only then takes a compressor from its pool and gives it
// all at once; what comes after goes straight to the compressor. A
// compressor's tables and window (0.8 MB for gzip, 2 MB for brotli) are
// touched all over on every block; when each of many misses in flight
// holds its own compressor while it waits for the origin and the
// rewriter, the others evict it from the CPU's caches between its blocks
// (BenchmarkEncodeInterleaved: 32 gzip streams fed 16 KB in turns cost
// 0.65–0.8 ms per 106 KB page, against 0.35–0.45 in bursts and 0.3 for
// one stream alone). Gathered, a page is compressed in one go by a
// compressor just used on the same CPU, still cached.
type burstEncoder struct {
	w        io.Writer        // the compressed stream
	encoding string           // "gzip" or "br"
	buf      *[burstSize]byte // nil once the compressor is taken
	n        int              // buf[:n] waits to be compressed
	enc      encoder          // nil until the first burst
}

// newBurstEncoder returns a writer that compresses into w with the named
// encoding ("br", "gzip" or "" for identity, which is not buffered).
// releaseEncoder gives it back.
func newBurstEncoder(w io.Writer, encoding string) encoder {
	if encoding != "br" && encoding != "gzip" {
		return newEncoder(w, encoding)
	}
	return &burstEncoder{w: w, encoding: encoding, buf: burstBuffers.Get().(*[burstSize]byte)}
}

func (b *burstEncoder) Write(p []byte) (int, error) {
	if b.enc == nil && b.n+len(p) < burstSize {
		b.n += copy(b.buf[b.n:], p)
		return len(p), nil
	}
	if err := b.burst(); err != nil {
		return 0, err
	}
	return b.enc.Write(p)
}

// burst takes the compressor, if not yet done, and gives it what was
// gathered.
func (b *burstEncoder) burst() error {
	if b.enc != nil {
		return nil
	}
	b.enc = newEncoder(b.w, b.encoding)
	_, err := b.enc.Write(b.buf[:b.n])
	burstBuffers.Put(b.buf)
	b.buf, b.n = nil, 0
	return err
}

// Flush compresses what is gathered and pushes the compressed bytes out.
func (b *burstEncoder) Flush() error {
	if err := b.burst(); err != nil {
		return err
	}
	return b.enc.Flush()
}

// Close compresses what is gathered and ends the compressed stream.
func (b *burstEncoder) Close() error {
	if err := b.burst(); err != nil {
		return err
	}
	return b.enc.Close()
}

func (b *burstEncoder) release() {
	if b.enc != nil {
		releaseEncoder(b.enc)
		b.enc = nil
	}
	if b.buf != nil {
		burstBuffers.Put(b.buf)
		b.buf = nil
	}
}

// pooledGzipReader gives its gzip.Reader back to gzipReaders when closed.
type pooledGzipReader struct{ *gzip.Reader }

func (r *pooledGzipReader) Close() error {
	if r.Reader == nil {
		return nil
	}
	err := r.Reader.Close()
	gzipReaders.Put(r.Reader)
	r.Reader = nil
	return err
}

// streamEncoding picks the encoding of a body compressed as it streams
// (a miss) for a reader's Accept-Encoding header: gzip, then br, else
// identity. An encoding with q=0 is refused.
//
// Gzip comes first although browsers take brotli: at the levels used, it
// costs a tenth of the CPU (0.3 against 2–3 ms for the 106 KB front page)
// for 25 % more bytes, so a flood of misses, each a page nobody asked for
// before, costs the edge least. A page read again is served in brotli: the
// hit asks the cache for that copy, which its one background worker makes
// (cache.Entry.Choose). The warmer and background refreshes, which no
// reader waits for, ask for br alone and store brotli at once.
func streamEncoding(acceptEncoding string) string {
	var br, gz bool
	for part := range strings.SplitSeq(acceptEncoding, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if qZero(params) {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "br":
			br = true
		case "gzip", "x-gzip":
			gz = true
		case "*":
			br, gz = true, true
		}
	}
	switch {
	case gz:
		return "gzip"
	case br:
		return "br"
	}
	return ""
}

// acceptsEncoding reports whether the reader accepts the given encoding.
func acceptsEncoding(acceptEncoding, encoding string) bool {
	encoding = strings.ToLower(encoding)
	for part := range strings.SplitSeq(acceptEncoding, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if (name == encoding || name == "*") && !qZero(params) {
			return true
		}
	}
	return false
}

func qZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err != nil || q == 0
		}
	}
	return false
}
