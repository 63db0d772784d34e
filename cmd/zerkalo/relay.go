package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"zerkalo/proxy/certs"
	"zerkalo/proxy/enroll"
	"zerkalo/proxy/relay"
	"zerkalo/proxy/systemd"
)

const relayUsage = `Usage: zerkalo relay --edge HOST:PORT [--listen :443] [--invite TOKEN] [flags]

Runs a volunteer relay: readers' TLS (TCP) and QUIC (UDP) for the relay's
domain pass through to the edge, which holds the certificate; the relay
cannot read or change pages. The first start needs the operator's
invitation (--invite); the enrollment is then kept in --state, and later
starts need none.

Flags:
`

// relayFlags are zerkalo relay's settings.
type relayFlags struct {
	edge, listen, invite, state, httpListen string
	proxy, proxyCert, proxyKey, logLevel    string
	public                                  bool
	limits                                  relay.Limits
	bandwidthKB                             int64
	refresh                                 time.Duration
}

func runRelay(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("relay", relayUsage, stderr)
	var f relayFlags
	fs.StringVar(&f.edge, "edge", "", "the edge's `address` host:port (default: the one in the invitation)")
	fs.StringVar(&f.listen, "listen", ":443", "TCP and UDP `address` readers connect to")
	fs.StringVar(&f.invite, "invite", os.Getenv("ZERKALO_INVITE"), "the operator's invitation `token` (first start only; default $ZERKALO_INVITE)")
	fs.StringVar(&f.state, "state", defaultRelayState(), "`directory` keeping the enrollment")
	fs.StringVar(&f.httpListen, "http-listen", "auto", `plain-HTTP `+"`address`"+` forwarding ACME HTTP-01 challenges to the edge; "auto": ":80" when --listen is on port 443; "off": none`)
	fs.StringVar(&f.proxy, "proxy", "", "also serve a CONNECT-only HTTPS proxy to the mirror domains on this `address`; its PAC file is https://DOMAIN:PORT"+relay.PACPath)
	fs.StringVar(&f.proxyCert, "proxy-cert", "", "certificate `file` (PEM) of the proxy for the relay's domain (default: self-signed, CA in --state)")
	fs.StringVar(&f.proxyKey, "proxy-key", "", "private key `file` (PEM) for --proxy-cert")
	fs.BoolVar(&f.public, "public", false, "at enrollment, let the edge list this relay publicly")
	fs.IntVar(&f.limits.MaxConns, "max-conns", relay.DefaultMaxConns, "most concurrent connections plus QUIC flows")
	fs.IntVar(&f.limits.PerClient, "per-client", relay.DefaultPerClient, "most concurrent connections plus flows from one client address")
	fs.Int64Var(&f.bandwidthKB, "bandwidth", 0, "bandwidth cap in `KiB/s`, both directions together (0: none)")
	fs.DurationVar(&f.limits.IdleTimeout, "idle-timeout", relay.DefaultIdleTimeout, "close connections and flows idle this long")
	fs.DurationVar(&f.refresh, "refresh", time.Hour, "how often to ask the edge for its mirror list and whether the relay is still enrolled")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	if f.state == "" {
		return usageError(fs, "--state is required (no $STATE_DIRECTORY and no home directory)")
	}
	if (f.proxyCert == "") != (f.proxyKey == "") {
		return usageError(fs, "--proxy-cert and --proxy-key go together")
	}
	f.limits.Bandwidth = f.bandwidthKB << 10
	log, _ := newLogger(stderr, f.logLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	en, code := relayEnrollment(ctx, &f, log)
	if en == nil {
		return code
	}
	return serveRelay(ctx, &f, en, log)
}

// defaultRelayState is $STATE_DIRECTORY (set by systemd's StateDirectory=)
// or ~/.local/state/zerkalo-relay.
func defaultRelayState() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		return strings.Split(d, ":")[0]
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "zerkalo-relay")
	}
	return ""
}

// relayEnrollment returns the kept enrollment, or enrolls with the
// invitation; nil and an exit code when neither works.
func relayEnrollment(ctx context.Context, f *relayFlags, log *slog.Logger) (*enroll.Enrollment, int) {
	en, err := enroll.LoadEnrollment(f.state)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("cannot read the kept enrollment", "err", err)
		return nil, exitFailure
	}
	if en != nil && f.edge != "" && f.edge != en.Edge {
		en.Edge = f.edge
	}
	if en != nil && f.invite != "" {
		// The invitation (e.g. still in relay.env) is used only if it is
		// for another domain, or the kept enrollment was revoked.
		inv, err := enroll.ParseToken(f.invite, time.Now())
		replace := err == nil && (inv.Domain != en.Domain || errors.Is(en.Status(ctx), enroll.ErrRevoked))
		if !replace {
			log.Info("already enrolled; the invitation is not used", "domain", en.Domain)
			return en, exitOK
		}
		en = nil
	}
	if en != nil {
		return en, exitOK
	}
	if f.invite == "" {
		log.Error("not enrolled yet: the first start needs the operator's invitation (--invite TOKEN)", "state", f.state)
		return nil, exitUsage
	}
	en, err = enroll.Enroll(ctx, f.invite, f.edge, f.public)
	if err != nil {
		log.Error("enrollment failed", "err", err)
		if errors.Is(err, enroll.ErrInvitation) || strings.Contains(err.Error(), "refused") {
			return nil, exitUsage
		}
		return nil, exitFailure
	}
	if err := en.Save(f.state); err != nil {
		log.Error("cannot keep the enrollment", "err", err)
		return nil, exitFailure
	}
	log.Info("enrolled", "domain", en.Domain, "state", f.state)
	return en, exitOK
}

// serveRelay runs the relay until a signal, a failure or a revocation.
func serveRelay(ctx context.Context, f *relayFlags, en *enroll.Enrollment, log *slog.Logger) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mirrors atomic.Pointer[[]string]
	mirrors.Store(&en.Mirrors)
	cfg := relay.Config{
		Listen: f.listen, Edge: en.Edge, Domain: en.Domain,
		HTTPListen: httpListen(f.httpListen, f.listen),
		Limits:     f.limits, Logger: log,
		Ready: func(addr net.Addr) {
			notify(log, systemd.Ready)
			go relayWatchdog(ctx, addr, log)
		},
	}
	if f.proxy != "" {
		tlsConf, err := proxyTLS(f, en.Domain, log)
		if err != nil {
			log.Error("proxy certificate", "err", err)
			return exitUsage
		}
		cfg.Proxy = &relay.ConnectProxy{Listen: f.proxy, TLSConfig: tlsConf, Mirrors: func() []string { return *mirrors.Load() }}
	}
	r, err := relay.New(cfg)
	if err != nil {
		log.Error("relay", "err", err)
		return exitUsage
	}
	go refreshEnrollment(ctx, cancel, f, en, &mirrors, log)
	err = r.Run(ctx)
	notify(log, systemd.Stopping)
	if cause := context.Cause(ctx); errors.Is(cause, enroll.ErrRevoked) {
		log.Error("the edge's operator revoked this relay; stopping", "domain", en.Domain)
		enroll.Forget(f.state)
		return exitUsage
	}
	if err != nil {
		log.Error("relay stopped", "err", err)
		return exitFailure
	}
	return exitOK
}

// refreshEnrollment asks the edge for its mirror list now and every
// f.refresh; a revocation stops the relay.
func refreshEnrollment(ctx context.Context, stop context.CancelCauseFunc, f *relayFlags, en *enroll.Enrollment, mirrors *atomic.Pointer[[]string], log *slog.Logger) {
	for {
		e := *en
		err := e.Status(ctx)
		switch {
		case errors.Is(err, enroll.ErrRevoked):
			stop(err)
			return
		case err != nil && ctx.Err() == nil:
			log.Warn("cannot reach the edge to refresh the mirror list; keeping the last one", "err", err)
		case err == nil:
			mirrors.Store(&e.Mirrors)
			if err := e.Save(f.state); err != nil {
				log.Warn("cannot keep the enrollment", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.refresh):
		}
	}
}

// httpListen resolves --http-listen's "auto" and "off".
func httpListen(flagValue, listen string) string {
	switch flagValue {
	case "off":
		return ""
	case "auto":
		if _, port, _ := net.SplitHostPort(listen); port == "443" {
			return ":80"
		}
		return ""
	}
	return flagValue
}

// proxyTLS returns the proxy face's certificate: the given files, or a
// leaf from a local CA kept in the state directory.
func proxyTLS(f *relayFlags, domain string, log *slog.Logger) (*tls.Config, error) {
	if f.proxyCert != "" {
		cert, err := tls.LoadX509KeyPair(f.proxyCert, f.proxyKey)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", f.proxyCert, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	}
	path := filepath.Join(f.state, "proxy-ca.pem")
	ca, err := certs.LoadOrCreateCA(path)
	if err != nil {
		return nil, err
	}
	log.Info("proxy: self-signed certificate; readers must trust this CA", "ca", path)
	return &tls.Config{GetCertificate: ca.GetCertificate(func(n string) bool { return n == domain }), MinVersion: tls.VersionTLS12}, nil
}

// relayWatchdog feeds systemd's watchdog while the relay accepts TCP
// connections.
func relayWatchdog(ctx context.Context, addr net.Addr, log *slog.Logger) {
	if _, ok := systemd.WatchdogInterval(); !ok {
		return
	}
	err := systemd.RunWatchdog(ctx, func() bool {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr.String())
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	if err != nil && ctx.Err() == nil {
		log.Warn("watchdog stopped", "err", err)
	}
}
