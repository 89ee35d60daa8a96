package scanner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/scanner/scantest"
)

// TestScanFixture scans the fixture site broken and fixed, following its
// links: broken, exactly the tracker's cookie, the third-party cookie and
// the tracker host's script, frame and requests are violations wherever
// marketing is refused; fixed, nothing is.
func TestScanFixture(t *testing.T) {
	needChrome(t)
	store := dbtest.Open(t, db.SQLite)
	svc := openCatalog(t, store)
	scantest.Seed(t, svc)
	site := scantest.New(t, scantest.Banner(t, svc, store, ""), true, false, 2)
	target, err := scanner.TargetFor(svc, scantest.Property, []string{site.URL}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scan := func(t *testing.T) *scanner.Report {
		t.Helper()
		report, err := scanner.Scan(ctx, target, scanner.Options{Pages: 5, Settle: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range report.Results {
			if r.Error != "" {
				t.Errorf("%s in %s: %s", r.URL, r.State, r.Error)
			}
		}
		return report
	}
	violations := func(r *scanner.Report) []string {
		var out []string
		for _, v := range r.Violations {
			entry := fmt.Sprintf("%s %s %s", v.State, v.Kind, v.Name)
			if !slices.Contains(out, entry) {
				out = append(out, entry)
			}
		}
		slices.Sort(out)
		return out
	}
	tracker := "localhost"
	trackerItems := []string{"cookie _fbp", "cookie tp_id", "iframe " + tracker, "request " + tracker, "script " + tracker}
	var want []string
	for _, state := range []string{"none", "reject", "only:analytics"} {
		for _, item := range trackerItems {
			want = append(want, state+" "+item)
		}
	}
	// With marketing alone the cookies are its own; the tracker's host is
	// unclassified, and it showed with every purpose refused.
	for _, item := range trackerItems[2:] {
		want = append(want, "only:marketing "+item)
	}
	slices.Sort(want)

	t.Run("broken", func(t *testing.T) {
		report := scan(t)
		if want := []string{site.URL, site.URL + "p/1"}; !slices.Equal(report.Pages, want) {
			t.Fatalf("pages %v, want %v (links within the domains only)", report.Pages, want)
		}
		if got := violations(report); !slices.Equal(got, want) {
			t.Errorf("violations\n got %q\nwant %q", got, want)
		}
		if len(report.Suggestions) != 1 || !strings.HasSuffix(report.Suggestions[0].Src, "/tracker.js") {
			t.Errorf("suggestions %+v, want the tracker's script", report.Suggestions)
		}
		checkTrackers(t, report)
	})
	t.Run("fixed", func(t *testing.T) {
		site.SetBroken(false)
		report := scan(t)
		if got := violations(report); len(got) != 0 {
			t.Errorf("violations %q, want none", got)
		}
		if len(report.Suggestions) != 0 {
			t.Errorf("suggestions %+v, want none", report.Suggestions)
		}
		checkTrackers(t, report)
	})
	t.Run("leaves the property", func(t *testing.T) {
		away := target
		away.Start = []string{site.URL + "away"}
		report, err := scanner.Scan(ctx, away, scanner.Options{Pages: 1, Settle: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if len(report.Results) != 5 || len(report.Violations) != 0 || len(report.Trackers) != 0 {
			t.Fatalf("%d results, %d violations, %d trackers; want 5 errors and nothing recorded", len(report.Results), len(report.Violations), len(report.Trackers))
		}
		for _, r := range report.Results {
			if !strings.Contains(r.Error, "outside the property's domains") {
				t.Errorf("%s in %s: %q", r.URL, r.State, r.Error)
			}
		}
	})
	if n := site.Posts.Load(); n != 0 {
		t.Errorf("the scan submitted %d forms", n)
	}
}

// checkTrackers checks the classification of what both versions of the
// site show.
func checkTrackers(t *testing.T, report *scanner.Report) {
	t.Helper()
	want := map[string]struct {
		purpose, source string
		third           bool
	}{
		"cookie session":              {"necessary", scanner.SourceDeclared, false},
		"cookie stw_consent":          {"necessary", scanner.SourceSteward, false},
		"cookie _ga":                  {"analytics", scanner.SourceDeclared, false},
		"cookie _fbp":                 {"marketing", scanner.SourceOCD, false},
		"cookie tp_id":                {"marketing", scanner.SourceDeclared, true},
		"session_storage stats_visit": {"", scanner.SourceUnclassified, false},
		"script localhost":            {"", scanner.SourceUnclassified, true},
	}
	found := map[string]scanner.Tracker{}
	for _, tr := range report.Trackers {
		found[string(tr.Kind)+" "+tr.Name] = tr
	}
	for key, w := range want {
		tr, ok := found[key]
		if !ok {
			t.Errorf("no tracker %s among %v", key, keys(found))
			continue
		}
		if tr.Class.Purpose != w.purpose || tr.Class.Source != w.source || tr.ThirdParty != w.third {
			t.Errorf("%s: purpose %q source %q third party %v, want %q %q %v", key, tr.Class.Purpose, tr.Class.Source, tr.ThirdParty, w.purpose, w.source, w.third)
		}
	}
	if tr := found["session_storage stats_visit"]; tr.Suggested != "analytics" {
		t.Errorf("stats_visit suggested %q, want analytics (only analytics alone shows it)", tr.Suggested)
	}
	// Chromium caps a cookie's lifetime at 400 days; _ga asks for two years.
	if tr := found["cookie _ga"]; tr.Lifetime < 400*86400-60 || tr.Lifetime > 400*86400 {
		t.Errorf("_ga lifetime %d s, want 400 days", tr.Lifetime)
	}
	if tr := found["cookie session"]; tr.Lifetime != -1 {
		t.Errorf("session lifetime %d, want -1 (a session cookie)", tr.Lifetime)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestServiceScan: a scan through the service, started from the console
// (in the background) and from the command line, is stored with its
// trackers, and no cookie or storage value reaches the store.
func TestServiceScan(t *testing.T) {
	needChrome(t)
	store := dbtest.Open(t, db.SQLite)
	svc := openCatalog(t, store)
	scantest.Seed(t, svc)
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	site := scantest.New(t, scantest.Banner(t, svc, store, ""), true, false, 2)
	scans, err := scanner.New(scanner.Config{DB: store, Audit: log, Catalog: svc, Options: scanner.Options{Pages: 2, Settle: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The console's "Scan now" starts at https:// of the property's domain,
	// where nothing answers: its pages fail to load, and the run still ends
	// (Close waits for it).
	started, err := scans.Start(ctx, scantest.Property, scanner.TriggerConsole)
	if err != nil || started.State != scanner.RunRunning {
		t.Fatalf("start: %+v, %v", started, err)
	}
	run, report, err := scans.Scan(ctx, scantest.Property, []string{site.URL}, scanner.Options{}, scanner.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != scanner.RunDone || run.Violations == 0 || run.Violations != len(report.Violations) || run.Pages != 2 {
		t.Errorf("run %+v", run)
	}
	if err := scans.Close(); err != nil { // waits for the background scan
		t.Fatal(err)
	}
	bg, _, err := scans.Report(ctx, started.ID)
	if err != nil || bg.State == scanner.RunRunning || bg.FinishedAt == nil {
		t.Errorf("background scan after Close: %+v, %v", bg, err)
	}
	trackers, err := scans.Trackers(ctx, scantest.Property)
	if err != nil || len(trackers) != len(report.Trackers) {
		t.Errorf("%d stored trackers, want %d: %v", len(trackers), len(report.Trackers), err)
	}
	for _, value := range []string{"GA1.1.1.1", "fb.1.1.1", "tp_id=1"} {
		if n := dbtest.RawHits(t, store, value); n != 0 {
			t.Errorf("the value %q is in the store %d times", value, n)
		}
	}
}
