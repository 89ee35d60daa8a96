package httpsystem_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// helpdeskFile is an HTTP system that answers corrections, at url, signed
// with the crm's secret (the fake system holds that one).
const helpdeskFile = `connector: helpdesk
engine: http
url: %URL%/helpdesk
secret_env: HELPDESK_SECRET
operations: [access, erasure, correction]
categories: [contact, behavioural]
correctable:
  - field: contacts.phone
    category: contact
  - field: contacts.address
    category: contact
    auto_correct: true
`

// correctionFixture is the fixture with the helpdesk system beside the
// crm. Steward signs the helpdesk's calls with the crm's secret, which the
// fake system checks them against, or with another when wrongSecret.
// Fixtures on one store share box.
func correctionFixture(t *testing.T, store *db.DB, box httpsystem.SecretBox, wrongSecret bool) (*fixture, *httpsystem.Dataset) {
	t.Helper()
	var helpdesk *httpsystem.Dataset
	f := newFixture(t, store, withBox(box), func(c *httpsystem.Config) {
		helpdesk = mustParse(t, strings.ReplaceAll(helpdeskFile, "%URL%", strings.TrimSuffix(c.Datasets[0].URL, "/steward")))
		c.Datasets = append(c.Datasets, helpdesk)
		env := c.Getenv
		secret := env("CRM_WEBHOOK_SECRET")
		if wrongSecret {
			secret = httpsystem.GenerateSecret()
		}
		c.Getenv = func(name string) string {
			if name == "HELPDESK_SECRET" {
				return secret
			}
			return env(name)
		}
	})
	return f, helpdesk
}

var phone = []httpsystem.Change{{Field: "contacts.phone", Value: "+44 20 7946 0999"}, {Field: "contacts.address", Value: "12 Nowhere Lane"}}

func TestCorrect(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		box := newBox(t, store)
		t.Run("applied after a 5xx, idempotent by request", func(t *testing.T) {
			f, helpdesk := correctionFixture(t, store, box, false)
			f.system.answer(http.StatusServiceUnavailable)
			_, err := f.svc.Correct(ctx, helpdesk, "req_c1", ada, phone)
			if errs.CodeOf(err) != errs.CodeUnavailable {
				t.Fatalf("Correct while the system answers 503 = %v, want unavailable", err)
			}
			f.system.answer(http.StatusAccepted)
			call, err := f.svc.Correct(ctx, helpdesk, "req_c1", ada, phone)
			if err != nil || call.State != httpsystem.Pending || call.Operation != httpsystem.Correction || call.AcceptedAt.IsZero() {
				t.Fatalf("Correct after the 5xx = %+v, %v", call, err)
			}
			got := f.system.received()
			if len(got) != 2 || got[0].ID != got[1].ID || got[1].ID != call.ID {
				t.Fatalf("the system received %d deliveries (%+v), want the same call twice", len(got), got)
			}
			r := got[1]
			want := []httpsystem.Change{{Field: "contacts.address", Value: "12 Nowhere Lane"}, {Field: "contacts.phone", Value: "+44 20 7946 0999"}}
			if r.Refused != nil || r.Type != "steward.correction" || r.RequestID != "req_c1" || !reflect.DeepEqual(r.Changes, want) {
				t.Fatalf("the system received %+v", r)
			}
			if again, err := f.svc.Correct(ctx, helpdesk, "req_c1", ada, phone); err != nil || again.ID != call.ID || len(f.system.received()) != 2 {
				t.Fatalf("Correct of an accepted call = %+v, %v; the system got %d calls", again, err, len(f.system.received()))
			}
			if table := dump(t, store); strings.Contains(table, "7946") || strings.Contains(table, "Nowhere") {
				t.Fatalf("the new values are stored with the call:\n%s", table)
			}
			body := `{"status": "done", "report": {"steps": [{"what": "contacts.phone", "action": "corrected", "count": 1},
				{"what": "contacts.address", "action": "corrected", "count": 2}]}}`
			if err := f.callback(t, "helpdesk", f.secret, call.ID, body); err != nil {
				t.Fatalf("callback: %v", err)
			}
			done, err := f.svc.Correct(ctx, helpdesk, "req_c1", ada, phone)
			if err != nil || done.ID != call.ID || done.State != httpsystem.Done || done.Report == nil || len(done.Report.Steps) != 2 ||
				done.Report.Steps[1].Action != httpsystem.ActionCorrected || done.Report.Steps[1].Count != 2 {
				t.Fatalf("Correct after the callback = %+v (%+v), %v", done, done.Report, err)
			}
			if len(f.system.received()) != 2 {
				t.Fatal("a done correction was delivered again")
			}
		})
		t.Run("not held", func(t *testing.T) {
			f, helpdesk := correctionFixture(t, store, box, false)
			call, err := f.svc.Correct(ctx, helpdesk, "req_c2", ada, phone[:1])
			if err != nil {
				t.Fatal(err)
			}
			if err := f.callback(t, "helpdesk", f.secret, call.ID, `{"status": "done", "report": {"steps": [{"what": "contacts.phone", "action": "not_held", "count": 0}]}}`); err != nil {
				t.Fatal(err)
			}
			done, err := f.svc.Result(ctx, "helpdesk", "req_c2", httpsystem.Correction)
			if err != nil || done.State != httpsystem.Done || done.Report.Steps[0].Action != httpsystem.ActionNotHeld {
				t.Fatalf("Result = %+v, %v", done, err)
			}
		})
		t.Run("failed, then called anew", func(t *testing.T) {
			f, helpdesk := correctionFixture(t, store, box, false)
			call, err := f.svc.Correct(ctx, helpdesk, "req_c3", ada, phone[:1])
			if err != nil {
				t.Fatal(err)
			}
			if err := f.callback(t, "helpdesk", f.secret, call.ID, `{"status": "failed", "reason": "the helpdesk is read-only tonight"}`); err != nil {
				t.Fatal(err)
			}
			failed, err := f.svc.Correct(ctx, helpdesk, "req_c3", ada, phone[:1])
			if err != nil || failed.ID != call.ID || failed.State != httpsystem.Failed || !strings.Contains(failed.Failure, "read-only") {
				t.Fatalf("Correct after the failure = %+v, %v", failed, err)
			}
			again, err := f.svc.Correct(ctx, helpdesk, "req_c3", ada, phone[:1])
			if err != nil || again.ID == call.ID || again.State != httpsystem.Pending || len(f.system.received()) != 2 {
				t.Fatalf("the retry = %+v, %v (system got %d calls), want a new call", again, err, len(f.system.received()))
			}
		})
		t.Run("a bad signature is refused by the system", func(t *testing.T) {
			f, helpdesk := correctionFixture(t, store, box, true)
			_, err := f.svc.Correct(ctx, helpdesk, "req_c4", ada, phone[:1])
			got := f.system.received()
			if len(got) != 1 || got[0].Refused == nil {
				t.Fatalf("the system accepted a call signed with another secret: %+v", got)
			}
			if errs.CodeOf(err) != errs.CodeInvalid || !strings.Contains(err.Error(), "401") {
				t.Fatalf("Correct refused with 401 = %v, want invalid naming the status", err)
			}
			failed, err := f.svc.Result(ctx, "helpdesk", "req_c4", httpsystem.Correction)
			if err != nil || failed.State != httpsystem.Failed {
				t.Fatalf("Result = %+v, %v", failed, err)
			}
		})
	})
}

func TestCorrectRefuses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		box := newBox(t, store)
		f, helpdesk := correctionFixture(t, store, box, false)
		for _, tc := range []struct {
			name    string
			changes []httpsystem.Change
			field   string
		}{
			{"none", nil, "changes"},
			{"not correctable", []httpsystem.Change{{Field: "contacts.email", Value: "x"}}, "changes[0].field"},
			{"twice", []httpsystem.Change{phone[0], phone[0]}, "changes[1].field"},
			{"too long", []httpsystem.Change{{Field: "contacts.phone", Value: strings.Repeat("9", httpsystem.MaxValueBytes+1)}}, "changes[0].value"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.Correct(ctx, helpdesk, "req_r", ada, tc.changes)
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields[tc.field] == "" {
					t.Fatalf("Correct = %v, want invalid naming %s", err, tc.field)
				}
			})
		}
		if _, err := f.svc.Start(ctx, helpdesk, httpsystem.Correction, "req_r", ada); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("Start of a correction = %v, want invalid (the values are missing)", err)
		}
		if _, err := f.svc.Correct(ctx, f.crm, "req_r", ada, phone[:1]); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("Correct on a system without correction = %v, want invalid", err)
		}
		if len(f.system.received()) != 0 {
			t.Fatal("a refused correction reached the system")
		}
		call, err := f.svc.Correct(ctx, helpdesk, "req_r", ada, phone[:1])
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, body, field string }{
			{"unknown field", `{"status": "done", "report": {"steps": [{"what": "contacts.email", "action": "corrected", "count": 1}]}}`, "report.steps[0].what"},
			{"erasure action", `{"status": "done", "report": {"steps": [{"what": "contacts.phone", "action": "deleted", "count": 1}]}}`, "report.steps[0].action"},
			{"no report", `{"status": "done"}`, "report"},
			{"data", `{"status": "done", "data": {"phone": "+44"}}`, "data"},
			{"a value beside the count", `{"status": "done", "report": {"steps": [{"what": "contacts.phone", "action": "corrected", "count": 1, "value": "+44"}]}}`, "body"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.callback(t, "helpdesk", f.secret, call.ID, tc.body)
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields[tc.field] == "" {
					t.Fatalf("callback = %v, want invalid naming %s", err, tc.field)
				}
			})
		}
		if c, err := f.svc.Call(ctx, call.ID); err != nil || c.State != httpsystem.Pending {
			t.Fatalf("after refused callbacks the call is %+v, %v; want pending", c, err)
		}
	})
}
