package incident

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
)

// Assessment is an officer's assessment of the risk a breach poses, with
// the reasons for it.
type Assessment struct {
	Risk    Risk     `json:"risk"`
	Reasons []string `json:"reasons"`
}

// financialCategories raise the risk like special categories do: their
// breach exposes people to fraud and financial loss (EDPB guidelines
// 9/2022, and the US laws' definitions).
var financialCategories = []string{"financial", "government_id"}

// fallbackSpecial are special categories (GDPR Art. 9) when the catalog
// does not say.
var fallbackSpecial = []string{"health", "biometric"}

// RiskFloor returns the lowest risk a breach of categories may be assessed
// at, and why: special categories and financial data make it high.
func (s *Service) RiskFloor(categories []string) (Risk, []string) {
	special := slices.Clone(fallbackSpecial)
	if s.cfg.Catalog != nil {
		for _, c := range s.cfg.Catalog.Categories() {
			if c.Special {
				special = append(special, c.Key)
			}
		}
	}
	return riskFloor(categories, special)
}

func riskFloor(categories, special []string) (Risk, []string) {
	var reasons []string
	for _, c := range sortedUnique(categories) {
		switch {
		case slices.Contains(special, c):
			reasons = append(reasons, "special category of data (GDPR Art. 9): "+c)
		case slices.Contains(financialCategories, c):
			reasons = append(reasons, "financial or identity data, open to fraud: "+c)
		}
	}
	if len(reasons) > 0 {
		return HighRisk, reasons
	}
	return NoRisk, nil
}

// Assess records the risk assessment, audited (incident.assess). The
// categories of the incident and of its latest affected set can raise the
// officer's level (RiskFloor); the reasons for raising it are added.
func (s *Service) Assess(ctx context.Context, id string, a Assessment) (Incident, error) {
	problems := map[string]string{}
	if !slices.Contains(Risks, a.Risk) {
		problems["risk"] = "must be none, risk or high"
	}
	var reasons []string
	for _, r := range a.Reasons {
		if r = strings.TrimSpace(r); r != "" {
			reasons = append(reasons, r)
		}
	}
	if len(reasons) == 0 {
		problems["reasons"] = "say why: what was exposed, to whom, how likely harm is"
	}
	for _, r := range reasons {
		text(problems, "reasons", r, MaxNote, true, false)
	}
	if err := invalid("invalid assessment", problems); err != nil {
		return Incident{}, err
	}
	latest, err := s.LatestSet(ctx, id)
	if err != nil && !errs.Is(err, errs.CodeNotFound) {
		return Incident{}, err
	}
	var inc Incident
	err = s.change(ctx, id, ActionAssess, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status == Draft || cur.Status == Closed {
			return nil, errs.New(errs.CodeConflict, "an incident %s is not assessed", cur.Status)
		}
		categories := slices.Clone(cur.Categories)
		if latest != nil {
			for c := range latest.ByCategory {
				categories = append(categories, c)
			}
		}
		risk := a.Risk
		floor, why := s.RiskFloor(categories)
		all := slices.Clone(reasons)
		if floor.rank() > risk.rank() {
			risk = floor
			all = append(all, why...)
		}
		cur.Risk, cur.RiskReasons = risk, all
		inc = *cur
		note := string(risk)
		if risk != a.Risk {
			note += " (raised from " + string(a.Risk) + ")"
		}
		return map[string]any{"risk": string(risk), "asked": string(a.Risk)}, s.addAction(ctx, tx, id, ActAssessed, note)
	})
	return inc, err
}

// The clocks' keys.
const (
	ClockAuthority   = "gdpr.art33"
	ClockIndividuals = "gdpr.art34"
)

// The states of a clock.
const (
	// ClockPending: running, more than 24 hours left (or no fixed due).
	ClockPending = "pending"
	// ClockDueSoon: at most 24 hours left.
	ClockDueSoon = "due_soon"
	ClockOverdue = "overdue"
	// ClockMet: done (the party was told).
	ClockMet = "met"
	// ClockNotRequired: the law does not ask for it here (no risk, too
	// few residents, data the law does not cover).
	ClockNotRequired = "not_required"
)

// Clock is one deadline of an incident.
type Clock struct {
	Key          string `json:"key"`
	Party        string `json:"party"`
	Citation     string `json:"citation"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Due is the deadline; nil when the law says "without undue delay"
	// without a number.
	Due   *time.Time `json:"due,omitempty"`
	Met   *time.Time `json:"met,omitempty"`
	State string     `json:"state"`
	// Residents is how many affected customers the clock's law protects
	// (in the latest affected set).
	Residents int    `json:"residents,omitempty"`
	Why       string `json:"why"`
}

// Clocks returns incident id's deadlines now, from its latest affected set.
func (s *Service) Clocks(ctx context.Context, id string) ([]Clock, error) {
	inc, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	latest, err := s.LatestSet(ctx, id)
	if err != nil && !errs.Is(err, errs.CodeNotFound) {
		return nil, err
	}
	return ClocksOf(inc, latest, s.cfg.Statutes, s.now()), nil
}

// ClocksOf computes inc's deadlines at now: GDPR Art. 33 (the authority,
// 72 hours from awareness, unless the risk is none), Art. 34 (the
// individuals, without undue delay, at high risk), and each statute whose
// jurisdiction has residents in set (by its counts) and whose categories
// the breach touched. Without a set, GDPR applies and no statute does
// (compute the set to see them). A draft has no clocks: nobody is aware
// yet.
func ClocksOf(inc Incident, set *Set, statutes []Statute, now time.Time) []Clock {
	if inc.Status == Draft || inc.AwareAt == nil {
		return nil
	}
	aware := *inc.AwareAt
	gdpr := set == nil
	byJurisdiction := map[string]int{}
	if set != nil {
		for j, n := range set.ByJurisdiction {
			byJurisdiction[j] = n
			country, _, _ := strings.Cut(j, "-")
			if consent.InEEA(country) || country == "GB" || j == UnknownJurisdiction {
				gdpr = true
			}
		}
	}
	categories := slices.Clone(inc.Categories)
	if set != nil {
		for c := range set.ByCategory {
			categories = append(categories, c)
		}
	}
	var out []Clock
	if gdpr {
		c := Clock{Key: ClockAuthority, Party: "supervisory authority", Citation: "GDPR Art. 33(1)", Met: inc.AuthorityNotifiedAt,
			Why: "72 hours from awareness; after that, with the reasons for the delay"}
		due := aware.Add(72 * time.Hour)
		c.Due = &due
		if inc.Risk == NoRisk {
			c.State, c.Why = ClockNotRequired, "assessed as unlikely to result in a risk: recorded, not notified (Art. 33(5))"
		}
		out = append(out, c)
		i := Clock{Key: ClockIndividuals, Party: "individuals", Citation: "GDPR Art. 34(1)", Met: inc.IndividualsNotifiedAt,
			Why: "without undue delay when the risk is high"}
		if inc.Risk != HighRisk {
			i.State, i.Why = ClockNotRequired, "only when the risk is high"
			if inc.Risk == "" {
				i.State, i.Why = ClockPending, "assess the risk: at high risk the individuals are told without undue delay"
			}
		}
		out = append(out, i)
	}
	for _, st := range statutes {
		residents := byJurisdiction[st.Jurisdiction]
		if residents == 0 {
			continue
		}
		covered := slices.ContainsFunc(categories, func(c string) bool { return slices.Contains(st.Categories, c) })
		c := Clock{Key: "us." + strings.ToLower(st.Jurisdiction) + ".individuals", Party: "residents", Citation: st.Citation,
			Jurisdiction: st.Jurisdiction, Residents: residents, Met: inc.IndividualsNotifiedAt,
			Why: "in the most expedient time possible and without unreasonable delay"}
		if st.Individuals > 0 {
			due := aware.Add(st.Individuals)
			c.Due, c.Why = &due, "at the latest "+days(st.Individuals)+" after awareness"
		}
		r := Clock{Key: "us." + strings.ToLower(st.Jurisdiction) + ".regulator", Party: st.Regulator, Citation: st.Citation,
			Jurisdiction: st.Jurisdiction, Residents: residents, Met: inc.AuthorityNotifiedAt, Why: "when the residents are told"}
		if st.RegulatorWithin > 0 {
			due := aware.Add(st.RegulatorWithin)
			r.Due, r.Why = &due, "at the latest "+days(st.RegulatorWithin)+" after awareness"
		}
		switch {
		case !covered:
			c.State, c.Why = ClockNotRequired, "the breach touched no category the law covers"
			r.State, r.Why = ClockNotRequired, c.Why
		case residents < st.RegulatorThreshold:
			r.State, r.Why = ClockNotRequired, "fewer affected residents than the law's threshold"
		}
		out = append(out, c, r)
	}
	for i := range out {
		if out[i].State == "" {
			out[i].State = clockState(out[i], now)
		}
	}
	return out
}

func clockState(c Clock, now time.Time) string {
	switch {
	case c.Met != nil:
		return ClockMet
	case c.Due == nil:
		return ClockPending
	case !now.Before(*c.Due):
		return ClockOverdue
	case c.Due.Sub(now) <= 24*time.Hour:
		return ClockDueSoon
	}
	return ClockPending
}

func days(d time.Duration) string {
	n := int(d / day)
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}
