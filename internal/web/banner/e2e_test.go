package banner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/receipt"
)

// TestEndToEndWithSteward runs the banner as a company's page gets it from
// a real Steward: the demo page, a choice in the dialog, and the ledger,
// the decisions and the receipts that follow from it.
func TestEndToEndWithSteward(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.StartWith(t, dialect, apptest.Options{Demo: true})
			ctx := tab(t)
			do(t, ctx, chromedp.Navigate(srv.URL+"/demo"))
			waitJS(t, ctx, `window.Steward && document.readyState == "complete"`)
			waitJS(t, ctx, dialogOpen)
			if got := js[string](t, ctx, `document.getElementById('analytics-status').textContent`); !strings.Contains(got, "has not run") {
				t.Fatalf("the analytics script ran before consent: %q", got)
			}
			click(t, ctx, `#steward-banner button[data-a=accept]`)
			waitJS(t, ctx, `document.getElementById('analytics-status').textContent.includes('ran')`)
			device := js[string](t, ctx, `Steward.consent().deviceId`)
			if device == "" {
				t.Fatal("no device id")
			}
			// The choice reaches the ledger: one grant per optional purpose.
			var events []consent.Event
			deadline := time.Now().Add(10 * time.Second)
			for len(events) < 3 && time.Now().Before(deadline) {
				var err error
				if events, err = srv.App.Consent.Events(context.Background(), consent.EventFilter{Device: device}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(events) != 3 {
				t.Fatalf("ledger holds %d events for the device, want 3: %+v", len(events), events)
			}
			for _, e := range events {
				if e.Action != consent.ActionGrant || e.Source != consent.SourceBanner || e.Property != "demo" || e.NoticeVersion != "2026-11" {
					t.Fatalf("event %+v", e)
				}
			}
			q := consent.Question{Device: device, Purpose: "analytics", Vendor: "metrics-co", Property: "demo"}
			if a, err := srv.App.Consent.Decider().Decide(&q, false); err != nil || !a.Allowed {
				t.Fatalf("decision after Accept all: %+v %v", a, err)
			}
			// The page kept the receipts, and they verify against Steward's keys.
			waitJS(t, ctx, `Object.keys(localStorage).some(k => localStorage.getItem(k).includes('eyJ'))`)
			stored := js[string](t, ctx, `Object.keys(localStorage).map(k => localStorage.getItem(k)).find(v => v.includes('eyJ'))`)
			start := strings.Index(stored, "eyJ")
			end := start + strings.IndexAny(stored[start:], `"' ,]}`)
			if end < start {
				end = len(stored)
			}
			r, err := receipt.Verify(stored[start:end], srv.App.Signer.JWKS())
			if err != nil || r.Steward.Property != "demo" || r.Steward.Action != "grant" {
				t.Fatalf("kept receipt: %+v %v", r, err)
			}
		})
	}
}
