package fakeorigin

import (
	"net"
	"sync"
)

// chanListener is a net.Listener fed by the server's own accept loop, so
// that the listening socket can be closed and opened again while the HTTP
// server keeps serving.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the HTTP server, or closes it once the listener is closed.
func (l *chanListener) push(c net.Conn) {
	go func() {
		select {
		case l.conns <- c:
		case <-l.done:
			c.Close()
		}
	}()
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
