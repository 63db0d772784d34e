package proxy

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"zerkalo/proxy/fakeorigin"
)

// TestOriginProtocol checks that the origin transport speaks HTTP/1.1 to
// an origin that offers HTTP/2 too, unless HTTP2 is set, and keeps its
// connection alive either way.
func TestOriginProtocol(t *testing.T) {
	for _, tc := range []struct {
		http2 bool
		want  string
	}{
		{false, "HTTP/1.1"},
		{true, "HTTP/2.0"},
	} {
		var mu sync.Mutex
		conns := map[string]bool{} // the origin's view: one client address per connection
		origin, err := fakeorigin.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			conns[r.RemoteAddr] = true
			mu.Unlock()
			io.WriteString(w, r.Proto)
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { origin.Close() })
		tr := NewOriginTransport(OriginOptions{
			IsOrigin:       func(h string) bool { return h == "www.rferl.org" },
			Resolve:        map[string]string{"*": origin.Addr()},
			RootCAs:        origin.CA().Pool(),
			ConnectTimeout: 5 * time.Second,
			HeaderTimeout:  5 * time.Second,
			HTTP2:          tc.http2,
		})
		t.Cleanup(tr.CloseIdleConnections)
		for i := range 3 {
			req, _ := http.NewRequestWithContext(context.Background(), "GET", "https://www.rferl.org/", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("http2 %v: %v", tc.http2, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != tc.want {
				t.Errorf("http2 %v, request %d: origin saw %q (%v), want %q", tc.http2, i, body, err, tc.want)
			}
		}
		mu.Lock()
		n := len(conns)
		mu.Unlock()
		if n != 1 {
			t.Errorf("http2 %v: %d connections to the origin for 3 requests in turn, want 1", tc.http2, n)
		}
	}
}
