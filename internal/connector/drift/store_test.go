package drift

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

func scanResult(candidates []Candidate, live, declared []ColumnRef) Result {
	res := Result{System: "shop", Candidates: candidates, Live: map[ColumnRef]bool{}, Declared: map[ColumnRef]bool{}}
	for _, r := range live {
		res.Live[r] = true
	}
	for _, c := range candidates {
		res.Live[ColumnRef{c.Table, c.Column}] = true
	}
	for _, r := range declared {
		res.Declared[r] = true
		res.Live[r] = true
	}
	return res
}

// TestFindingLifecycle: new findings are recorded and announced once; a
// dismissal sticks across scans; a declared finding closes when the file
// declares the column; a finding whose column is gone closes; a column
// that comes back undeclared reopens and is announced again. Officers
// decide only open findings, with a known category or a reason, and each
// decision is in the audit log.
func TestFindingLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store, nil, nil, false)
		officer := audit.Staff("stf_olga")
		phone := Candidate{Table: "customers", Column: "phone", Category: Contact, Evidence: ByName}
		tag := Candidate{Table: "signups", Column: "ip", Category: Identifier, Evidence: ByName}
		iban := Candidate{Table: "signups", Column: "zahlung", Category: Financial, Evidence: ByValues, Ratio: 0.85}
		all := []Candidate{phone, tag, iban}

		rec, err := f.svc.Record(ctx, scanResult(all, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if rec != (Recorded{New: 3, Open: 3}) || len(f.webhooks(t)) != 3 {
			t.Fatalf("first scan: %+v, %d webhooks", rec, len(f.webhooks(t)))
		}
		byColumn := map[string]Finding{}
		open, _ := f.svc.OpenFindings(ctx)
		for _, x := range open {
			byColumn[x.Column] = x
		}
		if z := byColumn["zahlung"]; z.Permille != 850 || z.Evidence != ByValues || z.State != Open || !z.FirstSeen.Equal(f.now) {
			t.Fatalf("zahlung: %+v", z)
		}

		// Officers decide; the wrong inputs are refused.
		for _, tc := range []struct {
			name string
			do   func() error
			code errs.Code
		}{
			{"unknown category", func() error { _, err := f.svc.Declare(ctx, officer, byColumn["phone"].ID, "hobbies", ""); return err }, errs.CodeInvalid},
			{"dismiss without reason", func() error { _, err := f.svc.Dismiss(ctx, officer, byColumn["ip"].ID, "  "); return err }, errs.CodeInvalid},
			{"unknown finding", func() error { _, err := f.svc.Dismiss(ctx, officer, "drf_nope", "x"); return err }, errs.CodeNotFound},
		} {
			if e, ok := errs.As(tc.do()); !ok || e.Code != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, tc.do(), tc.code)
			}
		}
		if _, err := f.svc.Dismiss(ctx, officer, byColumn["ip"].ID, "holds the office printer's address"); err != nil {
			t.Fatal(err)
		}
		declared, err := f.svc.Declare(ctx, officer, byColumn["phone"].ID, Contact, "")
		if err != nil || declared.State != Declared || declared.DeclaredCategory != Contact || declared.DecidedBy != "staff:stf_olga" {
			t.Fatalf("declare: %+v %v", declared, err)
		}
		if _, err := f.svc.Dismiss(ctx, officer, declared.ID, "changed my mind"); err == nil {
			t.Error("a declared finding was dismissed")
		} else if e, _ := errs.As(err); e.Code != errs.CodeConflict {
			t.Errorf("dismiss a declared finding: %v", err)
		}
		for _, action := range []string{"drift.declare", "drift.dismiss"} {
			page, err := f.audit.Search(ctx, audit.Query{Action: action})
			if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != officer {
				t.Errorf("%s: %+v %v", action, page.Entries, err)
			}
		}

		// The same scan a day later: nothing new, the dismissal sticks.
		f.now = f.now.Add(24 * time.Hour)
		if rec, err = f.svc.Record(ctx, scanResult(all, nil, nil)); err != nil || rec != (Recorded{Open: 1}) {
			t.Fatalf("second scan: %+v %v", rec, err)
		}
		if got, _ := f.svc.Get(ctx, byColumn["ip"].ID); got.State != Dismissed || !got.LastSeen.Equal(f.now) || got.Note != "holds the office printer's address" {
			t.Errorf("dismissed after a scan: %+v", got)
		}

		// The file now declares the phone, and zahlung is gone: both close;
		// the dismissed one stays dismissed.
		f.now = f.now.Add(24 * time.Hour)
		rec, err = f.svc.Record(ctx, scanResult([]Candidate{tag}, nil, []ColumnRef{{"customers", "phone"}}))
		if err != nil || rec != (Recorded{Closed: 2}) {
			t.Fatalf("third scan: %+v %v", rec, err)
		}
		for column, want := range map[string]string{"phone": ClosedDeclaredInFile, "zahlung": ClosedColumnGone} {
			got, _ := f.svc.Get(ctx, byColumn[column].ID)
			if got.State != Closed || got.ClosedReason != want || got.ClosedAt == nil || !got.ClosedAt.Equal(f.now) {
				t.Errorf("%s: %+v, want closed (%s)", column, got, want)
			}
		}
		if got, _ := f.svc.Get(ctx, byColumn["ip"].ID); got.State != Dismissed {
			t.Errorf("ip: %s", got.State)
		}
		history, err := f.svc.History(ctx, 10)
		if err != nil || len(history) != 3 {
			t.Fatalf("history: %d %v", len(history), err)
		}

		// zahlung comes back undeclared: a new finding to decide.
		rec, err = f.svc.Record(ctx, scanResult([]Candidate{tag, iban}, nil, []ColumnRef{{"customers", "phone"}}))
		if err != nil || rec != (Recorded{New: 1, Open: 1}) || len(f.webhooks(t)) != 4 {
			t.Fatalf("fourth scan: %+v %v, %d webhooks", rec, err, len(f.webhooks(t)))
		}
		if got, _ := f.svc.Get(ctx, byColumn["zahlung"].ID); got.State != Open || got.ClosedAt != nil || got.ClosedReason != "" {
			t.Errorf("reopened: %+v", got)
		}
	})
}

// TestEventNames: names a webhook cannot carry as they are are escaped,
// the others are left alone.
func TestEventNames(t *testing.T) {
	for in, want := range map[string]string{"email": "email", "E-Mail Adresse": "E-Mail~20Adresse", "price$": "price~24", "straße": "stra~C3~9Fe"} {
		if got := eventName(in); got != want {
			t.Errorf("eventName(%q) = %q, want %q", in, got, want)
		}
	}
}
