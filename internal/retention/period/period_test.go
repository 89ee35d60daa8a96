package period

import (
	"testing"
	"time"
)

// TestPeriodBefore: calendar months and years end on the same date.
func TestPeriodBefore(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"1d":  time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC),
		"2w":  time.Date(2026, 2, 15, 12, 0, 0, 0, time.UTC),
		"1m":  time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC),
		"10y": time.Date(2016, 3, 1, 12, 0, 0, 0, time.UTC),
	} {
		p, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Before(now); !got.Equal(want) {
			t.Errorf("%s before %s = %s, want %s", in, now, got, want)
		}
	}
}
