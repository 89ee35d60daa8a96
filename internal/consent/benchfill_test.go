package consent_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestCopyEventsForBench: the copies are chain entries that verify, and
// distinct identities in the index.
func TestCopyEventsForBench(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		appendOK(t, svc, event("e1", "dev-1", "analytics", consent.ActionGrant), event("e2", "dev-2", "marketing", consent.ActionDeny))
		svc.Close()
		copied, err := consent.CopyEventsForBench(context.Background(), store, 7, nil)
		if err != nil || copied != 5 {
			t.Fatalf("copied %d, %v; want 5", copied, err)
		}
		report, err := consent.Verify(context.Background(), store, consent.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !report.OK() || report.Head != 7 {
			t.Fatalf("after the copies: %s (head %d)", report.Message(), report.Head)
		}
		again := openService(t, store, signer)
		assess(t, again, "metrics-co", "ads-co")
		if n := again.Index().Len(); n != 7 {
			t.Errorf("%d states after the copies, want 7", n)
		}
		if a := decide(t, again, consent.Question{Device: "r2-dev-1", Purpose: "analytics"}); !a.Allowed {
			t.Errorf("the copy r2-dev-1: %+v", a)
		}
	})
}
