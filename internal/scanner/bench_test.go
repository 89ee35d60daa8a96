package scanner_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/scanner/scantest"
)

// BenchmarkScan50Pages4States is the figure: the fixture site's 50
// pages (from its sitemap) in four consent states (no choice, reject,
// accept, analytics alone), with the default settle time and parallelism.
// Run it once: go test ./internal/scanner -run '^$' -bench Scan50 -benchtime 1x
func BenchmarkScan50Pages4States(b *testing.B) {
	needChrome(b)
	store := dbtest.Open(b, db.SQLite)
	svc := openCatalog(b, store)
	scantest.Seed(b, svc)
	site := scantest.New(b, scantest.Banner(b, svc, store, ""), true, true, 50)
	target, err := scanner.TargetFor(svc, scantest.Property, []string{site.URL}, "")
	if err != nil {
		b.Fatal(err)
	}
	// Four states: marketing's own state left out.
	var purposes []scanner.Purpose
	for _, p := range target.Purposes {
		if p.Key != "marketing" {
			purposes = append(purposes, p)
		}
	}
	target.Purposes = purposes
	for b.Loop() {
		report, err := scanner.Scan(context.Background(), target, scanner.Options{Pages: 50})
		if err != nil {
			b.Fatal(err)
		}
		if len(report.Pages) != 50 || len(report.States) != 4 || len(report.Results) != 200 {
			b.Fatalf("%d pages, %d states, %d results; want 50, 4, 200", len(report.Pages), len(report.States), len(report.Results))
		}
		for _, r := range report.Results {
			if r.Error != "" {
				b.Fatalf("%s in %s: %s", r.URL, r.State, r.Error)
			}
		}
		b.ReportMetric(report.FinishedAt.Sub(report.StartedAt).Seconds(), "s/scan")
	}
}
