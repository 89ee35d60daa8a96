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
// Latencies are recorded per worker into a fixed-size log-linear histogram
// (percentiles accurate to better than 1%), without locks or allocations on the
// hot path, and merged when the run is over.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
// ended before it is cancelled and counted as an error. A variable for tests.
var stopGrace = 5 * time.Second

// Config describes one load run. Zero values select the defaults.
type Config struct {
	// URL is the target. It must be an http URL whose host is 127.0.0.1 (or
	// any 127.0.0.0/8 address), [::1] or localhost; anything else is refused.
	URL string
	// Method is the request method (default POST).
	Method string
	// Header is sent with every request, e.g. Authorization, Content-Type.
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
}

// Run drives cfg.URL until the measured phase ends (after Warmup+Duration, or
// once MaxRequests measured requests were sent) and reports the result. A
// configuration error, including a non-loopback URL, is returned before any
// request is sent. If ctx is cancelled, Run stops early and returns the
// partial result together with ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, target, err := normalize(cfg)
	if err != nil {
		return Result{}, err
	}

	tr := newTransport(cfg.Connections)
	defer tr.CloseIdleConnections()

	start := time.Now()
	st := &runState{
		cfg:     cfg,
		tr:      tr,
		warmEnd: start.Add(cfg.Warmup),
	}
	st.end = st.warmEnd.Add(cfg.Duration)

	// Requests use reqCtx, which is additionally cancelled if a request is
	// still running stopGrace after the end, so a stuck server cannot make
	// Run hang.
	reqCtx, cancelReq := context.WithCancelCause(ctx)
	defer cancelReq(nil)
	timer := time.AfterFunc(st.end.Sub(start)+stopGrace, func() { cancelReq(errOverran) })
	defer timer.Stop()

	workers := make([]*worker, cfg.Connections)
	for i := range workers {
		w, err := newWorker(reqCtx, st, i, target)
		if err != nil {
			return Result{}, err
		}
		workers[i] = w
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(ctx, reqCtx) })
	}
	wg.Wait()
	elapsed := time.Since(st.warmEnd)

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
	res.P50 = hist.quantile(0.50)
	res.P90 = hist.quantile(0.90)
	res.P99 = hist.quantile(0.99)
	res.Max = hist.max
	return res, ctx.Err()
}

var errOverran = errors.New("loadgen: request cancelled, still running long after the measured phase ended")

// normalize applies defaults, validates cfg and returns the parsed target.
func normalize(cfg Config) (Config, *url.URL, error) {
	target, err := checkURL(cfg.URL)
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
	return cfg, target, nil
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

// newTransport returns a transport that keeps up to conns keep-alive
// connections, uses no proxy and can only dial loopback addresses.
func newTransport(conns int) *http.Transport {
	dialer := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		// Re-check after name resolution so that "localhost" can never
		// reach a non-loopback address.
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("loadgen: refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// runState is shared, read-only after setup except for the claimed counter.
type runState struct {
	cfg          Config
	tr           *http.Transport
	warmEnd, end time.Time
	claimed      atomic.Int64 // measured requests started, when MaxRequests > 0
}

// worker owns its request objects, request body and histogram; all of them
// are reused for every request it sends.
//
// Two request objects are kept. noBody is never modified, because the
// transport uses it directly and may still look at it briefly after the
// response has been read. withBody gets a new Body for every request; that
// is safe because the transport works on a shallow copy of any request with
// a body, and the body itself is only reused once the transport closed it.
type worker struct {
	st       *runState
	id       int
	noBody   *http.Request
	withBody *http.Request
	body     trackedBody
	pend     pending
	buf      []byte // response body buffer

	hist       histogram
	requests   int
	errors     int
	firstErr   string
	firstErrAt time.Time
}

func newWorker(reqCtx context.Context, st *runState, id int, target *url.URL) (*worker, error) {
	header := st.cfg.Header.Clone()
	if header == nil {
		header = make(http.Header)
	}
	newReq := func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(reqCtx, st.cfg.Method, target.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		req.Header = header // shared by both requests, never modified
		return req, nil
	}
	w := &worker{st: st, id: id, buf: make([]byte, 0, 4096)}
	var err error
	if w.noBody, err = newReq(); err != nil {
		return nil, err
	}
	if w.withBody, err = newReq(); err != nil {
		return nil, err
	}
	w.pend.idle = make(chan struct{}, 1)
	w.body.pend = &w.pend
	w.withBody.Body = &w.body
	// GetBody lets the transport resend the body when a keep-alive connection
	// turns out to be dead. That is rare, so it may allocate.
	w.withBody.GetBody = func() (io.ReadCloser, error) {
		nb := &trackedBody{pend: &w.pend}
		nb.reset(w.body.data)
		return nb, nil
	}
	return w, nil
}

func (w *worker) run(ctx, reqCtx context.Context) {
	st := w.st
	maxReq := int64(st.cfg.MaxRequests)
	for n := 0; ; n++ {
		if ctx.Err() != nil {
			return
		}
		// The transport may close the previous request body from another
		// goroutine after RoundTrip returned; wait for that before the body
		// and its bytes are reused.
		if !w.pend.wait(reqCtx) {
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
		req := w.noBody
		if len(b) > 0 {
			w.body.reset(b)
			req = w.withBody
			req.ContentLength = int64(len(b))
		}

		t0 := time.Now()
		status, err := w.do(req)
		lat := time.Since(t0)

		if err != nil && reqCtx.Err() != nil {
			// Cancelled: by the caller (not counted) or because the
			// request overran the end of the run (counted as an error).
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

// do sends the request and reads the whole response body into w.buf.
func (w *worker) do(req *http.Request) (int, error) {
	resp, err := w.st.tr.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	w.buf, err = readAll(w.buf[:0], resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, fmt.Errorf("reading response body: %w", err)
	}
	return resp.StatusCode, nil
}

// readAll appends everything from r to buf, reusing buf's capacity.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
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

// pending counts request bodies handed to the transport and not yet closed.
type pending struct {
	n    atomic.Int32
	idle chan struct{} // capacity 1; signalled when n drops to zero
}

func (p *pending) add() { p.n.Add(1) }

func (p *pending) done() {
	if p.n.Add(-1) == 0 {
		select {
		case p.idle <- struct{}{}:
		default: // a wake-up is already queued
		}
	}
}

// wait blocks until every body has been closed, or ctx is done (false).
func (p *pending) wait(ctx context.Context) bool {
	for p.n.Load() != 0 {
		select {
		case <-p.idle:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// trackedBody is a reusable request body that reports its Close to pending.
type trackedBody struct {
	data   []byte
	r      bytes.Reader
	closed atomic.Bool
	pend   *pending
}

func (b *trackedBody) reset(data []byte) {
	b.data = data
	b.r.Reset(data)
	b.closed.Store(false)
	b.pend.add()
}

func (b *trackedBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *trackedBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.pend.done()
	}
	return nil
}
