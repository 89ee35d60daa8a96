package retention_test

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
	"github.com/steward-dev/steward/internal/retention"
)

// TestHolds: a hold is placed with a reason by the actor in the context,
// audited; a second open hold is a conflict; lifting records who and when
// and keeps the record; lifting without an open hold is not found; bad
// input names its field.
func TestHolds(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		clk := &clock{t: day0}
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := retention.New(retention.Config{DB: store, Audit: log, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		dpo := audit.WithActor(context.Background(), audit.Staff("stf_dpo"))
		for _, tc := range []struct{ subject, reason, field string }{
			{"", "a case", "subject_id"},
			{"cust 1", "a case", "subject_id"},
			{ada, "   ", "reason"},
			{ada, strings.Repeat("x", retention.MaxReason+1), "reason"},
			{ada, "case\n17", "reason"},
		} {
			_, err := svc.PlaceHold(dpo, tc.subject, tc.reason)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[tc.field] == "" {
				t.Errorf("PlaceHold(%q, %q) = %v, want invalid %s", tc.subject, tc.reason, err, tc.field)
			}
		}
		h, err := svc.PlaceHold(dpo, ada, "  Claim 2026-17  ")
		if err != nil || h.Reason != "Claim 2026-17" || h.PlacedBy != "staff:stf_dpo" || !h.PlacedAt.Equal(day0) || !h.Open() {
			t.Fatalf("PlaceHold = %+v, %v", h, err)
		}
		if _, err := svc.PlaceHold(dpo, ada, "another"); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("a second hold: %v, want conflict", err)
		}
		if held, err := svc.Held(context.Background()); err != nil || !slices.Equal(held, []string{ada}) {
			t.Fatalf("Held = %v, %v", held, err)
		}
		if _, err := svc.LiftHold(dpo, bob); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("lifting no hold: %v, want not found", err)
		}
		clk.Advance(time.Hour)
		lifted, err := svc.LiftHold(audit.WithActor(context.Background(), audit.Staff("stf_lead")), ada)
		if err != nil || lifted.ID != h.ID || lifted.LiftedBy != "staff:stf_lead" || lifted.LiftedAt == nil || !lifted.LiftedAt.Equal(day0.Add(time.Hour)) {
			t.Fatalf("LiftHold = %+v, %v", lifted, err)
		}
		if held, _ := svc.Held(context.Background()); len(held) != 0 {
			t.Fatalf("held after the lift: %v", held)
		}
		if _, err := svc.PlaceHold(dpo, ada, "Claim 2026-18"); err != nil {
			t.Fatalf("a new hold after the lift: %v", err)
		}
		holds, err := svc.Holds(context.Background(), ada)
		if err != nil || len(holds) != 2 || !holds[0].Open() || holds[1].Open() {
			t.Fatalf("Holds = %+v, %v; want the open one, then the lifted one", holds, err)
		}
		for action, want := range map[string]int{retention.ActionHoldPlace: 2, retention.ActionHoldLift: 1} {
			page, err := log.Search(context.Background(), audit.Query{Action: action, Limit: 10})
			if err != nil || len(page.Entries) != want {
				t.Fatalf("%s entries: %d, %v; want %d", action, len(page.Entries), err, want)
			}
			for _, e := range page.Entries {
				if e.Target != audit.Subject(ada) || strings.Contains(e.Details.String(), "Claim") {
					t.Errorf("%s entry %+v: want Ada as target and no reason in the details", action, e)
				}
			}
		}
	})
}
