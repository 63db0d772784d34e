// Command origin runs the fake RFE/RL origin (proxy/fakeorigin serving the
// bundled pages of proxy/demo) on 127.0.0.1 for the benchmark: it writes
// the origin's CA certificate to the file named by -ca, prints its address
// ("127.0.0.1:port") on standard output, and serves until SIGINT or SIGTERM.
// With -hosts it prints the edge's origin.hosts for the sites named and
// exits (the benchmark mirrors VOA's article page beside RFE/RL's pages).
//
// GET /_bench/requests (any host) answers with the number of other
// requests served so far, so the benchmark can check that a hit run
// reached the origin (almost) never and a miss run once per request.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"zerkalo/proxy/config"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/fakeorigin"
)

func main() {
	caFile := flag.String("ca", "origin-ca.pem", "where to write the origin's CA certificate (PEM)")
	hosts := flag.String("hosts", "", "print, as a TOML array for origin.hosts, the built-in origin hosts of these comma-separated sites, and exit")
	flag.Parse()
	if *hosts != "" {
		fmt.Println(tomlHosts(strings.Split(*hosts, ",")))
		return
	}
	if err := run(*caFile); err != nil {
		log.Fatalf("origin: %v", err)
	}
}

// tomlHosts returns the built-in origin hosts of every site (see
// config.DefaultHosts), each once, as a TOML array.
func tomlHosts(sites []string) string {
	var all []string
	for _, site := range sites {
		for _, h := range config.DefaultHosts(site) {
			if !slices.Contains(all, h) {
				all = append(all, h)
			}
		}
	}
	quoted := make([]string, len(all))
	for i, h := range all {
		quoted[i] = strconv.Quote(h)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func run(caFile string) error {
	srv, err := fakeorigin.Start(counting(demo.Handler()))
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer srv.Close()
	if err := srv.WriteCAFile(caFile); err != nil {
		return err
	}
	fmt.Println(srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The fake origin logs every request for tests; under load that log
	// would grow without bound, so it is emptied regularly.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			srv.ResetLog()
		}
	}
}

// countPath is where the origin reports how many requests it served.
const countPath = "/_bench/requests"

// counting wraps h with a request counter readable at countPath.
func counting(h http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == countPath {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintln(w, strconv.FormatInt(n.Load(), 10))
			return
		}
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}
