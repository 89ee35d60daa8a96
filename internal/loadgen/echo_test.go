package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestEchoServer(t *testing.T) {
	url, stop, err := EchoServer()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	defer stop() // stop may be called twice
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url = %q", url)
	}

	resp, err := http.Post(url+"/any/path", "application/json", strings.NewReader(` {"a": [1, 2, {"b": null}]} `))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || string(body) != `{"a":[1,2,{"b":null}]}` {
		t.Errorf("echo = %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	for _, in := range []string{"", "{", "not json", "{} {}"} {
		resp, err := http.Post(url, "application/json", strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("echo of %q: status %d, want 400", in, resp.StatusCode)
		}
	}

	// Through the load generator, checking every response.
	var reqBody = []byte(`{"device":"bench-42","purpose":"analytics","vendor":"metrics-co","jurisdiction":"DE"}`)
	res, err := Run(context.Background(), Config{
		URL: url, Header: http.Header{"Content-Type": {"application/json"}},
		Body:        func(int, int) []byte { return reqBody },
		Check:       bodyCheck(reqBody),
		Connections: 8, Duration: testDuration, Warmup: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("result = %+v", res)
	}

	stop()
	if _, err := http.Post(url, "application/json", strings.NewReader("{}")); err == nil {
		t.Error("server still answers after stop")
	}
}

// BenchmarkEcho drives EchoServer with 64 connections for about a second and
// reports the throughput and latency, the calibration figures of this
// machine. mallocs/req counts the allocations of client and server together
// (approximately: warm-up requests are estimated); BenchmarkWorker shows that
// the client's share is zero.
func BenchmarkEcho(b *testing.B) {
	url, stop, err := EchoServer()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	body, _ := json.Marshal(map[string]string{"device": "bench-42", "purpose": "analytics", "vendor": "metrics-co", "jurisdiction": "DE"})
	var res Result
	var mallocs uint64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		res, err = Run(context.Background(), Config{
			URL: url + "/echo", Header: http.Header{"Content-Type": {"application/json"}},
			Body: func(int, int) []byte { return body },
			Check: func(status int, got []byte) error {
				if status != http.StatusOK || !bytes.Equal(got, body) {
					return fmt.Errorf("status %d body %.100q", status, got)
				}
				return nil
			},
			Connections: 64, Duration: time.Second, Warmup: 200 * time.Millisecond,
		})
		runtime.ReadMemStats(&m1)
		mallocs = m1.Mallocs - m0.Mallocs // includes the warm-up
		if err != nil {
			b.Fatal(err)
		}
		if res.Errors != 0 {
			b.Fatalf("%d errors, first: %s", res.Errors, res.FirstError)
		}
	}
	b.ReportMetric(0, "ns/op") // the time of a whole run says nothing
	b.ReportMetric(res.RequestsPerSecond, "req/s")
	b.ReportMetric(float64(res.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(mallocs)/(float64(res.Requests)*1.2), "mallocs/req")
}
