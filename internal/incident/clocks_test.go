package incident_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/staff"
)

func clockByKey(clocks []incident.Clock, key string) (incident.Clock, bool) {
	i := slices.IndexFunc(clocks, func(c incident.Clock) bool { return c.Key == key })
	if i < 0 {
		return incident.Clock{}, false
	}
	return clocks[i], true
}

// TestClocksOf: which deadlines apply, when they fall due and their state.
func TestClocksOf(t *testing.T) {
	aware := start
	told := aware.Add(70 * time.Hour)
	base := incident.Incident{Status: incident.Assessed, AwareAt: &aware, Categories: []string{"contact"}}
	with := func(edit func(*incident.Incident)) incident.Incident { inc := base; edit(&inc); return inc }
	set := func(byCategory, byJurisdiction map[string]int) *incident.Set {
		return &incident.Set{ByCategory: byCategory, ByJurisdiction: byJurisdiction}
	}
	type want struct {
		key, state string
		due        time.Duration // from awareness; 0: no due
	}
	tests := []struct {
		name   string
		inc    incident.Incident
		set    *incident.Set
		now    time.Duration
		want   []want
		absent []string
	}{
		{"gdpr, risk, 10h in", with(func(i *incident.Incident) { i.Risk = incident.SomeRisk }), nil, 10 * time.Hour,
			[]want{{incident.ClockAuthority, incident.ClockPending, 72 * time.Hour}, {incident.ClockIndividuals, incident.ClockNotRequired, 0}}, nil},
		{"due soon at 48h", with(func(i *incident.Incident) { i.Risk = incident.SomeRisk }), nil, 48 * time.Hour,
			[]want{{incident.ClockAuthority, incident.ClockDueSoon, 72 * time.Hour}}, nil},
		{"overdue at 72h", with(func(i *incident.Incident) { i.Risk = incident.HighRisk }), nil, 72 * time.Hour,
			[]want{{incident.ClockAuthority, incident.ClockOverdue, 72 * time.Hour}, {incident.ClockIndividuals, incident.ClockPending, 0}}, nil},
		{"met", with(func(i *incident.Incident) { i.Risk = incident.SomeRisk; i.AuthorityNotifiedAt = &told }), nil, 80 * time.Hour,
			[]want{{incident.ClockAuthority, incident.ClockMet, 72 * time.Hour}}, nil},
		{"no risk: recorded, not notified", with(func(i *incident.Incident) { i.Risk = incident.NoRisk }), nil, 80 * time.Hour,
			[]want{{incident.ClockAuthority, incident.ClockNotRequired, 72 * time.Hour}}, nil},
		{"texans' financial data", base, set(map[string]int{"financial": 300}, map[string]int{"US-TX": 300}), time.Hour,
			[]want{{"us.us-tx.individuals", incident.ClockPending, 60 * 24 * time.Hour}, {"us.us-tx.regulator", incident.ClockPending, 30 * 24 * time.Hour}},
			[]string{incident.ClockAuthority}},
		{"too few texans for the regulator", base, set(map[string]int{"financial": 100}, map[string]int{"US-TX": 100}), time.Hour,
			[]want{{"us.us-tx.individuals", incident.ClockPending, 60 * 24 * time.Hour}, {"us.us-tx.regulator", incident.ClockNotRequired, 30 * 24 * time.Hour}}, nil},
		{"californians' contact data only", base, set(map[string]int{"contact": 900}, map[string]int{"US-CA": 900}), time.Hour,
			[]want{{"us.us-ca.individuals", incident.ClockNotRequired, 0}}, nil},
		{"europeans and unknowns bring GDPR", base, set(map[string]int{"contact": 2}, map[string]int{"DE": 1, "unknown": 1}), time.Hour,
			[]want{{incident.ClockAuthority, incident.ClockPending, 72 * time.Hour}}, []string{"us.us-tx.individuals"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clocks := incident.ClocksOf(tt.inc, tt.set, incident.DefaultStatutes(), aware.Add(tt.now))
			for _, w := range tt.want {
				c, ok := clockByKey(clocks, w.key)
				if !ok {
					t.Fatalf("no clock %s in %+v", w.key, clocks)
				}
				if c.State != w.state {
					t.Errorf("%s: state %s, want %s", w.key, c.State, w.state)
				}
				switch {
				case w.due == 0 && c.Due != nil, w.due != 0 && (c.Due == nil || !c.Due.Equal(aware.Add(w.due))):
					t.Errorf("%s: due %v, want awareness + %v", w.key, c.Due, w.due)
				}
				if c.Citation == "" {
					t.Errorf("%s names no law", w.key)
				}
			}
			for _, key := range tt.absent {
				if _, ok := clockByKey(clocks, key); ok {
					t.Errorf("clock %s applies", key)
				}
			}
		})
	}
}

// TestRiskRaised: special categories and financial data raise the level
// the officer records, with the reason added.
func TestRiskRaised(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		for _, tt := range []struct {
			categories []string
			asked      incident.Risk
			want       incident.Risk
		}{
			{[]string{"contact"}, incident.NoRisk, incident.NoRisk},
			{[]string{"contact", "health"}, incident.SomeRisk, incident.HighRisk},
			{[]string{"financial"}, incident.NoRisk, incident.HighRisk},
			{[]string{"contact"}, incident.HighRisk, incident.HighRisk},
		} {
			inc := f.open(t, tt.categories...)
			got, err := f.svc.Assess(f.ctx, inc.ID, incident.Assessment{Risk: tt.asked, Reasons: []string{"encrypted disk, key not taken"}})
			if err != nil {
				t.Fatal(err)
			}
			if got.Risk != tt.want || got.RiskReasons[0] != "encrypted disk, key not taken" {
				t.Errorf("%v asked %s: got %s %v", tt.categories, tt.asked, got.Risk, got.RiskReasons)
			}
			if raised := got.Risk != tt.asked; raised != (len(got.RiskReasons) > 1) {
				t.Errorf("%v: reasons %v", tt.categories, got.RiskReasons)
			}
		}
	})
}

// TestReminders: the officers are emailed 24, 12 and 2 hours before the
// authority's deadline and when it passes, once each however often the
// job runs; a notified incident is not reminded.
func TestReminders(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, true)
		f.addStaff(t, "sec", staff.RoleSecurityOfficer)
		f.addStaff(t, "dpo", staff.RolePrivacyOfficer)
		inc := f.open(t, "contact")
		done := f.open(t, "contact")
		if _, err := f.svc.Assess(f.ctx, done.ID, incident.Assessment{Risk: incident.SomeRisk, Reasons: []string{"contact data"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Move(f.ctx, done.ID, incident.Assessed, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.MarkNotified(f.ctx, done.ID, incident.Notification{AuthorityAt: &start}); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			at   time.Duration // after awareness
			want []string      // marks sent
		}{
			{0, nil},
			{47 * time.Hour, nil},
			{48 * time.Hour, []string{incident.Mark24h}},
			{49 * time.Hour, nil},
			{60*time.Hour - time.Minute, nil},
			{60 * time.Hour, []string{incident.Mark12h}},
			{70 * time.Hour, []string{incident.Mark2h}},
			{71 * time.Hour, nil},
			{72 * time.Hour, []string{incident.MarkOverdue}},
			{96 * time.Hour, nil},
		}
		for _, step := range steps {
			f.clock.Set(start.Add(step.at))
			for run := range 2 { // a second run at the same time sends nothing
				sent, err := f.svc.Remind(f.ctx)
				if err != nil {
					t.Fatal(err)
				}
				var marks []string
				for _, r := range sent {
					if r.IncidentID != inc.ID || r.Clock != incident.ClockAuthority {
						t.Fatalf("at %v: reminded %+v", step.at, r)
					}
					marks = append(marks, r.Mark)
				}
				want := step.want
				if run == 1 {
					want = nil
				}
				if !slices.Equal(marks, want) {
					t.Fatalf("at %v (run %d): sent %v, want %v", step.at, run+1, marks, want)
				}
			}
		}
		var toSec, toDPO int
		for _, m := range f.mail.Messages() {
			if slices.Contains(m.To, "sec@staff.example") {
				toSec++
				if !strings.Contains(m.Subject, inc.ID) {
					t.Errorf("subject %q", m.Subject)
				}
			}
			if slices.Contains(m.To, "dpo@staff.example") {
				toDPO++
			}
		}
		if toSec != 4 || toDPO != 0 {
			t.Fatalf("%d mails to the security officer (want 4), %d to the privacy officer (want 0)", toSec, toDPO)
		}
		clocks, err := f.svc.Clocks(f.ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := clockByKey(clocks, incident.ClockAuthority); c.State != incident.ClockOverdue {
			t.Fatalf("authority's clock %s, want overdue", c.State)
		}
		timeline, _ := f.svc.Timeline(f.ctx, inc.ID)
		var reminders int
		for _, a := range timeline {
			if a.Kind == incident.ActReminder {
				reminders++
			}
		}
		if reminders != 4 {
			t.Fatalf("%d reminders on the timeline", reminders)
		}
	})
}
