package disclosure_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

type world struct {
	svc     *consent.Service
	d       *disclosure.Service
	passing map[string]bool
	now     time.Time
}

func newWorld(t *testing.T, store *db.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{passing: map[string]bool{}, now: time.Now().UTC()}
	_, key, _ := ed25519.GenerateKey(nil)
	signer, _ := receipt.NewSigner(key)
	log, _ := audit.New(audit.Config{DB: store})
	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(t, svc)
	w.svc = svc
	for _, p := range []consent.Purpose{
		{Key: "delivery", Names: map[string]string{"en": "Delivery"}, LegalBasis: consent.BasisContract, Necessary: true},
		{Key: "marketing", Names: map[string]string{"en": "Marketing"}, LegalBasis: consent.BasisConsent, Position: 1},
		{Key: "sale", Names: map[string]string{"en": "Sale"}, LegalBasis: consent.BasisConsent, SaleOrSharing: true, Position: 2},
		{Key: "analytics", Names: map[string]string{"en": "Analytics"}, LegalBasis: consent.BasisConsent, Position: 3},
	} {
		if _, err := svc.PutPurpose(ctx, p, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []consent.Vendor{
		{Key: "carrier", Name: "Carrier", Purposes: []string{"delivery"}, DataCategories: []string{"contact", "location"}, Country: "DE"},
		{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale"}, DataCategories: []string{"contact"}, Country: "IE"},
	} {
		if _, err := svc.PutVendor(ctx, v, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true); err != nil {
		t.Fatal(err)
	}
	w.d, err = disclosure.New(disclosure.Config{DB: store, Consent: svc, Audit: log, Now: func() time.Time { return w.now },
		Assurance: func(_ context.Context, vendor string) (bool, string, error) {
			if w.passing[vendor] {
				return true, "", nil
			}
			return false, "no assessment", nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// assess sets whether a vendor holds a current passing security
// assessment, for disclosures (Assurance) and decisions (the consent
// gate) alike, as package assurance does after a sign-off or withdrawal;
// the assessment covers what the catalog gives the vendor now.
func (w *world) assess(t *testing.T, vendor string, passing bool) {
	t.Helper()
	w.passing[vendor] = passing
	gate := map[string]consent.VendorAssessment{}
	for key, ok := range w.passing {
		if !ok {
			continue
		}
		v, err := w.svc.Vendor(key)
		if err != nil {
			t.Fatal(err)
		}
		gate[key] = consent.VendorAssessment{Until: w.now.AddDate(1, 0, 0), Purposes: v.Purposes, Categories: v.DataCategories}
	}
	w.svc.SetAssessedVendors(gate)
}

func (w *world) record(t *testing.T, subject, purpose, vendor string, action consent.Action, gpc bool) {
	t.Helper()
	events := []consent.Event{{ID: fmt.Sprintf("%s-%s-%s-%d", subject, purpose, vendor, time.Now().UnixNano()), Property: "shop", Subject: subject,
		Purpose: purpose, Vendor: vendor, Action: action, Source: consent.SourceAPI, GPC: gpc}}
	if err := w.svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Append(context.Background(), events); err != nil {
		t.Fatal(err)
	}
}

// TestDisclosureMatrix: every combination of necessity, assessment, consent
// state and GPC gives the expected answer.
func TestDisclosureMatrix(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store)
		i := 0
		for _, purpose := range []string{"delivery", "marketing", "sale"} {
			for _, assessed := range []bool{true, false} {
				for _, state := range []string{"none", "granted", "denied", "withdrawn"} {
					for _, gpc := range []bool{false, true} {
						i++
						subject := fmt.Sprintf("cust-%d", i)
						vendor := "adnet"
						if purpose == "delivery" {
							vendor = "carrier"
						}
						w.assess(t, vendor, assessed)
						switch state {
						case "granted":
							w.record(t, subject, purpose, vendor, consent.ActionGrant, gpc)
						case "denied":
							w.record(t, subject, purpose, vendor, consent.ActionDeny, gpc)
						case "withdrawn":
							w.record(t, subject, purpose, vendor, consent.ActionWithdraw, gpc)
						default:
							if gpc { // a GPC signal seen on another choice
								w.record(t, subject, "analytics", "", consent.ActionDeny, true)
							}
						}
						want := disclosure.Pending
						switch {
						case !assessed:
							want = disclosure.Blocked
						case purpose == "delivery":
							want = disclosure.Allowed
						case state == "granted":
							want = disclosure.Allowed
						case state == "denied" || state == "withdrawn":
							want = disclosure.Blocked
						case purpose == "sale" && gpc:
							want = disclosure.Blocked
						}
						d, err := w.d.Ask(ctx, disclosure.Ask{Subject: subject, Vendor: vendor, Purpose: purpose, Categories: []string{"contact"}, Reason: "to serve you better"})
						name := fmt.Sprintf("%s assessed=%v consent=%s gpc=%v", purpose, assessed, state, gpc)
						if err != nil || d.State != want {
							t.Errorf("%s: %s (%s), %v; want %s", name, d.State, d.BlockedReason, err, want)
						}
					}
				}
			}
		}
		w.assess(t, "adnet", true)
		if d, _ := w.d.Ask(ctx, disclosure.Ask{Subject: "cust-x", Vendor: "carrier", Purpose: "marketing", Categories: []string{"contact"}, Reason: "to sell you things"}); d.State != disclosure.Blocked {
			t.Errorf("an undeclared vendor: %s", d.State)
		}
		for _, bad := range []disclosure.Ask{
			{Subject: "cust-1", Vendor: "nobody", Purpose: "marketing", Categories: []string{"contact"}, Reason: "because"},
			{Subject: "cust-1", Vendor: "adnet", Purpose: "marketing", Reason: "because"},
			{Subject: "cust-1", Vendor: "adnet", Purpose: "marketing", Categories: []string{"contact"}, Reason: "write to ada@example.org"},
		} {
			if _, err := w.d.Ask(ctx, bad); errs.CodeOf(err) != errs.CodeInvalid {
				t.Errorf("Ask(%+v) = %v, want invalid", bad, err)
			}
		}
	})
}

// TestDisclosureDecision: a pending disclosure approved by the customer
// becomes consent for the vendor (the next ask is allowed at once), a
// declined one blocks the next; another customer cannot answer; unanswered
// ones expire.
func TestDisclosureDecision(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store)
		w.assess(t, "adnet", true)
		ask := func(subject string) disclosure.Disclosure {
			d, err := w.d.Ask(ctx, disclosure.Ask{Subject: subject, Vendor: "adnet", Purpose: "marketing", Categories: []string{"contact"}, Reason: "to show you offers"})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		d := ask("cust-a")
		if d.State != disclosure.Pending || d.NeededBy.Sub(d.CreatedAt) != 7*24*time.Hour {
			t.Fatalf("first ask: %+v", d)
		}
		if _, err := w.d.Decide(ctx, d.ID, "cust-b", true); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("another customer decides: %v", err)
		}
		if got, err := w.d.Decide(ctx, d.ID, "cust-a", true); err != nil || got.State != disclosure.Approved || got.Basis != disclosure.BasisApproval {
			t.Fatalf("approve: %+v, %v", got, err)
		}
		if _, err := w.d.Decide(ctx, d.ID, "cust-a", false); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("second answer: %v", err)
		}
		if again := ask("cust-a"); again.State != disclosure.Allowed || again.Basis != disclosure.BasisConsent {
			t.Fatalf("after approval: %+v", again)
		}
		declined := ask("cust-c")
		if _, err := w.d.Decide(ctx, declined.ID, "cust-c", false); err != nil {
			t.Fatal(err)
		}
		if again := ask("cust-c"); again.State != disclosure.Blocked {
			t.Fatalf("after declining: %+v", again)
		}
		late := ask("cust-d")
		w.now = w.now.Add(8 * 24 * time.Hour)
		if _, err := w.d.Decide(ctx, late.ID, "cust-d", true); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("answer after needed_by: %v", err)
		}
		expired, err := w.d.ExpireDue(ctx)
		if err != nil || len(expired) != 1 || expired[0].ID != late.ID {
			t.Fatalf("ExpireDue = %+v, %v", expired, err)
		}
		went, _ := w.d.ForVendor(ctx, "adnet")
		if len(went) != 2 { // cust-a approved, then allowed
			t.Fatalf("went ahead to adnet: %d", len(went))
		}
		mine, _ := w.d.ForSubject(ctx, "cust-a")
		if len(mine) != 2 {
			t.Fatalf("cust-a's disclosures: %d", len(mine))
		}
	})
}
