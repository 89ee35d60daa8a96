// Package period reads retention periods as dataset files and settings
// write them: a whole number and a unit, d (days), w (weeks), m (calendar
// months) or y (calendar years): "400d", "6w", "18m", "10y".
//
//	p, err := period.Parse("2y")
//	cutoff := p.Before(now) // rows stamped before cutoff are past it
package period

import (
	"fmt"
	"strconv"
	"time"
)

// Period is a retention period. Months and years are calendar ones,
// so that "10y" ends on the same date ten years on, leap days or not.
type Period struct {
	N    int
	Unit byte // 'd', 'w', 'm' or 'y'
}

// maxPeriodDays bounds a period: a century, past which a number is a typo.
const maxPeriodDays = 100 * 366

// Parse reads a period ("400d", "2y"); the error says what is wrong
// with it in a sentence fit for `steward connector check`.
func Parse(s string) (Period, error) {
	if len(s) < 2 {
		return Period{}, fmt.Errorf("period %q: write a whole number and a unit, d, w, m or y (400d, 18m, 2y)", s)
	}
	unit := s[len(s)-1]
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || strconv.Itoa(n) != s[:len(s)-1] {
		return Period{}, fmt.Errorf("period %q: write a whole number above 0 and a unit, d, w, m or y (400d, 18m, 2y)", s)
	}
	var days int
	switch unit {
	case 'd':
		days = n
	case 'w':
		days = 7 * n
	case 'm':
		days = 31 * n
	case 'y':
		days = 366 * n
	default:
		return Period{}, fmt.Errorf("period %q: unit %q: want d (days), w (weeks), m (months) or y (years)", s, string(unit))
	}
	if n > maxPeriodDays || days > maxPeriodDays {
		return Period{}, fmt.Errorf("period %q: at most 100 years", s)
	}
	return Period{N: n, Unit: unit}, nil
}

// Before returns the instant a period before now: rows stamped earlier are
// past it.
func (p Period) Before(now time.Time) time.Time {
	switch p.Unit {
	case 'w':
		return now.AddDate(0, 0, -7*p.N)
	case 'm':
		return now.AddDate(0, -p.N, 0)
	case 'y':
		return now.AddDate(-p.N, 0, 0)
	}
	return now.AddDate(0, 0, -p.N)
}

func (p Period) String() string { return strconv.Itoa(p.N) + string(p.Unit) }
