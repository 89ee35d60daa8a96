package consent_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// benchService returns a service on SQLite with n devices holding a grant
// for analytics and a denial for marketing.
func benchService(b *testing.B, n int) *consent.Service {
	b.Helper()
	store := dbtest.Open(b, db.SQLite)
	svc := openService(b, store, newSigner(b))
	seed(b, svc)
	for start := 0; start < n; start += consent.MaxBatch {
		var events []consent.Event
		for i := start; i < min(start+consent.MaxBatch, n); i++ {
			dev := fmt.Sprintf("dev-%d", i)
			events = append(events, event(fmt.Sprintf("g-%d", i), dev, "analytics", consent.ActionGrant),
				event(fmt.Sprintf("d-%d", i), dev, "marketing", consent.ActionDeny))
		}
		for len(events) > 0 {
			chunk := events[:min(len(events), consent.MaxBatch)]
			events = events[len(chunk):]
			if _, err := svc.Append(context.Background(), chunk); err != nil {
				b.Fatal(err)
			}
		}
	}
	return svc
}

// BenchmarkDecide measures one in-process decision: index lookup and rules.
// Target: at most 200 ns and 0 allocations per question.
func BenchmarkDecide(b *testing.B) {
	svc := benchService(b, 100000)
	d := svc.Decider()
	questions := make([]consent.Question, 1024)
	for i := range questions {
		questions[i] = consent.Question{Device: fmt.Sprintf("dev-%d", i*97%100000), Purpose: "analytics", Vendor: "metrics-co", Jurisdiction: "DE"}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start, n := threadCPU(), 0
	for i := 0; b.Loop(); i++ {
		a, err := d.Decide(&questions[i&1023], false)
		if err != nil || !a.Allowed {
			b.Fatalf("%+v %v", a, err)
		}
		n++
	}
	if cpu := threadCPU() - start; cpu > 0 {
		// The processor time of the thread per decision: a loaded
		// machine disturbs it less than ns/op.
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

// BenchmarkDecideParallel measures decisions from all cores at once.
func BenchmarkDecideParallel(b *testing.B) {
	svc := benchService(b, 100000)
	d := svc.Decider()
	b.ReportAllocs()
	b.ResetTimer() // not StopTimer: RunParallel would then time nothing and grow b.N without end
	b.RunParallel(func(pb *testing.PB) {
		q := consent.Question{Device: "dev-4242", Purpose: "marketing", Jurisdiction: "DE"}
		for pb.Next() {
			if a, _ := d.Decide(&q, false); a.Allowed {
				b.Fatal("marketing was denied")
			}
		}
	})
}

// TestDecisionLatencyMedian reports the median of single decisions; it
// asserts nothing about time (machines differ) but fails on allocations.
func TestDecisionAllocations(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	svc := openService(t, store, newSigner(t))
	seed(t, svc)
	appendOK(t, svc, event("a", "dev-1", "analytics", consent.ActionGrant))
	q := consent.Question{Device: "dev-1", Purpose: "analytics", Vendor: "metrics-co", Jurisdiction: "DE", Property: "shop"}
	allocs := testing.AllocsPerRun(1000, func() {
		if a, _ := svc.Decider().Decide(&q, false); !a.Allowed {
			t.Fatal("not allowed")
		}
	})
	if allocs != 0 {
		t.Fatalf("Decide allocates %.1f times per question, want 0", allocs)
	}
}

// BenchmarkIndexMemory reports the index's heap cost per state, with one,
// two and three states per device.
func BenchmarkIndexMemory(b *testing.B) {
	purposes := []string{"analytics", "marketing", "sale"}
	for perDevice := 1; perDevice <= len(purposes); perDevice++ {
		b.Run(fmt.Sprintf("states=%d", perDevice), func(b *testing.B) {
			for b.Loop() {
				const devices = 200000
				x := consent.NewIndex()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				consent.ApplyForTest(x, devices, purposes[:perDevice])
				runtime.GC()
				runtime.ReadMemStats(&after)
				states := x.Len()
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(states), "bytes/state")
				runtime.KeepAlive(x)
			}
		})
	}
}

// BenchmarkAppend measures the ledger's group commit without HTTP: 64
// writers appending one event each, as 64 banner beacons do, with random
// device ids. The figure bounds what the ingest API can reach.
func BenchmarkAppend(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) { benchmarkAppend(b, dbtest.Open(b, dialect)) })
	}
}

func benchmarkAppend(b *testing.B, store *db.DB) {
	svc := openService(b, store, newSigner(b))
	seed(b, svc)
	var next atomic.Int64
	b.SetParallelism(max(64/runtime.GOMAXPROCS(0), 1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			device := fmt.Sprintf("%x", sha256.Sum256(fmt.Appendf(nil, "%d", n%50000)))[:32]
			if _, err := svc.Append(context.Background(), []consent.Event{event(fmt.Sprintf("e-%d", n), device, "analytics", consent.ActionGrant)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendRollups measures what the analytics rollups cost the
// ingest: BenchmarkAppend's workload (64 writers, one event each), its
// choices spread over two purposes, three jurisdictions, two sources and
// every outcome, with the rollups kept (on) and skipped (off), on both
// engines: appendPairs pairs, each on then off, so that the two alternate
// in one process (-count repeats a leaf before the next); the ratio of
// each pair's events/s says the cost on a shared machine. Target: off/on
// at most 1.05 (median of the pairs).
func BenchmarkAppendRollups(b *testing.B) {
	const appendPairs = 6
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			for pair := range appendPairs * 2 {
				mode := []string{"on", "off"}[pair%2]
				b.Run(fmt.Sprintf("%d/%s", pair/2+1, mode), func(b *testing.B) {
					svc := openService(b, dbtest.Open(b, dialect), newSigner(b))
					seed(b, svc)
					consent.SetRollupsForTest(svc, mode == "on")
					purposes := []string{"analytics", "marketing"}
					jurisdictions := []string{"DE", "FR", "US-CA"}
					sources := []consent.Source{consent.SourceBanner, consent.SourcePortal}
					actions := []consent.Action{consent.ActionGrant, consent.ActionGrant, consent.ActionDeny, consent.ActionWithdraw}
					var next atomic.Int64
					var before, after syscall.Rusage
					_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
					b.SetParallelism(max(64/runtime.GOMAXPROCS(0), 1))
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							n := next.Add(1)
							device := fmt.Sprintf("%x", sha256.Sum256(fmt.Appendf(nil, "%d", n%50000)))[:32]
							e := event(fmt.Sprintf("e-%d", n), device, purposes[n%2], actions[n%4])
							e.Jurisdiction, e.Source = jurisdictions[n%3], sources[(n/3)%2]
							if _, err := svc.Append(context.Background(), []consent.Event{e}); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.StopTimer()
					_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
					cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
					b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(b.N), "cpu-µs/event")
				})
			}
		})
	}
}

// BenchmarkPrepare measures what Append does for an event outside the
// commit loop: its receipt signed, its principal committed to.
func BenchmarkPrepare(b *testing.B) {
	svc := openService(b, dbtest.Open(b, db.SQLite), newSigner(b))
	seed(b, svc)
	events := []consent.Event{event("e-1", "0f8e7c1a-3b2d-4c5e-8f90-a1b2c3d4e5f6", "analytics", consent.ActionGrant)}
	events[0].Vendor = "metrics-co"
	if err := svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorIngestKey, Property: "shop"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := consent.PrepareForTest(svc, events); err != nil {
			b.Fatal(err)
		}
	}
}
