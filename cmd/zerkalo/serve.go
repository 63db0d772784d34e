package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"zerkalo/cache"
	"zerkalo/proxy"
	"zerkalo/proxy/acme"
	"zerkalo/proxy/config"
	"zerkalo/proxy/demo"
	"zerkalo/proxy/domains"
	"zerkalo/proxy/enroll"
	"zerkalo/proxy/fakeorigin"
	"zerkalo/proxy/rewrite"
	"zerkalo/proxy/signing"
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
	log, level := newLogger(stderr, cfg.LogLevel)
	ctx, force, stop := stopSignals()
	defer stop()
	if err := serve(ctx, force, *configPath, cfg, *demoMode, log, level); err != nil {
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

// newLogger returns the edge's logger and its level, which a reload sets.
func newLogger(w io.Writer, level string) (*slog.Logger, *slog.LevelVar) {
	l := new(slog.LevelVar)
	setLevel(l, level)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), l
}

// setLevel sets l to the log_level value level (info if it is invalid).
func setLevel(l *slog.LevelVar, level string) {
	var v slog.Level
	if err := v.UnmarshalText([]byte(level)); err != nil {
		v = slog.LevelInfo
	}
	l.Set(v)
}

// stopSignals returns a context that ends at the first SIGINT or SIGTERM,
// and a channel closed at the second, which cuts the graceful stop short.
func stopSignals() (ctx context.Context, force <-chan struct{}, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	forced := make(chan struct{})
	done := make(chan struct{})
	go func() {
		for i := 0; i < 2; i++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			if i == 0 {
				cancel()
			}
		}
		close(forced)
	}()
	return ctx, forced, func() { signal.Stop(sigs); close(done); cancel() }
}

// serve runs the edge until ctx is done, reloading its configuration on
// SIGHUP. The listeners stay open across reloads: in-flight requests finish
// on the configuration they started with, new ones get the new one.
//
// The first SIGINT or SIGTERM (ctx done) stops it gracefully; force,
// closed at the second, stops it at once.
func serve(ctx context.Context, force <-chan struct{}, cfgPath string, cfg *config.Config, demoMode bool, log *slog.Logger, level *slog.LevelVar) error {
	sh := &shared{metrics: proxy.NewMetrics(), log: log, level: level}
	sh.live.Store(domains.New(cfg.DomainList))
	applyMemory(cfg, log)
	if demoMode {
		fake, err := fakeorigin.Start(demo.Handler())
		if err != nil {
			return fmt.Errorf("demo origin: %w", err)
		}
		defer fake.Close()
		sh.demoOrigin = fake
		log.Info("demo mode: serving bundled sample pages", "origin", fake.Addr())
	}
	store, err := cache.Open(cfg.Cache.Dir, cache.Options{
		MaxSize:   int64(cfg.Cache.MaxSize),
		MaxObject: int64(cfg.Cache.MaxObject),
		MemSize:   memSize(cfg.Cache.Memory),
		// Brotli copies are made in the background, after the miss;
		// level 4 costs a third of level 6's CPU for a few percent of
		// size (bench/README.md).
		BrotliLevel: 4,
	})
	if err != nil {
		return fmt.Errorf("cache %s: %w", cfg.Cache.Dir, err)
	}
	defer store.Close()
	sh.store = store
	sh.metrics.RegisterCache(store.Stats)
	if sh.relays, err = enroll.OpenStore(cfg.StateDir); err != nil {
		return fmt.Errorf("relay enrollments: %w", err)
	}
	sh.loadRelays()
	if cfg.TLS.Mode == "acme" {
		if sh.certs, err = newACME(cfg, sh); err != nil {
			return err
		}
	}
	first, err := build(cfg, sh)
	if err != nil {
		return err
	}
	// The operator's listeners are opened before the readers' one: an
	// address in use stops the start, rather than leaving an edge that
	// says it is ready without them.
	admin, err := listenOptional(cfg.AdminListen, "admin_listen")
	if err != nil {
		return err
	}
	plain, err := listenOptional(cfg.HTTPListen, "http_listen")
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		return err
	}
	for _, ln := range []net.Listener{admin, plain} {
		if ln != nil {
			defer ln.Close() // closed already when serving started
		}
	}
	var current atomic.Pointer[edgeState]
	current.Store(first)
	defer func() { current.Load().close() }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var services sync.WaitGroup // everything startServices runs; ends with srvCtx
	defer services.Wait()       // after stopServing: deferred calls run last first
	srvCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	srv := &proxy.Server{
		Listen: cfg.Listen,
		Handler: sh.metrics.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			current.Load().handler.ServeHTTP(w, r)
		})),
		TLSConfig: &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := current.Load().getCertificate(h)
			if err == nil {
				sh.metrics.ObserveCertificate(strings.ToLower(h.ServerName), cert)
			}
			return cert, err
		}},
		Logger: log,
		Ready: func(addr net.Addr) {
			startServices(srvCtx, addr, cfg, sh, &current, &services, admin, plain)
		},
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(srvCtx) }()
	windows := time.NewTimer(0)
	defer windows.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			notify(log, systemd.Stopping)
			return stopped(done, force, log)
		case <-hup:
			reload(cfgPath, cfg, sh, &current)
			sh.obtainCertificates(srvCtx)
		case <-windows.C:
			// An activity window opened or closed: the domain checks read
			// the clock, so only the log and the next timer need doing.
		}
		now := time.Now()
		sh.metrics.ActiveDomains.Set(float64(len(sh.live.Load().Active(now))))
		sh.metrics.Relays.Set(float64(len(sh.relayNames.Load().list)))
		log.Debug("domains", "active", strings.Join(sh.live.Load().Active(now), " "), "pending", strings.Join(sh.live.Load().Pending(now), " "))
		if next := sh.live.Load().NextChange(now); !next.IsZero() {
			windows.Reset(time.Until(next))
		}
	}
}

// stopped waits for the graceful stop to end. Requests still running when
// the grace period ends, or at a second signal, are cut: that is the stop
// the operator asked for, not a failure.
func stopped(done <-chan error, force <-chan struct{}, log *slog.Logger) error {
	select {
	case err := <-done:
		if errors.Is(err, context.DeadlineExceeded) {
			log.Warn("stopped: requests still running after the grace period were cut", "grace", proxy.ShutdownGrace.String())
			return nil
		}
		return err
	case <-force:
		log.Warn("stopped at a second signal: requests still running were cut")
		return nil
	}
}

// listenOptional opens the TCP listener of an optional address (key names
// it in errors); "" opens none.
func listenOptional(addr, key string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return ln, nil
}

// startServices runs, once the reader listener is up, what goes with it:
// the plain-HTTP and admin listeners (admin and plain, nil when not
// configured), the warmer, certificate requests, the watch on relay
// enrollments and the systemd watchdog. All of them stop when ctx is done;
// wg waits for them.
func startServices(ctx context.Context, addr net.Addr, cfg *config.Config, sh *shared, current *atomic.Pointer[edgeState], wg *sync.WaitGroup, admin, plain net.Listener) {
	log := sh.log
	if cfg.TLS.Mode == "self-signed" {
		log.Info("self-signed mode: trust this CA to avoid browser warnings",
			"ca", filepath.Join(cfg.StateDir, "selfsigned-ca.pem"))
	}
	for _, d := range sh.live.Load().Active(time.Now()) {
		log.Info("mirror ready", "url", "https://"+net.JoinHostPort(d, portOf(addr)))
	}
	if plain != nil {
		wg.Go(func() { servePlainHTTP(ctx, plain, portOf(addr), sh) })
	}
	if admin != nil {
		wg.Go(func() { serveAdmin(ctx, admin, cfg.AdminPprof, sh) })
	}
	if cfg.Cache.Warm {
		w := newWarmer(cfg, sh, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			current.Load().handler.ServeHTTP(w, r)
		}))
		wg.Go(func() { w.Run(ctx) })
	}
	sh.obtainCertificates(ctx)
	wg.Go(func() {
		sh.relays.Watch(ctx, 2*time.Second, func() {
			sh.loadRelays()
			sh.metrics.Relays.Set(float64(len(sh.relayNames.Load().list)))
			log.Info("relay enrollments changed", "relays", len(sh.relayNames.Load().list))
			sh.obtainCertificates(ctx)
		})
	})
	notify(log, systemd.Ready)
	wg.Go(func() { runWatchdog(ctx, addr, log) })
}

// newWarmer returns the cache warmer of a configuration, asking edge as
// the first active mirror domain.
func newWarmer(cfg *config.Config, sh *shared, edge http.Handler) *proxy.Warmer {
	return &proxy.Warmer{
		Edge: edge,
		Host: func() string {
			if active := sh.live.Load().Active(time.Now()); len(active) > 0 {
				return active[0]
			}
			return ""
		},
		Paths:    cfg.Cache.WarmPaths,
		Feeds:    cfg.Cache.WarmFeeds,
		Every:    time.Duration(cfg.Cache.WarmEvery),
		MaxItems: cfg.Cache.WarmMaxItems,
		Logger:   sh.log,
	}
}

// newACME returns the certificate manager of tls.mode "acme".
func newACME(cfg *config.Config, sh *shared) (*acme.Manager, error) {
	pool, err := cfg.ACMECAs()
	if err != nil {
		return nil, err
	}
	return acme.New(acme.Options{
		Directory:   cfg.ACME.Directory,
		Email:       cfg.ACME.Email,
		RootCAs:     pool,
		CacheDir:    cfg.ACMEDir(),
		RenewBefore: cfg.ACME.RenewBefore.D(),
		Policy:      sh.certified,
		Serve:       sh.active,
	})
}

// serveAdmin serves the operator's endpoints (/metrics, /healthz,
// /readyz, and /debug/pprof/ if withPprof) until ctx is done. Readiness is
// the reader listener being up.
func serveAdmin(ctx context.Context, ln net.Listener, withPprof bool, sh *shared) {
	var h http.Handler = proxy.AdminHandler(sh.metrics, func() bool { return ctx.Err() == nil })
	if withPprof {
		h = withProfiler(h)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	sh.log.Info("serving admin endpoints", "listen", ln.Addr().String())
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		sh.log.Error("admin listener failed", "err", err)
	}
}

// servePlainHTTP answers ACME HTTP-01 challenges on the plain-HTTP
// listener and redirects everything else to HTTPS, until ctx is done.
func servePlainHTTP(ctx context.Context, ln net.Listener, httpsPort string, sh *shared) {
	var h http.Handler = acme.Redirect(httpsPort, sh.active)
	if sh.certs != nil {
		h = sh.certs.HTTPHandler(h)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	sh.log.Info("serving plain HTTP (ACME challenges, redirects)", "listen", ln.Addr().String())
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		sh.log.Error("plain-HTTP listener failed", "err", err)
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
	keepRestartOnly(running, cfg)
	next, err := build(cfg, sh)
	if err != nil {
		log.Error("reload rejected; the old config keeps serving", "err", err)
		return
	}
	sh.live.Store(domains.New(cfg.DomainList))
	applyMemory(cfg, log)
	setLevel(sh.level, cfg.LogLevel)
	old := current.Swap(next)
	old.close()
	log.Info("reloaded", "config", path, "domains", strings.Join(cfg.DomainList.Names(), " "))
}

// restartOnly lists the settings that differ between two configurations
// but take effect only when the edge restarts.
func restartOnly(old, new *config.Config) []string {
	var keys []string
	if old.Listen != new.Listen {
		keys = append(keys, "listen")
	}
	if old.StateDir != new.StateDir {
		keys = append(keys, "state_dir")
	}
	if old.Cache.Dir != new.Cache.Dir {
		keys = append(keys, "cache.dir")
	}
	if old.Cache.MaxSize != new.Cache.MaxSize || old.Cache.MaxObject != new.Cache.MaxObject || old.Cache.Memory != new.Cache.Memory {
		keys = append(keys, "cache.max_size, max_object and memory") // the store lives across reloads
	}
	if old.HTTPListen != new.HTTPListen {
		keys = append(keys, "http_listen")
	}
	if old.AdminListen != new.AdminListen {
		keys = append(keys, "admin_listen")
	}
	if old.AdminPprof != new.AdminPprof {
		keys = append(keys, "admin_pprof")
	}
	if old.Cache.Warm != new.Cache.Warm || old.Cache.WarmEvery != new.Cache.WarmEvery || old.Cache.WarmMaxItems != new.Cache.WarmMaxItems ||
		!slices.Equal(old.Cache.WarmPaths, new.Cache.WarmPaths) || !slices.Equal(old.Cache.WarmFeeds, new.Cache.WarmFeeds) {
		keys = append(keys, "cache.warm*")
	}
	if old.TLS.Mode != new.TLS.Mode || old.ACME != new.ACME {
		keys = append(keys, "tls.mode and [acme]")
	}
	return keys
}

// keepRestartOnly sets in next, a reloaded configuration, the running
// values of the settings that take a restart, so that none of them is
// half applied: a reload that changed state_dir made a new self-signed CA
// for readers, and one that changed tls.mode to "acme" failed every
// handshake. The certificate files of tls.mode "files" are reloaded.
func keepRestartOnly(running, next *config.Config) {
	next.Listen, next.HTTPListen, next.StateDir = running.Listen, running.HTTPListen, running.StateDir
	next.AdminListen, next.AdminPprof = running.AdminListen, running.AdminPprof
	if next.TLS.Mode != running.TLS.Mode {
		next.TLS = running.TLS
	}
	next.ACME = running.ACME
	next.Cache.Dir, next.Cache.MaxSize, next.Cache.MaxObject, next.Cache.Memory = running.Cache.Dir, running.Cache.MaxSize, running.Cache.MaxObject, running.Cache.Memory
	next.Cache.Warm, next.Cache.WarmEvery, next.Cache.WarmMaxItems = running.Cache.Warm, running.Cache.WarmEvery, running.Cache.WarmMaxItems
	next.Cache.WarmPaths, next.Cache.WarmFeeds = running.Cache.WarmPaths, running.Cache.WarmFeeds
}

// shared holds what lives across reloads: the cache, the metrics, the
// certificate manager, the live domain set, the demo origin and the logger.
type shared struct {
	store      *cache.Store
	metrics    *proxy.Metrics
	certs      *acme.Manager // nil unless tls.mode is "acme"
	live       atomic.Pointer[domains.Set]
	relays     *enroll.Store
	relayNames atomic.Pointer[nameSet] // enrolled relays' domains
	demoOrigin *fakeorigin.Server
	log        *slog.Logger
	level      *slog.LevelVar // log_level, set on reload
}

// nameSet is an immutable set of domain names.
type nameSet struct {
	names map[string]bool
	list  []string
}

// loadRelays takes the enrolled relays' domains from the store.
func (sh *shared) loadRelays() {
	list := sh.relays.Domains()
	set := &nameSet{names: make(map[string]bool, len(list)), list: list}
	for _, n := range list {
		set.names[n] = true
	}
	sh.relayNames.Store(set)
}

// relay reports whether name is the domain of an enrolled relay.
func (sh *shared) relay(name string) bool { return sh.relayNames.Load().names[name] }

// active reports whether name is a domain readers are served on now: an
// active mirror domain or an enrolled relay's.
func (sh *shared) active(name string) bool {
	return sh.live.Load().State(name, time.Now()) == domains.Active || sh.relay(name)
}

// certified reports whether name may hold a certificate now: active, or
// pending (its certificate is obtained before its window opens).
func (sh *shared) certified(name string) bool {
	s := sh.live.Load().State(name, time.Now())
	return s == domains.Active || s == domains.Pending || sh.relay(name)
}

// obtainCertificates asks the ACME CA, in the background, for the
// certificates of every active and pending domain that lacks one.
func (sh *shared) obtainCertificates(ctx context.Context) {
	if sh.certs == nil {
		return
	}
	own := sh.live.Load().Certified(time.Now())
	names := append(slices.Clone(own), sh.relayNames.Load().list...)
	go func() {
		// Relays' domains point at the relays, which forward the
		// challenges; the edge's own must reach the edge.
		for _, p := range acme.DNSProblems(ctx, own, acme.SystemLookup, acme.LocalAddrs()) {
			sh.log.Warn("acme: domain DNS", "problem", p)
		}
		switch err := sh.certs.ObtainAll(ctx, names); {
		case err == nil:
			sh.log.Info("acme: certificates ready", "domains", strings.Join(names, " "))
		case ctx.Err() == nil:
			sh.log.Warn("acme: some certificates could not be obtained yet", "err", err)
		}
	}()
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
	rules, err := rewrite.DefaultRules().Extend(cfg.Privacy.RuleSet())
	if err != nil {
		return nil, fmt.Errorf("[privacy]: %w", err)
	}
	mapper = mapper.WithRules(rules)
	transport := proxy.NewOriginTransport(proxy.OriginOptions{
		IsOrigin:       mapper.IsOrigin,
		Resolve:        origin.Resolve,
		RootCAs:        roots,
		ConnectTimeout: time.Duration(origin.ConnectTimeout),
		HeaderTimeout:  time.Duration(origin.Timeout),
		HTTP2:          origin.HTTP2,
	})
	// The new configuration's domains, before it is live: a reload is
	// all or nothing.
	live := domains.New(cfg.DomainList)
	active := func(name string) bool { return live.State(name, time.Now()) == domains.Active || sh.relay(name) }
	mirrors, err := mirrorList(cfg, live)
	if err != nil {
		return nil, err
	}
	mirrors.Relays = sh.relays.Public
	local := http.NewServeMux()
	local.Handle(proxy.MirrorsPath, mirrors)
	// Relays learn only the domains the mirror list publishes: a relay's
	// proxy face hands them to anyone in its PAC file, and its volunteer
	// is not the operator.
	enrollment := sh.relays.Handler(mirrors.Own)
	local.Handle(enroll.Path, enrollment)
	local.Handle(enroll.Path+"/", enrollment)
	edge, err := proxy.New(proxy.Options{
		Mapper:         mapper,
		AllowHost:      active,
		Transport:      transport,
		Timeout:        time.Duration(origin.Timeout),
		MaxBody:        int64(origin.MaxBody),
		UserAgent:      origin.UserAgent,
		Logger:         sh.log,
		Metrics:        sh.metrics,
		Cache:          sh.store,
		CachePolicy:    cachePolicy(cfg),
		OriginRate:     cfg.Origin.RateLimit,
		OriginFetches:  cfg.Origin.MaxFetches,
		OriginIdentity: !cfg.Origin.Compressed,
		Local:          local,
		Footer:         footer(cfg, origin.Site),
		MirrorLinks:    mirrors.Links,
	})
	if err != nil {
		return nil, err
	}
	tlsConf, err := readerTLS(cfg, sh, active)
	if err != nil {
		return nil, err
	}
	return &edgeState{handler: edge, edge: edge, getCertificate: tlsConf.GetCertificate, transport: transport}, nil
}

func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// startTime is when this edge started: the created_at of the addresses
// it lists.
var startTime = time.Now()

// mirrorList builds the published mirror list of a configuration.
func mirrorList(cfg *config.Config, live *domains.Set) (*proxy.MirrorList, error) {
	m := cfg.Mirrors
	list := &proxy.MirrorList{
		MainDomain:   m.MainDomain,
		Alternatives: m.Alternatives,
		Since:        startTime,
		Own: func() []string {
			own := live.Active(time.Now())
			return own[:min(len(own), m.PublishDomains)]
		},
	}
	if m.EdgeKey == "" {
		return list, nil
	}
	key, err := signing.LoadKey(m.EdgeKey)
	if err != nil {
		return nil, fmt.Errorf("mirrors.edge_key: %w", err)
	}
	list.Key = key
	if list.Cert, err = os.ReadFile(m.Certificate); err != nil {
		return nil, fmt.Errorf("mirrors.certificate: %w", err)
	}
	if list.CertSig, err = os.ReadFile(m.Certificate + ".minisig"); err != nil {
		return nil, fmt.Errorf("mirrors.certificate: %w", err)
	}
	cert, err := signing.ParseCertificate(list.Cert)
	if err != nil {
		return nil, fmt.Errorf("mirrors.certificate %s: %w", m.Certificate, err)
	}
	if cert.EdgeKey.String() != key.Public().String() {
		return nil, fmt.Errorf("mirrors.certificate %s certifies another key than mirrors.edge_key", m.Certificate)
	}
	if err := cert.ValidAt(time.Now()); err != nil {
		return nil, fmt.Errorf("mirrors.certificate %s: %w", m.Certificate, err)
	}
	return list, nil
}

// footer returns the link to the mirror list that pages carry, if the
// configuration wants it.
func footer(cfg *config.Config, site string) string {
	if !cfg.Mirrors.FooterLink {
		return ""
	}
	return proxy.Footer(config.MainDomainOf(site))
}

// cachePolicy returns what the configuration says about freshness.
func cachePolicy(cfg *config.Config) cache.Policy {
	p := cache.Policy{StaleIfError: time.Duration(cfg.Cache.StaleIfError), Override: map[string]time.Duration{}}
	for mediaType, ttl := range cfg.Cache.TTL {
		p.Override[mediaType] = time.Duration(ttl)
	}
	return p
}

// readerTLS returns the TLS config readers are served with.
func readerTLS(cfg *config.Config, sh *shared, active func(string) bool) (*tls.Config, error) {
	switch cfg.TLS.Mode {
	case "files":
		return proxy.FilesTLS(cfg.TLS.CertFile, cfg.TLS.KeyFile, active)
	case "acme":
		return sh.certs.TLSConfig(), nil
	default:
		return proxy.SelfSignedTLS(cfg.StateDir, active)
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

// withProfiler adds Go's profiler under /debug/pprof/ to the admin
// handler h.
func withProfiler(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// memSize maps cache.memory to cache.Options.MemSize, where 0 means the
// default and a negative size none.
func memSize(memory config.Size) int64 {
	if memory == 0 {
		return -1
	}
	return int64(memory)
}
