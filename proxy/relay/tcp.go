package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// serveTCP accepts readers' connections until ln is closed.
func (r *Relay) serveTCP(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond) // out of file descriptors: back off
				continue
			}
			return err
		}
		key := clientKey(c.RemoteAddr())
		if !r.admit.acquire(key) {
			r.stats.refusedLimit.Add(1)
			c.Close()
			continue
		}
		r.stats.accepted.Add(1)
		wg.Go(func() {
			defer r.admit.release(key)
			r.handleTCP(ctx, c)
		})
	}
}

// handleTCP checks the reader's server name and splices the connection
// to the edge.
func (r *Relay) handleTCP(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(r.limits.HandshakeTimeout))
	name, peeked, err := peekServerName(c)
	if err != nil || name != r.domain {
		r.stats.refusedName.Add(1)
		return
	}
	c.SetReadDeadline(time.Time{})
	d := net.Dialer{Timeout: r.limits.HandshakeTimeout}
	up, err := d.DialContext(ctx, "tcp", r.cfg.Edge)
	if err != nil {
		r.stats.edgeErrors.Add(1)
		return
	}
	defer up.Close()
	r.splice(ctx, c, up, peeked)
}

// splice copies both ways between reader and edge, the peeked bytes
// first, until both directions end, the connection is idle for
// IdleTimeout, or ctx is done.
func (r *Relay) splice(ctx context.Context, reader, edge net.Conn, peeked []byte) {
	stop := context.AfterFunc(ctx, func() {
		reader.SetDeadline(time.Now())
		edge.SetDeadline(time.Now())
	})
	defer stop()
	var wg sync.WaitGroup
	// A direction that ends cleanly half-closes; one that fails (time-out,
	// reset) ends both.
	end := func(dst net.Conn, err error) {
		if err == nil {
			closeWrite(dst)
			return
		}
		reader.SetDeadline(time.Now())
		edge.SetDeadline(time.Now())
	}
	wg.Go(func() {
		end(edge, r.copy(ctx, edge, io.MultiReader(bytes.NewReader(peeked), idleReader{reader, r.limits.IdleTimeout})))
	})
	end(reader, r.copy(ctx, reader, idleReader{edge, r.limits.IdleTimeout}))
	wg.Wait()
}

// copy copies src to dst through the bandwidth limiter. It returns nil
// when src ends cleanly.
func (r *Relay) copy(ctx context.Context, dst io.Writer, src io.Reader) error {
	buf := make([]byte, chunk)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := r.bw.wait(ctx, n); werr != nil {
				return werr
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			r.stats.bytes.Add(int64(n))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// idleReader extends the connection's read deadline before every read.
type idleReader struct {
	c    net.Conn
	idle time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	r.c.SetReadDeadline(time.Now().Add(r.idle))
	return r.c.Read(p)
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.Close()
	}
}
