// Package audittest helps test that acts fail closed: it makes the audit
// log of a store refuse every new entry.
//
//	audittest.MakeUnwritable(t, store)
//	_, err := requests.Verify(ctx, id) // must fail, and change nothing
package audittest

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
)

// MakeUnwritable makes every insert into the audit log of store fail, by
// a trigger, on SQLite and on PostgreSQL.
func MakeUnwritable(tb testing.TB, store *db.DB) {
	tb.Helper()
	var err error
	if store.Dialect == db.SQLite {
		_, err = store.ExecContext(context.Background(), `CREATE TRIGGER audit_unwritable BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'unwritable'); END`)
	} else {
		_, err = store.ExecContext(context.Background(), `CREATE FUNCTION audit_unwritable() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'unwritable'; END $$ LANGUAGE plpgsql;
			CREATE TRIGGER audit_unwritable BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_unwritable()`)
	}
	if err != nil {
		tb.Fatal(err)
	}
}
