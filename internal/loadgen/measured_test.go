package loadgen

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestMeasuredHook: Measured is called once, when the warm-up is over, and
// its done function once the last worker is done, before Run returns; a
// run cancelled during the warm-up calls neither.
func TestMeasuredHook(t *testing.T) {
	url := startServer(t, &counter{})
	var started, finished atomic.Int64
	var startedAt time.Time
	begin := time.Now()
	res, err := Run(context.Background(), Config{URL: url, Connections: 2, Warmup: 100 * time.Millisecond, Duration: testDuration,
		Measured: func() func() {
			started.Add(1)
			startedAt = time.Now()
			return func() { finished.Add(1) }
		}})
	if err != nil {
		t.Fatal(err)
	}
	if started.Load() != 1 || finished.Load() != 1 {
		t.Fatalf("Measured called %d times, its done %d times; want 1 and 1", started.Load(), finished.Load())
	}
	if warm := startedAt.Sub(begin); warm < 100*time.Millisecond {
		t.Errorf("Measured called %v after the start, within the warm-up", warm)
	}
	if res.Requests == 0 {
		t.Error("no requests measured")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	called := false
	_, err = Run(ctx, Config{URL: url, Connections: 2, Warmup: time.Second, Duration: testDuration,
		Measured: func() func() { called = true; return nil }})
	if err == nil || called {
		t.Errorf("a run cancelled in its warm-up: err %v, Measured called %v", err, called)
	}
}
