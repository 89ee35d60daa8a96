package fulfil_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/testenv"
)

// TestExportMillionRows builds the whole archive of a subject with
// 1,000,000 rows in a connected PostgreSQL table (Steward's own store on
// SQLite, the default): rows stream from the connector through the zip and
// the encryption into the store. It reports the time and the peak heap,
// which must stay under 64 MiB. It takes a while, so it runs only with
// STEWARD_TEST_EXPORT_MILLION=1:
//
//	STEWARD_TEST_EXPORT_MILLION=1 go test -run ExportMillionRows -v ./internal/fulfil/
func TestExportMillionRows(t *testing.T) {
	if os.Getenv("STEWARD_TEST_EXPORT_MILLION") != "1" {
		t.Skip("set STEWARD_TEST_EXPORT_MILLION=1 to export 1,000,000 rows from PostgreSQL")
	}
	const rows = 1_000_000
	ctx := context.Background()
	shopURL := dbtest.PostgresURL(t) // a schema of its own
	shop, err := db.Open(ctx, shopURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	if _, err := shop.ExecContext(ctx, `CREATE TABLE events (id BIGINT PRIMARY KEY, customer_id TEXT NOT NULL, kind TEXT NOT NULL, url TEXT, at TIMESTAMPTZ NOT NULL);
		INSERT INTO events SELECT g, CASE WHEN g <= 1000000 THEN '1001' ELSE '1002' END, 'page_view',
			'https://shop.example/products/' || g || '?utm_source=newsletter', TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second'
		FROM generate_series(1, 1001000) g;
		CREATE INDEX events_customer ON events (customer_id); ANALYZE events;`); err != nil {
		t.Fatal(err)
	}
	store := dbtest.Open(t, db.SQLite)
	fx := newFixture(t, store)
	yamlFile := filepath.Join(t.TempDir(), "analytics.yaml")
	os.WriteFile(yamlFile, []byte(`connector: analytics
engine: postgres
dsn_env: ANALYTICS_DB
tables:
  - name: events
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: kind, category: behavioural}
      - {name: url, category: behavioural}
      - {name: at, category: behavioural}
`), 0o600)
	ds, err := connector.ParseFile(yamlFile)
	if err != nil {
		t.Fatal(err)
	}
	fx.env["ANALYTICS_DB"] = shopURL
	cfg := fx.f.Config
	cfg.Connectors = []*connector.Dataset{ds}
	f, err := fulfil.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := fx.file(t, dsr.KindExport)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := testenv.HeapPeak(2 * time.Millisecond)
	start := time.Now()
	info, err := f.Export(ctx, r.ID)
	elapsed := time.Since(start)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("archive of %d rows: %.1f MiB encrypted, built in %s (%.0f rows/s); heap in use %.1f MiB before, peak %.1f MiB",
		rows, float64(info.Bytes)/(1<<20), elapsed.Round(time.Millisecond), rows/elapsed.Seconds(),
		float64(base.HeapInuse)/(1<<20), float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Fatalf("peak heap %.1f MiB, over 64 MiB", float64(peak)/(1<<20))
	}
}
