package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/steward-dev/steward/internal/db"
)

// TestOpenIsMigrated: a store from Open, cloned or borrowed, holds every
// migration, as Migrate would have left it.
func TestOpenIsMigrated(t *testing.T) {
	Run(t, func(t *testing.T, store *db.DB) {
		ms, err := db.Migrations(store.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := store.Pending(context.Background())
		if err != nil || pending != 0 {
			t.Fatalf("Pending = %d, %v; want 0 of %d", pending, err, len(ms))
		}
		var seq int64
		if err := store.QueryRow(`SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq); err != nil || seq != 0 {
			t.Fatalf("audit_head seq = %d, %v; want the migration's row with 0", seq, err)
		}
	})
}

// TestPooledSchemaIsReset borrows the one schema of a private pool three
// times: what a test wrote is gone the next time, the rows the migrations
// insert are back as they were, and a schema whose structure a test
// changed is built anew.
func TestPooledSchemaIsReset(t *testing.T) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	flavour := Flavour{Name: "dbtest self-test " + hex.EncodeToString(b[:])}
	ctx := context.Background()
	var first string
	borrow := func(t *testing.T) (*db.DB, string) {
		rawURL := MigratedPostgresURLWith(t, flavour)
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		store, err := db.Open(ctx, rawURL, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return store, u.Query().Get("search_path")
	}
	t.Cleanup(func() {
		// The private pool and template go with the test.
		admin, err := openAdmin()
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		info := pgTemplates[flavour.Name].t
		for _, schema := range []string{first, info.schema} {
			if _, err := admin.Exec("DROP SCHEMA IF EXISTS " + quote(schema) + " CASCADE"); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("write", func(t *testing.T) {
		store, schema := borrow(t)
		first = schema
		if _, err := store.Exec(`UPDATE audit_head SET seq = 41 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'stray', 0)`); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("reset", func(t *testing.T) {
		store, schema := borrow(t)
		if schema != first {
			t.Fatalf("borrowed %s, want the pool's only schema %s", schema, first)
		}
		var seq int64
		if err := store.QueryRow(`SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq); err != nil || seq != 0 {
			t.Errorf("audit_head seq = %d, %v; want 0 again", seq, err)
		}
		if pending, err := store.Pending(ctx); err != nil || pending != 0 {
			t.Errorf("Pending = %d, %v; want 0", pending, err)
		}
		var n int
		if err := store.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = 9999`).Scan(&n); err != nil || n != 0 {
			t.Errorf("stray schema_migrations rows: %d, %v; want none", n, err)
		}
		if _, err := store.Exec(`DROP TRIGGER audit_entries_no_change ON audit_entries`); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rebuilt", func(t *testing.T) {
		store, schema := borrow(t)
		if schema != first {
			t.Fatalf("borrowed %s, want %s", schema, first)
		}
		var n int
		if err := store.QueryRow(`SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_entries_no_change' AND tgrelid = 'audit_entries'::regclass`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("append-only trigger: %d, %v; want it back", n, err)
		}
	})
}
