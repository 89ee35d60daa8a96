package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault"
)

// TestPortalSaysWhatItHolds replays a customer whose only choice is a
// vendor's decline in the banner: the portal said "we hold no consent
// records" above a history holding that decline, named fields and
// categories by their keys, showed empty sections, and served a receipt
// only as a signed file. Now it says what it holds without contradicting
// itself, in the reader's language, hides empty sections, and shows a
// receipt as a page to read and verify.
func TestPortalSaysWhatItHolds(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	app := f.srv.App
	for _, field := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte("bo.portal@example.org")},
		{Name: "iban", Category: "financial", Value: []byte("FR7630006000011234567890189")},
	} {
		if _, err := app.Vault.Put(ctx, "cust-bo", field); err != nil {
			t.Fatal(err)
		}
	}
	decline := []consent.Event{{ID: "e-bo-adnet", Property: "demo", Subject: "cust-bo", Purpose: "marketing", Vendor: "adnet",
		Action: consent.ActionDeny, Source: consent.SourceAPI, NoticeVersion: "2026-11"}}
	if err := app.Consent.ValidateEvents(decline, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Consent.Append(ctx, decline); err != nil {
		t.Fatal(err)
	}
	b := f.signIn(t, "bo.portal@example.org")

	cases := []struct {
		name, path   string
		want, reject []string
	}{
		{"english", "/privacy/home?lang=en",
			[]string{"What we hold about you", "1 consent choice", "2 protected fields", "declined", "Email address", "Bank account (IBAN)",
				"financial data", "What we send you"},
			[]string{"We hold no consent records", `id="third-parties"`, `id="accesses"`, "<td>financial</td>", "<td>iban</td>", "deny ("}},
		{"german", "/privacy/home?lang=de",
			[]string{"Was wir über Sie speichern", "E-Mail-Adresse", "Bankkonto (IBAN)", "Finanzdaten", "Kontaktdaten", "abgelehnt"},
			[]string{"Zu Ihrer E-Mail-Adresse liegen keine Einwilligungen vor", "<td>contact</td>"}},
		{"french", "/privacy/home?lang=fr", []string{"Ce que nous détenons sur vous", "Compte bancaire (IBAN)", "données financières", "refusé"}, nil},
		{"spanish", "/privacy/home?lang=es", []string{"Lo que guardamos sobre usted", "Cuenta bancaria (IBAN)", "datos financieros", "rechazado"}, nil},
		{"receipt", "/privacy/receipts/demo/e-bo-adnet?lang=en",
			[]string{"Your consent receipt", "declined", "Marketing · AdNet", "Demo Shop", "2026-11", "Example Shop",
				"valid: signed with our published key", "steward receipt verify --jwks " + f.srv.URL + "/.well-known/jwks.json consent-receipt-e-bo-adnet.jws",
				"?format=jws"},
			nil},
		{"receipt in german", "/privacy/receipts/demo/e-bo-adnet?lang=de", []string{"Ihr Einwilligungsbeleg", "abgelehnt", "gültig"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := b.do("GET", c.path, nil)
			body := html.UnescapeString(got.body)
			if got.status != http.StatusOK || !strings.HasPrefix(got.header.Get("Content-Type"), "text/html") {
				t.Fatalf("%s: %d %s", c.path, got.status, got.header.Get("Content-Type"))
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", c.path, w)
				}
			}
			for _, r := range c.reject {
				if strings.Contains(body, r) {
					t.Errorf("%s shows %q", c.path, r)
				}
			}
		})
	}
	// The signed file itself still verifies.
	got := b.do("GET", "/privacy/receipts/demo/e-bo-adnet?format=jws", nil)
	if r, err := receipt.Verify(got.body, app.Signer.JWKS()); err != nil || r.Steward.EventID != "e-bo-adnet" {
		t.Fatalf("the signed receipt: %v", err)
	}
}
