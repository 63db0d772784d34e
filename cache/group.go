package cache

import (
	"context"
	"sync"
)

// Group coalesces concurrent work on one key: while a call for a key runs,
// other calls for the same key wait for it instead of starting their own.
// The edge wraps a miss in Do so that many concurrent misses of one URL
// cause one origin fetch; the waiters then look the key up again (or serve
// the stale copy they hold). The zero Group is ready to use.
type Group struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done    chan struct{}
	err     error
	waiters int // guarded by Group.mu; for tests
}

// Do runs fn unless a call for key is already running, in which case it
// waits for that call to finish and returns its error with shared set. A
// waiter whose ctx ends stops waiting and returns ctx.Err(); the running
// call continues. fn runs in the caller's goroutine, so a leader whose fetch
// must outlive its own reader should detach it (context.WithoutCancel).
func (g *Group) Do(ctx context.Context, key string, fn func() error) (shared bool, err error) {
	g.mu.Lock()
	if c, ok := g.calls[key]; ok {
		c.waiters++
		g.mu.Unlock()
		select {
		case <-c.done:
			return true, c.err
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	if g.calls == nil {
		g.calls = make(map[string]*call)
	}
	c := &call{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()

	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.err = fn()
	return false, c.err
}
