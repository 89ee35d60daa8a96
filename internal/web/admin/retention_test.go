package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// TestLegalHoldInTheConsole: a privacy officer places a hold on the
// customer's page with a reason (audited as them), the page then says who
// placed it and offers to lift it; a second hold, an empty reason or an
// email address in the reason are refused with what to do; lifting keeps
// the record; the retention page lists a run's counts and no customer.
// Every page in the four languages.
func TestLegalHoldInTheConsole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		if _, err := f.vault.Put(ctx, "cust-1", vault.Field{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")}); err != nil {
			t.Fatal(err)
		}
		var err error
		if f.console.Retention, err = retention.New(retention.Config{DB: store, Audit: f.console.Audit, Vault: f.vault, Now: f.console.Now}); err != nil {
			t.Fatal(err)
		}
		officer := &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_officer", Name: "Olive Officer", Role: staff.RolePrivacyOfficer}}
		place := func(reason, lang string) (int, string) {
			w := serveAs(officer, f.console.HandlePlaceHold(), "POST", "/admin/customers/cust-1/legal-hold?lang="+lang,
				url.Values{"reason": {reason}}, map[string]string{"id": "cust-1"})
			return w.Code, w.Body.String()
		}
		lift := func(lang string) (int, string) {
			w := serveAs(officer, f.console.HandleLiftHold(), "POST", "/admin/customers/cust-1/legal-hold/lift?lang="+lang, url.Values{}, map[string]string{"id": "cust-1"})
			return w.Code, w.Body.String()
		}
		customerPage := func(lang string) (int, string) {
			w := serveAs(officer, f.console.HandleCustomer(), "GET", "/admin/customers/cust-1?lang="+lang, nil, map[string]string{"id": "cust-1"})
			return w.Code, w.Body.String()
		}
		if _, err := f.console.Retention.Run(ctx, true); err != nil {
			t.Fatal(err)
		}
		checkLanguages(t, []consolePage{
			{name: "customer without a hold", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) { return customerPage(lang) },
				english: []string{"Legal hold", "No legal hold: retention applies", "Place a legal hold", "Name the case", "Place the hold", ">Reason<"}},
			{name: "hold without a reason", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) { return place(" ", lang) },
				english: []string{"The hold was not placed.", "Say why the data must be kept"}},
			{name: "retention page", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleRetention(), "GET", "/admin/retention?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>Retention runs ·", "Every day Steward destroys", "run steward retention run --dry-run", "dry run, nothing changed", "0 in all", "Nothing has a retention set yet."}},
		})
		if code, body := place("contact ada@example.org about claim 17", "en"); code != http.StatusBadRequest || !strings.Contains(body, "personal data") {
			t.Fatalf("a reason with an address: %d %.300s", code, body)
		}
		code, body := place("Claim 2026-17 before the labour court", "en")
		if code != http.StatusOK || !strings.Contains(body, "Legal hold placed") || !strings.Contains(body, "placed by staff member stf_officer") ||
			!strings.Contains(body, "Claim 2026-17") || !strings.Contains(body, "Lift the legal hold") || strings.Contains(body, "Place the hold") {
			t.Fatalf("placed: %d %.2000s", code, body)
		}
		if !strings.Contains(body, `name="csrf"`) {
			t.Fatal("the lift form carries no CSRF token")
		}
		support := &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_sam", Name: "Sam Support", Role: staff.RoleSupport}}
		w := serveAs(support, f.console.HandleCustomer(), "GET", "/admin/customers/cust-1", nil, map[string]string{"id": "cust-1"})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Under a legal hold since") ||
			strings.Contains(w.Body.String(), "Claim 2026-17") || strings.Contains(w.Body.String(), "Lift the legal hold") {
			t.Fatalf("support's view of a held customer: %d, want the hold without its reason or form\n%.2000s", w.Code, w.Body.String())
		}
		page, err := f.console.Audit.Search(context.Background(), audit.Query{Action: retention.ActionHoldPlace, Limit: 5})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != audit.Staff("stf_officer") {
			t.Fatalf("audit of the hold: %+v, %v", page.Entries, err)
		}
		checkLanguages(t, []consolePage{
			{name: "second hold", status: http.StatusConflict, serve: func(t *testing.T, lang string) (int, string) { return place("another", lang) },
				english: []string{"already under a legal hold; lift it before placing another"}},
			{name: "customer under a hold", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) { return customerPage(lang) },
				english: []string{"Under a legal hold since", "Lift the hold once the case is closed", "Placed a legal hold"}},
		})
		if code, body := lift("en"); code != http.StatusOK || !strings.Contains(body, "Legal hold lifted") || !strings.Contains(body, "Earlier holds") {
			t.Fatalf("lifted: %d %.2000s", code, body)
		}
		checkLanguages(t, []consolePage{
			{name: "nothing to lift", status: http.StatusNotFound, serve: func(t *testing.T, lang string) (int, string) { return lift(lang) },
				english: []string{"no legal hold to lift"}},
		})
	})
}
