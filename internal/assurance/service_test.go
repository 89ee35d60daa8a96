package assurance_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

func TestSendAnswerSubmit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		f.catalog.put(consent.Vendor{Key: "mailer", Name: "Mailer GmbH", Purposes: []string{"newsletter", "analytics", "newsletter"},
			DataCategories: []string{"contact", "behaviour"}})
		sent := f.MustSend(t, "mailer")
		a := sent.Assessment
		if len(sent.Token) != 43 || sent.Path() != "/assess/"+sent.Token || !strings.HasPrefix(a.ID, "vas_") ||
			a.State != assurance.StateSent || a.Version != 1 || a.TemplateKey != assurance.SecurityBaseline || a.TemplateVersion != 1 ||
			a.PassMark != 80 || !a.SentAt.Equal(start) || a.SentBy != officer || !a.LinkExpiresAt.Equal(start.Add(30*24*time.Hour)) ||
			!slices.Equal(a.Scope.Purposes, []string{"analytics", "newsletter"}) || !slices.Equal(a.Scope.DataCategories, []string{"behaviour", "contact"}) {
			t.Fatalf("sent %+v", sent)
		}
		if got, err := f.s.Get(ctx, a.ID); err != nil || got.ID != a.ID || !slices.Equal(got.Scope.Purposes, a.Scope.Purposes) || got.SentBy != officer {
			t.Fatalf("Get = %+v, %v", got, err)
		}

		// The vendor opens the link: its questions without weights or
		// passing answers, nothing saved yet.
		q, err := f.s.ByToken(ctx, sent.Token)
		if err != nil {
			t.Fatal(err)
		}
		builtin := assurance.BuiltinTemplates()[0]
		if q.AssessmentID != a.ID || q.VendorName != "Mailer GmbH" || len(q.Prompts) != len(builtin.Questions) ||
			len(q.Answers) != 0 || q.AnswersVersion != 0 || q.LastSavedAt != nil || !q.LinkExpiresAt.Equal(a.LinkExpiresAt) {
			t.Fatalf("ByToken = %+v", q)
		}
		if p := q.Prompts[0]; p.ID != "encryption_at_rest" || !slices.Equal(p.Choices, []string{"yes", "no"}) {
			t.Fatalf("first prompt %+v", p)
		}

		// Save, return, save again: each save a version; an unchanged save none.
		f.clock.add(time.Hour)
		first := map[string]string{"mfa": "yes", "breach_notice": "Within 24 hours", "retention": "  30 days\r\nthen deleted  ", "encryption_at_rest": ""}
		q, err = f.s.SaveAnswers(ctx, sent.Token, first, false)
		if err != nil {
			t.Fatal(err)
		}
		wantFirst := map[string]string{"mfa": "yes", "breach_notice": "Within 24 hours", "retention": "30 days\nthen deleted"}
		if q.AnswersVersion != 1 || !maps.Equal(q.Answers, wantFirst) || q.Submitted || q.Answered() != 3 {
			t.Fatalf("first save %+v", q)
		}
		if q, err = f.s.SaveAnswers(ctx, sent.Token, wantFirst, false); err != nil || q.AnswersVersion != 1 {
			t.Fatalf("unchanged save = %+v, %v", q, err)
		}
		f.clock.add(24 * time.Hour)
		q, err = f.s.ByToken(ctx, sent.Token)
		if err != nil || !maps.Equal(q.Answers, wantFirst) || q.LastSavedAt == nil || !q.LastSavedAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("returning: %+v, %v", q, err)
		}
		answers := passing(t)
		answers["mfa"] = "no" // a must-pass question fails
		if q, err = f.s.SaveAnswers(ctx, sent.Token, answers, false); err != nil || q.AnswersVersion != 2 {
			t.Fatalf("second save = %+v, %v", q, err)
		}
		if got, _ := f.s.Get(ctx, a.ID); got.State != assurance.StateSent || got.Score != nil || got.AnswersVersion != 2 {
			t.Fatalf("after saves %+v", got)
		}

		// Submit: scored, and closed to changes.
		f.clock.add(time.Hour)
		q, err = f.s.SaveAnswers(ctx, sent.Token, answers, true)
		if err != nil || !q.Submitted || q.AnswersVersion != 3 {
			t.Fatalf("submit = %+v, %v", q, err)
		}
		got, err := f.s.Get(ctx, a.ID)
		if err != nil || got.State != assurance.StateSubmitted || got.SubmittedAt == nil || !got.SubmittedAt.Equal(start.Add(26*time.Hour)) ||
			got.Score == nil || got.Score.Passed || got.Score.Percent != 91 || !slices.Equal(got.Score.MustPassFailed, []string{"mfa"}) ||
			got.Passed() {
			t.Fatalf("submitted %+v (score %+v), %v", got, got.Score, err)
		}
		if _, err := f.s.ByToken(ctx, sent.Token); code(err) != errs.CodeConflict {
			t.Fatalf("ByToken after submit: %v", err)
		}
		if _, err := f.s.SaveAnswers(ctx, sent.Token, passing(t), false); code(err) != errs.CodeConflict {
			t.Fatalf("save after submit: %v", err)
		}
		history, err := f.s.AnswerHistory(ctx, a.ID)
		if err != nil || len(history) != 3 || !maps.Equal(history[0].Values, wantFirst) || history[1].Submitted || !history[2].Submitted ||
			history[2].Values["mfa"] != "no" {
			t.Fatalf("AnswerHistory = %+v, %v", history, err)
		}
		d, err := f.s.Detail(ctx, a.ID)
		if err != nil || d.Answers.Version != 3 || len(d.Results) != len(builtin.Questions) || d.Template.Version != 1 {
			t.Fatalf("Detail = %+v, %v", d, err)
		}
		for _, r := range d.Results {
			if r.Passed != (r.Question.ID != "mfa") {
				t.Errorf("result of %s: %+v", r.Question.ID, r)
			}
		}

		// The audit log: sent by the officer, submitted by the link; no
		// address, no answers.
		entries := f.MustAudit(t, "mailer")
		if !slices.Equal(actions(entries), []string{"vendor.assessment_sent", "vendor.assessment_submitted"}) ||
			entries[0].Actor != officer || entries[1].Actor != (audit.Actor{Kind: assurance.ActorVendorLink, ID: a.ID}) {
			t.Fatalf("audit %+v", entries)
		}
		if s := entries[1].Details.String(); !strings.Contains(s, `"must_pass_failed":["mfa"]`) || !strings.Contains(s, `"score":91`) {
			t.Fatalf("submitted details %s", s)
		}
		for _, e := range entries {
			if s := e.Details.String(); strings.Contains(s, "mailer.example") || strings.Contains(s, "30 days") {
				t.Fatalf("personal data or answers in the audit log: %s", s)
			}
		}

		// The address is sealed at rest, and opened only with an entry first.
		var sealed []byte
		if err := store.QueryRow(`SELECT contact_sealed FROM vendor_assessments WHERE id = $1`, a.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(contactEmail)) || bytes.Contains(sealed, []byte("mailer.example")) {
			t.Fatal("the contact's address is stored in plaintext")
		}
		if email, err := f.s.Contact(as(officer), a.ID); err != nil || email != contactEmail {
			t.Fatalf("Contact = %q, %v", email, err)
		}
		if entries := f.MustAudit(t, "mailer"); entries[len(entries)-1].Action != "vendor.assessment_contact_revealed" {
			t.Fatalf("no entry for opening the address: %v", actions(entries))
		}
		if _, err := f.s.Contact(as(officer), "vas_doesnotexist00000"); code(err) != errs.CodeNotFound {
			t.Fatalf("Contact(missing) = %v", err)
		}
	})
}

func TestSendRefusesBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		cases := []struct {
			name      string
			vendor    string
			template  string
			email     string
			expiresIn time.Duration
			code      errs.Code
			field     string
		}{
			{"not an email", "mailer", assurance.SecurityBaseline, "security at mailer", 0, errs.CodeInvalid, "contact_email"},
			{"a display name", "mailer", assurance.SecurityBaseline, "Sec <security@mailer.example>", 0, errs.CodeInvalid, "contact_email"},
			{"a link for a minute", "mailer", assurance.SecurityBaseline, contactEmail, time.Minute, errs.CodeInvalid, "expires_in"},
			{"a link for a year", "mailer", assurance.SecurityBaseline, contactEmail, 365 * 24 * time.Hour, errs.CodeInvalid, "expires_in"},
			{"a negative lifetime", "mailer", assurance.SecurityBaseline, contactEmail, -time.Hour, errs.CodeInvalid, "expires_in"},
			{"an unknown vendor", "nobody", assurance.SecurityBaseline, contactEmail, 0, errs.CodeNotFound, ""},
			{"an unknown template", "mailer", "nothing-here", contactEmail, 0, errs.CodeNotFound, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.s.Send(as(officer), c.vendor, c.template, c.email, c.expiresIn)
				e, ok := errs.As(err)
				if !ok || e.Code != c.code || (c.field != "" && e.Fields[c.field] == "") {
					t.Fatalf("Send = %v, want %s %s", err, c.code, c.field)
				}
			})
		}
		var n int
		store.QueryRow(`SELECT count(*) FROM vendor_assessments`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d assessments sent from bad input", n)
		}
		sent, err := f.s.Send(as(officer), "mailer", assurance.SecurityBaseline, contactEmail, 2*time.Hour)
		if err != nil || !sent.Assessment.LinkExpiresAt.Equal(start.Add(2*time.Hour)) {
			t.Fatalf("a two-hour link: %+v, %v", sent.Assessment, err)
		}
	})
}

func TestLinks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		unknown := strings.Repeat("A", 43)
		cases := []struct {
			name  string
			token func(t *testing.T) string
			code  errs.Code
			says  string
		}{
			{"an unknown token", func(t *testing.T) string { return unknown }, errs.CodeUnauthorized, "not valid"},
			{"a malformed token", func(t *testing.T) string { return "../../admin" }, errs.CodeUnauthorized, "not valid"},
			{"an empty token", func(t *testing.T) string { return "" }, errs.CodeUnauthorized, "not valid"},
			{"a token one character short", func(t *testing.T) string { return f.MustSend(t, "mailer").Token[1:] }, errs.CodeUnauthorized, "not valid"},
			{"an expired link", func(t *testing.T) string {
				sent, err := f.s.Send(as(officer), "mailer", assurance.SecurityBaseline, contactEmail, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				f.clock.add(time.Hour)
				return sent.Token
			}, errs.CodeUnauthorized, "expired on"},
			{"a withdrawn link", func(t *testing.T) string {
				sent := f.MustSend(t, "mailer")
				if _, err := f.s.Revoke(as(officer), sent.Assessment.ID, "Sent to the wrong address."); err != nil {
					t.Fatal(err)
				}
				return sent.Token
			}, errs.CodeUnauthorized, "withdrawn"},
			{"a submitted questionnaire", func(t *testing.T) string {
				sent := f.MustSend(t, "mailer")
				if _, err := f.s.SaveAnswers(ctx, sent.Token, passing(t), true); err != nil {
					t.Fatal(err)
				}
				return sent.Token
			}, errs.CodeConflict, "submitted on"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				token := c.token(t)
				_, err := f.s.ByToken(ctx, token)
				if code(err) != c.code || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "mailer") {
					t.Fatalf("ByToken = %v, want %s saying %q", err, c.code, c.says)
				}
				_, err = f.s.SaveAnswers(ctx, token, map[string]string{"mfa": "yes"}, false)
				if code(err) != c.code {
					t.Fatalf("SaveAnswers = %v, want %s", err, c.code)
				}
			})
		}

		// One vendor's link reaches its own assessment only.
		ours, theirs := f.MustSend(t, "mailer"), f.MustSend(t, "adnet")
		if _, err := f.s.SaveAnswers(ctx, theirs.Token, map[string]string{"mfa": "no"}, false); err != nil {
			t.Fatal(err)
		}
		q, err := f.s.SaveAnswers(ctx, ours.Token, map[string]string{"mfa": "yes"}, false)
		if err != nil || q.AssessmentID != ours.Assessment.ID || q.VendorKey != "mailer" {
			t.Fatalf("our save = %+v, %v", q, err)
		}
		if q, err := f.s.ByToken(ctx, theirs.Token); err != nil || q.VendorKey != "adnet" || q.Answers["mfa"] != "no" {
			t.Fatalf("their questionnaire changed: %+v, %v", q, err)
		}
		if _, err := f.s.SaveAnswers(ctx, ours.Token, passing(t), true); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.s.Get(ctx, theirs.Assessment.ID); got.State != assurance.StateSent || got.AnswersVersion != 1 {
			t.Fatalf("their assessment after our submission: %+v", got)
		}
	})
}

func TestSaveAnswersRefusesBadAnswers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		sent := f.MustSend(t, "mailer")
		cases := []struct {
			name    string
			answers map[string]string
			submit  bool
			field   string
		}{
			{"an unknown question", map[string]string{"favourite_colour": "blue"}, false, "answers.favourite_colour"},
			{"maybe for yes or no", map[string]string{"mfa": "maybe"}, false, "answers.mfa"},
			{"a choice that is not offered", map[string]string{"breach_notice": "Within a week"}, false, "answers.breach_notice"},
			{"a script for a file", map[string]string{"certification_evidence": "javascript:alert(1)"}, false, "answers.certification_evidence"},
			{"a plain http link", map[string]string{"certification_evidence": "http://vendor.example/iso.pdf"}, false, "answers.certification_evidence"},
			{"a scheme for a document id", map[string]string{"certification_evidence": "javascript:void"}, false, "answers.certification_evidence"},
			{"an https link with markup", map[string]string{"certification_evidence": `https://vendor.example/"><script>`}, false, "answers.certification_evidence"},
			{"a file reference on two lines", map[string]string{"subprocessor_list": "doc-1\ndoc-2"}, false, "answers.subprocessor_list"},
			{"a text too long", map[string]string{"retention": strings.Repeat("x", 4001)}, false, "answers.retention"},
			{"submitting with a question unanswered", func() map[string]string {
				a := passing(t)
				delete(a, "backups")
				return a
			}(), true, "answers.backups"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.s.SaveAnswers(ctx, sent.Token, c.answers, c.submit)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
					t.Fatalf("SaveAnswers = %v, want a problem with %s", err, c.field)
				}
			})
		}
		got, _ := f.s.Get(ctx, sent.Assessment.ID)
		if got.AnswersVersion != 0 || got.State != assurance.StateSent {
			t.Fatalf("bad answers were saved: %+v", got)
		}
		// Text and file references may stay empty on submission: they fail.
		answers := passing(t)
		delete(answers, "retention")
		answers["certification_evidence"] = "DOC-2026/iso27001#p2"
		if _, err := f.s.SaveAnswers(ctx, sent.Token, answers, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.s.Get(ctx, sent.Assessment.ID); !slices.Equal(got.Score.Failed, []string{"retention"}) || got.Score.Percent != 96 || !got.Score.Passed {
			t.Fatalf("score %+v", got.Score)
		}
	})
}

func TestReview(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		submitted := func(t *testing.T, answers map[string]string) string {
			t.Helper()
			sent := f.MustSend(t, "mailer")
			if _, err := f.s.SaveAnswers(ctx, sent.Token, answers, true); err != nil {
				t.Fatal(err)
			}
			return sent.Assessment.ID
		}
		failing := passing(t)
		failing["encryption_in_transit"] = "no"
		const comments = "Read their SOC 2 Type II report."
		cases := []struct {
			name     string
			id       func(t *testing.T) string
			actor    audit.Actor
			approve  bool
			comments string
			code     errs.Code
			state    assurance.State
		}{
			{"approve a pass", func(t *testing.T) string { return submitted(t, passing(t)) }, officer, true, comments, "", assurance.StateApproved},
			{"reject a pass", func(t *testing.T) string { return submitted(t, passing(t)) }, officer, false, "Their sub-processor is not acceptable.", "", assurance.StateRejected},
			{"reject a failure", func(t *testing.T) string { return submitted(t, failing) }, officer, false, "No TLS on the internal network.", "", assurance.StateRejected},
			{"approve a failure", func(t *testing.T) string { return submitted(t, failing) }, officer, true, comments, errs.CodeConflict, assurance.StateSubmitted},
			{"without comments", func(t *testing.T) string { return submitted(t, passing(t)) }, officer, true, "  ", errs.CodeInvalid, assurance.StateSubmitted},
			{"by the system", func(t *testing.T) string { return submitted(t, passing(t)) }, audit.System(), true, comments, errs.CodeForbidden, assurance.StateSubmitted},
			{"by an API key", func(t *testing.T) string { return submitted(t, passing(t)) }, audit.APIKey("key_1"), true, comments, errs.CodeForbidden, assurance.StateSubmitted},
			{"before submission", func(t *testing.T) string { return f.MustSend(t, "mailer").Assessment.ID }, officer, true, comments, errs.CodeConflict, assurance.StateSent},
			{"twice", func(t *testing.T) string {
				id := submitted(t, passing(t))
				if _, err := f.s.Review(as(other), id, false, "Not now."); err != nil {
					t.Fatal(err)
				}
				return id
			}, officer, true, comments, errs.CodeConflict, assurance.StateRejected},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := c.id(t)
				a, err := f.s.Review(as(c.actor), id, c.approve, c.comments)
				if code(err) != c.code {
					t.Fatalf("Review = %+v, %v; want %q", a, err, c.code)
				}
				got, _ := f.s.Get(ctx, id)
				if got.State != c.state {
					t.Fatalf("state %s, want %s", got.State, c.state)
				}
				if c.code != "" {
					return
				}
				if got.ReviewedBy != c.actor || got.ReviewedAt == nil || got.ReviewComments != strings.TrimSpace(c.comments) || got.Version != 3 {
					t.Fatalf("reviewed %+v", got)
				}
				if c.approve != (got.ValidUntil != nil) || (c.approve && !got.ValidUntil.Equal(start.AddDate(1, 0, 0))) {
					t.Fatalf("valid until %v", got.ValidUntil)
				}
			})
		}
		if _, err := f.s.Review(as(officer), "vas_doesnotexist00000", true, comments); code(err) != errs.CodeNotFound {
			t.Fatalf("Review(missing) = %v", err)
		}
		entries := f.MustAudit(t, "mailer")
		var approved, rejected int
		for _, e := range entries {
			switch e.Action {
			case "vendor.assessment_approved":
				approved++
				if !strings.Contains(e.Details.String(), `"valid_until":"2027-03-02T09:00:00Z"`) || e.Actor != officer {
					t.Errorf("approval entry %+v", e)
				}
			case "vendor.assessment_rejected":
				rejected++
			}
			if strings.Contains(e.Details.String(), "SOC 2") || strings.Contains(e.Details.String(), "TLS") {
				t.Errorf("the officer's comments are in the audit log: %s", e.Details)
			}
		}
		if approved != 1 || rejected != 3 {
			t.Fatalf("%d approvals, %d rejections in the audit log", approved, rejected)
		}

		// Revoking is for links still out.
		id := submitted(t, passing(t))
		if _, err := f.s.Revoke(as(officer), id, "Leaked."); code(err) != errs.CodeConflict {
			t.Fatalf("Revoke(submitted) = %v", err)
		}
		if _, err := f.s.Revoke(as(officer), f.MustSend(t, "mailer").Assessment.ID, ""); code(err) != errs.CodeInvalid {
			t.Fatalf("Revoke without a reason = %v", err)
		}
	})
}

func TestValidMonths(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		box := &plainBox{}
		s, err := assurance.NewService(assurance.Config{DB: store, Audit: f.log, Secrets: box, Catalog: f.catalog, Now: f.clock.now, ValidMonths: 6})
		if err != nil {
			t.Fatal(err)
		}
		sent, err := s.Send(as(officer), "mailer", assurance.SecurityBaseline, contactEmail, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveAnswers(context.Background(), sent.Token, passing(t), true); err != nil {
			t.Fatal(err)
		}
		a, err := s.Review(as(officer), sent.Assessment.ID, true, "ok")
		if err != nil || !a.ValidUntil.Equal(start.AddDate(0, 6, 0)) {
			t.Fatalf("approved %+v, %v", a, err)
		}
		for _, months := range []int{-1, 37} {
			if _, err := assurance.NewService(assurance.Config{DB: store, Audit: f.log, Secrets: box, Catalog: f.catalog, ValidMonths: months}); err == nil {
				t.Errorf("ValidMonths %d accepted", months)
			}
		}
	})
}

// plainBox is a SecretBox that does not encrypt, for tests about other things.
type plainBox struct{}

func (plainBox) Seal(_ context.Context, plaintext, _ []byte) ([]byte, error) { return plaintext, nil }
func (plainBox) Open(_ context.Context, sealed, _ []byte) ([]byte, error)    { return sealed, nil }

func TestAssurance(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		submit := func(t *testing.T, key string, answers map[string]string) assurance.Sent {
			sent := f.MustSend(t, key)
			if _, err := f.s.SaveAnswers(ctx, sent.Token, answers, true); err != nil {
				t.Fatal(err)
			}
			return sent
		}
		cases := []struct {
			name    string
			setup   func(t *testing.T, key string)
			passing bool
			status  assurance.Status
			reason  string
		}{
			{"no assessment", func(t *testing.T, key string) {}, false, assurance.StatusNone, "no assessment"},
			{"pending", func(t *testing.T, key string) { f.MustSend(t, key) }, false, assurance.StatusPending, "sent on 20"},
			{"link expired unanswered", func(t *testing.T, key string) {
				if _, err := f.s.Send(as(officer), key, assurance.SecurityBaseline, contactEmail, time.Hour); err != nil {
					t.Fatal(err)
				}
				f.clock.add(2 * time.Hour)
			}, false, assurance.StatusLinkExpired, "was not submitted before its link expired"},
			{"awaiting review", func(t *testing.T, key string) { submit(t, key, passing(t)) }, false, assurance.StatusAwaitingReview, "awaits review"},
			{"rejected", func(t *testing.T, key string) {
				sent := submit(t, key, passing(t))
				if _, err := f.s.Review(as(officer), sent.Assessment.ID, false, "no"); err != nil {
					t.Fatal(err)
				}
			}, false, assurance.StatusRejected, "was rejected on"},
			{"withdrawn", func(t *testing.T, key string) {
				sent := f.MustSend(t, key)
				if _, err := f.s.Revoke(as(officer), sent.Assessment.ID, "wrong person"); err != nil {
					t.Fatal(err)
				}
			}, false, assurance.StatusRevoked, "was withdrawn on"},
			{"passing", func(t *testing.T, key string) { f.MustApprove(t, key) }, true, assurance.StatusCurrent, "valid until"},
			{"passing while a new one is pending", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				f.MustSend(t, key)
			}, true, assurance.StatusCurrent, "valid until"},
			{"a rejection after an approval leaves the approval", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				sent := submit(t, key, passing(t))
				if _, err := f.s.Review(as(officer), sent.Assessment.ID, false, "scope unclear"); err != nil {
					t.Fatal(err)
				}
			}, true, assurance.StatusCurrent, "valid until"},
			{"expired", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				f.clock.add(366 * 24 * time.Hour)
			}, false, assurance.StatusExpired, "expired on"},
			{"expired with a new one awaiting review", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				f.clock.add(366 * 24 * time.Hour)
				submit(t, key, passing(t))
			}, false, assurance.StatusExpired, "a new assessment (vas_"},
			{"renewed", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				f.clock.add(366 * 24 * time.Hour)
				f.MustApprove(t, key)
			}, true, assurance.StatusCurrent, "valid until"},
			{"purposes grew", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				v, _ := f.catalog.Vendor(key)
				v.Purposes = append(v.Purposes, "marketing", "ads")
				f.catalog.put(v)
			}, false, assurance.StatusPurposesGrew, "purposes grew since the assessment: ads, marketing"},
			{"categories grew", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				v, _ := f.catalog.Vendor(key)
				v.DataCategories = append(v.DataCategories, "financial")
				f.catalog.put(v)
			}, false, assurance.StatusCategoriesGrew, "data categories grew since the assessment: financial"},
			{"purposes shrank", func(t *testing.T, key string) {
				f.MustApprove(t, key)
				v, _ := f.catalog.Vendor(key)
				v.Purposes, v.DataCategories = v.Purposes[:1], nil
				f.catalog.put(v)
			}, true, assurance.StatusCurrent, "valid until"},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := "vendor-" + string(rune('a'+i))
				f.catalog.put(consent.Vendor{Key: key, Name: c.name, Purposes: []string{"analytics", "newsletter"}, DataCategories: []string{"contact"}})
				c.setup(t, key)
				got, err := f.s.Assurance(ctx, key)
				if err != nil || got.Passing != c.passing || got.Status != c.status || !strings.Contains(got.Reason, c.reason) || got.VendorKey != key {
					t.Fatalf("Assurance = %+v, %v; want %v %s %q", got, err, c.passing, c.status, c.reason)
				}
				if c.status != assurance.StatusNone && got.AssessmentID == "" {
					t.Fatalf("Assurance names no assessment: %+v", got)
				}
			})
		}
		got, err := f.s.Assurance(ctx, "nobody")
		if err != nil || got.Passing || got.Status != assurance.StatusUnknownVendor {
			t.Fatalf("Assurance(unknown) = %+v, %v", got, err)
		}
		// The shape disclosures take.
		if passing, why, err := f.s.Assured(ctx, "nobody"); err != nil || passing || !strings.Contains(why, "not in the catalog") {
			t.Fatalf("Assured(unknown) = %v %q %v", passing, why, err)
		}
		f.MustApprove(t, "mailer")
		if passing, why, err := f.s.Assured(ctx, "mailer"); err != nil || !passing || !strings.Contains(why, "valid until") {
			t.Fatalf("Assured(mailer) = %v %q %v", passing, why, err)
		}
	})
}

func TestExpiring(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		day := 24 * time.Hour
		oldMailer := f.MustApprove(t, "mailer") // valid until start + 12 months, superseded below
		f.clock.add(31 * day)
		ad := f.MustApprove(t, "adnet") // start + 13 months
		f.clock.add(31 * day)
		newMailer := f.MustApprove(t, "mailer") // start + 14 months
		if list, err := f.s.Expiring(ctx, 0); err != nil || len(list) != 0 {
			t.Fatalf("Expiring(0) = %+v, %v", list, err)
		}
		f.clock.add(start.AddDate(1, 0, 1).Sub(f.clock.now())) // the old approval of mailer has ended
		ids := func(list []assurance.Assessment) []string {
			out := []string{}
			for _, a := range list {
				out = append(out, a.ID)
			}
			return out
		}
		for _, c := range []struct {
			within time.Duration
			want   []string
		}{
			{0, []string{}},
			{20 * day, []string{}},
			{45 * day, []string{ad.ID}},
			{90 * day, []string{ad.ID, newMailer.ID}},
		} {
			list, err := f.s.Expiring(ctx, c.within)
			if err != nil || !slices.Equal(ids(list), c.want) {
				t.Errorf("Expiring(%s) = %v, %v; want %v (old %s)", c.within, ids(list), err, c.want, oldMailer.ID)
			}
		}
		if _, err := f.s.Expiring(ctx, -time.Hour); code(err) != errs.CodeInvalid {
			t.Fatalf("Expiring(negative) = %v", err)
		}
		history, err := f.s.History(ctx, "mailer")
		if err != nil || len(history) != 2 || history[0].ID != newMailer.ID || history[1].ID != oldMailer.ID {
			t.Fatalf("History = %+v, %v", history, err)
		}
	})
}

func TestTemplates(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := as(officer)
		for range 2 {
			if err := f.s.EnsureBuiltins(ctx); err != nil {
				t.Fatal(err)
			}
		}
		list, err := f.s.Templates(ctx)
		if err != nil || len(list) != 1 || list[0].Key != assurance.SecurityBaseline || list[0].Version != 1 || !list[0].Builtin {
			t.Fatalf("Templates = %+v, %v", list, err)
		}
		if _, err := f.s.PutTemplate(ctx, assurance.BuiltinTemplates()[0]); code(err) != errs.CodeInvalid {
			t.Fatalf("PutTemplate(built-in) = %v", err)
		}
		custom := scored(70)
		v1, err := f.s.PutTemplate(ctx, custom)
		if err != nil || v1.Version != 1 || v1.Builtin {
			t.Fatalf("PutTemplate = %+v, %v", v1, err)
		}
		sent, err := f.s.Send(ctx, "mailer", "small", contactEmail, 0)
		if err != nil || sent.Assessment.TemplateVersion != 1 || sent.Assessment.PassMark != 70 {
			t.Fatalf("Send(custom) = %+v, %v", sent.Assessment, err)
		}
		custom.PassMark = 90
		custom.Questions = append(slices.Clone(custom.Questions), assurance.Question{ID: "pentest", Text: "Pen tests?", Kind: assurance.KindYesNo, Weight: 5, Pass: []string{assurance.Yes}})
		v2, err := f.s.PutTemplate(ctx, custom)
		if err != nil || v2.Version != 2 {
			t.Fatalf("PutTemplate(v2) = %+v, %v", v2, err)
		}
		if latest, err := f.s.Template(ctx, "small"); err != nil || latest.Version != 2 || len(latest.Questions) != 5 {
			t.Fatalf("Template = %+v, %v", latest, err)
		}
		if old, err := f.s.TemplateVersion(ctx, "small", 1); err != nil || len(old.Questions) != 4 || old.PassMark != 70 {
			t.Fatalf("TemplateVersion(1) = %+v, %v", old, err)
		}
		// The assessment sent with version 1 keeps it.
		q, err := f.s.ByToken(context.Background(), sent.Token)
		if err != nil || len(q.Prompts) != 4 || q.TemplateName != "Small" {
			t.Fatalf("ByToken after a new version = %+v, %v", q, err)
		}
		bad := scored(70)
		bad.Key, bad.Questions[0].Weight = "bad", 0
		if _, err := f.s.PutTemplate(ctx, bad); code(err) != errs.CodeInvalid {
			t.Fatalf("PutTemplate(invalid) = %v", err)
		}
		page, err := f.log.Search(context.Background(), audit.Query{Target: audit.Target{Kind: assurance.TargetTemplate}})
		if err != nil || len(page.Entries) != 3 {
			t.Fatalf("template entries %+v, %v", page.Entries, err)
		}
	})
}

func TestFailClosedWithoutAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		toReview := f.MustSend(t, "mailer")
		if _, err := f.s.SaveAnswers(ctx, toReview.Token, passing(t), true); err != nil {
			t.Fatal(err)
		}
		toSubmit := f.MustSend(t, "mailer")
		toRevoke := f.MustSend(t, "mailer")
		if _, err := f.s.AddContact(as(officer), "mailer", "Sam Vendor", contactEmail); err != nil {
			t.Fatal(err)
		}
		count := func(query string) int {
			var n int
			if err := store.QueryRow(query).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		assessments, contacts := count(`SELECT count(*) FROM vendor_assessments`), count(`SELECT count(*) FROM vendor_contacts`)
		audittest.MakeUnwritable(t, store)

		if _, err := f.s.Send(as(officer), "mailer", assurance.SecurityBaseline, contactEmail, 0); err == nil {
			t.Fatal("sent without an audit entry")
		}
		if _, err := f.s.Review(as(officer), toReview.Assessment.ID, true, "fine"); err == nil {
			t.Fatal("approved without an audit entry")
		}
		if _, err := f.s.SaveAnswers(ctx, toSubmit.Token, passing(t), true); err == nil {
			t.Fatal("submitted without an audit entry")
		}
		if _, err := f.s.Revoke(as(officer), toRevoke.Assessment.ID, "leaked"); err == nil {
			t.Fatal("withdrawn without an audit entry")
		}
		if _, err := f.s.AddContact(as(officer), "mailer", "Kim Vendor", "kim@mailer.example"); err == nil {
			t.Fatal("contact added without an audit entry")
		}
		if list, err := f.s.RevealContacts(as(officer), "mailer"); err == nil || len(list) != 0 {
			t.Fatalf("contacts revealed without an audit entry: %+v", list)
		}
		if email, err := f.s.Contact(as(officer), toReview.Assessment.ID); err == nil || email != "" {
			t.Fatalf("address revealed without an audit entry: %q", email)
		}
		if got := count(`SELECT count(*) FROM vendor_assessments`); got != assessments {
			t.Fatalf("%d assessments, want %d", got, assessments)
		}
		if got := count(`SELECT count(*) FROM vendor_contacts`); got != contacts {
			t.Fatalf("%d contacts, want %d", got, contacts)
		}
		for id, want := range map[string]assurance.State{toReview.Assessment.ID: assurance.StateSubmitted, toSubmit.Assessment.ID: assurance.StateSent,
			toRevoke.Assessment.ID: assurance.StateSent} {
			if a, _ := f.s.Get(ctx, id); a.State != want || (id == toSubmit.Assessment.ID && a.AnswersVersion != 0) {
				t.Errorf("%s is %s (answers %d), want %s unchanged", id, a.State, a.AnswersVersion, want)
			}
		}
	})
}

func TestContacts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := as(officer)
		sam, err := f.s.AddContact(ctx, "mailer", " Sam Vendor ", contactEmail)
		if err != nil || !strings.HasPrefix(sam.ID, "vct_") || sam.Name != "" || sam.Email != "" {
			t.Fatalf("AddContact = %+v, %v", sam, err)
		}
		f.clock.add(time.Minute)
		kim, err := f.s.AddContact(ctx, "mailer", "Kim Vendor", "kim@mailer.example")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.AddContact(ctx, "adnet", "Ada Net", "ada@adnet.example"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ name, vendor, email, field string }{
			{"", "mailer", contactEmail, "name"},
			{"Sam", "mailer", "sam", "email"},
			{"Sam\nVendor", "mailer", contactEmail, "name"},
		} {
			if _, err := f.s.AddContact(ctx, c.vendor, c.name, c.email); code(err) != errs.CodeInvalid {
				t.Errorf("AddContact(%q, %q) = %v", c.name, c.email, err)
			}
		}
		if _, err := f.s.AddContact(ctx, "nobody", "Sam", contactEmail); code(err) != errs.CodeNotFound {
			t.Errorf("AddContact(unknown vendor) = %v", err)
		}

		list, err := f.s.Contacts(ctx, "mailer")
		if err != nil || len(list) != 2 || list[0].ID != sam.ID || list[1].ID != kim.ID || list[0].Name != "" || list[0].Email != "" {
			t.Fatalf("Contacts = %+v, %v", list, err)
		}
		before := len(f.MustAudit(t, "mailer"))
		list, err = f.s.RevealContacts(ctx, "mailer")
		if err != nil || len(list) != 2 || list[0].Name != "Sam Vendor" || list[0].Email != contactEmail || list[1].Email != "kim@mailer.example" {
			t.Fatalf("RevealContacts = %+v, %v", list, err)
		}
		entries := f.MustAudit(t, "mailer")
		if len(entries) != before+1 || entries[len(entries)-1].Action != "vendor.contacts_revealed" || entries[len(entries)-1].Actor != officer {
			t.Fatalf("audit %v", actions(entries))
		}

		// Names and addresses are sealed at rest.
		rows, err := store.Query(`SELECT name_sealed, email_sealed FROM vendor_contacts`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, email []byte
			if err := rows.Scan(&name, &email); err != nil {
				t.Fatal(err)
			}
			for _, plain := range []string{"Sam", "Kim", "Ada", "mailer.example", "adnet.example"} {
				if bytes.Contains(name, []byte(plain)) || bytes.Contains(email, []byte(plain)) {
					t.Fatalf("%q stored in plaintext", plain)
				}
			}
		}
		rows.Close()

		if err := f.s.RemoveContact(ctx, "adnet", sam.ID); code(err) != errs.CodeNotFound {
			t.Fatalf("RemoveContact(another vendor's) = %v", err)
		}
		if err := f.s.RemoveContact(ctx, "mailer", sam.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := f.s.Contacts(ctx, "mailer"); len(list) != 1 || list[0].ID != kim.ID {
			t.Fatalf("after removal %+v", list)
		}
		for _, e := range f.MustAudit(t, "mailer") {
			if s := e.Details.String(); strings.Contains(s, "Sam") || strings.Contains(s, "@") {
				t.Fatalf("personal data in the audit log: %s", s)
			}
		}
	})
}

func TestConcurrentSubmissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		sent := f.MustSend(t, "mailer")
		var wg sync.WaitGroup
		results := make([]error, 6)
		for i := range results {
			wg.Go(func() {
				_, results[i] = f.s.SaveAnswers(context.Background(), sent.Token, passing(t), true)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch code(err) {
			case "":
				ok++
			case errs.CodeConflict:
			default:
				t.Errorf("concurrent submission: %v", err)
			}
		}
		history, err := f.s.AnswerHistory(context.Background(), sent.Assessment.ID)
		if ok != 1 || err != nil || len(history) != 1 {
			t.Fatalf("%d submissions succeeded, %d versions saved (%v)", ok, len(history), err)
		}
		if entries := f.MustAudit(t, "mailer"); !slices.Equal(actions(entries), []string{"vendor.assessment_sent", "vendor.assessment_submitted"}) {
			t.Fatalf("audit %v", actions(entries))
		}
	})
}
