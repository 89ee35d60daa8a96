package review

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Quarter is a calendar quarter in UTC: 2027-Q1 is January to March 2027.
type Quarter struct {
	Year int
	Q    int // 1 to 4
}

var quarterPattern = regexp.MustCompile(`^([0-9]{4})-Q([1-4])$`)

// ParseQuarter reads "2027-Q1".
func ParseQuarter(s string) (Quarter, error) {
	m := quarterPattern.FindStringSubmatch(s)
	if m == nil {
		return Quarter{}, errs.InvalidKeyed("quarter", "review_quarter_format")
	}
	year, _ := strconv.Atoi(m[1])
	q, _ := strconv.Atoi(m[2])
	return Quarter{Year: year, Q: q}, nil
}

// QuarterOf returns the quarter t falls in (in UTC).
func QuarterOf(t time.Time) Quarter {
	t = t.UTC()
	return Quarter{Year: t.Year(), Q: (int(t.Month())-1)/3 + 1}
}

// String returns "2027-Q1".
func (q Quarter) String() string { return fmt.Sprintf("%04d-Q%d", q.Year, q.Q) }

// Start is the first instant of the quarter.
func (q Quarter) Start() time.Time {
	return time.Date(q.Year, time.Month(3*(q.Q-1)+1), 1, 0, 0, 0, 0, time.UTC)
}

// End is the first instant after the quarter: its review is due before it.
func (q Quarter) End() time.Time { return q.Start().AddDate(0, 3, 0) }

// Next is the quarter after q.
func (q Quarter) Next() Quarter { return QuarterOf(q.End()) }

// Prev is the quarter before q.
func (q Quarter) Prev() Quarter { return QuarterOf(q.Start().Add(-time.Nanosecond)) }
