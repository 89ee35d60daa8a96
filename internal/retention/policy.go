package retention

import (
	"time"

	"github.com/steward-dev/steward/internal/consent"
)

// Catalog is where the categories' and purposes' retention comes from:
// the consent catalog.
type Catalog interface {
	Categories() []consent.Category
	Purposes() []consent.Purpose
}

// Policy is the catalog's retention at one moment: days per category and
// per purpose, only those set (0 in the catalog sets none).
type Policy struct {
	Categories map[string]int
	Purposes   map[string]int
}

// PolicyOf reads the retention the catalog sets.
func PolicyOf(c Catalog) Policy {
	p := Policy{Categories: map[string]int{}, Purposes: map[string]int{}}
	if c == nil {
		return p
	}
	for _, cat := range c.Categories() {
		if cat.RetentionDays > 0 {
			p.Categories[cat.Key] = cat.RetentionDays
		}
	}
	for _, pur := range c.Purposes() {
		if pur.RetentionDays > 0 {
			p.Purposes[pur.Key] = pur.RetentionDays
		}
	}
	return p
}

// Cutoff returns the instant before which data of categories, tied to
// purpose (or to none, ""), is past retention at now, and whether any
// retention applies at all. own is a retention the data itself declares (a
// dataset file's period), the zero time for none. The longer legal need
// wins: the earliest cutoff of all that apply. Without any, data is kept.
func (p Policy) Cutoff(now, own time.Time, purpose string, categories ...string) (time.Time, bool) {
	cutoff, set := own, !own.IsZero()
	take := func(days int) {
		if days <= 0 {
			return
		}
		c := now.AddDate(0, 0, -days)
		if !set || c.Before(cutoff) {
			cutoff, set = c, true
		}
	}
	for _, c := range categories {
		take(p.Categories[c])
	}
	if purpose != "" {
		take(p.Purposes[purpose])
	}
	return cutoff, set
}

// categoryCutoffs returns, per category with a retention, the instant
// before which its data (tied to no purpose) is past it: what the vault's
// fields get.
func (p Policy) categoryCutoffs(now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for c, days := range p.Categories {
		out[c] = now.AddDate(0, 0, -days)
	}
	return out
}
