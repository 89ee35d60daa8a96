package connector

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/testenv"
)

// countingSink counts rows and value bytes, and keeps nothing.
type countingSink struct {
	rows, bytes int64
}

func (s *countingSink) StartTable(string, []Column) error { return nil }
func (s *countingSink) EndTable(string, int64) error      { return nil }
func (s *countingSink) Row(values []any) error {
	s.rows++
	for _, v := range values {
		if str, ok := v.(string); ok {
			s.bytes += int64(len(str))
		}
	}
	return nil
}

// TestAccessMillionRowsPostgres exports a subject with 1,000,000 rows in a
// PostgreSQL table and reports the time and the peak heap, which must stay
// under 64 MiB: Access streams. It takes a while, so it runs only with
// STEWARD_TEST_CONNECTOR_MILLION=1:
//
//	STEWARD_TEST_CONNECTOR_MILLION=1 go test -run MillionRows -v ./internal/connector/
func TestAccessMillionRowsPostgres(t *testing.T) {
	if os.Getenv("STEWARD_TEST_CONNECTOR_MILLION") != "1" {
		t.Skip("set STEWARD_TEST_CONNECTOR_MILLION=1 to export 1,000,000 rows from PostgreSQL")
	}
	const rows = 1_000_000
	const limit = 64 << 20
	td := newTestDB(t, Postgres)
	td.exec(t, `CREATE TABLE events (
  id BIGINT NOT NULL PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  url TEXT,
  ip TEXT,
  at TIMESTAMPTZ NOT NULL
);
INSERT INTO events
  SELECT g, CASE WHEN g <= 1000000 THEN 1001 ELSE 1002 END, 'page_view',
    'https://shop.example/products/' || g || '?utm_source=newsletter', '10.0.' || (g / 256 % 256) || '.' || (g % 256),
    TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second'
  FROM generate_series(1, 1001000) g;
CREATE INDEX events_customer ON events (customer_id);
ANALYZE events;`, nil)
	ds := td.dataset(t, `connector: analytics
engine: postgres
dsn_env: ANALYTICS_DB
tables:
  - name: events
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: kind, category: behavioural}
      - {name: url, category: behavioural}
      - {name: ip, category: location}
      - {name: at, category: behavioural}
`)
	c := td.open(t, ds)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := testenv.HeapPeak(2 * time.Millisecond)
	sink := &countingSink{}
	start := time.Now()
	err := c.Access(context.Background(), Identifiers{ExternalIDs: []string{"1001"}}, sink)
	elapsed := time.Since(start)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if sink.rows != rows {
		t.Fatalf("streamed %d rows, want %d", sink.rows, rows)
	}
	t.Logf("exported %d rows (%.0f MiB of text) in %s (%.0f rows/s); heap in use: %.1f MiB before, peak %.1f MiB",
		sink.rows, float64(sink.bytes)/(1<<20), elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds(),
		float64(base.HeapInuse)/(1<<20), float64(peak)/(1<<20))
	if peak > limit {
		t.Errorf("peak heap %.1f MiB, want at most %d MiB", float64(peak)/(1<<20), limit>>20)
	}
}
