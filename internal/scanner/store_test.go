package scanner_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/scanner/scantest"
)

// sampleReport is a scan's report as the fixture would give it, without a
// browser.
func sampleReport(at time.Time) *scanner.Report {
	return &scanner.Report{Property: scantest.Property, StartedAt: at, FinishedAt: at.Add(time.Minute),
		Pages: []string{"http://127.0.0.1/"}, States: []string{"none", "reject", "accept"},
		Violations: []scanner.Violation{{State: "none", Page: "http://127.0.0.1/", Kind: scanner.KindCookie, Name: "_fbp", Purpose: "marketing", Reason: scanner.ViolationBeforeConsent}},
		Trackers: []scanner.Tracker{
			{Kind: scanner.KindCookie, Name: "_ga", Domain: "127.0.0.1", Lifetime: 400 * 86400, Class: scanner.Classification{Purpose: "analytics", Source: scanner.SourceDeclared}, States: []string{"accept"}},
			{Kind: scanner.KindCookie, Name: "session", Domain: "127.0.0.1", Lifetime: -1, Class: scanner.Classification{Purpose: "necessary", Source: scanner.SourceDeclared}, States: []string{"none"}},
			{Kind: scanner.KindSessionStorage, Name: "stats_visit", Domain: "http://127.0.0.1", Class: scanner.Classification{Source: scanner.SourceUnclassified}, Suggested: "analytics", States: []string{"accept"}},
			{Kind: scanner.KindScript, Name: "localhost", ThirdParty: true, Class: scanner.Classification{Source: scanner.SourceUnclassified}, States: []string{"accept"}},
		}}
}

func newService(t *testing.T, store *db.DB, now func() time.Time) (*scanner.Service, *audit.Log) {
	t.Helper()
	svc := openCatalog(t, store)
	scantest.Seed(t, svc)
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	scans, err := scanner.New(scanner.Config{DB: store, Audit: log, Catalog: svc, Now: now, KeepRuns: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scans.Close() })
	return scans, log
}

func TestStore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		scans, log := newService(t, store, func() time.Time { return now })
		officer := audit.Staff("stf_officer")

		run, err := scans.Record(ctx, sampleReport(now), scanner.TriggerCLI)
		if err != nil {
			t.Fatal(err)
		}
		if run.State != scanner.RunDone || run.Pages != 1 || run.Violations != 1 || run.Unclassified != 2 {
			t.Fatalf("run %+v", run)
		}
		runs, err := scans.Runs(ctx, scantest.Property, 10)
		if err != nil || len(runs) != 1 || runs[0].ID != run.ID || runs[0].Trigger != scanner.TriggerCLI {
			t.Fatalf("runs %+v, %v", runs, err)
		}
		got, report, err := scans.Report(ctx, run.ID)
		if err != nil || got.Violations != 1 || report == nil || len(report.Trackers) != 4 || report.Violations[0].Name != "_fbp" {
			t.Fatalf("report %+v %+v %v", got, report, err)
		}
		if _, _, err := scans.Report(ctx, "scn_missing"); errs.CodeOf(err) != errs.CodeNotFound {
			t.Errorf("missing report: %v, want not found", err)
		}

		// The officer's assignments: refused ones name the field.
		for _, tc := range []struct {
			name                             string
			kind                             scanner.Kind
			tracker, domain, purpose, vendor string
			code                             errs.Code
			field                            string
		}{
			{"unknown purpose", scanner.KindSessionStorage, "stats_visit", "http://127.0.0.1", "nope", "", errs.CodeInvalid, "purpose"},
			{"unknown vendor", scanner.KindSessionStorage, "stats_visit", "http://127.0.0.1", "analytics", "nobody", errs.CodeInvalid, "vendor"},
			{"unknown kind", scanner.Kind("pixel"), "stats_visit", "http://127.0.0.1", "analytics", "", errs.CodeInvalid, "kind"},
			{"unknown tracker", scanner.KindSessionStorage, "other", "http://127.0.0.1", "analytics", "", errs.CodeNotFound, ""},
		} {
			err := scans.Assign(ctx, officer, scantest.Property, tc.kind, tc.tracker, tc.domain, tc.purpose, tc.vendor)
			e, ok := errs.As(err)
			if !ok || e.Code != tc.code || (tc.field != "" && e.Fields[tc.field] == "") {
				t.Errorf("%s: %v, want %s on %q", tc.name, err, tc.code, tc.field)
			}
		}
		if err := scans.Assign(ctx, officer, scantest.Property, scanner.KindSessionStorage, "stats_visit", "http://127.0.0.1", "analytics", ""); err != nil {
			t.Fatal(err)
		}
		if err := scans.Assign(ctx, officer, scantest.Property, scanner.KindScript, "localhost", "", "marketing", ""); err != nil {
			t.Fatal(err)
		}
		entries, err := log.Search(ctx, audit.Query{Action: "scan.assign"})
		if err != nil || len(entries.Entries) != 2 || entries.Entries[0].Actor != officer {
			t.Fatalf("audit entries %+v, %v", entries, err)
		}

		// A later scan that knows nothing of them keeps the assignments,
		// and the target hands them to the classifier.
		now = now.Add(time.Hour)
		if _, err := scans.Record(ctx, sampleReport(now), scanner.TriggerSchedule); err != nil {
			t.Fatal(err)
		}
		trackers, err := scans.Trackers(ctx, scantest.Property)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]scanner.StoredTracker{}
		for _, tr := range trackers {
			byName[tr.Name] = tr
		}
		if tr := byName["stats_visit"]; tr.Source != scanner.SourceAssigned || tr.Purpose != "analytics" || tr.AssignedBy != officer.String() || !tr.LastSeen.Equal(now) {
			t.Errorf("stats_visit after a second scan: %+v", tr)
		}
		if tr := byName["_ga"]; tr.Source != scanner.SourceDeclared || !tr.FirstSeen.Equal(now.Add(-time.Hour)) {
			t.Errorf("_ga: %+v", tr)
		}
		target, err := scans.Target(ctx, scantest.Property, []string{"http://127.0.0.1/"})
		if err != nil {
			t.Fatal(err)
		}
		if len(target.Assignments) != 2 {
			t.Errorf("assignments %+v", target.Assignments)
		}

		// Old runs go once more than KeepRuns (3 here) are stored.
		for range 3 {
			now = now.Add(time.Hour)
			if _, err := scans.Record(ctx, sampleReport(now), scanner.TriggerSchedule); err != nil {
				t.Fatal(err)
			}
		}
		if runs, err := scans.Runs(ctx, scantest.Property, 10); err != nil || len(runs) != 3 || !runs[0].StartedAt.Equal(now) {
			t.Errorf("%d runs kept, %v; want the newest 3", len(runs), err)
		}

		// The declaration puts the assigned key under its purpose.
		decl, err := scans.Declaration(ctx, scantest.Property)
		if err != nil {
			t.Fatal(err)
		}
		var purposes []string
		for _, p := range decl.Purposes {
			var names []string
			for _, it := range p.Items {
				names = append(names, it.Name)
			}
			purposes = append(purposes, p.Key+":"+strings.Join(names, ","))
		}
		if want := []string{"necessary:session", "analytics:_ga,stats_visit"}; !slices.Equal(purposes, want) || len(decl.Unclassified) != 0 {
			t.Errorf("declaration %v (unclassified %v), want %v", purposes, decl.Unclassified, want)
		}
	})
}
