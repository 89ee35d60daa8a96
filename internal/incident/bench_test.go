package incident_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/incident"
)

// BenchmarkAffectedMillion computes (and stores) the affected set of an
// incident over 1,000,000 vault subjects by three categories: every
// subject has an email (contact) and one field of four categories in turn,
// so three quarters of them are members. The goal is 10 s per operation.
// The fields are written in SQL with dummy ciphertext: the computation
// reads categories, never values.
//
//	go test -run '^$' -bench AffectedMillion -benchtime 1x ./internal/incident/
func BenchmarkAffectedMillion(b *testing.B) {
	const subjects = 1_000_000
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			ctx := context.Background()
			series := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) SELECT i FROM n`
			if dialect == db.Postgres {
				series = `SELECT i FROM generate_series(1, %d) AS g(i)`
			}
			gen := fmt.Sprintf(series, subjects)
			for _, stmt := range []string{
				`INSERT INTO vault_keys (subject_id, dek_version, kek_version, wrapped, created_at, rewrapped_at)
					SELECT 'cust-' || i, 1, 1, ` + blob(dialect) + `, 0, 0 FROM (` + gen + `) s`,
				`INSERT INTO vault_fields (subject_id, name, category, dek_version, ciphertext, size, created_at, updated_at)
					SELECT 'cust-' || i, 'email', 'contact', 1, ` + blob(dialect) + `, 1, 0, 0 FROM (` + gen + `) s`,
				`INSERT INTO vault_fields (subject_id, name, category, dek_version, ciphertext, size, created_at, updated_at)
					SELECT 'cust-' || i, CASE i % 4 WHEN 0 THEN 'iban' WHEN 1 THEN 'diagnosis' WHEN 2 THEN 'passport' ELSE 'home' END,
					CASE i % 4 WHEN 0 THEN 'financial' WHEN 1 THEN 'health' WHEN 2 THEN 'government_id' ELSE 'location' END,
					1, ` + blob(dialect) + `, 1, 0, 0 FROM (` + gen + `) s`,
			} {
				if _, err := store.ExecContext(ctx, stmt); err != nil {
					b.Fatal(err)
				}
			}
			if dialect == db.Postgres {
				mustExecB(b, store, `ANALYZE vault_fields`)
			}
			log, err := audit.New(audit.Config{DB: store})
			if err != nil {
				b.Fatal(err)
			}
			svc, err := incident.New(incident.Config{DB: store, Audit: log})
			if err != nil {
				b.Fatal(err)
			}
			actx := audit.WithActor(ctx, audit.Staff("officer"))
			title, kind := "Database dump leaked", incident.Confidentiality
			inc, err := svc.Create(actx, incident.Input{Title: &title, Kind: &kind})
			if err != nil {
				b.Fatal(err)
			}
			method := incident.Method{Kind: incident.MethodInventory, Categories: []string{"financial", "health", "government_id"}}
			b.ResetTimer()
			for b.Loop() {
				set, err := svc.Compute(actx, inc.ID, method)
				if err != nil {
					b.Fatal(err)
				}
				if set.Members != subjects*3/4 {
					b.Fatalf("%d members", set.Members)
				}
			}
		})
	}
}

func blob(dialect db.Dialect) string {
	if dialect == db.Postgres {
		return `'\x00'::bytea`
	}
	return `X'00'`
}

func mustExecB(b *testing.B, store *db.DB, query string) {
	b.Helper()
	if _, err := store.ExecContext(context.Background(), query); err != nil {
		b.Fatal(err)
	}
}
