package analytics_test

import (
	"context"
	"io"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/analytics/analyticstest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// BenchmarkPage measures what the analytics page does per view over a
// year of 10,000,000 choices: the report (two aggregates of the
// rollups) and its three kinds of chart and the CSV, on both engines: as
// the page opens (by purpose, read from consent_rollups_purpose) and with
// a breakdown or filter that needs the full cells.
// Target: 200 ms.
func BenchmarkPage(b *testing.B) {
	last := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			store := dbtest.Open(b, dialect)
			cells := analyticstest.FillRollups(b, store, last)
			if dialect == db.Postgres {
				for _, t := range consent.RollupTables {
					if _, err := store.ExecContext(context.Background(), `ANALYZE `+t.Name); err != nil {
						b.Fatal(err)
					}
				}
			}
			a := analytics.New(store, nil)
			var order []string
			for _, n := range analyticstest.Notices {
				order = append(order, n.Version)
			}
			legend := analytics.Legend{Grant: "Accepted", Deny: "Refused", Withdraw: "Withdrawn", Object: "Objected"}
			for _, c := range []struct {
				name  string
				query string
			}{
				{"year-by-purpose-daily", ""}, // the page as it opens: consent_rollups_purpose
				{"year-by-notice-weekly-analytics", "by=notice&every=week&purpose=analytics"},
				{"year-by-property-daily", "by=property"},                                        // consent_rollups_property
				{"year-by-jurisdiction-daily", "by=jurisdiction"},                                // consent_rollups_jurisdiction
				{"year-by-source-daily", "by=source"},                                            // consent_rollups_source
				{"year-by-purpose-daily-forms", "source=forms"},                                  // consent_rollups_source
				{"year-by-jurisdiction-weekly-shop", "by=jurisdiction&every=week&property=shop"}, // two dimensions: consent_rollups
			} {
				b.Run(c.name, func(b *testing.B) {
					values, _ := url.ParseQuery(c.query)
					values.Set("from", last.AddDate(0, 0, -364).Format(time.DateOnly))
					values.Set("to", last.Format(time.DateOnly))
					f, problems := analytics.ParseFilter(values, last)
					if problems != nil {
						b.Fatal(problems)
					}
					b.ReportMetric(float64(cells), "cells")
					// The process's processor time per view as well as the
					// wall time: on a shared machine the second measures
					// the wait for a core too. (On PostgreSQL the queries'
					// work is the server's, not counted here.)
					var before, after syscall.Rusage
					_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
					for b.Loop() {
						r, err := a.Query(context.Background(), f, order)
						if err != nil {
							b.Fatal(err)
						}
						if r.Total.Total() == 0 || len(r.Changes) != 3 {
							b.Fatalf("%d choices, %d changes", r.Total.Total(), len(r.Changes))
						}
						name := func(s string) string { return s }
						_ = analytics.SeriesChart(r.Series, analytics.Chart{ID: "s", Title: "t", Desc: "d"}, legend)
						_ = analytics.BreakdownChart(r.Breakdown, name, analytics.Chart{ID: "b", Title: "t", Desc: "d"}, legend)
						for _, ch := range r.Changes {
							_ = analytics.NoticeChart(ch, name, analytics.Chart{ID: "n", Title: "t", Desc: "d"}, "before", "after")
						}
						if err := analytics.WriteCSV(io.Discard, r); err != nil {
							b.Fatal(err)
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
