package proxy

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"zerkalo/cache"
)

// Metrics are the edge's Prometheus metrics. No label ever holds a reader's
// address, User-Agent, path or query: labels are protocols, status codes,
// content kinds, error classes and the operator's own domain names.
type Metrics struct {
	registry *prometheus.Registry

	requests       *prometheus.CounterVec   // proto, code
	bytesServed    *prometheus.CounterVec   // proto
	originDuration *prometheus.HistogramVec // outcome
	originErrors   *prometheus.CounterVec   // reason
	fetchesRefused *prometheus.CounterVec   // cap
	fetching       prometheus.Gauge
	rewriteSeconds *prometheus.HistogramVec // kind
	// CertExpiry is the expiry time of each served certificate (Unix
	// seconds), by domain.
	CertExpiry *prometheus.GaugeVec
	// ActiveDomains is the number of mirror domains served to readers.
	ActiveDomains prometheus.Gauge
	// Relays is the number of enrolled relays.
	Relays prometheus.Gauge

	cacheResults *prometheus.CounterVec // result
}

// NewMetrics returns the edge's metrics in a registry of their own, with
// the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zerkalo_requests_total",
			Help: "Reader requests answered, by protocol and status code.",
		}, []string{"proto", "code"}),
		bytesServed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zerkalo_response_bytes_total",
			Help: "Response body bytes sent to readers, by protocol.",
		}, []string{"proto"}),
		originDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zerkalo_origin_response_seconds",
			Help:    "Time from sending an origin request to its response headers.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"outcome"}),
		originErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zerkalo_origin_errors_total",
			Help: "Origin fetches that failed, by reason.",
		}, []string{"reason"}),
		fetchesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zerkalo_origin_fetches_refused_total",
			Help: "Origin fetches not made because a cap was reached: rate (origin.rate_limit) or in_flight (origin.max_fetches).",
		}, []string{"cap"}),
		fetching: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zerkalo_origin_fetches_in_flight",
			Help: "Origin fetches under way that count against origin.max_fetches: bodies to rewrite, and fetches still waiting for headers.",
		}),
		rewriteSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zerkalo_rewrite_seconds",
			Help:    "Time to stream one body through the rewriter, by content kind.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"kind"}),
		CertExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zerkalo_certificate_expiry_timestamp_seconds",
			Help: "When the certificate served for a mirror domain expires.",
		}, []string{"domain"}),
		ActiveDomains: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zerkalo_active_domains",
			Help: "Mirror domains currently served to readers.",
		}),
		Relays: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zerkalo_relays_enrolled",
			Help: "Relays enrolled with this edge and not revoked.",
		}),
		cacheResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zerkalo_cache_responses_total",
			Help: "Reader responses by how the cache produced them (X-Cache): HIT, MISS, STALE, REVALIDATED, or NONE when the cache was not used.",
		}, []string{"result"}),
	}
	m.registry.MustRegister(m.requests, m.bytesServed, m.originDuration, m.originErrors, m.fetchesRefused, m.fetching,
		m.rewriteSeconds, m.CertExpiry, m.ActiveDomains, m.Relays, m.cacheResults,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RegisterCache exports a cache store's counters.
func (m *Metrics) RegisterCache(stats func() cache.Stats) {
	counter := func(name, help string, v func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	gauge := func(name, help string, v func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	m.registry.MustRegister(
		counter("zerkalo_cache_stores_total", "Entries written to the cache.", func(s cache.Stats) int64 { return s.Stores }),
		counter("zerkalo_cache_evictions_total", "Entries evicted to respect cache.max_size.", func(s cache.Stats) int64 { return s.Evictions }),
		counter("zerkalo_cache_corrupt_total", "Damaged entries found and dropped.", func(s cache.Stats) int64 { return s.Corrupt }),
		counter("zerkalo_cache_revalidations_total", "Entries refreshed by a 304 from the origin.", func(s cache.Stats) int64 { return s.Revalidated }),
		gauge("zerkalo_cache_entries", "Entries in the cache.", func(s cache.Stats) int64 { return s.Entries }),
		gauge("zerkalo_cache_bytes", "Bytes of the cache's bodies on disk.", func(s cache.Stats) int64 { return s.Bytes }),
		gauge("zerkalo_cache_memory_bytes", "Bytes of cached copies kept in memory.", func(s cache.Stats) int64 { return s.Memory }),
		gauge("zerkalo_cache_unwritten_entries", "Entries stored but not yet on disk.", func(s cache.Stats) int64 { return s.Unwritten }),
		counter("zerkalo_cache_commit_waits_total", "Stores that waited for the disk (copies too large, or the memory budget full).", func(s cache.Stats) int64 { return s.Waited }),
		counter("zerkalo_cache_write_errors_total", "Entries and copies not stored because the disk failed them (full, read-only, I/O errors).", func(s cache.Stats) int64 { return s.WriteErrors }),
	)
}

// ObserveCertificate records the expiry of the certificate served for a
// mirror domain.
func (m *Metrics) ObserveCertificate(domain string, cert *tls.Certificate) {
	if m == nil || cert == nil || cert.Leaf == nil || domain == "" {
		return
	}
	m.CertExpiry.WithLabelValues(domain).Set(float64(cert.Leaf.NotAfter.Unix()))
}

// Registry returns the registry, for registering more collectors (cache,
// relays).
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Instrument wraps a reader-facing handler to count requests and bytes.
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(cw, r)
		m.count(r.Proto, cw)
	})
}

// count records one response. It is apart from Instrument's handler to
// keep the stack under the handlers small: a goroutine's stack grows by
// copying.
//
//go:noinline
func (m *Metrics) count(proto string, cw *countingWriter) {
	m.requests.WithLabelValues(proto, strconv.Itoa(cw.status)).Inc()
	m.bytesServed.WithLabelValues(proto).Add(float64(cw.bytes))
	result := cw.Header().Get("X-Cache")
	switch result {
	case cacheHit, cacheMiss, cacheStale, cacheRevalidated:
	default:
		result = "NONE"
	}
	m.cacheResults.WithLabelValues(result).Inc()
}

func (m *Metrics) observeOrigin(outcome string, d time.Duration) {
	if m != nil {
		m.originDuration.WithLabelValues(outcome).Observe(d.Seconds())
	}
}

func (m *Metrics) originError(reason string) {
	if m != nil {
		m.originErrors.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) fetchRefused(limit string) {
	if m != nil {
		m.fetchesRefused.WithLabelValues(limit).Inc()
	}
}

// fetchStarted and fetchEnded count an origin fetch under way.
func (m *Metrics) fetchStarted() {
	if m != nil {
		m.fetching.Inc()
	}
}

func (m *Metrics) fetchEnded() {
	if m != nil {
		m.fetching.Dec()
	}
}

func (m *Metrics) observeRewrite(kind string, d time.Duration) {
	if m != nil {
		m.rewriteSeconds.WithLabelValues(kind).Observe(d.Seconds())
	}
}

// countingWriter records the status and counts the body bytes of a
// response. Unwrap lets http.ResponseController reach Flush and deadlines.
type countingWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wroteHeader && code >= 200 {
		c.status = code
		c.wroteHeader = true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.wroteHeader = true
	n, err := c.ResponseWriter.Write(p)
	c.bytes += int64(n)
	return n, err
}

// Flush flushes the underlying writer if it can.
func (c *countingWriter) Flush() {
	http.NewResponseController(c.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// AdminHandler serves the operator's endpoints: /metrics, /healthz (the
// process is alive) and /readyz (the edge is serving readers).
func AdminHandler(m *Metrics, ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}
