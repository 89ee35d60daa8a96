package incident_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
)

// contained records an incident without risk and takes it to contained:
// the last step before closing.
func (f *fixture) contained(t *testing.T) incident.Incident {
	t.Helper()
	inc := f.open(t, "contact")
	if _, err := f.svc.Assess(f.ctx, inc.ID, incident.Assessment{Risk: incident.NoRisk, Reasons: []string{"encrypted at rest"}}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []incident.Status{incident.Assessed, incident.Contained} {
		if _, err := f.svc.Move(f.ctx, inc.ID, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	return inc
}

// closeRefusal asserts that closing inc is refused as a conflict whose
// field "review" says key.
func closeRefusal(t *testing.T, f *fixture, id, key string) {
	t.Helper()
	_, err := f.svc.Move(f.ctx, id, incident.Closed, "")
	e, ok := errs.As(err)
	if !ok || e.Code != errs.CodeConflict || e.FieldKeys["review"].Key != key {
		t.Fatalf("close: got %v (%+v), want a conflict keyed %s", err, e, key)
	}
	if e.Fields["review"] == "" {
		t.Fatalf("close refused without the English of %s", key)
	}
}

// TestCloseNeedsReview: a confirmed incident is not closed without a
// review, nor while an action of it is open; once its actions are done it
// closes. A suspected incident dismissed needs no review.
func TestCloseNeedsReview(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		owner := f.addStaff(t, "ops", "admin")
		inc := f.contained(t)
		closeRefusal(t, f, inc.ID, "close_without_review")

		review, err := f.svc.SaveReview(f.ctx, inc.ID, incident.ReviewInput{WhatFailed: "an export ran without encryption",
			Controls: "exports are not encrypted by default", Areas: []string{"encryption", "access_control", "encryption"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(review.Areas, []string{"access_control", "encryption"}) || review.WrittenBy != "staff:officer" || len(review.Actions) != 0 {
			t.Fatalf("review %+v", review)
		}
		due := start.AddDate(0, 0, 14).Format(time.DateOnly)
		var actions []incident.ReviewAction
		for _, title := range []string{"Encrypt every export", "Train support on exports"} {
			a, err := f.svc.AddReviewAction(f.ctx, inc.ID, incident.ActionInput{Title: title, Owner: owner.ID, Due: due})
			if err != nil {
				t.Fatal(err)
			}
			actions = append(actions, a)
		}
		closeRefusal(t, f, inc.ID, "close_open_actions")
		mine, err := f.svc.OwnedActions(f.ctx, owner.ID)
		if err != nil || len(mine) != 2 || mine[0].IncidentID != inc.ID {
			t.Fatalf("owned actions %+v, %v", mine, err)
		}

		f.clock.Advance(time.Hour)
		done, err := f.svc.CompleteReviewAction(audit.WithActor(context.Background(), audit.Staff(owner.ID)), inc.ID, actions[0].ID)
		if err != nil || done.State != incident.ActionStateDone || done.DoneBy != "staff:"+owner.ID || !done.DoneAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("done: %+v, %v", done, err)
		}
		if _, err := f.svc.CompleteReviewAction(f.ctx, inc.ID, actions[0].ID); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("done twice: %v", err)
		}
		closeRefusal(t, f, inc.ID, "close_open_actions")
		if _, err := f.svc.CompleteReviewAction(f.ctx, "inc_other", actions[1].ID); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("done through another incident: %v", err)
		}
		if _, err := f.svc.CompleteReviewAction(f.ctx, inc.ID, actions[1].ID); err != nil {
			t.Fatal(err)
		}
		if mine, _ := f.svc.OwnedActions(f.ctx, owner.ID); len(mine) != 0 {
			t.Fatalf("owned after done: %+v", mine)
		}
		closed, err := f.svc.Move(f.ctx, inc.ID, incident.Closed, "reviewed")
		if err != nil || closed.Status != incident.Closed {
			t.Fatalf("close: %+v, %v", closed, err)
		}
		if _, err := f.svc.SaveReview(f.ctx, inc.ID, incident.ReviewInput{WhatFailed: "late"}); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("review of a closed incident: %v", err)
		}

		timeline, err := f.svc.Timeline(f.ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, a := range timeline {
			kinds = append(kinds, a.Kind)
		}
		want := []string{"created", "assessed", "status", "status", "reviewed", "review_action", "review_action", "review_action_done", "review_action_done", "status"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("timeline %v, want %v", kinds, want)
		}
		page, err := f.log.Search(context.Background(), audit.Query{Target: incident.Target(inc.ID)})
		if err != nil {
			t.Fatal(err)
		}
		var logged []string
		for _, e := range page.Entries {
			logged = append(logged, e.Action)
		}
		for _, action := range []string{incident.ActionReview, incident.ActionReviewAction, incident.ActionActionDone} {
			if !slices.Contains(logged, action) {
				t.Errorf("%s not in the audit log: %v", action, logged)
			}
		}

		draft, err := f.svc.Report(f.ctx, "Odd login", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Move(f.ctx, draft.ID, incident.Closed, "not a breach"); err != nil {
			t.Fatalf("dismiss a draft: %v", err)
		}
	})
}

// TestReviewValidates: every bad input names its field with a catalog key,
// and nothing is written.
func TestReviewValidates(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		owner := f.addStaff(t, "ops", "admin")
		gone := f.addStaff(t, "gone", "support")
		if err := f.staff.Disable(context.Background(), audit.System(), gone.ID); err != nil {
			t.Fatal(err)
		}
		inc := f.open(t, "contact")
		if _, err := f.svc.AddReviewAction(f.ctx, inc.ID, incident.ActionInput{Title: "x", Owner: owner.ID, Due: "2026-04-01"}); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("an action before the review: %v", err)
		}
		reviews := []struct {
			name, field, key string
			in               incident.ReviewInput
		}{
			{"nothing failed", "what_failed", "required", incident.ReviewInput{}},
			{"an address", "what_failed", "no_personal_data", incident.ReviewInput{WhatFailed: "ada@example.org clicked a link"}},
			{"an unknown area", "areas", "review_area", incident.ReviewInput{WhatFailed: "x", Areas: []string{"luck"}}},
			{"too long", "controls", "at_most_characters", incident.ReviewInput{WhatFailed: "x", Controls: strings.Repeat("a", incident.MaxText+1)}},
		}
		for _, tt := range reviews {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.SaveReview(f.ctx, inc.ID, tt.in)
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.FieldKeys[tt.field].Key != tt.key {
					t.Fatalf("got %v, want %s: %s", err, tt.field, tt.key)
				}
			})
		}
		if _, err := f.svc.ReviewOf(f.ctx, inc.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("a review was written from bad input: %v", err)
		}
		if _, err := f.svc.SaveReview(f.ctx, inc.ID, incident.ReviewInput{WhatFailed: "phishing"}); err != nil {
			t.Fatal(err)
		}
		actions := []struct {
			name, field, key string
			in               incident.ActionInput
		}{
			{"no title", "title", "required", incident.ActionInput{Owner: owner.ID, Due: "2026-04-01"}},
			{"no owner", "owner", "review_owner", incident.ActionInput{Title: "x", Due: "2026-04-01"}},
			{"unknown owner", "owner", "review_owner", incident.ActionInput{Title: "x", Owner: "stf_nobody", Due: "2026-04-01"}},
			{"disabled owner", "owner", "review_owner", incident.ActionInput{Title: "x", Owner: gone.ID, Due: "2026-04-01"}},
			{"not a day", "due", "review_due", incident.ActionInput{Title: "x", Owner: owner.ID, Due: "1 April"}},
			{"in the past", "due", "review_due_past", incident.ActionInput{Title: "x", Owner: owner.ID, Due: start.AddDate(0, 0, -1).Format(time.DateOnly)}},
		}
		for _, tt := range actions {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.AddReviewAction(f.ctx, inc.ID, tt.in)
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.FieldKeys[tt.field].Key != tt.key {
					t.Fatalf("got %v, want %s: %s", err, tt.field, tt.key)
				}
			})
		}
		if _, err := f.svc.AddReviewAction(f.ctx, inc.ID, incident.ActionInput{Title: "today is fine", Owner: owner.ID, Due: start.Format(time.DateOnly)}); err != nil {
			t.Fatalf("due today: %v", err)
		}
		if r, _ := f.svc.ReviewOf(f.ctx, inc.ID); len(r.Actions) != 1 {
			t.Fatalf("%d actions stored", len(r.Actions))
		}
	})
}

// TestRemindOwners: an action is overdue once its due day has ended; its
// owner is emailed then, once, in their language; a disabled owner's
// reminder goes to the security officers; a done action is not reminded.
func TestRemindOwners(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, true)
		f.addStaff(t, "sec", "security_officer")
		owner := f.addStaff(t, "ops", "admin")
		if err := f.staff.SetLanguage(context.Background(), audit.System(), owner.ID, "de"); err != nil {
			t.Fatal(err)
		}
		leaver := f.addStaff(t, "leaver", "admin")
		inc := f.open(t, "contact")
		if _, err := f.svc.SaveReview(f.ctx, inc.ID, incident.ReviewInput{WhatFailed: "phishing"}); err != nil {
			t.Fatal(err)
		}
		day := start.AddDate(0, 0, 3).Truncate(24 * time.Hour) // due on 5 March 2026
		add := func(title, owner string) incident.ReviewAction {
			t.Helper()
			a, err := f.svc.AddReviewAction(f.ctx, inc.ID, incident.ActionInput{Title: title, Owner: owner, Due: day.Format(time.DateOnly)})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		mine, theirs, done := add("Enforce MFA", owner.ID), add("Rotate keys", leaver.ID), add("Brief staff", owner.ID)
		if _, err := f.svc.CompleteReviewAction(f.ctx, inc.ID, done.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.staff.Disable(context.Background(), audit.System(), leaver.ID); err != nil {
			t.Fatal(err)
		}

		for _, at := range []time.Time{day, day.Add(23*time.Hour + 59*time.Minute)} {
			f.clock.Set(at)
			if sent, err := f.svc.RemindOwners(context.Background()); err != nil || len(sent) != 0 {
				t.Fatalf("at %v, on the due day: sent %+v, %v", at, sent, err)
			}
		}
		f.clock.Set(day.AddDate(0, 0, 1))
		sent, err := f.svc.RemindOwners(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []incident.ActionReminder{{IncidentID: inc.ID, ActionID: mine.ID, To: owner.ID}, {IncidentID: inc.ID, ActionID: theirs.ID}}
		slices.SortFunc(sent, func(a, b incident.ActionReminder) int { return strings.Compare(b.To, a.To) })
		if !slices.Equal(sent, want) {
			t.Fatalf("sent %+v, want %+v", sent, want)
		}
		msg := f.mail.WaitFor(t, "ops@staff.example")
		if !strings.Contains(msg.Subject, inc.ID) || !strings.Contains(msg.Subject, "Folgemaßnahmen") {
			t.Fatalf("owner's subject %q: want German, naming the incident", msg.Subject)
		}
		for _, m := range f.mail.Messages() {
			if strings.Contains(m.Text, "Enforce MFA") || strings.Contains(m.HTML, "Enforce MFA") {
				t.Fatal("a reminder holds the action's title: staff's words stay in the console")
			}
		}
		f.mail.WaitFor(t, "sec@staff.example")

		f.clock.Advance(time.Hour)
		if again, err := f.svc.RemindOwners(context.Background()); err != nil || len(again) != 0 {
			t.Fatalf("reminded twice: %+v, %v", again, err)
		}
		timeline, _ := f.svc.Timeline(f.ctx, inc.ID)
		n := 0
		for _, a := range timeline {
			if a.Kind == incident.ActActionReminded {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d reminders on the timeline, want 2", n)
		}
	})
}

// withSet computes an affected set of three customers (two in DE, one
// unknown; contact and financial data) for a contained incident.
func (f *fixture) withSet(t *testing.T) (incident.Incident, incident.Set) {
	t.Helper()
	f.put(t, "c1", "email", "contact")
	f.put(t, "c2", "email", "contact")
	f.put(t, "c3", "iban", "financial")
	f.consentFrom(t, 1, "c1", "DE")
	f.consentFrom(t, 2, "c2", "DE")
	inc := f.contained(t)
	set, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodInventory, Categories: []string{"contact", "financial"}})
	if err != nil {
		t.Fatal(err)
	}
	return inc, set
}

func english() incident.AccountInput {
	return incident.AccountInput{Texts: map[string]incident.AccountText{
		"en": {Title: "Exported order list sent to the wrong partner", Happened: "On 2 March an export went to a partner by mistake.",
			Done: "The partner deleted it and confirmed in writing.", Outcome: "Exports are now encrypted and checked by two people."},
	}}
}

// TestPublishAccount: an account is published with the latest set's
// counts, versioned, withdrawn and published again; bad texts name their
// field; nothing is published before the affected set is computed.
func TestPublishAccount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		early := f.open(t, "contact")
		if _, err := f.svc.Publish(f.ctx, early.ID, english()); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("published without a set: %v", err)
		}
		inc, set := f.withSet(t)
		bad := []struct {
			name, field, key string
			texts            map[string]incident.AccountText
		}{
			{"no English", "texts.en.title", "required", map[string]incident.AccountText{"de": english().Texts["en"]}},
			{"an address", "texts.en.happened", "no_personal_data", map[string]incident.AccountText{"en": {Title: "x", Happened: "mail ada@example.org", Done: "y"}}},
			{"half a German", "texts.de.done", "required", map[string]incident.AccountText{"en": english().Texts["en"], "de": {Title: "x", Happened: "y"}}},
			{"an unknown language", "texts.it", "account_language", map[string]incident.AccountText{"en": english().Texts["en"], "it": {Title: "x"}}},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.Publish(f.ctx, inc.ID, incident.AccountInput{Texts: tt.texts})
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.FieldKeys[tt.field].Key != tt.key {
					t.Fatalf("got %v, want %s: %s", err, tt.field, tt.key)
				}
			})
		}
		preview, err := f.svc.PreviewAccount(f.ctx, inc.ID, english())
		if err != nil || preview.Version != 1 || preview.Affected != 3 {
			t.Fatalf("preview %+v, %v", preview, err)
		}
		if list, _ := f.svc.Published(f.ctx); len(list) != 0 {
			t.Fatalf("a preview was published: %+v", list)
		}

		first, err := f.svc.Publish(f.ctx, inc.ID, english())
		if err != nil {
			t.Fatal(err)
		}
		if first.Version != 1 || first.SetID != set.ID || first.Affected != 3 ||
			!maps.Equal(first.ByCategory, map[string]int{"contact": 2, "financial": 1}) ||
			!maps.Equal(first.ByJurisdiction, map[string]int{"DE": 2, "unknown": 1}) {
			t.Fatalf("published %+v", first)
		}
		text, fallback := first.Text("fr")
		if !fallback || text.Title != english().Texts["en"].Title {
			t.Fatalf("French falls back to English: %+v, %v", text, fallback)
		}

		f.clock.Advance(24 * time.Hour)
		update := english()
		update.Texts["de"] = incident.AccountText{Title: "Bestellliste an den falschen Partner", Happened: "Ein Export ging irrtümlich an einen Partner.",
			Done: "Der Partner hat ihn gelöscht."}
		second, err := f.svc.Publish(f.ctx, inc.ID, update)
		if err != nil || second.Version != 2 || !second.FirstPublishedAt.Equal(first.PublishedAt) {
			t.Fatalf("update: %+v, %v", second, err)
		}
		if text, fallback := second.Text("de"); fallback || !strings.HasPrefix(text.Title, "Bestellliste") {
			t.Fatalf("German: %+v, %v", text, fallback)
		}
		shown, err := f.svc.PublishedAccount(f.ctx, inc.ID)
		if err != nil || shown.Version != 2 {
			t.Fatalf("shown %+v, %v", shown, err)
		}
		if versions, _ := f.svc.Accounts(f.ctx, inc.ID); len(versions) != 2 || versions[1].Version != 1 {
			t.Fatalf("versions kept: %+v", versions)
		}

		if _, err := f.svc.Withdraw(f.ctx, inc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Withdraw(f.ctx, inc.ID); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("withdrawn twice: %v", err)
		}
		if _, err := f.svc.PublishedAccount(f.ctx, inc.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("a withdrawn account is shown: %v", err)
		}
		if list, _ := f.svc.Published(f.ctx); len(list) != 0 {
			t.Fatalf("a withdrawn account is listed: %+v", list)
		}
		third, err := f.svc.Publish(f.ctx, inc.ID, english())
		if err != nil || third.Version != 3 {
			t.Fatalf("published again: %+v, %v", third, err)
		}
		if list, _ := f.svc.Published(f.ctx); len(list) != 1 || list[0].Version != 3 {
			t.Fatalf("listed after publishing again: %+v", list)
		}
		page, err := f.log.Search(context.Background(), audit.Query{Target: incident.Target(inc.ID)})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range page.Entries {
			counts[e.Action]++
		}
		if counts[incident.ActionPublish] != 3 || counts[incident.ActionWithdraw] != 1 {
			t.Fatalf("audit %v", counts)
		}
	})
}
