package review_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	store   *db.DB
	log     *audit.Log
	staff   *staff.Service
	reviews *review.Service
	clock   *clock
	sent    []review.Reminder
	failing bool
}

const password = "correct horse battery staple"

func newFixture(t *testing.T, store *db.DB, start time.Time) *fixture {
	t.Helper()
	f := &fixture{store: store, clock: &clock{t: start}}
	v := vaulttest.Open(t, store)
	box, err := v.SecretBox("staff-totp")
	if err != nil {
		t.Fatal(err)
	}
	if f.log, err = audit.New(audit.Config{DB: store, Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	if f.staff, err = staff.NewService(staff.Config{DB: store, Secrets: box, Audit: f.log, Now: f.clock.now,
		Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	if f.reviews, err = review.New(review.Config{DB: store, Audit: f.log, Staff: f.staff, Now: f.clock.now,
		Remind: func(_ context.Context, to staff.Account, r review.Reminder) error {
			if f.failing {
				return errors.New("smtp down")
			}
			if to.Role != staff.RoleAdmin || r.To != to.ID {
				t.Errorf("reminder %+v went to %s (%s)", r, to.ID, to.Role)
			}
			f.sent = append(f.sent, r)
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) account(t *testing.T, name string, role staff.Role) staff.Account {
	t.Helper()
	c, err := f.staff.Create(context.Background(), audit.System(), staff.NewAccount{Email: name + "@shop.example", Name: name, Role: role, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return c.Account
}

// auditCount counts the entries of action in the log, read back through
// the log's own search.
func auditCount(t *testing.T, log *audit.Log, q audit.Query) int {
	t.Helper()
	q.Limit = audit.MaxPage
	page, err := log.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Entries)
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

func TestReviewFromOpenToClosed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store, time.Date(2027, 2, 10, 9, 0, 0, 0, time.UTC))
		ada := f.account(t, "ada", staff.RoleAdmin)
		bob := f.account(t, "bob", staff.RolePrivacyOfficer)
		cyd := f.account(t, "cyd", staff.RoleSupport)
		old := f.account(t, "old", staff.RoleSupport)
		if err := f.staff.Disable(ctx, audit.System(), old.ID); err != nil {
			t.Fatal(err)
		}
		by := audit.Staff(ada.ID)

		_, err := f.reviews.Open(ctx, by, "2027-Q2")
		wantCode(t, err, errs.CodeInvalid) // not begun
		_, err = f.reviews.Open(ctx, by, "2027-1")
		wantCode(t, err, errs.CodeInvalid)

		r, err := f.reviews.Open(ctx, by, "2027-Q1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Accounts != 3 {
			t.Fatalf("review lists %d accounts, want the 3 enabled ones", r.Accounts)
		}
		_, err = f.reviews.Open(ctx, by, "2027-Q1")
		wantCode(t, err, errs.CodeConflict)

		// One's own role is not one's own to change.
		wantCode(t, f.reviews.Decide(ctx, by, r.ID, ada.ID, review.Decision{Kind: review.Changed, Role: staff.RoleAnalyst}), errs.CodeInvalid)
		wantCode(t, f.reviews.Decide(ctx, by, r.ID, bob.ID, review.Decision{Kind: review.Changed, Role: staff.RolePrivacyOfficer}), errs.CodeInvalid)
		wantCode(t, f.reviews.Decide(ctx, by, r.ID, old.ID, review.Decision{Kind: review.Confirmed}), errs.CodeNotFound)
		wantCode(t, f.reviews.Decide(ctx, by, r.ID, bob.ID, review.Decision{Kind: "approve"}), errs.CodeInvalid)

		if err := f.reviews.Decide(ctx, by, r.ID, ada.ID, review.Decision{Kind: review.Confirmed}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.reviews.Decide(ctx, by, r.ID, ada.ID, review.Decision{Kind: review.Confirmed}), errs.CodeConflict)
		if err := f.reviews.Decide(ctx, by, r.ID, bob.ID, review.Decision{Kind: review.Changed, Role: staff.RoleAnalyst}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.reviews.Close(ctx, by, r.ID), errs.CodeConflict) // cyd waits

		// An account made while the review is open joins it.
		dan := f.account(t, "dan", staff.RoleAnalyst)
		if err := f.reviews.Decide(ctx, by, r.ID, cyd.ID, review.Decision{Kind: review.Disabled}); err != nil {
			t.Fatal(err)
		}
		got, err := f.reviews.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Accounts != 4 || got.Pending() != 1 {
			t.Fatalf("review has %d accounts, %d pending; want dan to have joined", got.Accounts, got.Pending())
		}
		wantCode(t, f.reviews.Close(ctx, by, r.ID), errs.CodeConflict)
		if err := f.reviews.Decide(ctx, by, r.ID, dan.ID, review.Decision{Kind: review.Confirmed}); err != nil {
			t.Fatal(err)
		}
		if err := f.reviews.Close(ctx, by, r.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.reviews.Close(ctx, by, r.ID), errs.CodeConflict)
		wantCode(t, f.reviews.Decide(ctx, by, r.ID, dan.ID, review.Decision{Kind: review.Disabled}), errs.CodeConflict)

		// The role change and the disabling went through the staff service.
		if a, _ := f.staff.Get(ctx, bob.ID); a.Role != staff.RoleAnalyst {
			t.Fatalf("bob is %s, want analyst", a.Role)
		}
		if a, _ := f.staff.Get(ctx, cyd.ID); !a.Disabled {
			t.Fatal("cyd is not disabled")
		}
		got, err = f.reviews.ByQuarter(ctx, "2027-Q1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Closed() || got.ClosedBy != by.String() {
			t.Fatalf("review %+v is not closed by ada", got)
		}
		decisions := map[string]string{}
		for _, it := range got.Items {
			decisions[it.Name] = it.Decision
		}
		want := map[string]string{"ada": review.Confirmed, "bob": review.Changed, "cyd": review.Disabled, "dan": review.Confirmed}
		for name, d := range want {
			if decisions[name] != d {
				t.Errorf("%s: decision %q, want %q", name, decisions[name], d)
			}
		}

		// Every decision is an audit entry, by the administrator.
		for _, c := range []struct {
			action string
			target string
			n      int
		}{
			{review.ActionOpen, "", 1},
			{review.ActionConfirm, "", 2},
			{review.ActionChange, bob.ID, 1},
			{"staff.role", bob.ID, 1},
			{review.ActionDisable, cyd.ID, 1},
			{"staff.disable", cyd.ID, 1},
			{review.ActionClose, "", 1},
		} {
			q := audit.Query{Action: c.action, Actor: by}
			if c.target != "" {
				q.Target = audit.Target{Kind: audit.KindStaff, ID: c.target}
			}
			if n := auditCount(t, f.log, q); n != c.n {
				t.Errorf("%s %s: %d entries by ada, want %d", c.action, c.target, n, c.n)
			}
		}
		page, err := f.log.Search(ctx, audit.Query{Action: review.ActionConfirm, Target: audit.Target{Kind: audit.KindStaff, ID: ada.ID}})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Details.Map()["self"] != true {
			t.Fatalf("ada's confirmation of herself does not say so: %+v %v", page.Entries, err)
		}

		sc, err := f.reviews.Schedule(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Due.String() != "2027-Q2" || !sc.DueBy.Equal(time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)) || sc.Overdue != nil {
			t.Fatalf("schedule %+v: want 2027-Q2 due by 1 July, nothing overdue", sc)
		}
	})
}

func TestReminders(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store, time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC))
		ada := f.account(t, "ada", staff.RoleAdmin)
		f.account(t, "eve", staff.RoleAdmin)
		f.account(t, "bob", staff.RolePrivacyOfficer)

		// Early in the quarter: nothing to say (the quarter before had no
		// staff yet).
		sent, err := f.reviews.Remind(ctx)
		if err != nil || len(sent) != 0 {
			t.Fatalf("reminded %v (%v) on 5 January", sent, err)
		}
		// 30 days before the quarter ends: each administrator, once.
		f.clock.set(time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC))
		if sent, err = f.reviews.Remind(ctx); err != nil || len(sent) != 2 {
			t.Fatalf("reminded %v (%v), want both administrators", sent, err)
		}
		for _, r := range sent {
			if r.Quarter != "2027-Q1" || r.Mark != review.MarkDue || !r.DueBy.Equal(time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("reminder %+v", r)
			}
		}
		if sent, err = f.reviews.Remind(ctx); err != nil || len(sent) != 0 {
			t.Fatalf("reminded again: %v (%v)", sent, err)
		}
		// The quarter ends unreviewed: overdue, and a failed send is sent by
		// the next run.
		f.clock.set(time.Date(2027, 4, 2, 0, 0, 0, 0, time.UTC))
		f.failing = true
		if _, err = f.reviews.Remind(ctx); err == nil {
			t.Fatal("a failed send is not an error")
		}
		f.failing = false
		if sent, err = f.reviews.Remind(ctx); err != nil || len(sent) != 2 || sent[0].Mark != review.MarkOverdue || sent[0].Quarter != "2027-Q1" {
			t.Fatalf("overdue reminders %v (%v)", sent, err)
		}
		if n := auditCount(t, f.log, audit.Query{Action: review.ActionRemind}); n != 4 {
			t.Fatalf("%d reminders in the audit log, want 4", n)
		}
		sc, err := f.reviews.Schedule(ctx)
		if err != nil || sc.Overdue == nil || sc.Overdue.String() != "2027-Q1" || sc.Due.String() != "2027-Q2" {
			t.Fatalf("schedule %+v (%v)", sc, err)
		}

		// A closed review of the quarter stops its reminders.
		by := audit.Staff(ada.ID)
		f.clock.set(time.Date(2027, 6, 5, 0, 0, 0, 0, time.UTC))
		r, err := f.reviews.Open(ctx, by, "2027-Q2")
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range r.Items {
			if err := f.reviews.Decide(ctx, by, r.ID, it.StaffID, review.Decision{Kind: review.Confirmed}); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.reviews.Close(ctx, by, r.ID); err != nil {
			t.Fatal(err)
		}
		f.sent = nil
		f.clock.add(24 * time.Hour)
		if sent, err = f.reviews.Remind(ctx); err != nil {
			t.Fatal(err)
		}
		for _, r := range sent {
			if r.Quarter == "2027-Q2" {
				t.Fatalf("reminded of a closed review: %+v", r)
			}
		}
	})
}

func TestQuarter(t *testing.T) {
	for _, c := range []struct {
		in         string
		start, end time.Time
		prev, next string
	}{
		{"2027-Q1", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), "2026-Q4", "2027-Q2"},
		{"2027-Q4", time.Date(2027, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), "2027-Q3", "2028-Q1"},
	} {
		q, err := review.ParseQuarter(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if q.String() != c.in || !q.Start().Equal(c.start) || !q.End().Equal(c.end) || q.Prev().String() != c.prev || q.Next().String() != c.next {
			t.Errorf("%s: %v %v %v %v", c.in, q.Start(), q.End(), q.Prev(), q.Next())
		}
	}
	for _, bad := range []string{"", "2027-Q5", "2027Q1", "27-Q1", "2027-q1", "2027-Q1 "} {
		if _, err := review.ParseQuarter(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
