package retention_test

import (
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/retention"
)

// TestPolicyCutoff: the longer legal need wins; nothing set keeps data.
func TestPolicyCutoff(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	p := retention.PolicyOf(catalog{categories: map[string]int{"contact": 30, "financial": 3650}, purposes: map[string]int{"billing": 400}})
	own := now.AddDate(0, 0, -90)
	for _, tc := range []struct {
		name       string
		own        time.Time
		purpose    string
		categories []string
		want       time.Time // zero: kept
	}{
		{"nothing set", time.Time{}, "", []string{"device"}, time.Time{}},
		{"category", time.Time{}, "", []string{"contact"}, now.AddDate(0, 0, -30)},
		{"the longest category", time.Time{}, "", []string{"contact", "financial"}, now.AddDate(0, 0, -3650)},
		{"purpose longer", time.Time{}, "billing", []string{"contact"}, now.AddDate(0, 0, -400)},
		{"own period longer than category", own, "", []string{"contact"}, own},
		{"purpose longer than own", own, "billing", nil, now.AddDate(0, 0, -400)},
		{"unknown purpose", own, "marketing", nil, own},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, set := p.Cutoff(now, tc.own, tc.purpose, tc.categories...)
			if set != !tc.want.IsZero() || (set && !got.Equal(tc.want)) {
				t.Fatalf("Cutoff = %s, %v; want %s", got, set, tc.want)
			}
		})
	}
}
