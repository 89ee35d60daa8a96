package db_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestMigrateTo: a store migrated to a version has exactly the migrations
// up to it, Migrate then takes it to the last one, and a version this
// binary does not have is refused.
func TestMigrateTo(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			url := "sqlite:" + t.TempDir() + "/steward.db"
			if dialect == db.Postgres {
				url = dbtest.PostgresURL(t)
			}
			store, err := db.Open(ctx, url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			all, err := db.Migrations(dialect)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.MigrateTo(ctx, len(all)+1); err == nil {
				t.Fatalf("MigrateTo(%d) of %d migrations: no error", len(all)+1, len(all))
			}
			target := len(all) - 3
			if err := store.MigrateTo(ctx, target); err != nil {
				t.Fatal(err)
			}
			if v, err := store.SchemaVersion(ctx); err != nil || v != target {
				t.Fatalf("SchemaVersion after MigrateTo(%d) = %d, %v", target, v, err)
			}
			if pending, err := store.Pending(ctx); err != nil || pending != 3 {
				t.Fatalf("Pending = %d, %v; want 3", pending, err)
			}
			// A table of the last migration is not there yet.
			var n int
			if err := store.QueryRowContext(ctx, `SELECT count(*) FROM scan_runs`).Scan(&n); err == nil {
				t.Fatal("scan_runs exists before its migration")
			}
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if v, err := store.SchemaVersion(ctx); err != nil || v != len(all) {
				t.Fatalf("SchemaVersion after Migrate = %d, %v; want %d", v, err, len(all))
			}
		})
	}
}
