package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestGroupCommit: concurrent writes all commit, in fewer transactions
// than writes, and a faulty write fails alone.
func TestGroupCommit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.ExecContext(ctx, `CREATE TABLE gc_items (n INTEGER PRIMARY KEY, txid TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		g := &db.GroupCommit{DB: store, MaxBatch: 16}
		txOf := map[*sql.Tx]string{}
		var mu sync.Mutex
		name := func(tx *sql.Tx) string {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := txOf[tx]; !ok {
				txOf[tx] = strconv.Itoa(len(txOf))
			}
			return txOf[tx]
		}
		const writers = 64
		errsOf := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				errsOf[i] = g.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if i == 13 {
						return errors.New("faulty write")
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO gc_items (n, txid) VALUES ($1, $2)`, i, name(tx))
					return err
				})
			})
		}
		wg.Wait()
		for i, err := range errsOf {
			if (err != nil) != (i == 13) {
				t.Errorf("write %d: %v", i, err)
			}
		}
		var rows, txs int
		if err := store.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT txid) FROM gc_items`).Scan(&rows, &txs); err != nil {
			t.Fatal(err)
		}
		if rows != writers-1 {
			t.Errorf("%d rows committed, want %d", rows, writers-1)
		}
		if txs >= rows {
			t.Errorf("%d rows in %d transactions: no batching", rows, txs)
		}
	})
}
