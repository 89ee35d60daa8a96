package analytics_test

import (
	"context"
	"database/sql"
	"io"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// benchEvents is the ledger the benchmark's rollups stand for.
const benchEvents = 10_000_000

// benchNotices are the notice versions of the benchmark's year and the
// day each was published.
var benchNotices = []struct {
	version string
	from    int
}{{"2026-01", 0}, {"2026-04", 100}, {"2026-07", 200}, {"2026-10", 300}}

// FillRollups writes the rollups of a year of benchEvents choices ending
// on last, as the append path would have kept them, and returns the
// number of cells. The cardinality is a mid-sized company's: 365 days, 5
// purposes, 3 properties, 8 jurisdictions, 4 notice versions a quarter
// apart (for 14 days after each, a fifth of the choices still come under
// the one before, from cached banners), and sources as they occur:
// banner, portal and API for every purpose, GPC for the two purposes it
// refuses (marketing, sale of data), a form for the newsletter. That is
// about 450 cells a day, 165,000 in all.
func FillRollups(tb testing.TB, store *db.DB, last time.Time) int {
	tb.Helper()
	type cell struct {
		day                                             int64
		purpose, property, jurisdiction, notice, source string
		weight                                          float64
		grantShare                                      float64
	}
	purposes := []struct {
		key   string
		grant float64
	}{{"analytics", 0.62}, {"marketing", 0.38}, {"personalisation", 0.55}, {"sale_of_data", 0.21}, {"newsletter", 0.33}}
	properties := map[string]float64{"shop": 0.6, "blog": 0.25, "app": 0.15}
	jurisdictions := map[string]float64{"DE": 0.3, "FR": 0.15, "ES": 0.1, "IT": 0.1, "NL": 0.05, "GB": 0.1, "US-CA": 0.12, "US-NY": 0.08}
	firstDay := last.Unix()/86400 - 364
	var cells []cell
	var total float64
	for d := range 365 {
		season := 1 + 0.3*float64((d*7)%11)/10 // a little variation from day to day
		var versions []struct {
			v string
			w float64
		}
		for i, n := range benchNotices {
			if d >= n.from && (i == len(benchNotices)-1 || d < benchNotices[i+1].from) {
				if i > 0 && d-n.from < 14 {
					versions = append(versions, struct {
						v string
						w float64
					}{benchNotices[i-1].version, 0.2}, struct {
						v string
						w float64
					}{n.version, 0.8})
				} else {
					versions = append(versions, struct {
						v string
						w float64
					}{n.version, 1})
				}
			}
		}
		for _, p := range purposes {
			sources := map[string]float64{"banner": 0.86, "portal": 0.04, "api": 0.03}
			if p.key == "marketing" || p.key == "sale_of_data" {
				sources["gpc"] = 0.07
			}
			if p.key == "newsletter" {
				sources["form:newsletter"] = 0.2
			}
			for prop, pw := range properties {
				for j, jw := range jurisdictions {
					for _, v := range versions {
						for s, sw := range sources {
							w := season * pw * jw * v.w * sw
							cells = append(cells, cell{firstDay + int64(d), p.key, prop, j, v.v, s, w, p.grant})
							total += w
						}
					}
				}
			}
		}
	}
	ctx := context.Background()
	var sum int64
	rows := make([][]any, len(cells))
	for i, c := range cells {
		n := int64(c.weight / total * benchEvents)
		if i == len(cells)-1 {
			n = benchEvents - sum
		}
		sum += n
		grants := int64(float64(n) * c.grantShare)
		withdrawals := n / 50
		objections := int64(0)
		if c.purpose == "marketing" {
			objections = n / 200
		}
		if c.source == "gpc" {
			grants, withdrawals = 0, 0
		}
		rows[i] = []any{c.day, c.purpose, c.property, c.jurisdiction, c.notice, c.source, grants, n - grants - withdrawals - objections, withdrawals, objections}
	}
	if err := store.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO consent_rollups (day, purpose, property, jurisdiction, notice_version, source,
			grants, denials, withdrawals, objections) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, row := range rows {
			if _, err := stmt.ExecContext(ctx, row...); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	if err := analytics.DeriveRollupsForTest(ctx, store); err != nil {
		tb.Fatal(err)
	}
	if sum != benchEvents {
		tb.Fatalf("the cells count %d choices, want %d", sum, benchEvents)
	}
	return len(cells)
}

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
			cells := FillRollups(b, store, last)
			if dialect == db.Postgres {
				if _, err := store.ExecContext(context.Background(), `ANALYZE consent_rollups`); err != nil {
					b.Fatal(err)
				}
			}
			a := analytics.New(store, nil)
			var order []string
			for _, n := range benchNotices {
				order = append(order, n.version)
			}
			legend := analytics.Legend{Grant: "Accepted", Deny: "Refused", Withdraw: "Withdrawn", Object: "Objected"}
			for _, c := range []struct {
				name  string
				query string
			}{
				{"year-by-purpose-daily", ""}, // the page as it opens: consent_rollups_purpose
				{"year-by-notice-weekly-analytics", "by=notice&every=week&purpose=analytics"},
				{"year-by-jurisdiction-weekly-shop", "by=jurisdiction&every=week&property=shop"}, // consent_rollups
				{"year-by-source-daily", "by=source"},
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
