package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
)

// deciderConvergence grants n devices through replica A, waits until d
// (a Decider following another replica's stream) allows them, then
// withdraws them one at a time through A and measures, for each, the time
// from A's acknowledgement until d answers allowed=false. It asks d every
// 100 µs: a decision costs it well under a microsecond.
func (s *replicaSet) deciderConvergence(tb testing.TB, d *client.Decider, prefix string, n int) []time.Duration {
	tb.Helper()
	a := s.servers[0].URL
	grants := make([]string, n)
	for i := range grants {
		grants[i] = bannerEvent(fmt.Sprintf("%s-grant-%d", prefix, i), fmt.Sprintf("%s-%d", prefix, i), "grant")
	}
	for start := 0; start < n; start += 100 {
		if err := s.events(a, grants[start:min(start+100, n)]...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := waitDecider(d, fmt.Sprintf("%s-%d", prefix, n-1), true, 10*time.Second); err != nil {
		tb.Fatal(err)
	}
	took := make([]time.Duration, n)
	for i := range took {
		device := fmt.Sprintf("%s-%d", prefix, i)
		if err := s.events(a, bannerEvent(fmt.Sprintf("%s-withdraw-%d", prefix, i), device, "withdraw")); err != nil {
			tb.Fatal(err)
		}
		acknowledged := time.Now()
		if err := waitDecider(d, device, false, 10*time.Second); err != nil {
			tb.Fatal(err)
		}
		took[i] = time.Since(acknowledged)
	}
	return took
}

// waitDecider asks d every 100 µs until device's answer for analytics in
// DE is want, for at most limit.
func waitDecider(d *client.Decider, device string, want bool, limit time.Duration) error {
	q := client.Question{Device: device, Purpose: "analytics", Jurisdiction: "DE"}
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Microsecond) {
		a, err := d.Decide(&q, false)
		if err != nil {
			return err
		}
		if a.Allowed == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Decider still answers allowed=%v (%s) for %s after %s (lag %+v)", a.Allowed, a.Reason, device, limit, d.Lag())
		}
	}
}

// startDecider starts a Decider following replica i's decision stream
// (server-sent events, or long polling).
func (s *replicaSet) startDecider(tb testing.TB, i int, longPoll bool) *client.Decider {
	tb.Helper()
	d, err := client.New(s.servers[i].URL, s.servers[0].Keys.Decide).NewDecider(context.Background(),
		client.DeciderOptions{LongPoll: longPoll})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	return d
}

// BenchmarkDeciderConvergence measures, for b.N withdrawals (run it with
// -benchtime 300x), the time from replica A's acknowledgement to a local
// Decider that follows replica B's stream answering allowed=false, under
// BenchmarkReplicaConvergence's load (concurrent ingest and decisions
// through a round-robin balancer in front of three replicas, polling at
// 1 s as the fallback): B learns of A's write by its notification, then
// its stream sends it. It reports p50 and p99 (the goal is p99 ≤ 100 ms)
// as figures, for the stream of server-sent events and for long polling.
func BenchmarkDeciderConvergence(b *testing.B) {
	for _, mode := range []string{"events", "longpoll"} {
		b.Run(mode, func(b *testing.B) {
			set := startReplicaSet(b, time.Second)
			d := set.startDecider(b, 1, mode == "longpoll")
			stop := set.load(b)
			b.ResetTimer()
			took := set.deciderConvergence(b, d, fmt.Sprintf("dbench-%s-%d", mode, b.N), b.N)
			b.StopTimer()
			events, decisions := stop()
			slices.Sort(took)
			p50, p99 := percentile(took, .5), percentile(took, .99)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
			b.Logf("%s: %d withdrawals, load %d events and %d decisions through the balancer: p50 %s p99 %s max %s",
				mode, b.N, events, decisions, p50, p99, took[len(took)-1])
		})
	}
}

// TestDeciderConverges: a Decider following replica B, under the load of
// TestReplicasConverge with polling off, sees withdrawals acknowledged by
// replica A, which only B's notification and its stream can have told it.
func TestDeciderConverges(t *testing.T) {
	set := startReplicaSet(t, -1)
	d := set.startDecider(t, 1, false)
	stop := set.load(t)
	took := set.deciderConvergence(t, d, "dconv", 10)
	events, decisions := stop()
	if events == 0 || decisions == 0 {
		t.Fatalf("the load did not run: %d events, %d decisions", events, decisions)
	}
	if lag := d.Lag(); !lag.Connected {
		t.Errorf("the Decider's stream is not up: %+v", lag)
	}
	slices.Sort(took)
	t.Logf("10 withdrawals under load: p50 %s, max %s", percentile(took, .5), took[len(took)-1])
}
