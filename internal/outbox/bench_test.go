package outbox_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/outbox"
)

// BenchmarkDelivery measures delivery throughput to a fast local
// receiver (204 at once): b.N events are emitted first, with nothing
// delivering, then the clock runs from starting the delivery workers until
// the last message is delivered. events/s is the figure.
//
//	go test -run '^$' -bench Delivery -benchtime 5000x ./internal/outbox/
//
// STEWARD_BENCH_IDLE_CONNS=1 keeps the store's idle connections (see
// below).
func BenchmarkDelivery(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b, dialect)
			svc := newService(b, store)
			rc := newReceiver(b, nil)
			createEndpoint(b, svc, rc)
			emitter := insertOnly(b, store, svc)
			const batch = 500
			for from := 0; from < b.N; from += batch {
				err := store.Tx(ctx, func(tx *sql.Tx) error {
					for i := from; i < min(from+batch, b.N); i++ {
						if _, err := svc.EmitTx(ctx, tx, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_" + strconv.Itoa(i)}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			stopRunner(emitter)
			b.ResetTimer()
			start := time.Now()
			startRunner(b, store, svc, 32)
			waitFor(b, 10*time.Minute, "every message delivered", func() (bool, error) {
				var delivered int
				err := store.QueryRowContext(ctx, `SELECT count(*) FROM outbox_messages WHERE state = 'delivered'`).Scan(&delivered)
				return delivered == b.N, err
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkEmitTx measures what the outbox adds to a write: a
// transaction that inserts one row, alone and with EmitTx of one event to
// one or to three endpoints. The difference in ns/op is the added latency.
//
//	go test -run '^$' -bench EmitTx -benchtime 2000x ./internal/outbox/
func BenchmarkEmitTx(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			store := dbtest.Open(b, dialect)
			svc := newService(b, store)
			insertOnly(b, store, svc)
			if _, err := store.ExecContext(ctx, `CREATE TABLE bench_changes (id TEXT PRIMARY KEY, purpose TEXT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			n := 0
			write := func(emit bool) error {
				n++
				id := "chg_" + strconv.Itoa(n)
				return store.Tx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO bench_changes (id, purpose) VALUES ($1, 'analytics')`, id); err != nil {
						return err
					}
					if !emit {
						return nil
					}
					_, err := svc.EmitTx(ctx, tx, outbox.Event{Type: outbox.ConsentChanged, SubjectID: "sub_1",
						Data: map[string]any{"change_id": id, "purpose": "analytics"}})
					return err
				})
			}
			run := func(name string, emit bool) {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := write(emit); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			run("write only", false)
			run("write without endpoints", true)
			rc := newReceiver(b, nil)
			createEndpoint(b, svc, rc)
			run("write+emit to 1 endpoint", true)
			createEndpoint(b, svc, rc)
			createEndpoint(b, svc, rc)
			run("write+emit to 3 endpoints", true)
		})
	}
}
