// Package analyticstest fills the analytics rollups with a realistic
// year of choices for the benchmarks of package analytics and of the
// console.
package analyticstest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
)

// Events is the number of choices FillRollups' rollups stand for.
const Events = 10_000_000

// Notices are the notice versions of the year FillRollups writes and the
// day each was published.
var Notices = []struct {
	Version string
	From    int
}{{"2026-01", 0}, {"2026-04", 100}, {"2026-07", 200}, {"2026-10", 300}}

// FillRollups replaces the rollups with those of a year of Events choices ending
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
		for i, n := range Notices {
			if d >= n.From && (i == len(Notices)-1 || d < Notices[i+1].From) {
				if i > 0 && d-n.From < 14 {
					versions = append(versions, struct {
						v string
						w float64
					}{Notices[i-1].Version, 0.2}, struct {
						v string
						w float64
					}{n.Version, 0.8})
				} else {
					versions = append(versions, struct {
						v string
						w float64
					}{n.Version, 1})
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
		n := int64(c.weight / total * Events)
		if i == len(cells)-1 {
			n = Events - sum
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
	for _, t := range consent.RollupTables {
		if _, err := store.ExecContext(ctx, `DELETE FROM `+t.Name); err != nil {
			tb.Fatal(err)
		}
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
	if err := analytics.DeriveRollups(ctx, store); err != nil {
		tb.Fatal(err)
	}
	if sum != Events {
		tb.Fatalf("the cells count %d choices, want %d", sum, Events)
	}
	return len(cells)
}
