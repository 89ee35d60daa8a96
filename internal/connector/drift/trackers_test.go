package drift

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/scanner"
)

// assignments records the assignments DeclareTracker asks for.
type assignments []string

func (a *assignments) Assign(_ context.Context, _ audit.Actor, property string, kind scanner.Kind, name, domain, purpose, vendor string) error {
	*a = append(*a, property+"|"+string(kind)+"|"+name+"|"+domain+"|"+purpose+"|"+vendor)
	return nil
}

// TestUndeclaredTrackersAreDrift: a scan with an undeclared tracker makes
// one finding of kind tracker; a second scan does not duplicate it;
// declaring it assigns the tracker its purpose and vendor, and the next
// scan, which sees it assigned, closes it; one a scan no longer sees
// closes too. On both stores.
func TestUndeclaredTrackersAreDrift(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store, nil, nil, false)
		officer := audit.Staff("stf_olga")
		pixel := scanner.Tracker{Kind: scanner.KindCookie, Name: "_px", Domain: "ads.example", ThirdParty: true,
			Class: scanner.Classification{Source: scanner.SourceUnclassified}}
		ga := scanner.Tracker{Kind: scanner.KindCookie, Name: "_ga", Domain: "shop.example",
			Class: scanner.Classification{Source: scanner.SourceOCD, Vendor: "Google", Category: "analytics"}}
		banner := scanner.Tracker{Kind: scanner.KindCookie, Name: "steward_consent", Domain: "shop.example",
			Class: scanner.Classification{Source: scanner.SourceSteward}}
		declared := scanner.Tracker{Kind: scanner.KindScript, Name: "https://cdn.metrics.example", ThirdParty: true,
			Class: scanner.Classification{Source: scanner.SourceDeclared, Purpose: "analytics"}}
		report := func(trackers ...scanner.Tracker) *scanner.Report {
			return &scanner.Report{Property: "shop", Trackers: trackers}
		}

		rec, err := f.svc.Record(ctx, TrackerResult(report(pixel, ga, banner, declared)))
		if err != nil {
			t.Fatal(err)
		}
		if rec.New != 2 || rec.Open != 2 {
			t.Fatalf("first scan: %+v, want the two undeclared trackers", rec)
		}
		open, err := f.svc.OpenFindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]Finding{}
		for _, x := range open {
			if !x.Tracker() || x.System != "site:shop" || x.TrackerProperty() != "shop" || x.Table != "cookie" {
				t.Errorf("finding %+v, want a cookie tracker of site:shop", x)
			}
			byName[x.Column] = x
		}
		if len(byName) != 2 || byName["_px @ ads.example"].ID == "" || byName["_ga @ shop.example"].ID == "" {
			t.Fatalf("findings %v", byName)
		}

		// A second scan seeing the same trackers adds nothing.
		rec, err = f.svc.Record(ctx, TrackerResult(report(pixel, ga, banner, declared)))
		if err != nil {
			t.Fatal(err)
		}
		if open, _ := f.svc.OpenFindings(ctx); rec.New != 0 || len(open) != 2 {
			t.Fatalf("second scan: %+v, %d open findings; want the same two", rec, len(open))
		}

		// Declaring a tracker assigns it; declaring it as a column is refused.
		var assigned assignments
		if _, err := f.svc.Declare(ctx, officer, byName["_px @ ads.example"].ID, Contact, ""); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("declaring a tracker with a data category: %v, want invalid", err)
		}
		gaFinding, err := f.svc.DeclareTracker(ctx, officer, byName["_ga @ shop.example"].ID, "analytics", "google", "", &assigned)
		if err != nil || gaFinding.State != Declared || gaFinding.DeclaredCategory != "analytics" {
			t.Fatalf("declare _ga: %+v %v", gaFinding, err)
		}
		if len(assigned) == 0 || assigned[len(assigned)-1] != "shop|cookie|_ga|shop.example|analytics|google" {
			t.Fatalf("assignments %v", assigned)
		}
		if _, err := f.svc.DeclareTracker(ctx, officer, gaFinding.ID, "analytics", "google", "", &assigned); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("declaring again: %v, want a conflict", err)
		}

		// The next scan sees _ga assigned (declared) and _px gone: both close.
		ga.Class.Source = scanner.SourceAssigned
		rec, err = f.svc.Record(ctx, TrackerResult(report(ga, banner, declared)))
		if err != nil {
			t.Fatal(err)
		}
		if rec.New != 0 || rec.Open != 0 {
			t.Fatalf("third scan: %+v, want nothing open", rec)
		}
		for column, reason := range map[string]string{"_ga @ shop.example": ClosedDeclaredInFile, "_px @ ads.example": ClosedColumnGone} {
			got, err := f.svc.Get(ctx, byName[column].ID)
			if err != nil || got.State != Closed || got.ClosedReason != reason {
				t.Errorf("%s: %+v %v, want closed (%s)", column, got, err, reason)
			}
		}
	})
}
