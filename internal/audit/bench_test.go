package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// millionEntry is entry i of the 1,000,000-entry log: 40 staff members and
// API keys acting on 20,000 customers (about 45 entries each), one entry in
// ten by the system without a target.
func millionEntry(i int) Entry {
	e := Entry{
		Actor:   Staff(fmt.Sprint(i % 40)),
		Action:  actions[i%len(actions)],
		Target:  Subject(fmt.Sprintf("cust-%d", (uint64(i)*0x9E3779B97F4A7C15>>32)%20000)),
		Details: MustDetails(map[string]any{"field": "iban", "purpose": "support ticket"}),
	}
	switch i % 10 {
	case 3:
		e.Actor = APIKey("key_backend")
	case 7:
		e.Actor, e.Target = System(), Target{}
	}
	return e
}

// BenchmarkMillion builds a log of 1,000,000 entries on each engine (the
// bulk path: the chain computed in memory, inserted in one transaction) and
// times the queries an operator runs on it: each sub-benchmark's ns/op is
// one query. The build and one Verify of the whole log are timed once and
// logged.
//
//	go test -run XXX -bench Million -benchtime 200x ./internal/audit/
func BenchmarkMillion(b *testing.B) {
	const n = 1_000_000
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b, dialect)
			start := time.Now()
			bulkAppend(b, store, n, millionEntry, func(i int) time.Time { return epoch.Add(time.Duration(i) * 100 * time.Millisecond) })
			if _, err := store.ExecContext(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: built %d entries in %s", dialect, n, time.Since(start).Round(time.Millisecond))
			l := newLog(b, store)

			b.Run("who-accessed", func(b *testing.B) {
				i := 0
				for b.Loop() {
					_, err := l.Accesses(ctx, fmt.Sprintf("cust-%d", (i*104729)%20000), 0, 50)
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("who-accessed-next-page", func(b *testing.B) {
				first, err := l.Accesses(ctx, "cust-4242", 0, 20)
				if err != nil || first.Next == 0 {
					b.Fatalf("first page: %+v, %v", first.Next, err)
				}
				for b.Loop() {
					if _, err := l.Accesses(ctx, "cust-4242", first.Next, 20); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("staff-member-in-an-hour", func(b *testing.B) {
				since := epoch.Add(12 * time.Hour)
				for b.Loop() {
					if _, err := l.Search(ctx, Query{Actor: Staff("17"), Since: since, Until: since.Add(time.Hour)}); err != nil {
						b.Fatal(err)
					}
				}
			})
			// One walk of the whole chain takes seconds: timed once, not
			// b.N times.
			start = time.Now()
			r, err := Verify(ctx, store, VerifyOptions{})
			if err != nil || !r.OK() || r.Verified != n {
				b.Fatalf("%s %v", r.Message(), err)
			}
			b.Logf("%s: verified %d entries in %s", dialect, n, time.Since(start).Round(time.Millisecond))
		})
	}
}

// BenchmarkAppend measures durable appends (one transaction and commit each)
// from one goroutine and from many.
func BenchmarkAppend(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			l := newLog(b, store)
			e := testEntry(1)
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					if _, err := l.Append(context.Background(), e); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
			b.Run("parallel-16", func(b *testing.B) {
				b.SetParallelism(8) // 8 per core: 16 on two cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.Append(context.Background(), e); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		})
	}
}

// BenchmarkAppendCheckpointed is BenchmarkAppend's parallel case with a
// Checkpointer running as the app runs it (woken by appends, one-second
// interval): appends per second, and checkpoints signed per second.
func BenchmarkAppendCheckpointed(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			l := newLog(b, store)
			c, err := OpenCheckpointer(context.Background(), CheckpointerConfig{DB: store, Signer: newSigner(b, "a"),
				File: filepath.Join(b.TempDir(), "checkpoints"), Wake: l.Appended()})
			if err != nil {
				b.Fatal(err)
			}
			e := testEntry(1)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Append(context.Background(), e); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			var n int
			if err := store.QueryRow(`SELECT count(*) FROM audit_checkpoints`).Scan(&n); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "checkpoints/s")
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkCheckpoint is the cost of one checkpoint of one new entry: walk,
// sign, store, file (the append is outside the timer).
func BenchmarkCheckpoint(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			l := newLog(b, store)
			c, err := OpenCheckpointer(context.Background(), CheckpointerConfig{DB: store, Signer: newSigner(b, "a"),
				File: filepath.Join(b.TempDir(), "checkpoints"), Poll: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			e := testEntry(1)
			for b.Loop() {
				b.StopTimer()
				if _, err := l.Append(context.Background(), e); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := c.Checkpoint(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
