package fakeorigin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Mode is how the server behaves towards new and open connections.
type Mode int

// The failure modes. Each acts at the socket level, the way the matching
// real failure would, on new connections and on those already open (a
// client's pooled connections): Refuse closes them, Reset resets them, Hang
// leaves them open but answers nothing on them.
const (
	// Up serves requests normally.
	Up Mode = iota
	// Refuse closes the listening socket: connections are refused. Going
	// back Up listens again on the same port.
	Refuse
	// Reset accepts connections and resets them at once (TCP RST).
	Reset
	// Hang accepts connections and never answers, not even the TLS
	// handshake, until the mode changes or the server is closed. Held
	// connections are then served (mode Up or Status503) or closed.
	Hang
	// Status503 answers every request with 503 Service Unavailable.
	Status503
)

var modeNames = [...]string{"Up", "Refuse", "Reset", "Hang", "Status503"}

func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Mode returns the current mode.
func (s *Server) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// SetDown switches the server to mode m. Going back to Up from Refuse fails
// if the port has been taken by someone else meanwhile.
func (s *Server) SetDown(m Mode) error {
	if m < Up || m > Status503 {
		return fmt.Errorf("fakeorigin: unknown mode %v", m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("fakeorigin: server closed")
	}
	if m == s.mode {
		return nil
	}
	if m != Refuse && s.tcp == nil {
		tcp, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("fakeorigin: listen again on %s: %w", s.addr, err)
		}
		s.tcp = tcp
		s.startAccept(tcp)
	}
	if m == Refuse {
		s.tcp.Close()
		s.tcp = nil
	}
	for c := range s.conns {
		switch m {
		case Refuse:
			c.Close()
		case Reset:
			abort(c)
		}
	}
	s.mode = m
	close(s.changed)
	s.changed = make(chan struct{})
	held := s.held
	s.held = nil
	for _, c := range held {
		s.admit(c)
	}
	return nil
}

// startAccept runs the accept loop for tcp until it is closed. Call with
// s.mu held or before the server is shared.
func (s *Server) startAccept(tcp net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := tcp.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				return
			}
			s.mu.Lock()
			s.admit(c)
			s.mu.Unlock()
		}
	}()
}

// admit decides the fate of a new connection by the mode. s.mu is held.
func (s *Server) admit(c net.Conn) {
	switch {
	case s.closed:
		c.Close()
	case s.mode == Hang:
		s.held = append(s.held, c)
	case s.mode == Reset || s.mode == Refuse:
		abort(c)
	default:
		s.ln.push(c)
	}
}

// abort closes c with a TCP reset rather than an orderly close.
func abort(c net.Conn) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn() // *tls.Conn
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// wrap logs each request and applies the request-level modes.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		for {
			s.mu.Lock()
			m, changed, closed := s.mode, s.changed, s.closed
			s.mu.Unlock()
			switch {
			case closed:
				return
			case m == Status503:
				w.Header().Set("Retry-After", "30")
				http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
				return
			case m == Hang:
				// A request on a connection open before the hang. It is
				// never answered: a handler that returned would send an
				// empty 200.
				select {
				case <-changed:
					continue
				case <-s.done:
					panic(http.ErrAbortHandler)
				case <-r.Context().Done():
					panic(http.ErrAbortHandler)
				}
			}
			h.ServeHTTP(w, r)
			return
		}
	})
}
