package app_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// TestDemoStartsAfterTheDemoCustomerWasErased replays issue 12: `serve
// --demo` exited with "subject erased" once the demo customer had been
// erased, since the seed put vault fields for it again. Now the seed starts
// a fresh demo customer, and the erased one stays erased.
func TestDemoStartsAfterTheDemoCustomerWasErased(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			cfg := config.Config{DataDir: t.TempDir(), PublicURL: "http://127.0.0.1", Demo: true,
				FollowInterval: 200 * time.Millisecond, ShutdownTimeout: 5 * time.Second, GPCLastUpdate: "2026-11-28",
				Controller: config.Controller{Name: "Example Shop", Email: "privacy@shop.example"},
				MasterKey:  "1:" + vault.GenerateKey(), PasswordMemoryMiB: 8, PasswordTime: 1,
				Mail: config.Mail{SMTPPort: 587, SMTPTLS: "starttls"}, Brand: config.Brand{Colour: "#0b57d0"}}
			if dialect == db.Postgres {
				cfg.Database = dbtest.PostgresURL(t)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			start := func() (*app.App, string) {
				t.Helper()
				a, err := app.Open(ctx, cfg, log)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.SeedDemo(ctx); err != nil {
					a.Close()
					t.Fatal(err)
				}
				subject, err := a.SeedDemoCustomer(ctx)
				if err != nil {
					a.Close()
					t.Fatalf("demo seed: %v", err)
				}
				return a, subject
			}

			a, subject := start()
			if subject != app.DemoCustomer {
				t.Fatalf("first demo customer = %q", subject)
			}
			staffCtx := audit.WithActor(ctx, audit.Staff("stf_test"))
			hash, _ := a.Vault.BlindIndex(ctx, "email", "jo.demo@shop.example")
			req, err := a.Requests.File(staffCtx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, SubjectID: subject, Email: "jo.demo@shop.example", EmailHash: hash,
				Categories: []string{"financial"}})
			if err != nil {
				t.Fatal(err)
			}
			// The demo customer holds financial data: the erasure needs the
			// second proof, which the demo's data points give.
			if _, err := a.Requests.ProveIdentity(staffCtx, hash, req.ID, dsr.Proof{Points: []dsr.DataPoint{
				{Name: "iban_last4", Value: "2051"}, {Name: "birth_date", Value: "1990-04-01"}}}); err != nil {
				t.Fatal(err)
			}
			for _, step := range []func(context.Context, string) (dsr.Request, error){a.Requests.Verify, a.Requests.Start} {
				if _, err := step(staffCtx, req.ID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Fulfil.Erase(ctx, req.ID); err != nil {
				t.Fatal(err)
			}
			a.Close()

			a, subject = start() // a second start after the erasure
			if subject == app.DemoCustomer {
				t.Fatal("the erased demo customer was seeded again")
			}
			if rec, err := a.Vault.Get(ctx, subject, "iban"); err != nil || len(rec.Value) == 0 {
				t.Fatalf("the new demo customer's field: %v", err)
			}
			if erased, err := a.Vault.Erased(ctx, app.DemoCustomer); err != nil || !erased {
				t.Fatalf("the erased demo customer: erased %v, %v", erased, err)
			}
			if found, err := a.Vault.Find(ctx, "email", "jo.demo@shop.example"); err != nil || len(found) != 1 || found[0] != subject {
				t.Fatalf("the demo address finds %v, %v", found, err)
			}
			a.Close()
			third, again := start() // and a third start keeps the new customer
			third.Close()
			if again != subject {
				t.Fatalf("third start seeded %q, want %q", again, subject)
			}
		})
	}
}

// TestDemoStaffHasAnAdministrator: the demo prints an administrator (who
// manages staff and keys) beside the two officers, each able to sign in.
func TestDemoStaffHasAnAdministrator(t *testing.T) {
	ctx := context.Background()
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Demo: true})
	accounts, err := srv.App.SeedDemoStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var roles []staff.Role
	for _, a := range accounts {
		roles = append(roles, a.Role)
		if a.Password == "" || a.TOTPSecret == "" {
			t.Errorf("%s: no password or TOTP secret to print", a.Role)
		}
	}
	if want := []staff.Role{staff.RoleAdmin, staff.RolePrivacyOfficer, staff.RoleSecurityOfficer}; !slices.Equal(roles, want) {
		t.Fatalf("demo staff %v, want %v", roles, want)
	}
}

// TestDemoVendorsComeAssessed: the demo's vendors are signed off through
// the assurance service, audited like a real sign-off, once however often
// the demo starts; so the banner offers them, decisions may name them and
// the demo's disclosures go ahead (adnet is in the US, under standard
// contractual clauses).
func TestDemoVendorsComeAssessed(t *testing.T) {
	ctx := context.Background()
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Demo: true})
	a := srv.App
	if _, err := a.SeedDemo(ctx); err != nil { // a second start
		t.Fatal(err)
	}
	for _, vendor := range []string{"metrics-co", "adnet"} {
		as, err := a.Vendors.Assurance(ctx, vendor)
		if err != nil || !as.Passing {
			t.Fatalf("%s: %+v, %v", vendor, as, err)
		}
		if !a.Consent.VendorAssessed(vendor) {
			t.Errorf("%s: the decision gate does not know it as assessed", vendor)
		}
		history, err := a.Vendors.History(ctx, vendor)
		if err != nil || len(history) != 1 {
			t.Errorf("%s: %d assessments after two starts, %v; want 1", vendor, len(history), err)
		}
		page, err := a.Audit.Search(ctx, audit.Query{Target: audit.Target{Kind: "vendor", ID: vendor}})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range page.Entries {
			acts = append(acts, e.Action)
		}
		slices.Sort(acts)
		if want := []string{"catalog.vendor.create", "vendor.assessment_approved", "vendor.assessment_sent", "vendor.assessment_submitted"}; !slices.Equal(acts, want) {
			t.Errorf("%s: audit %v, want %v", vendor, acts, want)
		}
	}
	d, err := a.Disclosures.Ask(audit.WithActor(ctx, audit.System()), disclosure.Ask{Subject: "cust-demo-x", Vendor: "adnet", Purpose: "marketing",
		Categories: []string{"contact"}, Reason: "to show you our offers"})
	if err != nil || d.State != disclosure.Pending {
		t.Fatalf("demo disclosure to adnet: %+v, %v; want pending (asks the customer)", d, err)
	}
}
