package proxy

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWriteStall is how long a write to a reader may make no progress
// (Options.WriteStall) when Options leaves it zero.
const DefaultWriteStall = 30 * time.Second

// stallChunk is the most bytes handed to the connection at once: a large
// write is cut into pieces, so that each piece, not the whole body, must
// go out within the stall time (64 KB in 30 s: about 2 KB/s, far below
// any link a page is read over).
const stallChunk = 64 << 10

// stallWriter bounds every write to the reader: a reader who stops
// reading (a full TCP window, an HTTP/2 or HTTP/3 stream whose flow
// control window stays shut) makes the write fail after the stall time,
// so the handler, its origin fetch slot, an open cache file and the
// goroutines behind them are let go. Only the time a write is blocked
// counts: a slow but steady reader, an hour of video or a body the origin
// sends slowly is never cut.
//
// The deadline is set when the writer is made, so that a response with
// no body (a 304) and net/http's final flush after the handler are
// bounded too. A write then moves it on only if a quarter of the stall
// time has passed since it was last set, so that a hit, over in
// microseconds, sets it once: over HTTP/2 each setting is a message to
// the connection's goroutine and a timer.
type stallWriter struct {
	http.ResponseWriter
	rc    http.ResponseController // a value: one allocation less per request
	stall time.Duration
	set   time.Time // when the deadline was last moved on

	writing atomic.Bool // a write is under way (perhaps blocked)
	mu      sync.Mutex  // abort against extend and the handler's end
	aborted bool        // the deadline stays in the past
	done    bool
}

func newStallWriter(w http.ResponseWriter, stall time.Duration) *stallWriter {
	s := &stallWriter{ResponseWriter: w, rc: *http.NewResponseController(w), stall: stall}
	s.extend()
	return s
}

// extend moves the write deadline to stall from now, unless the response
// was aborted. Writers that cannot take a deadline (a test's recorder)
// are written without one.
func (s *stallWriter) extend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		return
	}
	s.set = time.Now()
	s.rc.SetWriteDeadline(s.set.Add(s.stall))
}

// progress moves the deadline on before a write if it is getting near.
func (s *stallWriter) progress() {
	if time.Since(s.set) > s.stall/4 {
		s.extend()
	}
}

func (s *stallWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		s.progress()
		s.writing.Store(true)
		n, err := s.ResponseWriter.Write(p[:min(len(p), stallChunk)])
		s.writing.Store(false)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// Flush pushes buffered bytes out, within the deadline like a write.
func (s *stallWriter) Flush() {
	s.progress()
	s.rc.Flush()
}

// abort makes a write to the reader that is under way fail now (the fetch
// timed out while the reader was not taking the body), unless the handler
// has finished: its writer is net/http's no more. With no write under
// way, the timeout reaches the reader the usual way (the body ends in an
// error, logged) and needs no abort; a write starting just after this
// check is bounded by the stall time.
func (s *stallWriter) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done && s.writing.Load() {
		s.aborted = true
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
