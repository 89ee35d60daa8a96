package consent_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestDormantSubjects: a subject is dormant once their latest entry is
// older than the cutoff, not while a later one is younger; a pseudonymised
// subject is no longer one.
func TestDormantSubjects(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		svc := openServiceWithClock(t, store, newSigner(t), clk)
		seed(t, svc)
		choose := func(id, subject string) {
			e := event(id, "", "analytics", consent.ActionGrant)
			e.Device, e.Subject, e.Source, e.At = "", subject, consent.SourcePortal, clk.Now()
			appendOK(t, svc, e)
		}
		choose("a1", "cust-a")
		choose("b1", "cust-b")
		choose("c1", "cust-c")
		clk.Advance(24 * time.Hour)
		choose("b2", "cust-b") // cust-b chose again a day later
		cutoff := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		got, err := svc.DormantSubjects(ctx, cutoff, "", 10)
		if err != nil || !slices.Equal(got, []string{"cust-a", "cust-c"}) {
			t.Fatalf("dormant = %v, %v; want cust-a, cust-c", got, err)
		}
		if page, err := svc.DormantSubjects(ctx, cutoff, "cust-a", 1); err != nil || !slices.Equal(page, []string{"cust-c"}) {
			t.Fatalf("next page = %v, %v", page, err)
		}
		if got, _ := svc.DormantSubjects(ctx, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), "", 10); len(got) != 0 {
			t.Fatalf("before any choice: %v", got)
		}
		if _, err := svc.Pseudonymise(ctx, "cust-a"); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.DormantSubjects(ctx, cutoff, "", 10); !slices.Equal(got, []string{"cust-c"}) {
			t.Fatalf("after pseudonymising cust-a: %v", got)
		}
	})
}
