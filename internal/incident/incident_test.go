package incident_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
)

// TestCreateValidates: bad input names the field at fault and writes
// nothing.
func TestCreateValidates(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		future := start.Add(time.Hour)
		tests := []struct {
			name  string
			in    incident.Input
			field string
		}{
			{"no title", incident.Input{Kind: ptr(incident.Integrity)}, "title"},
			{"no kind", incident.Input{Title: ptr("Ransomware")}, "kind"},
			{"unknown kind", incident.Input{Title: ptr("Ransomware"), Kind: ptr(incident.Kind("theft"))}, "kind"},
			{"two-line title", incident.Input{Title: ptr("a\nb"), Kind: ptr(incident.Integrity)}, "title"},
			{"aware in the future", incident.Input{Title: ptr("x"), Kind: ptr(incident.Integrity), AwareAt: &future}, "aware_at"},
			{"aware before detected", incident.Input{Title: ptr("x"), Kind: ptr(incident.Integrity), DetectedAt: ptr(start), AwareAt: ptr(start.Add(-time.Hour))}, "aware_at"},
			{"bad category", incident.Input{Title: ptr("x"), Kind: ptr(incident.Integrity), Categories: &[]string{"Health Data"}}, "categories"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.Create(f.ctx, tt.in)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid || e.Fields[tt.field] == "" {
					t.Fatalf("got %v, want invalid naming %s", err, tt.field)
				}
			})
		}
		if list, _ := f.svc.List(f.ctx, ""); len(list) != 0 {
			t.Fatalf("%d incidents stored from bad input", len(list))
		}
	})
}

// TestStatusMachine walks an incident through its life and tries every
// move that is not allowed; each change is on the timeline and in the
// audit log, with its actor.
func TestStatusMachine(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		inc := f.open(t, "contact")
		if inc.Status != incident.Open || inc.AwareAt == nil || !inc.AwareAt.Equal(start) || inc.ReportedBy != "staff:officer" {
			t.Fatalf("created %+v", inc)
		}
		refused := func(to incident.Status) {
			t.Helper()
			if _, err := f.svc.Move(f.ctx, inc.ID, to, ""); !errs.Is(err, errs.CodeConflict) {
				t.Fatalf("move to %s: got %v, want conflict", to, err)
			}
		}
		refused(incident.Contained)
		refused(incident.Notified) // only MarkNotified goes there
		refused(incident.Assessed) // not assessed yet
		if _, err := f.svc.MarkNotified(f.ctx, inc.ID, incident.Notification{AuthorityAt: ptr(start)}); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("notified while open: %v", err)
		}
		if _, err := f.svc.Assess(f.ctx, inc.ID, incident.Assessment{Risk: incident.SomeRisk, Reasons: []string{"contact data of customers"}}); err != nil {
			t.Fatal(err)
		}
		refused(incident.Closed) // assessed as a risk: no longer "not a breach"
		if inc, _ = f.svc.Move(f.ctx, inc.ID, incident.Assessed, "assessed by the DPO"); inc.Status != incident.Assessed {
			t.Fatalf("status %s", inc.Status)
		}
		refused(incident.Closed) // a breach with a risk is notified first
		if _, err := f.svc.Move(f.ctx, inc.ID, incident.Contained, "laptop wiped remotely"); err != nil {
			t.Fatal(err)
		}
		refused(incident.Closed)
		if _, err := f.svc.MarkNotified(f.ctx, inc.ID, incident.Notification{}); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("notified without the authority's time: %v", err)
		}
		told := start.Add(30 * time.Hour)
		inc, err := f.svc.MarkNotified(f.ctx, inc.ID, incident.Notification{AuthorityAt: &told, Note: "reference 2026-117"})
		if err != nil || inc.Status != incident.Notified || !inc.AuthorityNotifiedAt.Equal(told) {
			t.Fatalf("notified: %+v, %v", inc, err)
		}
		refused(incident.Closed) // not reviewed yet (review_test.go)
		if _, err := f.svc.SaveReview(f.ctx, inc.ID, incident.ReviewInput{WhatFailed: "laptops were not encrypted", Areas: []string{"encryption"}}); err != nil {
			t.Fatal(err)
		}
		if inc, err = f.svc.Move(f.ctx, inc.ID, incident.Closed, ""); err != nil || inc.Status != incident.Closed {
			t.Fatalf("close: %+v, %v", inc, err)
		}
		if _, err := f.svc.Update(f.ctx, inc.ID, incident.Input{Cause: ptr("late")}); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("update of a closed incident: %v", err)
		}
		timeline, err := f.svc.Timeline(f.ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, a := range timeline {
			kinds = append(kinds, a.Kind)
			if a.Actor != "staff:officer" {
				t.Errorf("action %s by %s", a.Kind, a.Actor)
			}
		}
		want := []string{"created", "assessed", "status", "status", "notified", "reviewed", "status"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("timeline %v, want %v", kinds, want)
		}
		page, err := f.log.Search(context.Background(), audit.Query{Target: incident.Target(inc.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != len(want) {
			t.Fatalf("%d audit entries for %d acts", len(page.Entries), len(want))
		}
	})
}

// TestReportedDraft: any staff member's report opens a draft, without
// clocks until an officer confirms it (which needs a kind); the officers
// are emailed, and without mail the draft still opens.
func TestReportedDraft(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, true)
		f.addStaff(t, "sec", "security_officer")
		f.addStaff(t, "support", "support")
		ctx := audit.WithActor(context.Background(), audit.Staff("support-1"))
		draft, told, err := f.svc.ReportAndTell(ctx, "Strange logins on the support tool", "Seen at 10:02")
		if err != nil || !told || draft.Status != incident.Draft {
			t.Fatalf("report: %+v, told %v, %v", draft, told, err)
		}
		msg := f.mail.WaitFor(t, "sec@staff.example")
		if !slices.Contains([]string{msg.Subject}, "Suspected incident reported: "+draft.ID) {
			t.Fatalf("subject %q", msg.Subject)
		}
		for _, m := range f.mail.Messages() {
			if slices.Contains(m.To, "support@staff.example") {
				t.Fatal("a support agent was emailed")
			}
		}
		if clocks, _ := f.svc.Clocks(f.ctx, draft.ID); len(clocks) != 0 {
			t.Fatalf("a draft has clocks: %v", clocks)
		}
		if _, err := f.svc.Move(f.ctx, draft.ID, incident.Open, ""); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("open without a kind: %v", err)
		}
		if _, err := f.svc.Update(f.ctx, draft.ID, incident.Input{Kind: ptr(incident.Confidentiality), AwareAt: ptr(start)}); err != nil {
			t.Fatal(err)
		}
		if inc, err := f.svc.Move(f.ctx, draft.ID, incident.Open, "confirmed"); err != nil || inc.Status != incident.Open {
			t.Fatalf("open: %+v, %v", inc, err)
		}

		off, err := incident.New(incident.Config{DB: store, Audit: f.log, Staff: f.staff, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		draft, told, err = off.ReportAndTell(ctx, "Phishing mail", "")
		if err != nil || told || draft.Status != incident.Draft {
			t.Fatalf("without mail: %+v, told %v, %v", draft, told, err)
		}
	})
}
