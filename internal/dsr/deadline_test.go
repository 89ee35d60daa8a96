package dsr_test

import (
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

// endOfDay is the last stored instant of a day in loc.
func endOfDay(loc *time.Location, y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(-time.Microsecond).UTC()
}

func utcDay(y int, m time.Month, d int) time.Time { return endOfDay(time.UTC, y, m, d) }

func TestDeadlines(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := func(y int, m time.Month, d, hour int) time.Time { return time.Date(y, m, d, hour, 0, 0, 0, time.UTC) }
	thanksgiving := dsr.Policies{Holidays: []string{"2026-11-26"}}
	cases := []struct {
		name     string
		policies dsr.Policies
		regime   dsr.Regime
		kind     dsr.Kind
		received time.Time
		want     dsr.Deadlines
	}{
		// GDPR: the same date a month later, or the month's last day.
		{"gdpr same date", dsr.Policies{}, dsr.GDPR, dsr.KindAccess, at(2026, 3, 5, 10),
			dsr.Deadlines{DueAt: utcDay(2026, 4, 5), ExtendedDueAt: utcDay(2026, 6, 5)}},
		{"gdpr 31 January to 28 February", dsr.Policies{}, dsr.GDPR, dsr.KindErasure, at(2026, 1, 31, 23),
			dsr.Deadlines{DueAt: utcDay(2026, 2, 28), ExtendedDueAt: utcDay(2026, 4, 30)}},
		{"gdpr leap year 29 February", dsr.Policies{}, dsr.GDPR, dsr.KindErasure, at(2028, 1, 31, 0),
			dsr.Deadlines{DueAt: utcDay(2028, 2, 29), ExtendedDueAt: utcDay(2028, 4, 30)}},
		{"gdpr 30 January in a leap year", dsr.Policies{}, dsr.GDPR, dsr.KindAccess, at(2028, 1, 30, 0),
			dsr.Deadlines{DueAt: utcDay(2028, 2, 29), ExtendedDueAt: utcDay(2028, 4, 30)}},
		{"gdpr 28 February is not a month end rule", dsr.Policies{}, dsr.GDPR, dsr.KindAccess, at(2026, 2, 28, 12),
			dsr.Deadlines{DueAt: utcDay(2026, 3, 28), ExtendedDueAt: utcDay(2026, 5, 28)}},
		{"gdpr 31 March to 30 April", dsr.Policies{}, dsr.GDPR, dsr.KindExport, at(2026, 3, 31, 12),
			dsr.Deadlines{DueAt: utcDay(2026, 4, 30), ExtendedDueAt: utcDay(2026, 6, 30)}},
		{"gdpr over the new year", dsr.Policies{}, dsr.GDPR, dsr.KindAccess, at(2026, 12, 15, 12),
			dsr.Deadlines{DueAt: utcDay(2027, 1, 15), ExtendedDueAt: utcDay(2027, 3, 15)}},
		{"gdpr extension into a leap February", dsr.Policies{}, dsr.GDPR, dsr.KindAccess, at(2027, 11, 30, 12),
			dsr.Deadlines{DueAt: utcDay(2027, 12, 30), ExtendedDueAt: utcDay(2028, 2, 29)}},
		{"gdpr ends on a Sunday and stays there", dsr.Policies{}, dsr.GDPR, dsr.KindAccess, at(2026, 4, 3, 12),
			dsr.Deadlines{DueAt: utcDay(2026, 5, 3), ExtendedDueAt: utcDay(2026, 7, 3)}},
		{"gdpr counts days in the configured zone", dsr.Policies{Location: berlin}, dsr.GDPR, dsr.KindAccess,
			time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), // 1 February, 00:30 in Berlin
			dsr.Deadlines{DueAt: endOfDay(berlin, 2026, 3, 1), ExtendedDueAt: endOfDay(berlin, 2026, 5, 1)}},
		{"gdpr in winter and summer time", dsr.Policies{Location: berlin}, dsr.GDPR, dsr.KindAccess,
			time.Date(2026, 2, 28, 9, 0, 0, 0, time.UTC),
			dsr.Deadlines{DueAt: time.Date(2026, 3, 28, 22, 59, 59, 999999000, time.UTC), ExtendedDueAt: endOfDay(berlin, 2026, 5, 28)}},

		// CCPA: 10 business days to acknowledge, 45 calendar days to answer, 45 more.
		{"ccpa received on a Friday", dsr.Policies{}, dsr.CCPA, dsr.KindAccess, at(2026, 1, 2, 15),
			dsr.Deadlines{AcknowledgeBy: utcDay(2026, 1, 16), DueAt: utcDay(2026, 2, 16), ExtendedDueAt: utcDay(2026, 4, 2)}},
		{"ccpa received on a Saturday", dsr.Policies{}, dsr.CCPA, dsr.KindErasure, at(2026, 1, 3, 15),
			dsr.Deadlines{AcknowledgeBy: utcDay(2026, 1, 16), DueAt: utcDay(2026, 2, 17), ExtendedDueAt: utcDay(2026, 4, 3)}},
		{"ccpa received on a Sunday", dsr.Policies{}, dsr.CCPA, dsr.KindErasure, at(2026, 1, 4, 15),
			dsr.Deadlines{AcknowledgeBy: utcDay(2026, 1, 16), DueAt: utcDay(2026, 2, 18), ExtendedDueAt: utcDay(2026, 4, 4)}},
		{"ccpa without holidays", dsr.Policies{}, dsr.CCPA, dsr.KindAccess, at(2026, 11, 18, 15),
			dsr.Deadlines{AcknowledgeBy: utcDay(2026, 12, 2), DueAt: utcDay(2027, 1, 2), ExtendedDueAt: utcDay(2027, 2, 16)}},
		{"ccpa skips a holiday", thanksgiving, dsr.CCPA, dsr.KindAccess, at(2026, 11, 18, 15),
			dsr.Deadlines{AcknowledgeBy: utcDay(2026, 12, 3), DueAt: utcDay(2027, 1, 2), ExtendedDueAt: utcDay(2027, 2, 16)}},
		{"ccpa calendar days over a leap day", dsr.Policies{}, dsr.CCPA, dsr.KindRectification, at(2028, 2, 1, 8),
			dsr.Deadlines{AcknowledgeBy: utcDay(2028, 2, 15), DueAt: utcDay(2028, 3, 17), ExtendedDueAt: utcDay(2028, 5, 1)}},
		{"ccpa opt-out in 15 business days, no extension", dsr.Policies{}, dsr.CCPA, dsr.KindObjection, at(2026, 1, 2, 15),
			dsr.Deadlines{DueAt: utcDay(2026, 1, 23)}},
		{"ccpa limit in 15 business days over a holiday", thanksgiving, dsr.CCPA, dsr.KindRestriction, at(2026, 11, 18, 15),
			dsr.Deadlines{DueAt: utcDay(2026, 12, 10)}},
		{"configured periods", dsr.Policies{GDPR: dsr.Policy{Periods: dsr.Periods{Acknowledge: dsr.Period{BusinessDays: 3},
			Answer: dsr.Period{Days: 30}}}}, dsr.GDPR, dsr.KindAccess, at(2026, 1, 2, 15),
			dsr.Deadlines{AcknowledgeBy: utcDay(2026, 1, 7), DueAt: utcDay(2026, 2, 1)}},
	}
	if utcDay(2026, 5, 3).Weekday() != time.Sunday || time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Weekday() != time.Thursday {
		t.Fatal("the calendar facts the cases rely on are wrong")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.policies.Deadlines(c.regime, c.kind, c.received)
			if err != nil {
				t.Fatal(err)
			}
			if !got.AcknowledgeBy.Equal(c.want.AcknowledgeBy) || !got.DueAt.Equal(c.want.DueAt) || !got.ExtendedDueAt.Equal(c.want.ExtendedDueAt) {
				t.Fatalf("Deadlines(%s) =\n  ack %v due %v extended %v\nwant\n  ack %v due %v extended %v", c.received,
					got.AcknowledgeBy, got.DueAt, got.ExtendedDueAt, c.want.AcknowledgeBy, c.want.DueAt, c.want.ExtendedDueAt)
			}
		})
	}
}

func TestPoliciesValidate(t *testing.T) {
	if err := (dsr.Policies{}).Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	cases := []struct {
		name  string
		p     dsr.Policies
		field string
	}{
		{"bad holiday", dsr.Policies{Holidays: []string{"26.11.2026"}}, "holidays"},
		{"no answer period", dsr.Policies{GDPR: dsr.Policy{Periods: dsr.Periods{Extension: dsr.Period{Months: 2}}}}, "gdpr.answer"},
		{"negative period", dsr.Policies{CCPA: dsr.Policy{Periods: dsr.Periods{Answer: dsr.Period{Days: -1}}}}, "ccpa.answer"},
		{"huge period", dsr.Policies{CCPA: dsr.Policy{Periods: dsr.Periods{Answer: dsr.Period{Days: 45}, Extension: dsr.Period{Months: 99}}}}, "ccpa.extension"},
		{"unknown kind", dsr.Policies{CCPA: dsr.Policy{Periods: dsr.Periods{Answer: dsr.Period{Days: 45}},
			Kinds: map[dsr.Kind]dsr.Periods{"sale": {Answer: dsr.Period{Days: 1}}}}}, "ccpa.kinds.sale"},
		{"negative margin", dsr.Policies{AtRiskMargin: -time.Hour}, "at_risk_margin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
				t.Fatalf("Validate = %v, want a problem with %s", err, c.field)
			}
		})
	}
	if _, err := (dsr.Policies{}).Deadlines("hipaa", dsr.KindAccess, time.Now()); !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("unknown regime: %v", err)
	}
}

func TestRequestFlags(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ptr := func(t time.Time) *time.Time { return &t }
	margin := 7 * day
	cases := []struct {
		name                     string
		r                        dsr.Request
		atRisk, overdue, ackLate bool
	}{
		{"far from its deadline", dsr.Request{State: dsr.StateVerified, DueAt: now.Add(20 * day)}, false, false, false},
		{"just outside the margin", dsr.Request{State: dsr.StateVerified, DueAt: now.Add(margin + time.Second)}, false, false, false},
		{"on the margin", dsr.Request{State: dsr.StateVerified, DueAt: now.Add(margin)}, true, false, false},
		{"due soon", dsr.Request{State: dsr.StateInProgress, DueAt: now.Add(2 * day)}, true, false, false},
		{"due this instant", dsr.Request{State: dsr.StateInProgress, DueAt: now}, true, false, false},
		{"overdue", dsr.Request{State: dsr.StateWaitingForCustomer, DueAt: now.Add(-time.Second)}, true, true, false},
		{"extended out of risk", dsr.Request{State: dsr.StateInProgress, DueAt: now.Add(-day), ExtendedUntil: ptr(now.Add(40 * day))}, false, false, false},
		{"acknowledgement late", dsr.Request{State: dsr.StateReceived, DueAt: now.Add(30 * day), AcknowledgeBy: ptr(now.Add(-time.Hour))}, true, false, true},
		{"acknowledged in time", dsr.Request{State: dsr.StateReceived, DueAt: now.Add(30 * day), AcknowledgeBy: ptr(now.Add(-time.Hour)),
			AcknowledgedAt: ptr(now.Add(-2 * day))}, false, false, false},
		{"acknowledgement still due", dsr.Request{State: dsr.StateReceived, DueAt: now.Add(30 * day), AcknowledgeBy: ptr(now.Add(time.Hour))}, false, false, false},
		{"closed past its deadline", dsr.Request{State: dsr.StateCompleted, DueAt: now.Add(-day), AcknowledgeBy: ptr(now.Add(-day))}, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.AtRisk(now, margin); got != c.atRisk {
				t.Errorf("AtRisk = %v", got)
			}
			if got := c.r.Overdue(now); got != c.overdue {
				t.Errorf("Overdue = %v", got)
			}
			if got := c.r.AcknowledgementOverdue(now); got != c.ackLate {
				t.Errorf("AcknowledgementOverdue = %v", got)
			}
		})
	}
}
