package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// rows is a CopySource over a slice.
type rows struct {
	values [][]any
	at     int
}

func (r *rows) Next() bool             { r.at++; return r.at <= len(r.values) }
func (r *rows) Values() ([]any, error) { return r.values[r.at-1], nil }
func (r *rows) Err() error             { return nil }

// TestTxCopy: on PostgreSQL a COPY is part of the transaction (its rows
// are seen by the transaction's statements, kept on commit, gone on
// rollback); on SQLite there is no COPY and the transaction is Tx's.
func TestTxCopy(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		ddl := `CREATE TABLE copy_test (id BIGINT PRIMARY KEY, name TEXT, blob BLOB)`
		if store.Dialect == db.Postgres {
			ddl = `CREATE TABLE copy_test (id BIGINT PRIMARY KEY, name TEXT, blob BYTEA)`
		}
		if _, err := store.ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			var n int
			if err := store.QueryRowContext(ctx, `SELECT count(*) FROM copy_test`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		src := func() *rows {
			return &rows{values: [][]any{{int64(1), "a", []byte{0, 1}}, {int64(2), nil, []byte{}}, {int64(3), "c", nil}}}
		}
		errLater := errors.New("a later step fails")
		err := store.TxCopy(ctx, func(tx *sql.Tx, copyFrom db.CopyFunc) error {
			if store.Dialect == db.SQLite {
				if copyFrom != nil {
					t.Error("SQLite was handed a COPY")
				}
				return errLater
			}
			n, err := copyFrom(ctx, "copy_test", []string{"id", "name", "blob"}, src())
			if err != nil || n != 3 {
				t.Fatalf("copy: %d rows, %v", n, err)
			}
			var seen int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM copy_test`).Scan(&seen); err != nil || seen != 3 {
				t.Errorf("the transaction sees %d rows (%v), want 3", seen, err)
			}
			return errLater
		})
		if !errors.Is(err, errLater) {
			t.Fatalf("TxCopy = %v, want the step's error", err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d rows after a rollback, want 0", n)
		}
		if store.Dialect == db.SQLite {
			return
		}
		if err := store.TxCopy(ctx, func(tx *sql.Tx, copyFrom db.CopyFunc) error {
			_, err := copyFrom(ctx, "copy_test", []string{"id", "name", "blob"}, src())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 3 {
			t.Fatalf("%d rows after commit, want 3", n)
		}
		var name sql.NullString
		var blob []byte
		if err := store.QueryRowContext(ctx, `SELECT name, blob FROM copy_test WHERE id = 2`).Scan(&name, &blob); err != nil || name.Valid || blob == nil || len(blob) != 0 {
			t.Errorf("row 2 = %v, %#v (%v); want NULL and an empty, non-NULL blob", name, blob, err)
		}
	})
}
