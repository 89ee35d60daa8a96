package connector

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/testenv"
)

// TestRetainSoakPostgres deletes expired rows from a PostgreSQL table and
// reports the rate, the peak heap and the longest single statement: the
// longest delete (which holds its rows' locks until it ends) is bounded,
// the longest batch read (which locks no row) reported. By
// default it uses 20,000 rows; with STEWARD_TEST_SOAK=1 it uses 1,000,000
// and holds the figures to their bounds (50,000 rows/s, 64 MiB of heap,
// 100 ms per statement):
//
//	STEWARD_TEST_SOAK=1 go test -run RetainSoak -v ./internal/connector/
func TestRetainSoakPostgres(t *testing.T) {
	rows, soak := 20_000, os.Getenv("STEWARD_TEST_SOAK") == "1"
	if soak {
		rows = 1_000_000
	}
	const heapLimit = 64 << 20
	td := newTestDB(t, Postgres)
	// Every row is past its 400 days but the last 1,000, which are recent;
	// customer 7 is held and has 1,000 expired rows.
	td.exec(t, `CREATE TABLE clicks (
  id BIGINT NOT NULL PRIMARY KEY,
  customer_id INTEGER,
  url TEXT,
  ip TEXT,
  at TIMESTAMPTZ NOT NULL
);
INSERT INTO clicks
  SELECT g, CASE WHEN g % ${n} < 1000 THEN 7 ELSE 100 + g % 5000 END,
    'https://shop.example/products/' || g, '10.0.' || (g / 256 % 256) || '.' || (g % 256),
    CASE WHEN g > ${n} THEN TIMESTAMPTZ '2026-06-01' ELSE TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second' END
  FROM generate_series(1, ${n} + 2000) g;
ANALYZE clicks;`, map[string]string{"n": itoa(rows)})
	ds := td.dataset(t, `connector: analytics
engine: postgres
dsn_env: ANALYTICS_DB
tables:
  - name: clicks
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: url, category: behavioural}
      - {name: ip, category: device}
    retention: {column: at, period: 400d, strategy: delete}
`)
	c := td.open(t, ds)
	var mu sync.Mutex
	var longest, longestRead time.Duration
	var statements int
	observe := func(write bool, d time.Duration) {
		mu.Lock()
		statements++
		if write {
			longest = max(longest, d)
		} else {
			longestRead = max(longestRead, d)
		}
		mu.Unlock()
	}
	runtime.GC()
	stop := testenv.HeapPeak(2 * time.Millisecond)
	start := time.Now()
	steps, err := c.Retain(context.Background(), RetainOptions{Now: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Held: Identifiers{ExternalIDs: []string{"7"}}, Observe: observe})
	elapsed := time.Since(start)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	held := int(mustInt(t, td.value(t, `SELECT COUNT(*) FROM clicks WHERE customer_id = 7 AND at < '2025-01-01'`)))
	want := int64(rows - held)
	if steps[0].Rows != want {
		t.Fatalf("deleted %d rows, want %d", steps[0].Rows, want)
	}
	if left := mustInt(t, td.value(t, `SELECT COUNT(*) FROM clicks`)); left != int64(2000+held) {
		t.Fatalf("%d rows left, want %d (recent and held)", left, 2000+held)
	}
	rate := float64(want) / elapsed.Seconds()
	t.Logf("deleted %d expired rows in %s: %.0f rows/s; %d statements, the longest delete %s, the longest batch read (no row locks) %s; peak heap %.1f MiB (shared, busy machine)",
		want, elapsed.Round(time.Millisecond), rate, statements, longest.Round(time.Microsecond), longestRead.Round(time.Microsecond), float64(peak)/(1<<20))
	if peak > heapLimit {
		t.Errorf("peak heap %.1f MiB, want at most 64 MiB", float64(peak)/(1<<20))
	}
	if soak {
		if rate < 50_000 {
			t.Errorf("%.0f rows/s, want at least 50,000", rate)
		}
		if longest > 100*time.Millisecond {
			t.Errorf("the longest delete took %s, want at most 100ms", longest)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkRetainPostgres deletes 50,000 expired rows per iteration from a
// PostgreSQL table (refilled, untimed, between iterations) and reports
// rows/s and the longest statement:
//
//	go test -run XXX -bench RetainPostgres ./internal/connector/
func BenchmarkRetainPostgres(b *testing.B) {
	const rows = 50_000
	td := newTestDB(b, Postgres)
	td.exec(b, `CREATE TABLE clicks (id BIGINT NOT NULL PRIMARY KEY, customer_id INTEGER, ip TEXT, at TIMESTAMPTZ NOT NULL);`, nil)
	ds := td.dataset(b, `connector: analytics
engine: postgres
dsn_env: ANALYTICS_DB
tables:
  - name: clicks
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns: [{name: ip, category: device}]
    retention: {column: at, period: 400d, strategy: delete}
`)
	c := td.open(b, ds)
	var longest, longestRead time.Duration
	var deleted int64
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		td.exec(b, `INSERT INTO clicks SELECT g, 100 + g % 5000, '10.0.0.' || (g % 256), TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second'
  FROM generate_series(1, ${n}) g;
ANALYZE clicks;`, map[string]string{"n": itoa(rows)})
		b.StartTimer()
		start := time.Now()
		steps, err := c.Retain(context.Background(), RetainOptions{Now: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
			Observe: func(write bool, d time.Duration) {
				if write {
					longest = max(longest, d)
				} else {
					longestRead = max(longestRead, d)
				}
			}})
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		deleted += steps[0].Rows
	}
	b.ReportMetric(float64(deleted)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(longest.Microseconds())/1000, "max-delete-ms")
	b.ReportMetric(float64(longestRead.Microseconds())/1000, "max-read-ms")
}
