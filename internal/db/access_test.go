package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// TestDirectWritesShareTheWriterQueue runs direct ExecContext writes (in
// tight loops, as the stores' one-statement writes do) beside transactions
// of Tx and GroupCommit: on SQLite every one of them goes through the
// writer queue, so none meets SQLITE_BUSY ("database is locked") and none
// is kept waiting past the busy timeout.
func TestDirectWritesShareTheWriterQueue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.ExecContext(ctx, `CREATE TABLE q_items (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ExecContext(ctx, `CREATE TABLE q_counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ExecContext(ctx, `INSERT INTO q_counter (id, n) VALUES (1, 0)`); err != nil {
			t.Fatal(err)
		}
		g := &db.GroupCommit{DB: store}
		const workers, each = 4, 60
		var wg sync.WaitGroup
		errc := make(chan error, 4*workers*each)
		for w := range workers {
			wg.Add(4)
			go func() { // direct inserts
				defer wg.Done()
				for i := range each {
					if _, err := store.ExecContext(ctx, `INSERT INTO q_items (k, v) VALUES ($1, $2)`, fmt.Sprintf("d%d-%d", w, i), i); err != nil {
						errc <- fmt.Errorf("direct insert: %w", err)
					}
				}
			}()
			go func() { // direct UPDATE … RETURNING
				defer wg.Done()
				for range each {
					var n int64
					if err := store.QueryRowContext(ctx, `UPDATE q_counter SET n = n + 1 WHERE id = 1 RETURNING n`).Scan(&n); err != nil {
						errc <- fmt.Errorf("direct update returning: %w", err)
					}
				}
			}()
			go func() { // transactions that hold the write lock a while
				defer wg.Done()
				for i := range each {
					err := store.Tx(ctx, func(tx *sql.Tx) error {
						if _, err := tx.ExecContext(ctx, `INSERT INTO q_items (k, v) VALUES ($1, $2)`, fmt.Sprintf("t%d-%d", w, i), i); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE q_counter SET n = n + 1 WHERE id = 1`)
						return err
					})
					if err != nil {
						errc <- fmt.Errorf("tx: %w", err)
					}
				}
			}()
			go func() { // group commits
				defer wg.Done()
				for i := range each {
					err := g.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO q_items (k, v) VALUES ($1, $2)`, fmt.Sprintf("g%d-%d", w, i), i)
						return err
					})
					if err != nil {
						errc <- fmt.Errorf("group commit: %w", err)
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err) // SQLITE_BUSY would show here
		}
		var items, counter int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM q_items`).Scan(&items); err != nil {
			t.Fatal(err)
		}
		if err := store.QueryRowContext(ctx, `SELECT n FROM q_counter WHERE id = 1`).Scan(&counter); err != nil {
			t.Fatal(err)
		}
		if items != 3*workers*each || counter != 2*workers*each {
			t.Fatalf("%d items and counter %d, want %d and %d", items, counter, 3*workers*each, 2*workers*each)
		}
	})
}

// TestDirectWriteWaitsForTheQueue: on SQLite a direct write does not go to
// the engine while a transaction of Tx holds the writer slot; when its
// context ends in the queue, it fails as unavailable and has not run.
func TestDirectWriteWaitsForTheQueue(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	if _, err := store.ExecContext(ctx, `CREATE TABLE w_items (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	inTx, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- store.Tx(ctx, func(tx *sql.Tx) error {
			close(inTx)
			<-release
			_, err := tx.ExecContext(ctx, `INSERT INTO w_items (k) VALUES ('tx')`)
			return err
		})
	}()
	<-inTx
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := store.ExecContext(short, `INSERT INTO w_items (k) VALUES ('direct')`)
	if !errs.Is(err, errs.CodeUnavailable) {
		t.Errorf("direct write while the slot is taken: %v, want unavailable", err)
	}
	row := store.QueryRowContext(short, `UPDATE w_items SET k = 'returning' WHERE k = 'tx' RETURNING k`)
	if err := row.Scan(new(string)); err == nil {
		t.Error("UPDATE … RETURNING ran while the slot was taken")
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	var keys []string
	keys, err = db.QueryAll(ctx, store, `SELECT k FROM w_items ORDER BY k`, nil, func(scan func(...any) error) (string, error) {
		var k string
		return k, scan(&k)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "tx" {
		t.Fatalf("rows %v, want only the transaction's", keys)
	}
}

func TestIsWrite(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want bool
	}{
		{"SELECT 1", false},
		{"  select count(*) FROM t", false},
		{"-- a comment\nSELECT 1", false},
		{"/* c */ SELECT updated_at FROM t", false},
		{"VALUES (1)", false},
		{"(SELECT 1) UNION (SELECT 2)", false},
		{"EXPLAIN QUERY PLAN SELECT 1", false},
		{"PRAGMA journal_mode", false},
		{"PRAGMA foreign_keys = ON", true},
		{"WITH x AS (SELECT 1) SELECT * FROM x", false},
		{"WITH x AS (SELECT 1) SELECT deleted_at, inserted FROM x", false},
		{"WITH head AS (UPDATE h SET seq = 1 RETURNING seq) INSERT INTO t SELECT seq FROM head", true},
		{"INSERT INTO t VALUES (1)", true},
		{"update t set a = 1 returning a", true},
		{"DELETE FROM t RETURNING k", true},
		{"REPLACE INTO t VALUES (1)", true},
		{"CREATE TABLE t (a INT)", true},
		{"", true},
	} {
		if got := db.IsWrite(c.sql); got != c.want {
			t.Errorf("IsWrite(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}
