// Package loadgen drives an HTTP endpoint with a fixed number of keep-alive
// connections and reports throughput and latency.
//
// It is a closed-loop generator: each of Config.Connections workers sends a
// request, reads the whole response, records the latency and immediately
// sends the next one, so the offered load adapts to the server's speed. It is
// used by "steward bench decide" and "steward bench ingest" to measure a
// Steward server on the same machine, and for that reason it only ever talks
// to loopback addresses (127.0.0.0/8, ::1 or "localhost"): any other target is
// refused, both when the URL is checked and again when a connection is dialed.
//
// The generator runs on the same cores as the server it measures, so it is
// kept lean: instead of net/http's client, every worker speaks a minimal
// HTTP/1.1 over its own net.Conn. The request head is rendered once, each
// request is sent with a single write, and the response is parsed from a
// bufio.Reader into a reused body buffer, so the worker loop does not allocate
// in the steady state (Config.Body and Config.Check aside). Only the response
// headers that frame the message are interpreted: Content-Length,
// Transfer-Encoding: chunked and Connection: close. A connection that the
// server closes is replaced by a new one for the next request; a request that
// finds its reused connection already closed, before any response arrived,
// is sent once more on a new connection when that is safe (the write failed,
// or the method is idempotent), as net/http does.
//
// Latencies are recorded per worker into a fixed-size log-linear histogram
// (percentiles accurate to better than 1%), without locks or allocations on the
// hot path, and merged when the run is over.
package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults and limits applied by Run.
const (
	DefaultMethod      = http.MethodPost
	DefaultConnections = 64
	DefaultDuration    = 10 * time.Second
	DefaultWarmup      = time.Second
	// MaxDuration bounds both Config.Duration and Config.Warmup.
	MaxDuration = 10 * time.Minute
)

// stopGrace is how long a request may still run after the measured phase has
// ended before it is cancelled and counted as an error. It also bounds how
// long Run can take: Warmup+Duration+stopGrace. A variable for tests.
var stopGrace = 5 * time.Second

// Config describes one load run. Zero values select the defaults.
type Config struct {
	// URL is the target. It must be an http URL whose host is 127.0.0.1 (or
	// any 127.0.0.0/8 address), [::1] or localhost; anything else is refused.
	URL string
	// Method is the request method (default POST).
	Method string
	// Header is sent with every request, e.g. Authorization, Content-Type.
	// Host is taken from URL; Content-Length, Transfer-Encoding and Trailer
	// are set by the generator; those keys in Header are ignored. A
	// "Connection: close" header makes every request use a new connection.
	Header http.Header
	// Body returns the request body for the worker's n-th request (n counts
	// from 0 and includes warm-up requests). It is called from the worker's
	// goroutine, so it must be safe for concurrent use with different worker
	// values; it may reuse a per-worker buffer, because the previous body of
	// the same worker is no longer referenced when it is called. Nil or an
	// empty result sends no body.
	Body func(worker, n int) []byte
	// Connections is the number of concurrent workers, each of which keeps
	// its own keep-alive connection busy (default 64).
	Connections int
	// Duration is the length of the measured phase (default 10s, at most
	// MaxDuration).
	Duration time.Duration
	// Warmup is an unmeasured phase before the measured one (default 1s, at
	// most MaxDuration; negative disables it).
	Warmup time.Duration
	// MaxRequests, if positive, stops the run once that many measured
	// requests have been sent.
	MaxRequests int
	// Check, if set, decides whether a response counts as a success. body is
	// the complete response body and is only valid during the call. The
	// default accepts any 2xx status.
	Check func(status int, body []byte) error
	// Measured, if set, is called when the measured phase begins (after
	// the warm-up), and the function it returns, if not nil, once the
	// last worker is done: "steward bench" profiles the measured phase
	// alone with it. It is not called when the run ends before the
	// measured phase begins.
	Measured func() (done func())
}

// Result summarises the measured phase of a run.
type Result struct {
	// Requests is the number of measured requests that completed, including
	// failed ones; Errors is how many of them failed (transport error, body
	// read error, or rejected by the status check).
	Requests, Errors int
	// Duration is the wall time of the measured phase, from its start until
	// the last measured response was read.
	Duration time.Duration
	// RequestsPerSecond is the rate of successful requests:
	// (Requests-Errors)/Duration.
	RequestsPerSecond float64
	// Latency percentiles and maximum over successful requests, measured from
	// sending the request until the response body has been read completely.
	P50, P90, P99, Max time.Duration
	// FirstError describes the earliest failure seen in the measured phase.
	FirstError string
	// CPU is the CPU time (user and system) the whole process used during
	// the measured phase: the generator's and, when the server runs in the
	// same process as in "steward bench", the server's. Zero where the
	// platform does not report it. Divided by the successful requests it
	// gives a cost per request that other processes on the machine disturb
	// far less than they disturb throughput.
	CPU time.Duration
}

// CPUPerRequest returns CPU divided by the successful requests, or zero.
func (r Result) CPUPerRequest() time.Duration {
	if ok := r.Requests - r.Errors; ok > 0 {
		return r.CPU / time.Duration(ok)
	}
	return 0
}

// Run drives cfg.URL until the measured phase ends (after Warmup+Duration, or
// once MaxRequests measured requests were sent) and reports the result. A
// configuration error, including a non-loopback URL, is returned before any
// request is sent. If ctx is cancelled, Run stops early and returns the
// partial result together with ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, tgt, err := normalize(cfg)
	if err != nil {
		return Result{}, err
	}

	start := time.Now()
	st := &runState{
		cfg:     cfg,
		tgt:     tgt,
		dialer:  newDialer(),
		warmEnd: start.Add(cfg.Warmup),
	}
	st.end = st.warmEnd.Add(cfg.Duration)
	st.hardEnd = st.end.Add(stopGrace)

	workers := make([]*worker, cfg.Connections)
	for i := range workers {
		workers[i] = newWorker(st, i)
	}
	defer func() {
		for _, w := range workers {
			w.closeConn()
		}
	}()

	// runCtx ends when the caller cancels ctx or when a request is still
	// running stopGrace after the end. Either way every connection's deadline
	// is moved into the past, so that no blocked read or write, and therefore
	// no Run, can hang. (Connections also get hardEnd as their deadline when
	// they are dialled.)
	runCtx, cancel := context.WithDeadline(ctx, st.hardEnd)
	defer cancel()
	stopInterrupt := context.AfterFunc(runCtx, func() {
		for _, w := range workers {
			w.interrupt()
		}
	})
	defer stopInterrupt()

	// The measured phase's CPU time: read at its start (after the warm-up)
	// and when the last worker is done.
	type begun struct {
		cpu  time.Duration
		done func()
	}
	cpuStart := make(chan begun, 1)
	cpuTimer := time.AfterFunc(time.Until(st.warmEnd), func() {
		var b begun
		if cfg.Measured != nil {
			b.done = cfg.Measured()
		}
		b.cpu, _ = processCPU()
		cpuStart <- b
	})
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(ctx, runCtx) })
	}
	wg.Wait()
	elapsed := time.Since(st.warmEnd)
	cpuEnd, cpuOK := processCPU()
	var cpu time.Duration
	if cpuTimer.Stop() {
		cpuOK = false // the run ended before the measured phase began
	} else {
		b := <-cpuStart
		if b.done != nil {
			b.done()
		}
		if cpuOK {
			cpu = cpuEnd - b.cpu
		}
	}

	var res Result
	var hist histogram
	var firstAt time.Time
	for _, w := range workers {
		res.Requests += w.requests
		res.Errors += w.errors
		hist.merge(&w.hist)
		if w.firstErr != "" && (firstAt.IsZero() || w.firstErrAt.Before(firstAt)) {
			res.FirstError, firstAt = w.firstErr, w.firstErrAt
		}
	}
	if elapsed > 0 {
		res.Duration = elapsed
		res.RequestsPerSecond = float64(res.Requests-res.Errors) / elapsed.Seconds()
	}
	if cpuOK {
		res.CPU = cpu
	}
	res.P50 = hist.quantile(0.50)
	res.P90 = hist.quantile(0.90)
	res.P99 = hist.quantile(0.99)
	res.Max = hist.max
	return res, ctx.Err()
}

// normalize applies defaults, validates cfg and prepares the target.
func normalize(cfg Config) (Config, *target, error) {
	u, err := checkURL(cfg.URL)
	if err != nil {
		return cfg, nil, err
	}
	if cfg.Method == "" {
		cfg.Method = DefaultMethod
	}
	switch {
	case cfg.Connections < 0:
		return cfg, nil, fmt.Errorf("loadgen: negative Connections %d", cfg.Connections)
	case cfg.Connections == 0:
		cfg.Connections = DefaultConnections
	}
	switch {
	case cfg.Duration < 0:
		return cfg, nil, fmt.Errorf("loadgen: negative Duration %v", cfg.Duration)
	case cfg.Duration == 0:
		cfg.Duration = DefaultDuration
	case cfg.Duration > MaxDuration:
		return cfg, nil, fmt.Errorf("loadgen: Duration %v exceeds the limit of %v", cfg.Duration, MaxDuration)
	}
	switch {
	case cfg.Warmup < 0:
		cfg.Warmup = 0
	case cfg.Warmup == 0:
		cfg.Warmup = DefaultWarmup
	case cfg.Warmup > MaxDuration:
		return cfg, nil, fmt.Errorf("loadgen: Warmup %v exceeds the limit of %v", cfg.Warmup, MaxDuration)
	}
	if cfg.MaxRequests < 0 {
		return cfg, nil, fmt.Errorf("loadgen: negative MaxRequests %d", cfg.MaxRequests)
	}
	tgt, err := newTarget(u, cfg.Method, cfg.Header)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, tgt, nil
}

// checkURL accepts only plain-http URLs whose host is a loopback address.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("loadgen: bad URL: %w", err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("loadgen: URL %q: scheme must be http", raw)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("loadgen: URL %q has no host", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("loadgen: refusing non-loopback target %q: only 127.0.0.1, [::1] and localhost are allowed", u.Host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("loadgen: URL %q: bad port %q", raw, p)
		}
	}
	return u, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runState is shared by the workers and read-only after setup, except for
// the claimed counter.
type runState struct {
	cfg    Config
	tgt    *target
	dialer *net.Dialer
	// warmEnd and end delimit the measured phase; hardEnd = end+stopGrace
	// is the deadline of every connection.
	warmEnd, end, hardEnd time.Time
	claimed               atomic.Int64 // measured requests started, when MaxRequests > 0
}

// worker owns one connection at a time, its read and write buffers and its
// histogram, all reused for every request it sends.
type worker struct {
	st *runState
	id int

	// mu guards conn and stopped against interrupt, which runs on another
	// goroutine. The worker itself reads conn without the lock: it is the
	// only goroutine that changes it.
	mu      sync.Mutex
	conn    net.Conn // nil until dialled and after it was closed
	stopped bool     // interrupted: no new connection may be set up
	served  int      // responses read on conn

	br   *bufio.Reader // reads conn
	req  []byte        // request head up to Content-Length, then the rest of the request
	iov  [2][]byte     // head and body of a large request, for writev
	bufs net.Buffers   // consumed by WriteTo, reset from iov for every request
	buf  []byte        // response body

	hist       histogram
	requests   int
	errors     int
	firstErr   string
	firstErrAt time.Time
}

func newWorker(st *runState, id int) *worker {
	req := make([]byte, len(st.tgt.head), len(st.tgt.head)+256)
	copy(req, st.tgt.head)
	return &worker{
		st:  st,
		id:  id,
		br:  bufio.NewReaderSize(nil, readBufferSize),
		req: req,
		buf: make([]byte, 0, 4096),
	}
}

func (w *worker) run(ctx, runCtx context.Context) {
	st := w.st
	maxReq := int64(st.cfg.MaxRequests)
	for n := 0; ; n++ {
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		if !now.Before(st.end) {
			return
		}
		measured := !now.Before(st.warmEnd)
		if measured && maxReq > 0 && st.claimed.Add(1) > maxReq {
			return
		}
		var b []byte
		if st.cfg.Body != nil {
			b = st.cfg.Body(w.id, n)
		}

		t0 := time.Now()
		status, err := w.do(runCtx, b)
		lat := time.Since(t0)

		if err != nil && (runCtx.Err() != nil || !time.Now().Before(st.hardEnd)) {
			// Interrupted: by the caller (not counted) or because the
			// request overran the end of the run (counted as an error).
			// The connection deadline may fire just before runCtx ends.
			if ctx.Err() == nil && measured {
				w.requests++
				w.fail(fmt.Sprintf("request still running %v after the measured phase ended; cancelled", stopGrace))
			}
			return
		}
		if !measured {
			continue
		}
		w.requests++
		switch {
		case err != nil:
			w.fail(err.Error())
		case st.cfg.Check != nil:
			if cerr := st.cfg.Check(status, w.buf); cerr != nil {
				w.fail(fmt.Sprintf("check failed (status %d): %v", status, cerr))
			} else {
				w.hist.record(lat)
			}
		case status < 200 || status > 299:
			if w.firstErr == "" {
				w.fail(fmt.Sprintf("unexpected status %d: %s", status, snippet(w.buf)))
			} else {
				w.errors++
			}
		default:
			w.hist.record(lat)
		}
	}
}

// fail counts a failed measured request and remembers the worker's first error.
func (w *worker) fail(msg string) {
	w.errors++
	if w.firstErr == "" {
		w.firstErr, w.firstErrAt = msg, time.Now()
	}
}

func snippet(b []byte) string {
	const limit = 200
	s := strings.TrimSpace(string(b[:min(len(b), limit)]))
	if len(b) > limit {
		s += "…"
	}
	return strconv.Quote(s)
}
