package dsr_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

const (
	adaEmail = "Ada.Lovelace@Shop.Example"
	bobEmail = "bob@shop.example"
)

func TestFileAndFind(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := as(customer)
		f := newFixture(t, store)
		ada := f.MustHash(t, adaEmail)
		r, err := f.s.File(ctx, dsr.NewRequest{Kind: dsr.KindRectification, Regime: dsr.GDPR, Email: " " + adaEmail + " ",
			EmailHash: ada, Details: "My street is Nightingale Lane 12, not 21."})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.ID, "req_") || len(r.ID) != 20 || r.State != dsr.StateReceived || r.Version != 1 ||
			!r.ReceivedAt.Equal(start) || !r.DueAt.Equal(utcDay(2026, 4, 2)) || r.AcknowledgeBy != nil || !r.HasDetails || r.SubjectID != "" {
			t.Fatalf("filed %+v", r)
		}
		got, err := f.s.Get(ctx, r.ID)
		if err != nil || got.ID != r.ID || !got.DueAt.Equal(r.DueAt) || !bytes.Equal(got.EmailHash, ada) || !got.HasDetails {
			t.Fatalf("Get = %+v, %v", got, err)
		}

		// The requester finds it; anyone else gets the answer of a request
		// that does not exist.
		if mine, err := f.s.ForRequester(ctx, f.MustHash(t, "ADA.LOVELACE@shop.example"), r.ID); err != nil || mine.ID != r.ID {
			t.Fatalf("ForRequester(own) = %+v, %v", mine, err)
		}
		bob := f.MustHash(t, bobEmail)
		_, other := f.s.ForRequester(ctx, bob, r.ID)
		_, missing := f.s.ForRequester(ctx, ada, "req_doesnotexist0000")
		if !errs.Is(other, errs.CodeNotFound) || !errs.Is(missing, errs.CodeNotFound) ||
			other.Error() != strings.ReplaceAll(missing.Error(), "req_doesnotexist0000", r.ID) {
			t.Fatalf("another's request: %v; a missing one: %v", other, missing)
		}
		if _, err := f.s.ForRequester(ctx, nil, r.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("no hash: %v", err)
		}

		f.clock.add(time.Hour)
		second := f.MustFile(t, dsr.KindAccess, dsr.CCPA, adaEmail, "")
		f.MustFile(t, dsr.KindErasure, dsr.GDPR, bobEmail, "")
		list, err := f.s.ListForRequester(ctx, ada)
		if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != r.ID {
			t.Fatalf("ListForRequester(ada) = %+v, %v", list, err)
		}
		if second.AcknowledgeBy == nil || !second.AcknowledgeBy.Equal(utcDay(2026, 3, 16)) {
			t.Fatalf("CCPA acknowledgement deadline %v", second.AcknowledgeBy)
		}
		if list, _ := f.s.ListForRequester(ctx, nil); len(list) != 0 {
			t.Fatalf("ListForRequester(nil) = %+v", list)
		}

		// Opening the sealed values is audited, first.
		staff := as(officer)
		if email, err := f.s.Contact(staff, r.ID); err != nil || email != adaEmail {
			t.Fatalf("Contact = %q, %v", email, err)
		}
		if details, err := f.s.Details(staff, r.ID); err != nil || details != "My street is Nightingale Lane 12, not 21." {
			t.Fatalf("Details = %q, %v", details, err)
		}
		if details, err := f.s.Details(staff, second.ID); err != nil || details != "" {
			t.Fatalf("Details of a request without = %q, %v", details, err)
		}
		entries := f.MustAudit(t, r.ID)
		if len(entries) != 3 || entries[0].Action != "dsr.file" || entries[0].Actor != customer ||
			entries[1].Action != "dsr.reveal" || entries[1].Actor != officer || entries[1].Details.String() != `{"field":"email"}` ||
			entries[2].Details.String() != `{"field":"details"}` {
			t.Fatalf("audit entries %+v", entries)
		}
		if _, err := f.s.Contact(staff, "req_doesnotexist0000"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Contact(missing) = %v", err)
		}
	})
}

func TestFileRefusesBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		hash := f.MustHash(t, adaEmail)
		ok := dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.GDPR, Email: adaEmail, EmailHash: hash}
		cases := []struct {
			name  string
			edit  func(*dsr.NewRequest)
			field string
		}{
			{"unknown kind", func(n *dsr.NewRequest) { n.Kind = "sale" }, "kind"},
			{"unknown regime", func(n *dsr.NewRequest) { n.Regime = "lgpd" }, "regime"},
			{"not an email", func(n *dsr.NewRequest) { n.Email = "ada at shop" }, "email"},
			{"a display name", func(n *dsr.NewRequest) { n.Email = "Ada <ada@shop.example>" }, "email"},
			{"no email hash", func(n *dsr.NewRequest) { n.EmailHash = nil }, "email_hash"},
			{"details on an access request", func(n *dsr.NewRequest) { n.Details = "everything please" }, "details"},
			{"a rectification without details", func(n *dsr.NewRequest) { n.Kind = dsr.KindRectification; n.Details = "  " }, "details"},
			{"details too long", func(n *dsr.NewRequest) { n.Kind = dsr.KindObjection; n.Details = strings.Repeat("é", 4001) }, "details"},
			{"a subject id that is an email", func(n *dsr.NewRequest) { n.SubjectID = "ada@shop.example" }, "subject_id"},
			{"a subject id with spaces", func(n *dsr.NewRequest) { n.SubjectID = "cust 42" }, "subject_id"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				in := ok
				c.edit(&in)
				_, err := f.s.File(as(customer), in)
				e, isErr := errs.As(err)
				if !isErr || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
					t.Fatalf("File = %v, want a problem with %s", err, c.field)
				}
			})
		}
		var n int
		store.QueryRow(`SELECT count(*) FROM dsr_requests`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d requests filed from bad input", n)
		}
		// An objection may come with its grounds, or without.
		for _, details := range []string{"", "I object to profiling for advertising."} {
			if _, err := f.s.File(as(customer), dsr.NewRequest{Kind: dsr.KindObjection, Regime: dsr.GDPR, Email: adaEmail, EmailHash: hash, Details: details}); err != nil {
				t.Fatalf("objection with details %q: %v", details, err)
			}
		}
	})
}

// op is a change, with the states it is allowed from and the state it
// leads to ("" keeps the state).
type op struct {
	name   string
	action string
	from   []dsr.State
	to     dsr.State
	actor  audit.Actor
	do     func(ctx context.Context, f *fixture, id string) (dsr.Request, error)
}

var (
	pending = []dsr.State{dsr.StateReceived, dsr.StateVerified, dsr.StateWaitingForCustomer}
	ops     = []op{
		{"verify", "verify", []dsr.State{dsr.StateReceived}, dsr.StateVerified, officer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) { return f.s.Verify(ctx, id) }},
		{"start", "start", []dsr.State{dsr.StateVerified}, dsr.StateInProgress, officer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) { return f.s.Start(ctx, id) }},
		{"ask", "ask_customer", []dsr.State{dsr.StateReceived, dsr.StateVerified, dsr.StateInProgress}, dsr.StateWaitingForCustomer, officer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.AskCustomer(ctx, id, "Which of your two accounts do you mean?")
			}},
		// The requests the matrix asks were asked while received.
		{"reply", "customer_replied", []dsr.State{dsr.StateWaitingForCustomer}, dsr.StateReceived, customer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.CustomerReplied(ctx, id)
			}},
		{"complete", "complete", []dsr.State{dsr.StateInProgress}, dsr.StateCompleted, audit.System(),
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.Complete(ctx, id, "exp_7Hq2")
			}},
		{"reject", "reject", dsr.OpenStates, dsr.StateRejected, officer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.Reject(ctx, id, "We hold no data about this address.")
			}},
		{"cancel", "cancel", pending, dsr.StateCancelled, customer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.Cancel(ctx, f.ada, id)
			}},
		{"extend", "extend", dsr.OpenStates, "", officer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.Extend(ctx, id, "Twelve systems to search, two of them archived.")
			}},
		{"attach", "attach_subject", dsr.OpenStates, "", officer,
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.AttachSubject(ctx, id, "cust-42")
			}},
		{"waiting on", "waiting_on", dsr.OpenStates, "", audit.System(),
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) {
				return f.s.SetWaitingOn(ctx, id, "system shop-db")
			}},
		// A request asked a question is acknowledged already.
		{"acknowledge", "acknowledge", []dsr.State{dsr.StateReceived, dsr.StateVerified, dsr.StateInProgress}, "", audit.System(),
			func(ctx context.Context, f *fixture, id string) (dsr.Request, error) { return f.s.Acknowledge(ctx, id) }},
	}
	// paths lead a new request to each state.
	paths = map[dsr.State][]string{
		dsr.StateReceived:           nil,
		dsr.StateVerified:           {"verify"},
		dsr.StateInProgress:         {"verify", "start"},
		dsr.StateWaitingForCustomer: {"ask"},
		dsr.StateCompleted:          {"verify", "start", "complete"},
		dsr.StateRejected:           {"reject"},
		dsr.StateCancelled:          {"cancel"},
	}
)

func opNamed(name string) op {
	for _, o := range ops {
		if o.name == name {
			return o
		}
	}
	panic("no op " + name)
}

// reach files a request and moves it to state.
func (f *fixture) reach(t *testing.T, state dsr.State) dsr.Request {
	t.Helper()
	r := f.MustFile(t, dsr.KindAccess, dsr.GDPR, adaEmail, "")
	for _, name := range paths[state] {
		o := opNamed(name)
		var err error
		if r, err = o.do(as(o.actor), f, r.ID); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if r.State != state {
		t.Fatalf("reached %s, want %s", r.State, state)
	}
	return r
}

// TestTransitionMatrix tries every change from every state: allowed ones
// move the request and leave a history event and an audit entry naming the
// actor; the others are refused with a conflict naming the current state,
// and change nothing.
func TestTransitionMatrix(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		for _, o := range ops {
			for _, state := range dsr.States {
				t.Run(o.name+" from "+string(state), func(t *testing.T) {
					before := f.reach(t, state)
					history := f.MustHistory(t, before.ID)
					entries := f.MustAudit(t, before.ID)
					after, err := o.do(as(o.actor), f, before.ID)
					if !slices.Contains(o.from, state) {
						named := strings.Contains(err.Error(), "it is "+strings.ReplaceAll(string(state), "_", " ")) ||
							o.name == "acknowledge" && strings.Contains(err.Error(), "already acknowledged") // asking acknowledged it
						if !errs.Is(err, errs.CodeConflict) || !named {
							t.Fatalf("%s from %s = %v, want a conflict naming the state", o.name, state, err)
						}
						now, _ := f.s.Get(context.Background(), before.ID)
						if now.Version != before.Version || now.State != state || len(f.MustHistory(t, before.ID)) != len(history) ||
							len(f.MustAudit(t, before.ID)) != len(entries) {
							t.Fatalf("a refused change changed the request: %+v", now)
						}
						return
					}
					if err != nil {
						t.Fatalf("%s from %s: %v", o.name, state, err)
					}
					want := o.to
					if want == "" {
						want = state
					}
					if after.State != want || after.Version != before.Version+1 || !after.UpdatedAt.Equal(f.clock.now()) {
						t.Fatalf("after %s: %+v", o.name, after)
					}
					if stored, _ := f.s.Get(context.Background(), before.ID); stored.State != want || stored.Version != after.Version {
						t.Fatalf("stored after %s: %+v", o.name, stored)
					}
					h := f.MustHistory(t, before.ID)
					last := h[len(h)-1]
					if len(h) != len(history)+1 || last.Action != o.action || last.From != state || last.To != want ||
						last.Actor != o.actor || last.Version != after.Version {
						t.Fatalf("history after %s: %+v", o.name, last)
					}
					a := f.MustAudit(t, before.ID)
					entry := a[len(a)-1]
					facts := entry.Details.Map()
					if len(a) != len(entries)+1 || entry.Action != "dsr."+o.action || entry.Actor != o.actor ||
						facts["from"] != string(state) || facts["to"] != string(want) || facts["kind"] != "access" {
						t.Fatalf("audit after %s: %+v", o.name, entry)
					}
					if last.Note != "" && strings.Contains(entry.Details.String(), last.Note) {
						t.Fatalf("the audit entry holds the note: %s", entry.Details)
					}
					if !want.Open() && (after.ClosedAt == nil || after.WaitingOn != "" || after.Question != "") {
						t.Fatalf("closed request %+v", after)
					}
				})
			}
		}
	})
}

func TestWorkflowDetails(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		staff := as(officer)
		r := f.MustFile(t, dsr.KindExport, dsr.CCPA, adaEmail, "")
		steps := []struct {
			name string
			do   func() (dsr.Request, error)
			want dsr.State
		}{
			{"verify", func() (dsr.Request, error) { return f.s.Verify(staff, r.ID) }, dsr.StateVerified},
			{"start", func() (dsr.Request, error) { return f.s.Start(staff, r.ID) }, dsr.StateInProgress},
			{"ask while working", func() (dsr.Request, error) { return f.s.AskCustomer(staff, r.ID, "  Which store account?  ") }, dsr.StateWaitingForCustomer},
			{"reply returns to work", func() (dsr.Request, error) { return f.s.CustomerReplied(as(customer), r.ID) }, dsr.StateInProgress},
			{"attach", func() (dsr.Request, error) { return f.s.AttachSubject(staff, r.ID, "cust-41") }, dsr.StateInProgress},
			{"attach the right one", func() (dsr.Request, error) { return f.s.AttachSubject(staff, r.ID, "cust-42") }, dsr.StateInProgress},
			{"waiting on", func() (dsr.Request, error) { return f.s.SetWaitingOn(as(audit.System()), r.ID, "system shop-db") }, dsr.StateInProgress},
			{"complete", func() (dsr.Request, error) { return f.s.Complete(as(audit.System()), r.ID, "exp_7Hq2") }, dsr.StateCompleted},
		}
		for _, step := range steps {
			f.clock.add(time.Hour)
			got, err := step.do()
			if err != nil || got.State != step.want {
				t.Fatalf("%s: %+v, %v", step.name, got, err)
			}
			if step.name == "ask while working" && (got.Question != "Which store account?" || got.AcknowledgedAt == nil) {
				t.Fatalf("asked: %+v", got)
			}
			if step.name == "reply returns to work" && got.Question != "" {
				t.Fatalf("question kept after the reply: %q", got.Question)
			}
			if step.name == "waiting on" && got.WaitingOn != "system shop-db" {
				t.Fatalf("waiting on %q", got.WaitingOn)
			}
			r = got
		}
		if r.SubjectID != "cust-42" || r.ResultRef != "exp_7Hq2" || r.WaitingOn != "" || r.ClosedAt == nil || !r.ClosedAt.Equal(f.clock.now()) {
			t.Fatalf("completed %+v", r)
		}
		h := f.MustHistory(t, r.ID)
		var actions []string
		for _, e := range h {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, " ") != "file verify start ask_customer customer_replied attach_subject attach_subject waiting_on complete" {
			t.Fatalf("history %v", actions)
		}
		if h[0].Deadline == nil || !h[0].Deadline.Equal(r.DueAt) || h[0].From != "" || h[0].Actor != customer ||
			h[3].Note != "Which store account?" || h[6].Ref != "cust-42" || h[8].Ref != "exp_7Hq2" {
			t.Fatalf("history %+v", h)
		}
		a := f.MustAudit(t, r.ID)
		if a[6].Details.Map()["previous_subject"] != "cust-41" || a[6].Details.Map()["subject"] != "cust-42" {
			t.Fatalf("attach audit %s", a[6].Details)
		}
		for _, e := range a {
			if strings.Contains(e.Details.String(), "store account") {
				t.Fatalf("a question reached the audit log: %s", e.Details)
			}
		}

		// Refusals that are not about the state.
		other := f.MustFile(t, dsr.KindAccess, dsr.GDPR, bobEmail, "")
		cases := []struct {
			name string
			do   func() (dsr.Request, error)
			code errs.Code
		}{
			{"a question is required", func() (dsr.Request, error) { return f.s.AskCustomer(staff, other.ID, " ") }, errs.CodeInvalid},
			{"a reason is required", func() (dsr.Request, error) { return f.s.Reject(staff, other.ID, "") }, errs.CodeInvalid},
			{"a long reason", func() (dsr.Request, error) { return f.s.Extend(staff, other.ID, strings.Repeat("x", 2001)) }, errs.CodeInvalid},
			{"a bad result ref", func() (dsr.Request, error) { return f.s.Complete(staff, other.ID, "exp 1; drop") }, errs.CodeInvalid},
			{"an email in waiting on", func() (dsr.Request, error) { return f.s.SetWaitingOn(staff, other.ID, "reply from bob@shop.example") }, errs.CodeInvalid},
			{"two lines in waiting on", func() (dsr.Request, error) { return f.s.SetWaitingOn(staff, other.ID, "shop-db\nbilling") }, errs.CodeInvalid},
			{"an email as subject", func() (dsr.Request, error) { return f.s.AttachSubject(staff, other.ID, "bob@shop.example") }, errs.CodeInvalid},
			{"the same subject twice", func() (dsr.Request, error) {
				if _, err := f.s.AttachSubject(staff, other.ID, "cust-7"); err != nil {
					return dsr.Request{}, err
				}
				return f.s.AttachSubject(staff, other.ID, "cust-7")
			}, errs.CodeConflict},
			{"acknowledged twice", func() (dsr.Request, error) {
				if _, err := f.s.Acknowledge(staff, other.ID); err != nil {
					return dsr.Request{}, err
				}
				return f.s.Acknowledge(staff, other.ID)
			}, errs.CodeConflict},
			{"a missing request", func() (dsr.Request, error) { return f.s.Verify(staff, "req_doesnotexist0000") }, errs.CodeNotFound},
			{"cancel another's request", func() (dsr.Request, error) { return f.s.Cancel(as(customer), f.MustHash(t, adaEmail), other.ID) }, errs.CodeNotFound},
			{"cancel without a hash", func() (dsr.Request, error) { return f.s.Cancel(as(customer), nil, other.ID) }, errs.CodeNotFound},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := c.do(); !errs.Is(err, c.code) {
					t.Fatalf("= %v, want %s", err, c.code)
				}
			})
		}
		if got, _ := f.s.Get(context.Background(), other.ID); got.State != dsr.StateReceived {
			t.Fatalf("refusals changed the state: %+v", got)
		}
	})
}

func TestExtend(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		staff := as(officer)
		// GDPR, received 31 January: due 28 February, extended to 30 April.
		f.clock.set(time.Date(2026, 1, 31, 16, 0, 0, 0, time.UTC))
		r := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		if !r.DueAt.Equal(utcDay(2026, 2, 28)) {
			t.Fatalf("due %v", r.DueAt)
		}
		f.clock.set(r.DueAt) // the last instant is still in time
		ext, err := f.s.Extend(staff, r.ID, "Backups in three systems")
		if err != nil {
			t.Fatal(err)
		}
		if ext.State != dsr.StateReceived || !ext.Extended() || !ext.ExtendedUntil.Equal(utcDay(2026, 4, 30)) ||
			!ext.Deadline().Equal(utcDay(2026, 4, 30)) || !ext.DueAt.Equal(r.DueAt) || ext.ExtensionReason != "Backups in three systems" {
			t.Fatalf("extended %+v", ext)
		}
		h := f.MustHistory(t, r.ID)
		last := h[len(h)-1]
		if last.Action != "extend" || last.Note != "Backups in three systems" || last.Deadline == nil || !last.Deadline.Equal(*ext.ExtendedUntil) ||
			last.From != dsr.StateReceived || last.To != dsr.StateReceived {
			t.Fatalf("history %+v", last)
		}
		if _, err := f.s.Extend(staff, r.ID, "again"); !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "once") {
			t.Fatalf("second extension: %v", err)
		}

		// Too late: past the original deadline.
		f.clock.set(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
		late := f.MustFile(t, dsr.KindAccess, dsr.GDPR, adaEmail, "")
		f.clock.set(late.DueAt.Add(time.Microsecond))
		if _, err := f.s.Extend(staff, late.ID, "forgot"); !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "before the deadline") {
			t.Fatalf("late extension: %v", err)
		}

		// CCPA: 45 + 45 days; an opt-out cannot be extended.
		f.clock.set(time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC))
		ccpa := f.MustFile(t, dsr.KindAccess, dsr.CCPA, adaEmail, "")
		if ext, err := f.s.Extend(staff, ccpa.ID, "Complex"); err != nil || !ext.ExtendedUntil.Equal(utcDay(2026, 4, 2)) {
			t.Fatalf("CCPA extension %+v, %v", ext, err)
		}
		optOut := f.MustFile(t, dsr.KindObjection, dsr.CCPA, adaEmail, "")
		if _, err := f.s.Extend(staff, optOut.ID, "Complex"); !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "no extension") {
			t.Fatalf("opt-out extension: %v", err)
		}
	})
}

// TestFailClosed: with the audit log unwritable, nothing changes.
func TestFailClosed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		r := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")
		audittest.MakeUnwritable(t, store)
		staff := as(officer)
		for _, o := range ops {
			if !slices.Contains(o.from, dsr.StateReceived) {
				continue
			}
			if _, err := o.do(as(o.actor), f, r.ID); err == nil {
				t.Fatalf("%s succeeded without its audit entry", o.name)
			}
		}
		got, err := f.s.Get(staff, r.ID)
		if err != nil || got.Version != 1 || got.State != dsr.StateReceived || got.SubjectID != "" || got.ExtendedUntil != nil ||
			got.AcknowledgedAt != nil || got.WaitingOn != "" {
			t.Fatalf("request after refused changes: %+v, %v", got, err)
		}
		if h := f.MustHistory(t, r.ID); len(h) != 1 {
			t.Fatalf("history after refused changes: %+v", h)
		}
		if email, err := f.s.Contact(staff, r.ID); err == nil || email != "" {
			t.Fatalf("Contact without its audit entry = %q, %v", email, err)
		}
		if _, err := f.s.File(as(customer), dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.GDPR, Email: bobEmail, EmailHash: f.MustHash(t, bobEmail)}); err == nil {
			t.Fatal("filed without an audit entry")
		}
		var n int
		store.QueryRow(`SELECT count(*) FROM dsr_requests`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d requests, want the first only", n)
		}
	})
}

func TestFileTx(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		// A deadlock (sealing inside the caller's transaction) fails here
		// rather than hanging.
		ctx, cancel := context.WithTimeout(as(customer), 30*time.Second)
		defer cancel()
		in := dsr.NewRequest{Kind: dsr.KindExport, Regime: dsr.GDPR, Email: adaEmail, EmailHash: f.MustHash(t, adaEmail)}
		p, err := f.s.Prepare(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var filed dsr.Request
		err = store.Tx(ctx, func(tx *sql.Tx) error {
			if filed, err = f.s.FileTx(ctx, tx, p); err != nil {
				return err
			}
			// The portal's job, in the same transaction.
			_, err := tx.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ($1, $2)`, "job-for-"+filed.ID, 1)
			return err
		})
		if err != nil || filed.ID != p.ID() {
			t.Fatalf("FileTx = %+v, %v", filed, err)
		}
		if _, err := f.s.Get(ctx, p.ID()); err != nil {
			t.Fatal(err)
		}
		if err := store.Tx(ctx, func(tx *sql.Tx) error { _, err := f.s.FileTx(ctx, tx, p); return err }); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("filed twice: %v", err)
		}

		// The caller's rollback takes the request and its audit entry with it.
		p2, err := f.s.Prepare(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		full := errors.New("job queue full")
		err = store.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := f.s.FileTx(ctx, tx, p2); err != nil {
				return err
			}
			return full
		})
		if !errors.Is(err, full) {
			t.Fatalf("Tx = %v", err)
		}
		if _, err := f.s.Get(ctx, p2.ID()); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("rolled back request: %v", err)
		}
		if a := f.MustAudit(t, p2.ID()); len(a) != 0 {
			t.Fatalf("rolled back request left audit entries %+v", a)
		}
	})
}

func TestConcurrentChangesOneWins(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		for round := range 3 {
			r := f.MustFile(t, dsr.KindAccess, dsr.GDPR, adaEmail, "")
			var wg sync.WaitGroup
			results := make([]error, 4)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i%2 == 0 {
						_, results[i] = f.s.Extend(as(officer), r.ID, fmt.Sprintf("reason %d", i))
					} else {
						_, results[i] = f.s.Verify(as(officer), r.ID)
					}
				}()
			}
			wg.Wait()
			var extended, verified int
			for i, err := range results {
				switch {
				case err == nil && i%2 == 0:
					extended++
				case err == nil:
					verified++
				case !errs.Is(err, errs.CodeConflict):
					t.Fatalf("round %d: %v", round, err)
				}
			}
			got, _ := f.s.Get(context.Background(), r.ID)
			if extended != 1 || verified != 1 || got.Version != 3 || len(f.MustHistory(t, r.ID)) != 3 {
				t.Fatalf("round %d: %d extensions and %d verifications succeeded; %+v", round, extended, verified, got)
			}
		}
	})
}

func TestQueueAndReminders(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		staff := as(officer)
		// All received Monday 2 March 2026.
		access := f.MustFile(t, dsr.KindAccess, dsr.GDPR, adaEmail, "")         // due 2 April
		optOut := f.MustFile(t, dsr.KindObjection, dsr.CCPA, bobEmail, "")      // due 23 March
		erasure := f.MustFile(t, dsr.KindErasure, dsr.GDPR, adaEmail, "")       // extended to 2 June
		ccpa := f.MustFile(t, dsr.KindAccess, dsr.CCPA, "cy@shop.example", "")  // acknowledge by 16 March, due 16 April
		done := f.MustFile(t, dsr.KindExport, dsr.GDPR, "dee@shop.example", "") // completed
		for _, step := range []func() (dsr.Request, error){
			func() (dsr.Request, error) { return f.s.Extend(staff, erasure.ID, "Archived backups") },
			func() (dsr.Request, error) { return f.s.Verify(staff, erasure.ID) },
			func() (dsr.Request, error) { return f.s.Start(staff, erasure.ID) },
			func() (dsr.Request, error) { return f.s.Verify(staff, done.ID) },
			func() (dsr.Request, error) { return f.s.Start(staff, done.ID) },
			func() (dsr.Request, error) { return f.s.Complete(staff, done.ID, "exp_1") },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(q []dsr.Queued) string {
			var out []string
			for _, item := range q {
				flag := ""
				if item.AtRisk {
					flag += "!"
				}
				if item.Overdue {
					flag += "overdue"
				}
				out = append(out, map[string]string{access.ID: "access", optOut.ID: "opt-out", erasure.ID: "erasure", ccpa.ID: "ccpa", done.ID: "done"}[item.Request.ID]+flag)
			}
			return strings.Join(out, " ")
		}
		queue := func(filter dsr.QueueFilter) string {
			t.Helper()
			q, err := f.s.Queue(staff, filter)
			if err != nil {
				t.Fatal(err)
			}
			return ids(q)
		}
		cases := []struct {
			name   string
			now    time.Time
			filter dsr.QueueFilter
			want   string
		}{
			{"on receipt", start, dsr.QueueFilter{}, "opt-out access ccpa erasure"},
			{"a week before the opt-out", time.Date(2026, 3, 16, 23, 59, 59, 999999000, time.UTC), dsr.QueueFilter{}, "opt-out! access ccpa erasure"},
			{"acknowledgement late", time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC), dsr.QueueFilter{}, "opt-out! access ccpa! erasure"},
			{"opt-out overdue", time.Date(2026, 3, 24, 0, 0, 0, 0, time.UTC), dsr.QueueFilter{}, "opt-out!overdue access ccpa! erasure"},
			{"by state", start, dsr.QueueFilter{States: []dsr.State{dsr.StateInProgress}}, "erasure"},
			{"by kind", start, dsr.QueueFilter{Kinds: []dsr.Kind{dsr.KindAccess, dsr.KindObjection}}, "opt-out access ccpa"},
			{"by state and kind", start, dsr.QueueFilter{States: []dsr.State{dsr.StateReceived}, Kinds: []dsr.Kind{dsr.KindAccess}}, "access ccpa"},
			{"limited", start, dsr.QueueFilter{Limit: 2}, "opt-out access"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f.clock.set(c.now)
				if got := queue(c.filter); got != c.want {
					t.Fatalf("queue = %q, want %q", got, c.want)
				}
			})
		}
		for _, bad := range []dsr.QueueFilter{{States: []dsr.State{dsr.StateCompleted}}, {Kinds: []dsr.Kind{"sale"}}, {Limit: 1001}} {
			if _, err := f.s.Queue(staff, bad); !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("Queue(%+v) = %v", bad, err)
			}
		}

		// Reminders: at risk or overdue, at most once per interval.
		tuesday := time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)
		reminders := func(now time.Time) string {
			t.Helper()
			q, err := f.s.DueReminders(context.Background(), now)
			if err != nil {
				t.Fatal(err)
			}
			return ids(q)
		}
		if got := reminders(start); got != "" {
			t.Fatalf("reminders on receipt: %q", got)
		}
		if got := reminders(tuesday); got != "opt-out! ccpa!" {
			t.Fatalf("reminders = %q", got)
		}
		f.clock.set(tuesday)
		if err := f.s.MarkReminded(context.Background(), optOut.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.s.Get(staff, optOut.ID); got.LastRemindedAt == nil || !got.LastRemindedAt.Equal(tuesday) || got.Version != 1 {
			t.Fatalf("reminded %+v", got)
		}
		if got := reminders(tuesday.Add(6 * time.Hour)); got != "ccpa!" {
			t.Fatalf("reminders six hours later = %q", got)
		}
		if got := reminders(tuesday.Add(24 * time.Hour)); got != "opt-out! ccpa!" {
			t.Fatalf("reminders a day later = %q", got)
		}
		if _, err := f.s.Acknowledge(staff, ccpa.ID); err != nil {
			t.Fatal(err)
		}
		if got := reminders(tuesday.Add(24 * time.Hour)); got != "opt-out!" {
			t.Fatalf("reminders once acknowledged = %q", got)
		}
		if err := f.s.MarkReminded(context.Background(), "req_doesnotexist0000"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("MarkReminded(missing) = %v", err)
		}
	})
}

// TestNoPlaintextAtRest dumps every table (and, for SQLite, the database
// files) and looks for the requester's email and details.
func TestNoPlaintextAtRest(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		const email = "Zelda.Quux@Hyrule.Example"
		const details = "Please correct my address to 7 Nightingale Lane, Kakariko"
		r := f.MustFile(t, dsr.KindRectification, dsr.GDPR, email, details)
		staff := as(officer)
		for _, step := range []func() (dsr.Request, error){
			func() (dsr.Request, error) { return f.s.AskCustomer(staff, r.ID, "Please send proof of your address") },
			func() (dsr.Request, error) { return f.s.CustomerReplied(staff, r.ID) },
			func() (dsr.Request, error) { return f.s.Verify(staff, r.ID) },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := f.s.Contact(staff, r.ID); err != nil || got != email {
			t.Fatalf("Contact = %q, %v", got, err)
		}
		if got, err := f.s.Details(staff, r.ID); err != nil || got != details {
			t.Fatalf("Details = %q, %v", got, err)
		}
		needles := []string{"zelda", "quux", "hyrule", "nightingale", "kakariko"}

		var tables []string
		query := `SELECT name FROM sqlite_master WHERE type = 'table'`
		if store.Dialect == db.Postgres {
			query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
		}
		rows, err := store.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			rows.Scan(&name)
			tables = append(tables, name)
		}
		rows.Close()
		if !slices.Contains(tables, "dsr_requests") || !slices.Contains(tables, "dsr_events") || !slices.Contains(tables, "audit_entries") {
			t.Fatalf("tables %v", tables)
		}
		var cells int
		for _, table := range tables {
			rows, err := store.QueryContext(ctx, `SELECT * FROM `+table)
			if err != nil {
				t.Fatal(err)
			}
			columns, _ := rows.Columns()
			for rows.Next() {
				values := make([]any, len(columns))
				pointers := make([]any, len(columns))
				for i := range values {
					pointers[i] = &values[i]
				}
				if err := rows.Scan(pointers...); err != nil {
					t.Fatal(err)
				}
				for i, v := range values {
					cells++
					text := strings.ToLower(fmt.Sprintf("%s", v))
					for _, needle := range needles {
						if strings.Contains(text, needle) {
							t.Errorf("%s.%s holds %q in plaintext", table, columns[i], needle)
						}
					}
				}
			}
			rows.Close()
		}
		if cells < 50 {
			t.Fatalf("only %d cells dumped", cells)
		}
		if store.Dialect == db.SQLite {
			path := strings.TrimPrefix(store.Location, "sqlite:")
			for _, file := range []string{path, path + "-wal"} {
				raw, err := os.ReadFile(file)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, needle := range needles {
					if bytes.Contains(bytes.ToLower(raw), []byte(needle)) {
						t.Errorf("%s holds %q", file, needle)
					}
				}
			}
		}
	})
}
