package httpsystem_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

var ada = connector.Identifiers{ExternalIDs: []string{"1001", " ", "1001"}, Emails: []string{" ada@example.org "}}

func TestAccess(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		call, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_1", ada)
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.now()
		if call.State != httpsystem.Pending || call.Connector != "crm" || call.Operation != httpsystem.Access || call.RequestID != "req_1" ||
			!strings.HasPrefix(call.ID, "whc_") || !call.AcceptedAt.Equal(now) || !call.Deadline.Equal(now.Add(72*time.Hour)) {
			t.Fatalf("Start = %+v", call)
		}
		got := f.system.received()
		if len(got) != 1 {
			t.Fatalf("the system received %d calls", len(got))
		}
		r := got[0]
		if r.Refused != nil {
			t.Fatalf("the system refused Steward's signature: %v", r.Refused)
		}
		if r.ID != call.ID || r.Type != "steward.access" || r.CallID != call.ID || r.RequestID != "req_1" ||
			!reflect.DeepEqual(r.Subject.ExternalIDs, []string{"1001"}) || !reflect.DeepEqual(r.Subject.Emails, []string{"ada@example.org"}) ||
			r.CallbackURL != "https://privacy.shop.example/v1/connectors/crm/callback/"+call.ID || !r.Deadline.Equal(call.Deadline) {
			t.Fatalf("the system received %+v", r)
		}

		again, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_1", ada)
		if err != nil || again.ID != call.ID || again.State != httpsystem.Pending {
			t.Fatalf("Start again = %+v, %v", again, err)
		}
		if n := len(f.system.received()); n != 1 {
			t.Fatalf("a second Start called the system again: %d calls", n)
		}

		f.clock.add(time.Hour)
		data := `{"profile": {"name": "Ada Lovelace", "email": "ada@example.org"}, "visits": [1, 2, 3]}`
		if err := f.callback(t, "crm", f.secret, call.ID, `{"status": "done", "data": `+data+`}`); err != nil {
			t.Fatalf("callback: %v", err)
		}
		done, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_1", ada)
		if err != nil || done.ID != call.ID || done.State != httpsystem.Done || !done.CompletedAt.Equal(f.clock.now()) ||
			!done.HasData || done.DataBytes != int64(len(data)) || done.Report != nil {
			t.Fatalf("Start after the callback = %+v, %v", done, err)
		}
		if n := len(f.system.received()); n != 1 {
			t.Fatalf("Start of a done call called the system: %d calls", n)
		}
		if table := dump(t, store); strings.Contains(table, "Lovelace") || strings.Contains(table, "ada@example.org") || strings.Contains(table, "visits") {
			t.Fatalf("the access data is stored in clear:\n%s", table)
		}
		plain, err := f.svc.Data(ctx, call.ID)
		if err != nil || string(plain) != data {
			t.Fatalf("Data = %s, %v", plain, err)
		}

		if err := f.callback(t, "crm", f.secret, call.ID, `{"status": "done", "data": {"other": true}}`); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("a second callback = %v, want conflict", err)
		}
		if plain, _ := f.svc.Data(ctx, call.ID); string(plain) != data {
			t.Fatalf("a refused callback changed the data: %s", plain)
		}

		if err := f.svc.DropData(ctx, call.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Data(ctx, call.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Data after DropData = %v", err)
		}
		if c, _ := f.svc.Call(ctx, call.ID); c.HasData || c.DataBytes != int64(len(data)) || c.State != httpsystem.Done {
			t.Fatalf("Call after DropData = %+v", c)
		}
	})
}

func TestErasure(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		call, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_2", ada)
		if err != nil {
			t.Fatal(err)
		}
		if r := f.system.received(); len(r) != 1 || r[0].Type != "steward.erasure" {
			t.Fatalf("the system received %+v", r)
		}
		report := `{"steps": [{"what": "contacts", "action": "deleted", "count": 1},
			{"what": "contacts.notes", "action": "anonymised", "count": 4},
			{"what": "invoices", "action": "kept", "count": 3, "legal_reason": "tax law, 10 years"}]}`
		if err := f.callback(t, "crm", f.secret, call.ID, `{"status": "done", "report": `+report+`}`); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Result(ctx, "crm", "req_2", httpsystem.Erasure)
		if err != nil {
			t.Fatal(err)
		}
		want := &httpsystem.ErasureReport{Steps: []httpsystem.ErasureStep{
			{What: "contacts", Action: "deleted", Count: 1},
			{What: "contacts.notes", Action: "anonymised", Count: 4},
			{What: "invoices", Action: "kept", Count: 3, LegalReason: "tax law, 10 years"},
		}}
		if got.ID != call.ID || got.State != httpsystem.Done || !reflect.DeepEqual(got.Report, want) || got.HasData {
			t.Fatalf("Result = %+v, report %+v", got, got.Report)
		}
		if _, err := f.svc.Data(ctx, call.ID); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("Data of an erasure = %v", err)
		}
		if _, err := f.svc.Result(ctx, "crm", "req_2", httpsystem.Access); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Result of an operation never called = %v", err)
		}
		again, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_2", ada)
		if err != nil || again.ID != call.ID || again.State != httpsystem.Done || len(f.system.received()) != 1 {
			t.Fatalf("Start of a done erasure = %+v, %v (%d calls)", again, err, len(f.system.received()))
		}
	})
}

func TestCallbackRefused(t *testing.T) {
	const maxBytes = 4096
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store, func(c *httpsystem.Config) { c.MaxCallbackBytes = maxBytes })
		access, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_1", ada)
		if err != nil {
			t.Fatal(err)
		}
		erasure, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_1", ada)
		if err != nil {
			t.Fatal(err)
		}
		billingSecret := f.env["BILLING_WEBHOOK_SECRET"]
		cases := []struct {
			name, connector, secret, call, body string
			edit                                func(http.Header)
			want                                errs.Code
		}{
			{name: "wrong secret", connector: "crm", secret: httpsystem.GenerateSecret(), call: access.ID,
				body: `{"status": "done", "data": {}}`, want: errs.CodeUnauthorized},
			{name: "another connector's secret", connector: "crm", secret: billingSecret, call: access.ID,
				body: `{"status": "done", "data": {}}`, want: errs.CodeUnauthorized},
			{name: "unsigned", connector: "crm", secret: f.secret, call: access.ID, body: `{"status": "done", "data": {}}`,
				edit: func(h http.Header) { h.Del("webhook-signature") }, want: errs.CodeUnauthorized},
			{name: "signed an hour ago", connector: "crm", secret: f.secret, call: access.ID, body: `{"status": "done", "data": {}}`,
				edit: func(h http.Header) { h.Set("webhook-timestamp", "1795852800") }, want: errs.CodeUnauthorized},
			{name: "unknown call", connector: "crm", secret: f.secret, call: "whc_unknown", body: `{"status": "done", "data": {}}`,
				want: errs.CodeNotFound},
			{name: "another connector's call", connector: "billing", secret: billingSecret, call: access.ID,
				body: `{"status": "done", "data": {}}`, want: errs.CodeNotFound},
			{name: "unknown connector", connector: "shop", secret: f.secret, call: access.ID, body: `{"status": "done", "data": {}}`,
				want: errs.CodeNotFound},
			{name: "too big", connector: "crm", secret: f.secret, call: access.ID,
				body: `{"status": "done", "data": "` + strings.Repeat("x", maxBytes) + `"}`, want: errs.CodeInvalid},
			{name: "not JSON", connector: "crm", secret: f.secret, call: access.ID, body: `status=done`, want: errs.CodeInvalid},
			{name: "two JSON values", connector: "crm", secret: f.secret, call: access.ID, body: `{"status": "done", "data": {}} {}`, want: errs.CodeInvalid},
			{name: "unknown status", connector: "crm", secret: f.secret, call: access.ID, body: `{"status": "ok", "data": {}}`, want: errs.CodeInvalid},
			{name: "unknown key", connector: "crm", secret: f.secret, call: access.ID, body: `{"status": "done", "data": {}, "email": "ada@example.org"}`,
				want: errs.CodeInvalid},
			{name: "access without data", connector: "crm", secret: f.secret, call: access.ID, body: `{"status": "done"}`, want: errs.CodeInvalid},
			{name: "access with a report", connector: "crm", secret: f.secret, call: access.ID,
				body: `{"status": "done", "report": {"steps": []}}`, want: errs.CodeInvalid},
			{name: "erasure without report", connector: "crm", secret: f.secret, call: erasure.ID, body: `{"status": "done"}`, want: errs.CodeInvalid},
			{name: "erasure with data", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "data": {"email": "ada@example.org"}, "report": {"steps": []}}`, want: errs.CodeInvalid},
			{name: "a value in the report", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "report": {"steps": [{"what": "ada@example.org", "action": "deleted", "count": 1}]}}`, want: errs.CodeInvalid},
			{name: "a value beside the counts", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "report": {"steps": [{"what": "contacts", "action": "deleted", "count": 1, "value": "Ada"}]}}`, want: errs.CodeInvalid},
			{name: "kept without reason", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "report": {"steps": [{"what": "invoices", "action": "kept", "count": 3}]}}`, want: errs.CodeInvalid},
			{name: "unknown action", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "report": {"steps": [{"what": "contacts", "action": "shredded", "count": 1}]}}`, want: errs.CodeInvalid},
			{name: "negative count", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "report": {"steps": [{"what": "contacts", "action": "deleted", "count": -1}]}}`, want: errs.CodeInvalid},
			{name: "reason with done", connector: "crm", secret: f.secret, call: erasure.ID,
				body: `{"status": "done", "reason": "x", "report": {"steps": []}}`, want: errs.CodeInvalid},
		}
		before := dump(t, store)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var edit []func(http.Header)
				if c.edit != nil {
					edit = append(edit, c.edit)
				}
				err := f.callback(t, c.connector, c.secret, c.call, c.body, edit...)
				if !errs.Is(err, c.want) {
					t.Fatalf("callback = %v, want %s", err, c.want)
				}
				if after := dump(t, store); after != before {
					t.Fatalf("a refused callback changed the calls:\n%s\nbefore:\n%s", after, before)
				}
			})
		}
		for _, call := range []httpsystem.Call{access, erasure} {
			if c, err := f.svc.Call(ctx, call.ID); err != nil || c.State != httpsystem.Pending {
				t.Fatalf("Call after the refusals = %+v, %v", c, err)
			}
		}
	})
}

func TestDelivery(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		box := newBox(t, store)

		t.Run("the system refuses a wrong secret", func(t *testing.T) {
			f := newFixture(t, store, withBox(box))
			f.env["CRM_WEBHOOK_SECRET"] = httpsystem.GenerateSecret() // Steward's copy differs from the system's
			_, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_secret", ada)
			if !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("Start = %v, want invalid", err)
			}
			got := f.system.received()
			if len(got) != 1 || !errors.Is(got[0].Refused, httpsystem.ErrSignature) {
				t.Fatalf("the system received %+v", got)
			}
			last, err := f.svc.Result(ctx, "crm", "req_secret", httpsystem.Access)
			if err != nil || last.State != httpsystem.Failed || !strings.Contains(last.Failure, "401") {
				t.Fatalf("Result = %+v, %v", last, err)
			}
		})

		t.Run("a 5xx is temporary and the same call is delivered again", func(t *testing.T) {
			f := newFixture(t, store, withBox(box))
			f.system.answer(http.StatusServiceUnavailable)
			if _, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_5xx", ada); !errs.Is(err, errs.CodeUnavailable) {
				t.Fatalf("Start = %v, want unavailable", err)
			}
			pending, err := f.svc.Result(ctx, "crm", "req_5xx", httpsystem.Erasure)
			if err != nil || pending.State != httpsystem.Pending || !pending.AcceptedAt.IsZero() {
				t.Fatalf("Result after a 503 = %+v, %v", pending, err)
			}
			f.clock.add(time.Minute)
			f.system.answer(http.StatusAccepted)
			call, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_5xx", ada)
			if err != nil || call.ID != pending.ID || call.State != httpsystem.Pending || !call.AcceptedAt.Equal(f.clock.now()) ||
				!call.Deadline.Equal(f.clock.now().Add(72*time.Hour)) {
				t.Fatalf("Start after the outage = %+v, %v", call, err)
			}
			got := f.system.received()
			if len(got) != 2 || got[0].ID != call.ID || got[1].ID != call.ID || got[1].Refused != nil {
				t.Fatalf("the system received %+v", got)
			}
			if _, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_5xx", ada); err != nil || len(f.system.received()) != 2 {
				t.Fatalf("Start of an accepted call delivered it again: %v", err)
			}
		})

		statuses := []struct {
			status int
			want   errs.Code
			failed bool
		}{
			{http.StatusOK, "", false},
			{http.StatusInternalServerError, errs.CodeUnavailable, false},
			{http.StatusTooManyRequests, errs.CodeUnavailable, false},
			{http.StatusBadRequest, errs.CodeInvalid, true},
			{http.StatusGone, errs.CodeInvalid, true},
			{http.StatusConflict, errs.CodeConflict, true},
		}
		for _, c := range statuses {
			t.Run(http.StatusText(c.status), func(t *testing.T) {
				f := newFixture(t, store, withBox(box))
				request := "req_" + strconv.Itoa(c.status)
				f.system.answer(c.status)
				call, err := f.svc.Start(ctx, f.crm, httpsystem.Access, request, ada)
				if c.want == "" {
					if err != nil || call.State != httpsystem.Pending || call.AcceptedAt.IsZero() {
						t.Fatalf("Start = %+v, %v", call, err)
					}
					return
				}
				if !errs.Is(err, c.want) {
					t.Fatalf("Start = %v, want %s", err, c.want)
				}
				last, err := f.svc.Result(ctx, "crm", request, httpsystem.Access)
				if err != nil || (last.State == httpsystem.Failed) != c.failed {
					t.Fatalf("Result = %+v, %v", last, err)
				}
				if !c.failed {
					return
				}
				// The failure was the error; the next Start calls anew.
				f.system.answer(http.StatusAccepted)
				next, err := f.svc.Start(ctx, f.crm, httpsystem.Access, request, ada)
				if err != nil || next.ID == last.ID || next.State != httpsystem.Pending {
					t.Fatalf("Start after a refusal = %+v, %v (failed call %s)", next, err, last.ID)
				}
				if n := len(f.system.received()); n != 2 {
					t.Fatalf("the system received %d calls, want 2", n)
				}
			})
		}

		t.Run("redirects are not followed", func(t *testing.T) {
			var followed sync.Mutex
			hits := 0
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				followed.Lock()
				hits++
				followed.Unlock()
				w.WriteHeader(http.StatusAccepted)
			}))
			defer target.Close()
			redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
			defer redirect.Close()
			f := newFixture(t, store, withBox(box))
			f.crm.URL = redirect.URL
			_, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_redirect", ada)
			if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("Start = %v, want invalid (redirect)", err)
			}
			followed.Lock()
			defer followed.Unlock()
			if hits != 0 {
				t.Fatal("the redirect was followed")
			}
		})

		t.Run("a system that cannot be reached is temporary", func(t *testing.T) {
			f := newFixture(t, store, withBox(box))
			f.system.Close()
			if _, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_down", ada); !errs.Is(err, errs.CodeUnavailable) {
				t.Fatalf("Start = %v, want unavailable", err)
			}
		})

		t.Run("a system that does not answer in time is temporary", func(t *testing.T) {
			release := make(chan struct{})
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer slow.Close()
			defer close(release)
			f := newFixture(t, store, withBox(box), func(c *httpsystem.Config) { c.RequestTimeout = 100 * time.Millisecond })
			f.crm.URL = slow.URL
			if _, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_slow", ada); !errs.Is(err, errs.CodeUnavailable) {
				t.Fatalf("Start = %v, want unavailable", err)
			}
		})
	})
}

func TestStartRefuses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		stranger := mustParse(t, "connector: stranger\nengine: http\nurl: https://x.example/\nsecret_env: CRM_WEBHOOK_SECRET\n"+
			"operations: [access, erasure]\ncategories: [contact]\n")
		cases := []struct {
			name    string
			ds      *httpsystem.Dataset
			op      httpsystem.Operation
			request string
			subject connector.Identifiers
			unset   string // an environment variable to clear
		}{
			{name: "an operation the system does not support", ds: f.billing, op: httpsystem.Erasure, request: "req_1", subject: ada},
			{name: "an unknown operation", ds: f.crm, op: "rectify", request: "req_1", subject: ada},
			{name: "no request", ds: f.crm, op: httpsystem.Access, request: " ", subject: ada},
			{name: "no identifiers", ds: f.crm, op: httpsystem.Access, request: "req_1", subject: connector.Identifiers{Emails: []string{" "}}},
			{name: "a connector the service does not know", ds: stranger, op: httpsystem.Access, request: "req_1", subject: ada},
			{name: "no secret", ds: f.crm, op: httpsystem.Access, request: "req_1", subject: ada, unset: "CRM_WEBHOOK_SECRET"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.unset != "" {
					saved := f.env[c.unset]
					delete(f.env, c.unset)
					defer func() { f.env[c.unset] = saved }()
				}
				if _, err := f.svc.Start(ctx, c.ds, c.op, c.request, c.subject); !errs.Is(err, errs.CodeInvalid) {
					t.Fatalf("Start = %v, want invalid", err)
				}
			})
		}
		if n := len(f.system.received()); n != 0 {
			t.Fatalf("refused Starts called the system %d times", n)
		}
		if table := dump(t, store); table != "" {
			t.Fatalf("refused Starts recorded calls:\n%s", table)
		}
	})
}

func TestDeadline(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		box := newBox(t, store)

		t.Run("a late callback completes a call Start has not given up on", func(t *testing.T) {
			f := newFixture(t, store, withBox(box))
			call, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_late", ada)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.add(72*time.Hour + time.Second)
			if c, _ := f.svc.Call(ctx, call.ID); c.State != httpsystem.TimedOut {
				t.Fatalf("Call past the deadline = %+v", c)
			}
			if c, _ := f.svc.Result(ctx, "crm", "req_late", httpsystem.Erasure); c.State != httpsystem.TimedOut {
				t.Fatalf("Result past the deadline = %+v", c)
			}
			if err := f.callback(t, "crm", f.secret, call.ID, `{"status": "done", "report": {"steps": []}}`); err != nil {
				t.Fatalf("late callback = %v", err)
			}
			if c, _ := f.svc.Call(ctx, call.ID); c.State != httpsystem.Done {
				t.Fatalf("Call after the late callback = %+v", c)
			}
		})

		t.Run("Start gives up on a timed-out call once, then calls anew", func(t *testing.T) {
			f := newFixture(t, store, withBox(box))
			call, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_timeout", ada)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.add(72*time.Hour + time.Second)
			timedOut, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_timeout", ada)
			if err != nil || timedOut.ID != call.ID || timedOut.State != httpsystem.TimedOut || timedOut.Failure == "" {
				t.Fatalf("Start past the deadline = %+v, %v", timedOut, err)
			}
			if n := len(f.system.received()); n != 1 {
				t.Fatalf("Start reporting a timeout called the system: %d calls", n)
			}
			if err := f.callback(t, "crm", f.secret, call.ID, `{"status": "done", "data": {}}`); !errs.Is(err, errs.CodeConflict) {
				t.Fatalf("callback after Start gave up = %v, want conflict", err)
			}
			if c, _ := f.svc.Call(ctx, call.ID); c.State != httpsystem.TimedOut {
				t.Fatalf("Call = %+v", c)
			}
			next, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_timeout", ada)
			if err != nil || next.ID == call.ID || next.State != httpsystem.Pending {
				t.Fatalf("Start after the timeout = %+v, %v", next, err)
			}
			got := f.system.received()
			if len(got) != 2 || got[1].CallID != next.ID {
				t.Fatalf("the system received %+v", got)
			}
			calls, err := f.svc.Calls(ctx, "req_timeout")
			if err != nil || len(calls) != 2 || calls[0].State != httpsystem.TimedOut || calls[1].State != httpsystem.Pending {
				t.Fatalf("Calls = %+v, %v", calls, err)
			}
		})

		t.Run("a failure the system reports is returned once", func(t *testing.T) {
			f := newFixture(t, store, withBox(box))
			call, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_failed", ada)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.callback(t, "crm", f.secret, call.ID, `{"status": "failed", "reason": "the CRM is read-only for maintenance",
				"report": {"steps": [{"what": "contacts", "action": "deleted", "count": 0}]}}`); err != nil {
				t.Fatal(err)
			}
			failed, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_failed", ada)
			if err != nil || failed.ID != call.ID || failed.State != httpsystem.Failed ||
				!strings.Contains(failed.Failure, "read-only for maintenance") || failed.Report == nil || len(failed.Report.Steps) != 1 {
				t.Fatalf("Start after a failure = %+v, %v", failed, err)
			}
			next, err := f.svc.Start(ctx, f.crm, httpsystem.Erasure, "req_failed", ada)
			if err != nil || next.ID == call.ID || next.State != httpsystem.Pending || len(f.system.received()) != 2 {
				t.Fatalf("Start after the reported failure = %+v, %v", next, err)
			}
		})
	})
}

func TestConcurrentStartsMakeOneCall(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		const n = 4
		ids := make([]string, n)
		errors := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				call, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_race", ada)
				ids[i], errors[i] = call.ID, err
			})
		}
		wg.Wait()
		for i := range n {
			if errors[i] != nil || ids[i] != ids[0] {
				t.Fatalf("Start %d = %s, %v; Start 0 = %s", i, ids[i], errors[i], ids[0])
			}
		}
		// A Start that finds the call not yet accepted delivers it too, with
		// the same webhook-id, for the system to recognise.
		for _, r := range f.system.received() {
			if r.ID != ids[0] {
				t.Fatalf("the system received another call: %+v", r)
			}
		}
		if calls, _ := f.svc.Calls(ctx, "req_race"); len(calls) != 1 {
			t.Fatalf("Calls = %+v", calls)
		}
	})
}

func TestPurgeData(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		old, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_old", ada)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.callback(t, "crm", f.secret, old.ID, `{"status": "done", "data": [1]}`); err != nil {
			t.Fatal(err)
		}
		f.clock.add(48 * time.Hour)
		recent, err := f.svc.Start(ctx, f.crm, httpsystem.Access, "req_recent", ada)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.callback(t, "crm", f.secret, recent.ID, `{"status": "done", "data": null}`); err != nil {
			t.Fatal(err)
		}
		n, err := f.svc.PurgeData(ctx, f.clock.now().Add(-24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("PurgeData = %d, %v", n, err)
		}
		if _, err := f.svc.Data(ctx, old.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Data of a purged call = %v", err)
		}
		if data, err := f.svc.Data(ctx, recent.ID); err != nil || string(data) != "null" {
			t.Fatalf("Data of a recent call = %s, %v", data, err)
		}
	})
}

func TestNewRefusesAPlainPublicURL(t *testing.T) {
	ds := mustParse(t, "connector: crm\nengine: http\nurl: https://crm.internal/\nsecret_env: S\noperations: [access, erasure]\ncategories: [contact]\n")
	cases := []struct {
		url string
		ok  bool
	}{
		{"https://privacy.shop.example", true},
		{"http://localhost:8080", true},
		{"http://0.0.0.0:8080", false},
		{"http://privacy.shop.example", false},
		{"", false},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			store := dbtest.Open(t, db.SQLite)
			_, err := httpsystem.New(httpsystem.Config{DB: store, Secrets: nopBox{}, Datasets: []*httpsystem.Dataset{ds}, PublicURL: c.url})
			if (err == nil) != c.ok {
				t.Fatalf("New(%q) = %v", c.url, err)
			}
		})
	}
}

type nopBox struct{}

func (nopBox) Seal(_ context.Context, p, _ []byte) ([]byte, error) { return p, nil }
func (nopBox) Open(_ context.Context, p, _ []byte) ([]byte, error) { return p, nil }

// fakeResolver answers every host with addr.
type fakeResolver struct{ addr netip.Addr }

func (r fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{r.addr}, nil
}

// TestCallsStayOutOfTheNetwork replays an operator's (or an attacker's
// dataset file's) URL pointing into Steward's own network: calls go
// through the same address guard as webhook deliveries, with the same
// allow-list. An address in the file is refused at start; a name that
// resolves inside the network is refused when the call dials, before any
// byte leaves.
func TestCallsStayOutOfTheNetwork(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	dataset := func(url string) *httpsystem.Dataset {
		return mustParse(t, "connector: crm\nengine: http\nurl: "+url+"\nsecret_env: S\noperations: [access]\ncategories: [contact]\nlegal_reason: kept\n")
	}
	t.Run("addresses in the file", func(t *testing.T) {
		cases := []struct {
			url   string
			allow []string
			ok    bool
		}{
			{"http://127.0.0.1:8080/steward", nil, false},
			{"http://localhost:8080/steward", nil, false},
			{"https://169.254.169.254/latest/meta-data/", nil, false},
			{"https://169.254.169.254/latest/meta-data/", []string{"169.254.169.254", "169.254.0.0/16"}, false},
			{"https://10.0.0.5/steward", nil, false},
			{"https://[fd00::5]/steward", nil, false},
			{"http://127.0.0.1:8080/steward", []string{"127.0.0.1"}, true},
			{"http://localhost:8080/steward", []string{"localhost"}, true},
			{"https://10.0.0.5/steward", []string{"10.0.0.0/8"}, true},
			{"https://93.184.215.14/steward", nil, true},
		}
		for _, c := range cases {
			_, err := httpsystem.New(httpsystem.Config{DB: store, Secrets: nopBox{}, Datasets: []*httpsystem.Dataset{dataset(c.url)},
				PublicURL: "https://privacy.shop.example", AllowHosts: c.allow})
			if (err == nil) != c.ok {
				t.Errorf("New with url %s, allowed %v = %v", c.url, c.allow, err)
			}
		}
	})
	t.Run("names that resolve inside", func(t *testing.T) {
		// The system listens on loopback; its name resolves there.
		secret := httpsystem.GenerateSecret()
		clk := &clock{t: time.Now()}
		sys := newSystem(t, secret, clk)
		port := sys.Listener.Addr().(*net.TCPAddr).Port
		env := env{"S": secret}
		for _, addr := range []string{"127.0.0.1", "10.0.0.5", "169.254.169.254", "192.168.1.1"} {
			t.Run(addr, func(t *testing.T) {
				ds := dataset(fmt.Sprintf("https://crm.internal.example:%d/steward", port))
				svc, err := httpsystem.New(httpsystem.Config{DB: store, Secrets: nopBox{}, Datasets: []*httpsystem.Dataset{ds}, Getenv: env.get,
					PublicURL: "https://privacy.shop.example", Resolver: fakeResolver{netip.MustParseAddr(addr)}, Now: clk.now})
				if err != nil {
					t.Fatal(err)
				}
				_, err = svc.Start(context.Background(), ds, httpsystem.Access, "req_"+addr, ada)
				if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "allow-lists") {
					t.Fatalf("Start = %v, want invalid: refused address", err)
				}
			})
		}
		if n := len(sys.received()); n != 0 {
			t.Fatalf("the internal system was called %d times", n)
		}
	})
}
