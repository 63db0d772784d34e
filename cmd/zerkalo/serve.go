package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"zerkalo/proxy"
	"zerkalo/proxy/config"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
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
	if err := serve(ctx, cfg, *demoMode, log); err != nil {
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

// serve wires the configured parts together and runs the edge until ctx
// is done.
func serve(ctx context.Context, cfg *config.Config, demoMode bool, log *slog.Logger) error {
	origin := cfg.Origin
	hosts := cfg.Hosts()
	roots, err := cfg.OriginCAs()
	if err != nil {
		return err
	}
	if demoMode {
		fake, err := fakeorigin.Start(demo.Handler())
		if err != nil {
			return fmt.Errorf("demo origin: %w", err)
		}
		defer fake.Close()
		origin.Site = demo.Site
		hosts = demo.Hosts(demo.Site)
		origin.Resolve = map[string]string{"*": fake.Addr()}
		roots = fake.CA().Pool()
		log.Info("demo mode: serving bundled sample pages", "origin", fake.Addr())
	}
	mapper, err := rewrite.NewMapper(origin.Site, hosts)
	if err != nil {
		return err
	}
	transport := proxy.NewOriginTransport(proxy.OriginOptions{
		IsOrigin:       mapper.IsOrigin,
		Resolve:        origin.Resolve,
		RootCAs:        roots,
		ConnectTimeout: time.Duration(origin.ConnectTimeout),
		HeaderTimeout:  time.Duration(origin.Timeout),
	})
	defer transport.CloseIdleConnections()
	edge, err := proxy.New(proxy.Options{
		Mapper:    mapper,
		Domains:   cfg.Domains,
		Transport: transport,
		Timeout:   time.Duration(origin.Timeout),
		MaxBody:   int64(origin.MaxBody),
		UserAgent: origin.UserAgent,
		Logger:    log,
	})
	if err != nil {
		return err
	}
	tlsConf, err := readerTLS(cfg)
	if err != nil {
		return err
	}
	srv := &proxy.Server{
		Listen:    cfg.Listen,
		Handler:   edge,
		TLSConfig: tlsConf,
		Logger:    log,
		Ready: func(addr net.Addr) {
			if cfg.TLS.Mode == "self-signed" {
				log.Info("self-signed mode: trust this CA to avoid browser warnings",
					"ca", filepath.Join(cfg.StateDir, "selfsigned-ca.pem"))
			}
			for _, d := range cfg.Domains {
				log.Info("mirror ready", "url", "https://"+net.JoinHostPort(d, portOf(addr)))
			}
		},
	}
	return srv.Run(ctx)
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
