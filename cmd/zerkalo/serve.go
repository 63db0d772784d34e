package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"zerkalo/cache"
	"zerkalo/proxy"
	"zerkalo/proxy/config"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
	"zerkalo/proxy/systemd"
)

const serveUsage = `Usage: zerkalo serve [--config FILE] [--demo] [--check]

Runs an edge. Without --config it mirrors www.rferl.org on
https://localhost:8443 with a self-signed certificate.

Flags:
`

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "", "the TOML config `file` (default: built-in defaults)")
	check := fs.Bool("check", false, "validate the config and exit: 0 valid, 2 invalid")
	demoMode := fs.Bool("demo", false, "serve bundled sample pages from an in-process origin instead of the real one")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if *check {
		fmt.Fprintf(stdout, "%s: valid\n", displayPath(cfg.Path))
		return exitOK
	}
	log := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *configPath, cfg, *demoMode, log); err != nil {
		log.Error("edge stopped", "err", err)
		return exitFailure
	}
	return exitOK
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		cfg := config.Default()
		return cfg, cfg.Validate()
	}
	return config.Load(path)
}

func displayPath(p string) string {
	if p == "" {
		return "built-in defaults"
	}
	return p
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs the edge until ctx is done, reloading its configuration on
// SIGHUP. The listeners stay open across reloads: in-flight requests finish
// on the configuration they started with, new ones get the new one.
func serve(ctx context.Context, cfgPath string, cfg *config.Config, demoMode bool, log *slog.Logger) error {
	var demoOrigin *fakeorigin.Server
	if demoMode {
		fake, err := fakeorigin.Start(demo.Handler())
		if err != nil {
			return fmt.Errorf("demo origin: %w", err)
		}
		defer fake.Close()
		demoOrigin = fake
		log.Info("demo mode: serving bundled sample pages", "origin", fake.Addr())
	}
	store, err := cache.Open(cfg.Cache.Dir, cache.Options{})
	if err != nil {
		return fmt.Errorf("cache %s: %w", cfg.Cache.Dir, err)
	}
	defer store.Close()
	shared := &shared{store: store, demoOrigin: demoOrigin, metrics: proxy.NewMetrics(), log: log}
	first, err := build(cfg, shared)
	if err != nil {
		return err
	}
	var current atomic.Pointer[edgeState]
	current.Store(first)
	defer func() { current.Load().close() }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := &proxy.Server{
		Listen: cfg.Listen,
		Handler: shared.metrics.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			current.Load().handler.ServeHTTP(w, r)
		})),
		TLSConfig: &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return current.Load().getCertificate(h) }},
		Logger:    log,
		Ready: func(addr net.Addr) {
			if cfg.TLS.Mode == "self-signed" {
				log.Info("self-signed mode: trust this CA to avoid browser warnings",
					"ca", filepath.Join(cfg.StateDir, "selfsigned-ca.pem"))
			}
			for _, d := range cfg.Domains {
				log.Info("mirror ready", "url", "https://"+net.JoinHostPort(d, portOf(addr)))
			}
			notify(log, systemd.Ready)
			go runWatchdog(ctx, addr, log)
		},
	}
	srvCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	done := make(chan error, 1)
	go func() { done <- srv.Run(srvCtx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			notify(log, systemd.Stopping)
			return <-done
		case <-hup:
			reload(cfgPath, cfg, shared, &current)
		}
	}
}

// reload replaces the running configuration with the file's current
// contents, or keeps the old one if the new one is invalid.
func reload(path string, running *config.Config, sh *shared, current *atomic.Pointer[edgeState]) {
	log := sh.log
	notify(log, systemd.Reloading)
	defer notify(log, systemd.Ready)
	if path == "" {
		log.Info("reload: no config file; nothing to reload")
		return
	}
	cfg, err := config.Load(path)
	if err != nil {
		log.Error("reload rejected: the new config is invalid; the old one keeps serving", "err", err)
		return
	}
	for _, changed := range restartOnly(running, cfg) {
		log.Warn("reload: this setting changes only with a restart", "key", changed)
	}
	next, err := build(cfg, sh)
	if err != nil {
		log.Error("reload rejected; the old config keeps serving", "err", err)
		return
	}
	old := current.Swap(next)
	old.close()
	log.Info("reloaded", "config", path, "domains", strings.Join(cfg.Domains, " "))
}

// restartOnly lists the settings that differ between two configurations
// but take effect only when the edge restarts.
func restartOnly(old, new *config.Config) []string {
	var keys []string
	if old.Listen != new.Listen {
		keys = append(keys, "listen")
	}
	if old.Cache.Dir != new.Cache.Dir {
		keys = append(keys, "cache.dir")
	}
	return keys
}

// shared holds what lives across reloads: the cache, the metrics, the
// demo origin and the logger.
type shared struct {
	store      *cache.Store
	metrics    *proxy.Metrics
	demoOrigin *fakeorigin.Server
	log        *slog.Logger
}

// edgeState is what one configuration builds: the handler readers get and
// the certificates they are served.
type edgeState struct {
	handler        http.Handler
	edge           *proxy.Edge
	getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	transport      *http.Transport
}

// close stops the state's background revalidations and lets go of its
// idle origin connections; requests still in flight on it finish normally.
func (s *edgeState) close() {
	s.edge.Close()
	s.transport.CloseIdleConnections()
}

// build wires the parts of one configuration together.
func build(cfg *config.Config, sh *shared) (*edgeState, error) {
	origin := cfg.Origin
	hosts := cfg.Hosts()
	roots, err := cfg.OriginCAs()
	if err != nil {
		return nil, err
	}
	if sh.demoOrigin != nil {
		origin.Site = demo.Site
		hosts = demo.Hosts(demo.Site)
		origin.Resolve = map[string]string{"*": sh.demoOrigin.Addr()}
		roots = sh.demoOrigin.CA().Pool()
	}
	mapper, err := rewrite.NewMapper(origin.Site, hosts)
	if err != nil {
		return nil, err
	}
	transport := proxy.NewOriginTransport(proxy.OriginOptions{
		IsOrigin:       mapper.IsOrigin,
		Resolve:        origin.Resolve,
		RootCAs:        roots,
		ConnectTimeout: time.Duration(origin.ConnectTimeout),
		HeaderTimeout:  time.Duration(origin.Timeout),
	})
	edge, err := proxy.New(proxy.Options{
		Mapper:    mapper,
		Domains:   cfg.Domains,
		Transport: transport,
		Timeout:   time.Duration(origin.Timeout),
		MaxBody:   int64(origin.MaxBody),
		UserAgent: origin.UserAgent,
		Logger:    sh.log,
		Metrics:   sh.metrics,
		Cache:     sh.store,
		CachePolicy: cache.Policy{
			StaleIfError: cache.DefaultPolicy().StaleIfError,
			Override:     map[string]time.Duration{"text/html": 60 * time.Second},
		},
	})
	if err != nil {
		return nil, err
	}
	tlsConf, err := readerTLS(cfg)
	if err != nil {
		return nil, err
	}
	return &edgeState{handler: edge, edge: edge, getCertificate: tlsConf.GetCertificate, transport: transport}, nil
}

func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// readerTLS returns the TLS config readers are served with.
func readerTLS(cfg *config.Config) (*tls.Config, error) {
	switch cfg.TLS.Mode {
	case "files":
		return proxy.FilesTLS(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.Domains)
	default:
		return proxy.SelfSignedTLS(cfg.StateDir, cfg.Domains)
	}
}

// notify sends one sd_notify message; a failure is logged, not fatal.
func notify(log *slog.Logger, send func() error) {
	if err := send(); err != nil {
		log.Warn("systemd notify failed", "err", err)
	}
}

// runWatchdog feeds systemd's watchdog while the edge still accepts
// connections and answers TLS handshakes; a wedged edge stops feeding it
// and is restarted.
func runWatchdog(ctx context.Context, addr net.Addr, log *slog.Logger) {
	if _, ok := systemd.WatchdogInterval(); !ok {
		return
	}
	err := systemd.RunWatchdog(ctx, func() bool { return answersTLS(ctx, addr.String()) })
	if err != nil && ctx.Err() == nil {
		log.Warn("watchdog stopped", "err", err)
	}
}

// answersTLS reports whether the edge's own listener completes a TCP
// connect and answers a TLS ClientHello (any answer, even an alert for the
// unknown name, shows the serving loop is alive).
func answersTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{ServerName: "watchdog.invalid", InsecureSkipVerify: true})
	err = tc.HandshakeContext(ctx)
	return err == nil || ctx.Err() == nil
}
