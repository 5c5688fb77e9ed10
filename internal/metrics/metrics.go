// Package metrics exports gemgate's Prometheus metrics on GET /metrics: requests by route, model and
// status, upstream attempts by outcome, latency histograms, token counts, key pool gauges, the request
// log's dropped entries, and Go runtime and process metrics.
//
// Other packages add gauges and counters computed on demand (no bookkeeping on the hot path):
//
//	m.KeyGauge("cooling", func() float64 { return float64(pool.Cooling()) })
//	m.GaugeFunc("gemgate_something", "What it measures.", nil, fn)
//
// The endpoint is for Prometheus, not the public: callers from METRICS_ALLOW_IPS need nothing, others
// must send METRICS_TOKEN (or, when that is empty, AUTH_TOKEN) as "Authorization: Bearer".
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/clientip"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
)

// maxModels bounds the model label's values: clients choose model names, and every distinct value is
// a new time series in Prometheus. Models beyond the first maxModels are counted as "other".
const maxModels = 200

// latencyBuckets suit calls to a language model: from a cached token count to a long streamed answer.
var latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300}

// Metrics holds gemgate's collectors in a registry of its own, so that tests can build many.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	attempts        *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	tokens          *prometheus.CounterVec

	modelsMu sync.RWMutex
	models   map[string]struct{}
}

// New builds the registry with the request metrics and the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), models: map[string]struct{}{}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gemgate_requests_total",
		Help: "Client requests on the API routes, by route kind, model asked for and final HTTP status.",
	}, []string{"route", "model", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gemgate_request_duration_seconds",
		Help:    "Time from a client request's arrival to the end of its answer (streams included), by route kind.",
		Buckets: latencyBuckets,
	}, []string{"route", "stream"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gemgate_upstream_attempts_total",
		Help: "Attempts at Google, by outcome (the upstream classification: ok, client_error, key_invalid, rate_limited, ...) and HTTP status (0: no answer).",
	}, []string{"outcome", "status"})
	m.attemptDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gemgate_upstream_attempt_duration_seconds",
		Help:    "Time of one attempt at Google until its answer began, by outcome.",
		Buckets: latencyBuckets,
	}, []string{"outcome"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gemgate_tokens_total",
		Help: "Tokens reported by Google's usageMetadata, by model and kind (prompt, output, thoughts, cached).",
	}, []string{"model", "kind"})
	m.reg.MustRegister(m.requests, m.duration, m.attempts, m.attemptDuration, m.tokens,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where further collectors go.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Submit counts a finished request; it makes Metrics a reqlog.Sink, run on the request's goroutine.
func (m *Metrics) Submit(e *reqlog.Entry) {
	s := e.Snapshot()
	model := m.modelLabel(s.Model)
	m.requests.WithLabelValues(s.Route, model, statusLabel(s.Status)).Inc()
	m.duration.WithLabelValues(s.Route, strconv.FormatBool(s.Stream)).Observe(s.Latency.Seconds())
	for _, a := range s.Attempts {
		m.attempts.WithLabelValues(a.Class, statusLabel(a.Status)).Inc()
		m.attemptDuration.WithLabelValues(a.Class).Observe(a.Latency.Seconds())
	}
	// An array, not a map literal: a map was built and hashed for every request.
	for _, t := range [...]struct {
		kind string
		n    int
	}{{"prompt", s.Usage.Prompt}, {"output", s.Usage.Output}, {"thoughts", s.Usage.Thoughts}, {"cached", s.Usage.Cached}} {
		if t.n > 0 {
			m.tokens.WithLabelValues(model, t.kind).Add(float64(t.n))
		}
	}
}

// statusLabels are the HTTP statuses as label values, made once: strconv.Itoa allocates above 99.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

func (m *Metrics) modelLabel(model string) string {
	if model == "" {
		return "unknown"
	}
	// The model comes from the client's URL or body; Prometheus panics on a label that is not UTF-8.
	model = strings.ToValidUTF8(model, "\uFFFD")
	m.modelsMu.RLock()
	_, seen := m.models[model]
	n := len(m.models)
	m.modelsMu.RUnlock()
	if seen {
		return model
	}
	if n >= maxModels {
		return "other"
	}
	m.modelsMu.Lock()
	defer m.modelsMu.Unlock()
	if len(m.models) >= maxModels {
		return "other"
	}
	m.models[model] = struct{}{}
	return model
}

// KeyGauge exports fn as gemgate_keys{state="<state>"}: the number of keys in that state.
func (m *Metrics) KeyGauge(state string, fn func() float64) {
	m.GaugeFunc("gemgate_keys", "Gemini API keys in the pool, by state.", prometheus.Labels{"state": state}, fn)
}

// GaugeFunc exports fn as a gauge; series of one name must share help and label names.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, fn))
}

// CounterFunc exports fn, a value that only grows, as a counter.
func (m *Metrics) CounterFunc(name, help string, labels prometheus.Labels, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, fn))
}

// Handler serves the registry in Prometheus' text format to allowed callers.
func (m *Metrics) Handler(settings func() *config.Snapshot) http.Handler {
	serve := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap := settings()
		// The connecting address counts, never X-Forwarded-For, which any caller can write.
		if clientip.InList(clientip.Peer(r), config.MetricsAllowIPs.Get(snap)) || tokenOK(r, snap) {
			serve.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="gemgate metrics"`)
		rpcstatus.Write(w, http.StatusUnauthorized,
			"GET /metrics: send METRICS_TOKEN (or AUTH_TOKEN when it is empty) as Authorization: Bearer, or scrape from an address in METRICS_ALLOW_IPS.")
	})
}

func tokenOK(r *http.Request, snap *config.Snapshot) bool {
	want := config.MetricsToken.Get(snap)
	if want == "" {
		want = config.AuthToken.Get(snap)
	}
	got := auth.BearerToken(r)
	return want != "" && got != "" && secret.Equal(got, want)
}
