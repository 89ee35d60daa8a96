package dsr_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
)

// BenchmarkSearch reads pages of a queue of 20,000 requests (a quarter of
// them answered) on both stores: the first page of the open queue, the
// overdue ones, one request by id, and a page deep in the cursor.
func BenchmarkSearch(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			f := newFixture(b, store)
			ctx := context.Background()
			const n = 20000
			states := []dsr.State{dsr.StateReceived, dsr.StateVerified, dsr.StateInProgress, dsr.StateCompleted}
			err := store.Tx(ctx, func(tx *sql.Tx) error {
				for i := range n {
					due := start.Add(time.Duration(i%90) * 24 * time.Hour).UnixMicro()
					if _, err := tx.ExecContext(ctx, `INSERT INTO dsr_requests (id, kind, regime, state, email_hash, email_sealed, received_at, due_at, updated_at, version)
						VALUES ($1, 'erasure', 'gdpr', $2, $3, $3, $4, $5, $4, 1)`, fmt.Sprintf("req_bench%011d", i), string(states[i%4]), f.ada, start.UnixMicro(), due); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			f.clock.add(45 * 24 * time.Hour)
			page, err := f.s.Search(ctx, dsr.Filter{Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			for range 50 { // 50 pages deep
				if page, err = f.s.Search(ctx, dsr.Filter{Limit: 100, After: page.Next}); err != nil {
					b.Fatal(err)
				}
			}
			deep := page.Next
			for _, c := range []struct {
				name string
				f    dsr.Filter
			}{
				{"open", dsr.Filter{Limit: 100}},
				{"overdue", dsr.Filter{Overdue: true, Limit: 100}},
				{"id", dsr.Filter{ID: "req_bench00000012345"}},
				{"deep", dsr.Filter{Limit: 100, After: deep}},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := f.s.Search(ctx, c.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
