package proxy

import (
	"net/http"
	"sync"
	"time"
)

// DefaultWriteStall is how long a write to a reader may make no progress
// (Options.WriteStall) when Options leaves it zero.
const DefaultWriteStall = 30 * time.Second

// stallChunk is the most bytes given to the connection per write
// deadline: a reader must take a chunk within WriteStall, about 2 KB/s at
// the default, far below any link a page is read over.
const stallChunk = 64 << 10

// stallWriter bounds every write to the reader: a reader who stops
// reading (a full TCP window, an HTTP/2 or HTTP/3 stream whose flow
// control window stays shut) makes the write fail after the stall time,
// so the handler, its origin fetch slot, an open cache file and the
// goroutines behind them are let go. A reader who reads slowly but
// steadily is never cut: the deadline moves on with every chunk.
//
// The deadline is set when the writer is made, so that a response with
// no body (a 304) and net/http's final flush after the handler are
// bounded too, and at most every stallChunk bytes after that.
type stallWriter struct {
	http.ResponseWriter
	rc    http.ResponseController // a value: one allocation less per request
	stall time.Duration

	mu   sync.Mutex // abort against the handler's end
	done bool
}

func newStallWriter(w http.ResponseWriter, stall time.Duration) *stallWriter {
	s := &stallWriter{ResponseWriter: w, rc: *http.NewResponseController(w), stall: stall}
	s.extend()
	return s
}

// extend moves the write deadline to stall from now. Writers that cannot
// take a deadline (a test's recorder) are written without one.
func (s *stallWriter) extend() {
	s.rc.SetWriteDeadline(time.Now().Add(s.stall))
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if len(p) <= stallChunk {
		return s.ResponseWriter.Write(p) // the deadline set at the start or the last chunk
	}
	written := 0
	for len(p) > 0 {
		n, err := s.ResponseWriter.Write(p[:min(len(p), stallChunk)])
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
		s.extend()
	}
	return written, nil
}

// Flush pushes buffered bytes out and, since a flush is a sign of a body
// still streaming, moves the deadline on.
func (s *stallWriter) Flush() {
	s.rc.Flush()
	s.extend()
}

// abort makes the writes to the reader fail now (the fetch timed out),
// unless the handler has finished: its writer is net/http's no more.
func (s *stallWriter) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.rc.SetWriteDeadline(time.Now())
	}
}

// finish marks the handler's end; abort does nothing after it.
func (s *stallWriter) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
}

// Unwrap returns the underlying ResponseWriter.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
