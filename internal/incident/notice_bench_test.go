package incident_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault"
)

// discard is a Sender for a benchmark that only queues.
type discard struct{}

func (discard) Send(context.Context, notify.Message) error { return nil }

// noFields is a vault without fields: the benchmark only queues.
type noFields struct{}

func (noFields) Get(context.Context, string, string) (vault.Record, error) {
	return vault.Record{}, nil
}

// BenchmarkQueueNotices queues the notices of an incident whose affected
// set has 100,000 members, with their jobs (one per 500), in one
// transaction. The goal is 1,000 notices a second or more: it reports
// notices/s. The runner only inserts; signing and sending are the jobs'.
//
//	go test -run '^$' -bench QueueNotices -benchtime 3x ./internal/incident/
func BenchmarkQueueNotices(b *testing.B) {
	const subjects = 100_000
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			ctx := context.Background()
			log, err := audit.New(audit.Config{DB: store})
			if err != nil {
				b.Fatal(err)
			}
			runner, err := jobs.Open(ctx, jobs.Config{DB: store})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = runner.Stop(context.Background()) })
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			signer, err := receipt.NewSigner(key)
			if err != nil {
				b.Fatal(err)
			}
			tmpl, err := notify.NewTemplates()
			if err != nil {
				b.Fatal(err)
			}
			svc, err := incident.New(incident.Config{DB: store, Audit: log, Sender: discard{}, Mail: tmpl,
				Notices: incident.Notices{Signer: signer, Jobs: runner, Profiles: noFields{}, PortalURL: "https://shop.example"}})
			if err != nil {
				b.Fatal(err)
			}
			actx := audit.WithActor(ctx, audit.Staff("officer"))
			series := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) SELECT i FROM n`
			if dialect == db.Postgres {
				series = `SELECT i FROM generate_series(1, %d) AS g(i)`
			}
			gen := fmt.Sprintf(series, subjects)
			var total time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				title, kind := "Database dump leaked", incident.Confidentiality
				inc, err := svc.Create(actx, incident.Input{Title: &title, Kind: &kind})
				if err != nil {
					b.Fatal(err)
				}
				setID := fmt.Sprintf("set_bench%d", i)
				for _, stmt := range []string{
					`INSERT INTO incident_affected_sets (id, incident_id, method, parameters, members, members_sha256, by_category, by_jurisdiction,
						computed_by, computed_at) VALUES ('` + setID + `', '` + inc.ID + `', 'upload', '{}', 100000, '', '{}', '{}', 'staff:officer', 1)`,
					`INSERT INTO incident_affected_members (set_id, subject_id) SELECT '` + setID + `', 'cust-' || i FROM (` + gen + `) s`,
					`UPDATE incidents SET status = 'assessed', risk = 'high' WHERE id = '` + inc.ID + `'`,
				} {
					if _, err := store.ExecContext(ctx, stmt); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := svc.SetNoticeText(actx, inc.ID, texts["en"]); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				began := time.Now()
				q, err := svc.QueueNotices(actx, inc.ID)
				total += time.Since(began)
				if err != nil {
					b.Fatal(err)
				}
				if q.Notices != subjects || q.Jobs != subjects/500 {
					b.Fatalf("queued %+v", q)
				}
			}
			b.ReportMetric(float64(subjects)*float64(b.N)/total.Seconds(), "notices/s")
		})
	}
}
