package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/analytics/analyticstest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// BenchmarkConsoleAnalytics measures the analytics page as an analyst's
// browser gets it, over HTTP: session, filter, the report from the
// rollups of a year of 10,000,000 choices (analyticstest.FillRollups),
// the charts and the template, for each kind of view the page offers (and
// its CSV), on both engines. It reports the wall time per page and the
// processor time of the process (client and server: on a shared machine
// the wall time includes the wait for a core; on PostgreSQL the queries'
// work is the database's, not counted). Target: 200 ms a page.
func BenchmarkConsoleAnalytics(b *testing.B) {
	last := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			f := newConsoleFixture(b, dialect)
			app := f.srv.App
			for _, n := range analyticstest.Notices {
				if _, err := app.Consent.PutNotice(ctx, consent.Notice{Version: n.Version, Material: true, Texts: map[string]string{"en": "Our notice " + n.Version}}, true, true); err != nil {
					b.Fatal(err)
				}
			}
			analyticstest.FillRollups(b, app.DB, last)
			if dialect == db.Postgres {
				for _, t := range consent.RollupTables {
					if _, err := app.DB.ExecContext(ctx, `ANALYZE `+t.Name); err != nil {
						b.Fatal(err)
					}
				}
			}
			browser, _ := f.browserFor(b, staff.RoleAnalyst)
			year := url.Values{"from": {last.AddDate(0, 0, -364).Format(time.DateOnly)}, "to": {last.Format(time.DateOnly)}}
			for _, c := range []struct{ name, path, query string }{
				{"opening", "/admin/analytics", ""}, // the last 90 days by purpose
				{"year-by-purpose", "/admin/analytics", "by=purpose"},
				{"year-by-notice-weekly-analytics", "/admin/analytics", "by=notice&every=week&purpose=analytics"},
				{"year-by-property", "/admin/analytics", "by=property"},
				{"year-by-jurisdiction", "/admin/analytics", "by=jurisdiction"},
				{"year-by-source", "/admin/analytics", "by=source"},
				{"year-by-purpose-forms", "/admin/analytics", "source=forms"},
				{"year-by-source-weekly-shop", "/admin/analytics", "by=source&every=week&property=shop"}, // two dimensions: the full cells
				{"year-by-jurisdiction-shop-banner", "/admin/analytics", "by=jurisdiction&property=shop&source=banner"},
				{"year-csv-by-jurisdiction", "/admin/analytics.csv", "by=jurisdiction"},
			} {
				b.Run(c.name, func(b *testing.B) {
					q, _ := url.ParseQuery(c.query)
					if c.name != "opening" {
						for k, v := range year {
							q[k] = v
						}
					}
					path := c.path
					if len(q) > 0 {
						path += "?" + q.Encode()
					}
					var before, after syscall.Rusage
					_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
					for b.Loop() {
						got := browser.do("GET", path, nil)
						if got.status != http.StatusOK || (c.path == "/admin/analytics" && !strings.Contains(got.body, "<svg")) {
							b.Fatalf("%s: %d %.300s", path, got.status, got.body)
						}
					}
					_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
					cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
					b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}
