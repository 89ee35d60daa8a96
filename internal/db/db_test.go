package db_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errCh := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); errCh <- store.Migrate(ctx) }()
		}
		wg.Wait()
		close(errCh)
		for err := range errCh {
			if err != nil {
				t.Fatalf("concurrent migrate: %v", err)
			}
		}
		pending, err := store.Pending(ctx)
		if err != nil || pending != 0 {
			t.Fatalf("Pending = %d, %v; want 0, nil", pending, err)
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		all, _ := db.Migrations(store.Dialect)
		if n != len(all) {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(all))
		}
	})
}

func TestTxRollsBackOnError(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := store.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ($1, $2)`, "s-1", 1); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx error = %v, want boom", err)
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM subjects`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after rollback = %d, %v; want 0", n, err)
		}
		err = store.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ($1, $2), ($1, $2)`, "s-2", 1)
			return err
		})
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: IsUniqueViolation(%v) = false", err)
		}
	})
}

func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(ctx, "", filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var sync int
	var mode string
	if err := store.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := store.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ name, url string }{
		{"unknown scheme", "mysql://root@localhost/x"},
		{"unreachable postgres", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := db.Open(ctx, c.url, t.TempDir()); err == nil {
				t.Fatal("Open succeeded, want error")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	if errs.CodeOf(db.Classify(context.DeadlineExceeded)) != errs.CodeUnavailable {
		t.Fatal("deadline exceeded should classify as unavailable")
	}
	if errs.CodeOf(db.Classify(errors.New("syntax error"))) != errs.CodeInternal {
		t.Fatal("plain error should stay internal")
	}
}
