package web

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/steward-dev/steward/internal/consent"
)

// Metrics are Steward's Prometheus metrics, in a registry of their own (no
// global state).
type Metrics struct {
	Registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions map[consent.Reason]prometheus.Counter
	appends   prometheus.Counter
	groups    prometheus.Histogram
	// backups tells when the newest backup and drill succeeded (see
	// WatchBackups); nil until set.
	backups atomic.Pointer[func() (backup, drill time.Time)]
	// ledgerStatus is the status of the consent ledger's chain (see
	// WatchLedger); nil until set.
	ledgerStatus atomic.Pointer[func() (bool, string)]
	follows      *prometheus.CounterVec
	followLag    prometheus.Histogram
	// listening tells whether the ledger listener is connected (see
	// WatchListener); nil until set.
	listening atomic.Pointer[func() bool]
}

// NewMetrics registers Steward's metrics and the Go runtime's.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "steward_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		decisions: map[consent.Reason]prometheus.Counter{},
		appends: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steward_ledger_appends_total", Help: "Consent events appended to the ledger.",
		}),
	}
	m.groups = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "steward_ledger_group_commit_events", Help: "Events written per group commit (one transaction, one fsync).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048},
	})
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steward_decisions_total", Help: "Decisions answered, by reason and outcome.",
	}, []string{"reason"})
	for _, r := range consent.Reasons {
		m.decisions[r] = decisions.WithLabelValues(string(r))
	}
	chainOK := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "steward_ledger_chain_ok", Help: "1 while the consent ledger's hash chain verifies, 0 once it was found broken.",
	}, func() float64 {
		if status := m.ledgerStatus.Load(); status != nil {
			if ok, _ := (*status)(); !ok {
				return 0
			}
		}
		return 1
	})
	lastBackup := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "steward_backup_last_success_timestamp_seconds", Help: "When the newest successful backup finished (Unix seconds); 0 if none.",
	}, func() float64 { return m.backupTime(false) })
	lastDrill := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "steward_backup_drill_last_success_timestamp_seconds", Help: "When the newest successful restore drill finished (Unix seconds); 0 if none.",
	}, func() float64 { return m.backupTime(true) })
	m.follows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steward_ledger_follow_passes_total",
		Help: "Passes of the ledger follower by what woke it (notify: another replica's append; poll: the fallback interval) and whether they read entries.",
	}, []string{"trigger", "read"})
	m.followLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "steward_ledger_follow_lag_seconds",
		Help:    "Time from the ledger recording an event to this replica's follower applying it (the newest event of each pass that read any; compares replicas' clocks).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	listenerUp := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "steward_ledger_listener_up", Help: "1 while the ledger listener (PostgreSQL LISTEN) holds its connection, 0 while it reconnects or on SQLite.",
	}, func() float64 {
		if up := m.listening.Load(); up != nil && (*up)() {
			return 1
		}
		return 0
	})
	reg.MustRegister(m.requests, m.latency, decisions, m.appends, m.groups, chainOK, lastBackup, lastDrill, m.follows, m.followLag, listenerUp,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchLedger makes steward_ledger_chain_ok follow status
// (consent.Checkpointer.Status).
func (m *Metrics) WatchLedger(status func() (ok bool, reason string)) { m.ledgerStatus.Store(&status) }

// WatchListener makes steward_ledger_listener_up follow up
// (consent.Service.Listening).
func (m *Metrics) WatchListener(up func() bool) { m.listening.Store(&up) }

// ObserveFollow records a pass of the ledger follower.
func (m *Metrics) ObserveFollow(r consent.FollowReport) {
	read := "false"
	if r.Entries > 0 {
		read = "true"
	}
	m.follows.WithLabelValues(r.Trigger, read).Inc()
	if r.Lag > 0 {
		m.followLag.Observe(r.Lag.Seconds())
	}
}

// WatchBackups makes the backup gauges follow last, which reads when the
// newest backup and drill succeeded (zero times: none).
func (m *Metrics) WatchBackups(last func() (backup, drill time.Time)) { m.backups.Store(&last) }

func (m *Metrics) backupTime(drill bool) float64 {
	last := m.backups.Load()
	if last == nil {
		return 0
	}
	b, d := (*last)()
	t := b
	if drill {
		t = d
	}
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// ObserveAnswers counts decisions by reason.
func (m *Metrics) ObserveAnswers(answers []consent.Answer) {
	for i := range answers {
		if c, ok := m.decisions[answers[i].Reason]; ok {
			c.Inc()
		}
	}
}

// ObserveAppends counts the events of one group commit.
func (m *Metrics) ObserveAppends(n int) {
	m.appends.Add(float64(n))
	m.groups.Observe(float64(n))
}

// routeObserver records one route's requests.
type routeObserver struct {
	latency prometheus.Observer
	byCode  func(code int) prometheus.Counter
}

func (m *Metrics) route(pattern string) routeObserver {
	cache := map[int]prometheus.Counter{}
	for _, code := range []int{200, 201, 204, 304, 400, 401, 403, 404, 409, 413, 500, 503} {
		cache[code] = m.requests.WithLabelValues(pattern, strconv.Itoa(code))
	}
	return routeObserver{
		latency: m.latency.WithLabelValues(pattern),
		byCode: func(code int) prometheus.Counter {
			if c, ok := cache[code]; ok {
				return c
			}
			return m.requests.WithLabelValues(pattern, strconv.Itoa(code))
		},
	}
}

func (o routeObserver) observe(code int, d time.Duration) {
	o.byCode(code).Inc()
	o.latency.Observe(d.Seconds())
}
