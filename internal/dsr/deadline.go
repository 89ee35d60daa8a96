package dsr

import (
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Period is a time limit counted in whole days from the day of receipt,
// which itself is not counted: months first, then calendar days, then
// business days, each continuing from the day the one before ended on. The
// period ends with the last instant of its last day.
//
// A month ends on the day of the last month that has the same date as the
// day of receipt or, when that month is too short, on its last day:
// received on 5 March, due by the end of 5 April; received on 31 January,
// due by the end of 28 February (29 in a leap year). This is the rule of
// Regulation (EEC, Euratom) No 1182/71 (Art. 3(2)(c)), which governs the
// GDPR's periods, and of California's "exclude the first day, include the
// last" (Code of Civil Procedure § 12) for calendar days. Both laws move a
// period that ends on a weekend or a public holiday to the next working
// day; Steward does not, so a deadline it shows is never later than the
// law's.
//
// Business days skip Saturdays, Sundays and the configured holidays.
type Period struct {
	Months       int `json:"months,omitempty"`
	Days         int `json:"days,omitempty"`
	BusinessDays int `json:"business_days,omitempty"`
}

// IsZero reports whether the period is empty: no time limit.
func (p Period) IsZero() bool { return p == Period{} }

// plus returns the two periods one after the other. Adding unit by unit
// (rather than ending one period and counting the next from its last day)
// is what an extension "by two further months" means: received on 31
// January, one month ends on 28 February, three end on 30 April, not 28
// April.
func (p Period) plus(q Period) Period {
	return Period{Months: p.Months + q.Months, Days: p.Days + q.Days, BusinessDays: p.BusinessDays + q.BusinessDays}
}

func (p Period) validate(field string, problems map[string]string) {
	switch {
	case p.Months < 0 || p.Days < 0 || p.BusinessDays < 0:
		problems[field] = "must not be negative"
	case p.Months > 36 || p.Days > 1100 || p.BusinessDays > 800:
		problems[field] = "must be at most 36 months, 1100 days or 800 business days"
	}
}

// Periods are the time limits of one kind of request under one regime.
type Periods struct {
	// Acknowledge is the time to confirm receipt to the customer; zero when
	// the law requires no confirmation (the GDPR). The confirmation is
	// recorded either way.
	Acknowledge Period `json:"acknowledge"`
	// Answer is the time to answer, from receipt.
	Answer Period `json:"answer"`
	// Extension is how much later an extension moves the answer's deadline,
	// counted on from receipt (see Period.plus); zero when the request
	// cannot be extended.
	Extension Period `json:"extension"`
}

// Policy is the time limits of one regime, with overrides for some kinds of
// request.
type Policy struct {
	Periods
	// Kinds replaces Periods for the kinds it names.
	Kinds map[Kind]Periods `json:"kinds,omitempty"`
	// PauseWhileWaiting stops the deadline's clock while staff wait for
	// the customer's answer to a question (AskCustomer): the days it took
	// the customer to answer move the deadline on.
	PauseWhileWaiting bool `json:"pause_while_waiting,omitempty"`
}

// For returns the periods of a kind of request.
func (p Policy) For(kind Kind) Periods {
	if k, ok := p.Kinds[kind]; ok {
		return k
	}
	return p.Periods
}

func (p Policy) isZero() bool {
	return p.Periods == (Periods{}) && len(p.Kinds) == 0 && !p.PauseWhileWaiting
}

func (p Policy) validate(field string, problems map[string]string) {
	check := func(field string, ps Periods) {
		if ps.Answer.IsZero() {
			problems[field+".answer"] = "is required"
		}
		ps.Answer.validate(field+".answer", problems)
		ps.Acknowledge.validate(field+".acknowledge", problems)
		ps.Extension.validate(field+".extension", problems)
	}
	check(field, p.Periods)
	for kind, ps := range p.Kinds {
		if !kind.Valid() {
			problems[field+".kinds."+string(kind)] = "is not a kind of request"
			continue
		}
		check(field+".kinds."+string(kind), ps)
	}
}

// Policies are the deadline rules of every regime, and how close to its
// deadline a request counts as at risk.
type Policies struct {
	GDPR Policy `json:"gdpr"`
	CCPA Policy `json:"ccpa"`
	// Location is the calendar days are counted in: the day of receipt, the
	// last day, weekends. UTC when nil.
	Location *time.Location `json:"-"`
	// Holidays are dates ("2026-11-26") that business days skip.
	Holidays []string `json:"holidays,omitempty"`
	// AtRiskMargin is how long before its deadline an open request is at
	// risk (default 7 days).
	AtRiskMargin time.Duration `json:"at_risk_margin"`
}

// DefaultPolicies are the periods of the law:
//
//   - GDPR (Art. 12(3)): answer within one month of receipt, extendable by
//     two further months; no acknowledgement required.
//   - CCPA (Cal. Code Regs. tit. 11, § 7021): confirm receipt within 10
//     business days, answer within 45 calendar days, extendable once by 45
//     more. An objection (opt-out of sale or sharing, § 7026(f)) and a
//     restriction (limit the use of sensitive personal information, §
//     7027(g)) must be honoured within 15 business days, without extension
//     and without a separate confirmation.
//
// Waiting for the customer: under the GDPR the clock stops while the
// controller waits for information it asked for to identify the requester
// or to understand the request (Art. 12(6); EDPB Guidelines 01/2022 on the
// right of access, and the UK's "stop the clock", Data (Use and Access)
// Act 2025), and starts again on the day the answer arrives. Under the
// CCPA it does not: the 45 days run from receipt "regardless of time
// required to verify the request" (§ 7021(b)).
func DefaultPolicies() Policies {
	optOut := Periods{Answer: Period{BusinessDays: 15}}
	return Policies{
		GDPR: Policy{Periods: Periods{Answer: Period{Months: 1}, Extension: Period{Months: 2}}, PauseWhileWaiting: true},
		CCPA: Policy{
			Periods: Periods{Acknowledge: Period{BusinessDays: 10}, Answer: Period{Days: 45}, Extension: Period{Days: 45}},
			Kinds:   map[Kind]Periods{KindObjection: optOut, KindRestriction: optOut},
		},
		Location:     time.UTC,
		AtRiskMargin: 7 * 24 * time.Hour,
	}
}

// withDefaults fills what p leaves unset from DefaultPolicies. A regime's
// Policy is replaced as a whole: one that is set keeps no default override.
func (p Policies) withDefaults() Policies {
	def := DefaultPolicies()
	if p.GDPR.isZero() {
		p.GDPR = def.GDPR
	}
	if p.CCPA.isZero() {
		p.CCPA = def.CCPA
	}
	if p.Location == nil {
		p.Location = def.Location
	}
	if p.AtRiskMargin == 0 {
		p.AtRiskMargin = def.AtRiskMargin
	}
	return p
}

// Validate checks p (after defaults) and names each field at fault.
func (p Policies) Validate() error {
	p = p.withDefaults()
	problems := map[string]string{}
	p.GDPR.validate("gdpr", problems)
	p.CCPA.validate("ccpa", problems)
	if _, err := p.calendar(); err != nil {
		problems["holidays"] = err.Error()
	}
	if p.AtRiskMargin < 0 {
		problems["at_risk_margin"] = "must not be negative"
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

func (p Policies) policy(regime Regime) (Policy, error) {
	switch regime {
	case GDPR:
		return p.GDPR, nil
	case CCPA:
		return p.CCPA, nil
	}
	return Policy{}, errs.Invalid("regime", "must be gdpr or ccpa")
}

// Deadlines are the dates a request gets on receipt.
type Deadlines struct {
	// AcknowledgeBy is when receipt must be confirmed; zero when the regime
	// requires no confirmation.
	AcknowledgeBy time.Time
	// DueAt is when the answer is due.
	DueAt time.Time
	// ExtendedDueAt is when the answer is due once extended; zero when the
	// request cannot be extended.
	ExtendedDueAt time.Time
}

// Deadlines returns the deadlines of a request of kind under regime
// received at receivedAt. Missing fields of p take their defaults.
func (p Policies) Deadlines(regime Regime, kind Kind, receivedAt time.Time) (Deadlines, error) {
	p = p.withDefaults()
	policy, err := p.policy(regime)
	if err != nil {
		return Deadlines{}, err
	}
	cal, err := p.calendar()
	if err != nil {
		return Deadlines{}, errs.Invalid("holidays", "%v", err)
	}
	periods := policy.For(kind)
	d := Deadlines{DueAt: cal.end(receivedAt, periods.Answer)}
	if !periods.Acknowledge.IsZero() {
		d.AcknowledgeBy = cal.end(receivedAt, periods.Acknowledge)
	}
	if !periods.Extension.IsZero() {
		d.ExtendedDueAt = cal.end(receivedAt, periods.Answer.plus(periods.Extension))
	}
	return d, nil
}

// calendar counts days in a location, skipping weekends and holidays for
// business days.
type calendar struct {
	loc      *time.Location
	holidays map[date]bool
}

// date is a civil date, without time or zone.
type date struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

func (p Policies) calendar() (calendar, error) {
	c := calendar{loc: p.Location, holidays: map[date]bool{}}
	if c.loc == nil {
		c.loc = time.UTC
	}
	for _, h := range p.Holidays {
		t, err := time.Parse(time.DateOnly, h)
		if err != nil {
			return calendar{}, fmt.Errorf("%q is not a date such as 2026-12-25", h)
		}
		c.holidays[dateOf(t)] = true
	}
	return c, nil
}

// end returns the last instant (to the microsecond, as stored) of the last
// day of period counted from the day of start in c's location.
func (c calendar) end(start time.Time, period Period) time.Time {
	day := dateOf(start.In(c.loc))
	day = addMonths(day, period.Months)
	day = addDays(day, period.Days)
	for n := period.BusinessDays; n > 0; {
		day = addDays(day, 1)
		if c.businessDay(day) {
			n--
		}
	}
	// The start of the next day less one microsecond; time.Date normalises
	// the 32nd of a month and keeps a day that daylight saving shortens or
	// lengthens whole.
	next := time.Date(day.year, day.month, day.day+1, 0, 0, 0, 0, c.loc)
	return next.Add(-time.Microsecond).UTC()
}

func (c calendar) businessDay(d date) bool {
	switch time.Date(d.year, d.month, d.day, 12, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !c.holidays[d]
}

// addMonths moves d by n months to the same date or, when the target month
// is too short, to its last day. time.AddDate would roll 31 January over to
// 3 March instead.
func addMonths(d date, n int) date {
	first := time.Date(d.year, d.month+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return date{first.Year(), first.Month(), min(d.day, last)}
}

func addDays(d date, n int) date {
	return dateOf(time.Date(d.year, d.month, d.day+n, 12, 0, 0, 0, time.UTC))
}

// daysBetween counts the calendar days from the day of a to the day of b
// in the policies' location: 0 on the same day.
func (p Policies) daysBetween(a, b time.Time) int {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	da, db := dateOf(a.In(loc)), dateOf(b.In(loc))
	ta := time.Date(da.year, da.month, da.day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(db.year, db.month, db.day, 12, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Round(24*time.Hour) / (24 * time.Hour))
}

// later returns the end of the day that is days after the day of t, in
// the policies' location: a deadline moved on by whole days.
func (p Policies) later(t time.Time, days int) time.Time {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	return calendar{loc: loc}.end(t, Period{Days: days})
}
