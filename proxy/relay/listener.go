package relay

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
)

// limitListener admits connections through the relay's limits; a
// refused connection is closed at once, unanswered.
type limitListener struct {
	net.Listener
	r *Relay
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		if !l.r.admit.acquire(key) {
			l.r.stats.refusedLimit.Add(1)
			c.Close()
			continue
		}
		l.r.stats.accepted.Add(1)
		return &limitConn{Conn: c, release: func() { l.r.admit.release(key) }}, nil
	}
}

// limitConn gives its admission back when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// discardLog swallows net/http's server errors, which name client
// addresses.
var discardLog = log.New(io.Discard, "", 0)

// ignoreClosed turns the error a server returns once its listener is
// closed into nil.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
