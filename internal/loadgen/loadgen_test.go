package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testDuration = 200 * time.Millisecond

// counter is a loopback server that counts requests and lets the test choose
// the response.
type counter struct {
	hits    atomic.Int64
	bad     atomic.Int64 // requests whose body did not match its Content-Length / pattern
	respond func(n int64, w http.ResponseWriter, body []byte)
}

func startServer(t *testing.T, c *counter) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || int64(len(body)) != r.ContentLength || (len(body) > 0 && !bytes.HasPrefix(body, []byte("worker="))) {
			c.bad.Add(1)
		}
		n := c.hits.Add(1)
		if c.respond != nil {
			c.respond(n, w, body)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// perWorkerBody returns a Body func that reuses one buffer per worker, which
// also exercises the rule that a body may be reused once the transport is done
// with it (the race detector would catch a violation).
func perWorkerBody(workers int) func(worker, n int) []byte {
	bufs := make([][]byte, workers)
	return func(worker, n int) []byte {
		bufs[worker] = fmt.Appendf(bufs[worker][:0], "worker=%d n=%d %s", worker, n, strings.Repeat("x", n%300))
		return bufs[worker]
	}
}

func TestRunCounts(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantExactly int // if > 0, Requests must equal it
		warmup      bool
	}{
		{name: "duration", cfg: Config{Connections: 4, Warmup: -1}},
		{name: "with body", cfg: Config{Connections: 4, Warmup: -1, Body: perWorkerBody(4)}},
		{name: "GET without body", cfg: Config{Method: http.MethodGet, Connections: 3, Warmup: -1}},
		{name: "max requests", cfg: Config{Connections: 8, Warmup: -1, Duration: 5 * time.Second, MaxRequests: 100, Body: perWorkerBody(8)}, wantExactly: 100},
		{name: "warm-up", cfg: Config{Connections: 4, Warmup: 100 * time.Millisecond, Body: perWorkerBody(4)}, warmup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c counter
			cfg := tt.cfg
			cfg.URL = startServer(t, &c) + "/v1/decide"
			cfg.Header = http.Header{"Content-Type": {"text/plain"}}
			if cfg.Duration == 0 {
				cfg.Duration = testDuration
			}
			start := time.Now()
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			hits := int(c.hits.Load())
			t.Logf("%+v, server saw %d", res, hits)
			if res.Requests == 0 || res.Errors != 0 || res.FirstError != "" {
				t.Fatalf("want error-free requests, got %+v", res)
			}
			if c.bad.Load() != 0 {
				t.Errorf("server saw %d malformed bodies", c.bad.Load())
			}
			if tt.warmup {
				if hits <= res.Requests {
					t.Errorf("server saw %d requests, want more than the %d measured ones (warm-up)", hits, res.Requests)
				}
			} else if hits != res.Requests {
				t.Errorf("server saw %d requests, Run reported %d", hits, res.Requests)
			}
			if tt.wantExactly > 0 {
				if res.Requests != tt.wantExactly {
					t.Errorf("Requests = %d, want %d", res.Requests, tt.wantExactly)
				}
				if time.Since(start) > 2*time.Second {
					t.Errorf("MaxRequests did not stop the run early")
				}
			} else if res.Duration < cfg.Duration || res.Duration > cfg.Duration+time.Second {
				t.Errorf("Duration = %v, want about %v", res.Duration, cfg.Duration)
			}
			wantRate := float64(res.Requests) / res.Duration.Seconds()
			if d := res.RequestsPerSecond - wantRate; d > 1e-6*wantRate || d < -1e-6*wantRate {
				t.Errorf("RequestsPerSecond = %v, want %v", res.RequestsPerSecond, wantRate)
			}
			if !(0 < res.P50 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
				t.Errorf("percentiles not ordered: p50 %v p90 %v p99 %v max %v", res.P50, res.P90, res.P99, res.Max)
			}
			// The server runs in this process, so the measured phase used
			// CPU; it cannot have used more than every core for its whole
			// length.
			if _, measured := processCPU(); measured {
				if limit := time.Duration(runtime.NumCPU()) * (res.Duration + 100*time.Millisecond); res.CPU <= 0 || res.CPU > limit {
					t.Errorf("CPU = %v, want more than 0 and at most %v", res.CPU, limit)
				}
				if got := res.CPUPerRequest(); got != res.CPU/time.Duration(res.Requests) {
					t.Errorf("CPUPerRequest = %v, want %v", got, res.CPU/time.Duration(res.Requests))
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	errNotOK := errors.New("ok is false")
	tests := []struct {
		name      string
		respond   func(n int64, w http.ResponseWriter, body []byte)
		check     func(status int, body []byte) error
		wantErrs  func(hits int) int // expected Errors given the server's count
		wantFirst string
	}{
		{
			name: "500 is an error",
			respond: func(n int64, w http.ResponseWriter, _ []byte) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			wantErrs:  func(hits int) int { return hits },
			wantFirst: `unexpected status 500: "boom"`,
		},
		{
			name: "redirect is not followed and is an error",
			respond: func(n int64, w http.ResponseWriter, _ []byte) {
				w.Header().Set("Location", "http://example.com/")
				w.WriteHeader(http.StatusFound)
			},
			wantErrs:  func(hits int) int { return hits },
			wantFirst: "unexpected status 302",
		},
		{
			name: "check hook sees status and body",
			respond: func(n int64, w http.ResponseWriter, _ []byte) {
				if n%3 == 0 {
					w.Write([]byte(`{"ok":false}`))
					return
				}
				w.Write([]byte(`{"ok":true}`))
			},
			check: func(status int, body []byte) error {
				if status != http.StatusOK {
					return fmt.Errorf("status %d", status)
				}
				if bytes.Contains(body, []byte("false")) {
					return errNotOK
				}
				return nil
			},
			wantErrs:  func(hits int) int { return hits / 3 },
			wantFirst: "check failed (status 200): ok is false",
		},
		{
			name: "check hook can accept non-2xx",
			respond: func(n int64, w http.ResponseWriter, _ []byte) {
				w.WriteHeader(http.StatusConflict)
			},
			check: func(status int, body []byte) error {
				if status != http.StatusConflict {
					return errors.New("want 409, got " + strconv.Itoa(status))
				}
				return nil
			},
			wantErrs: func(int) int { return 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := counter{respond: tt.respond}
			res, err := Run(context.Background(), Config{
				URL:         startServer(t, &c),
				Connections: 4,
				Duration:    testDuration,
				Warmup:      -1,
				Check:       tt.check,
			})
			if err != nil {
				t.Fatal(err)
			}
			hits := int(c.hits.Load())
			t.Logf("%+v, server saw %d", res, hits)
			if res.Requests != hits || hits == 0 {
				t.Fatalf("Requests = %d, server saw %d", res.Requests, hits)
			}
			if want := tt.wantErrs(hits); res.Errors != want {
				t.Errorf("Errors = %d, want %d", res.Errors, want)
			}
			if !strings.Contains(res.FirstError, tt.wantFirst) || (tt.wantFirst == "") != (res.FirstError == "") {
				t.Errorf("FirstError = %q, want it to contain %q", res.FirstError, tt.wantFirst)
			}
			wantRate := float64(res.Requests-res.Errors) / res.Duration.Seconds()
			if d := res.RequestsPerSecond - wantRate; d > 1e-6 || d < -1e-6 {
				t.Errorf("RequestsPerSecond = %v, want %v (successes only)", res.RequestsPerSecond, wantRate)
			}
			if res.Errors == res.Requests && (res.P50 != 0 || res.Max != 0) {
				t.Errorf("latencies of failed requests were recorded: %+v", res)
			}
		})
	}
}

func TestRunConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"remote host", Config{URL: "http://example.com/v1/decide"}, "non-loopback"},
		{"private address", Config{URL: "http://10.0.0.1:8080/"}, "non-loopback"},
		{"unspecified address", Config{URL: "http://0.0.0.0:8080/"}, "non-loopback"},
		{"localhost suffix", Config{URL: "http://localhost.example.com:8080/"}, "non-loopback"},
		{"loopback-looking name", Config{URL: "http://127.0.0.1.nip.io/"}, "non-loopback"},
		{"IPv6 non-loopback", Config{URL: "http://[2001:db8::1]:80/"}, "non-loopback"},
		{"https", Config{URL: "https://127.0.0.1:8443/"}, "scheme must be http"},
		{"no scheme", Config{URL: "//127.0.0.1:8080/"}, "scheme must be http"},
		{"unparsable", Config{URL: "127.0.0.1:8080"}, "bad URL"},
		{"empty", Config{}, "scheme must be http"},
		{"no host", Config{URL: "http:///x"}, "no host"},
		{"bad port", Config{URL: "http://127.0.0.1:99999/"}, "bad port"},
		{"too long", Config{URL: "http://127.0.0.1:1/", Duration: 11 * time.Minute}, "exceeds the limit"},
		{"warm-up too long", Config{URL: "http://127.0.0.1:1/", Warmup: time.Hour}, "exceeds the limit"},
		{"negative duration", Config{URL: "http://127.0.0.1:1/", Duration: -time.Second}, "negative Duration"},
		{"negative connections", Config{URL: "http://127.0.0.1:1/", Connections: -1}, "negative Connections"},
		{"negative max requests", Config{URL: "http://127.0.0.1:1/", MaxRequests: -1}, "negative MaxRequests"},
		{"bad method", Config{URL: "http://127.0.0.1:1/", Method: "GE T"}, "invalid method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want it to contain %q", err, tt.want)
			}
			if res != (Result{}) {
				t.Errorf("refused run returned a result: %+v", res)
			}
		})
	}
}

func TestCheckURLAcceptsLoopback(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1:8080/v1/decide",
		"http://127.0.0.1/",
		"http://127.1.2.3:9/",
		"http://localhost:8080/v1/ingest?x=1",
		"http://LocalHost:1",
		"http://[::1]:8080/",
	} {
		if _, err := checkURL(u); err != nil {
			t.Errorf("checkURL(%q) = %v, want accepted", u, err)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	var c counter
	url := startServer(t, &c)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{URL: url, Connections: 2, Duration: time.Minute, Warmup: -1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Run did not stop promptly on cancellation")
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("partial result = %+v, want some error-free requests", res)
	}
}

func TestRunOverrunningRequest(t *testing.T) {
	// A server that hangs must not make Run hang: the stuck request is
	// cancelled stopGrace after the end and counted as an error.
	defer func(g time.Duration) { stopGrace = g }(stopGrace)
	stopGrace = 100 * time.Millisecond
	release := make(chan struct{})
	c := counter{respond: func(n int64, w http.ResponseWriter, _ []byte) {
		if n == 1 {
			<-release
		}
	}}
	url := startServer(t, &c)
	defer close(release)
	res, err := Run(context.Background(), Config{URL: url, Connections: 1, Duration: 50 * time.Millisecond, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1 || res.Errors != 1 || !strings.Contains(res.FirstError, "still running") {
		t.Errorf("result = %+v, want one overrun error", res)
	}
}

func TestDialerDialsOnlyLoopback(t *testing.T) {
	// 192.0.2.0/24 is TEST-NET-1; the dialer's Control hook must refuse it
	// before any packet is sent.
	_, err := newDialer().DialContext(context.Background(), "tcp", "192.0.2.1:80")
	if err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Fatalf("dial to 192.0.2.1 = %v, want refusal", err)
	}
}
