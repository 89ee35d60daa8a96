package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/i18n"
)

// TestPortalSaysWhereChoicesWereGiven: the consents page says, per purpose,
// when and where the latest choice was made (a form by its name, the
// banner and GPC on a device the shop linked to the customer), from the
// ledger, in the customer's language; the history says where each earlier
// choice was made (our systems, the portal itself). Another customer's
// device's choices are neither listed nor readable.
func TestPortalSaysWhereChoicesWereGiven(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newPortalFixture(t, dialect)
			app := f.srv.App
			if _, err := app.Consent.PutForm(ctx, consent.Form{Property: "demo", ID: "checkout", Name: "Kasse", Purposes: []string{"marketing"}}, true); err != nil {
				t.Fatal(err)
			}
			record := func(by consent.Author, e consent.Event) {
				t.Helper()
				events := []consent.Event{e}
				if err := app.Consent.ValidateEvents(events, by); err != nil {
					t.Fatal(err)
				}
				if _, err := app.Consent.Append(ctx, events); err != nil {
					t.Fatal(err)
				}
			}
			// The back end records the choice made in the checkout form;
			// the customer withdraws sale of data in the portal.
			record(consent.Author{Kind: consent.AuthorRecordKey}, consent.Event{ID: "e-form", Property: "demo", Subject: "cust-1", Purpose: "marketing",
				Action: consent.ActionGrant, Source: consent.FormSource("checkout"), NoticeVersion: "2026-11"})
			record(consent.Author{Kind: consent.AuthorPortal}, consent.Event{ID: "e-portal", Property: "demo", Subject: "cust-1", Purpose: "sale_of_data",
				Action: consent.ActionWithdraw, Source: consent.SourcePortal, NoticeVersion: "2026-11"})
			// On the customer's phone, which the shop linked to them: the
			// banner's grant and a GPC refusal. Another customer's device
			// made a choice too, which is not cust-1's.
			for subject, device := range map[string]string{"cust-1": "phone-1", "cust-2": "phone-2"} {
				if _, err := app.Consent.LinkDevice(ctx, subject, device); err != nil {
					t.Fatal(err)
				}
			}
			ingest := consent.Author{Kind: consent.AuthorIngestKey, Property: "demo"}
			record(ingest, consent.Event{ID: "e-banner", Property: "demo", Device: "phone-1", Purpose: "analytics",
				Action: consent.ActionGrant, Source: consent.SourceBanner, NoticeVersion: "2026-11"})
			record(ingest, consent.Event{ID: "e-gpc", Property: "demo", Device: "phone-1", Purpose: "sale_of_data",
				Action: consent.ActionDeny, Source: consent.SourceGPC, NoticeVersion: "2026-11"})
			record(ingest, consent.Event{ID: "e-not-theirs", Property: "demo", Device: "phone-2", Purpose: "marketing",
				Action: consent.ActionDeny, Source: consent.SourceBanner, NoticeVersion: "2026-11"})
			events, err := app.Consent.Events(ctx, consent.EventFilter{Subject: "cust-1", LinkedDevices: true})
			if err != nil || len(events) != 5 {
				t.Fatalf("events %+v, %v", events, err)
			}
			date := map[string]string{}
			for _, lang := range []string{"en", "de", "fr", "es"} {
				// Every event of the fixture is made today (UTC).
				date[lang] = i18n.Default().Printer(lang).Date(events[0].At)
			}
			b := f.signIn(t, "ada.portal@example.org")
			cases := []struct {
				lang string
				want []string
			}{
				{"en", []string{"Given on " + date["en"] + " in form “Kasse”", "Given on " + date["en"] + " in the banner",
					"Refused on " + date["en"] + " by your browser's Global Privacy Control signal", "(through our systems)", "(in our privacy portal)"}},
				{"de", []string{"Erteilt am " + date["de"] + " im Formular „Kasse“", "Erteilt am " + date["de"] + " im Cookie-Banner",
					"Abgelehnt am " + date["de"] + " durch das Global-Privacy-Control-Signal Ihres Browsers", "(über unsere Systeme)", "(in unserem Datenschutzportal)"}},
				{"fr", []string{"Donné le " + date["fr"] + " dans le formulaire « Kasse »", "Donné le " + date["fr"] + " dans la bannière de cookies",
					"Refusé le " + date["fr"] + " par le signal Global Privacy Control de votre navigateur", "(par nos systèmes)", "(dans notre portail de confidentialité)"}},
				{"es", []string{"Dado el " + date["es"] + " en el formulario «Kasse»", "Dado el " + date["es"] + " en el banner de cookies",
					"Rechazado el " + date["es"] + " por la señal Global Privacy Control de su navegador", "(a través de nuestros sistemas)", "(en nuestro portal de privacidad)"}},
			}
			for _, c := range cases {
				home := b.do("GET", "/privacy/home?lang="+c.lang, nil)
				if home.status != 200 {
					t.Fatalf("%s: home %d", c.lang, home.status)
				}
				for _, want := range c.want {
					if !strings.Contains(html.UnescapeString(home.body), want) {
						t.Errorf("%s: the consents page does not say %q", c.lang, want)
					}
				}
			}
			if got := html.UnescapeString(b.do("GET", "/privacy/receipts/demo/e-form?lang=en", nil).body); !strings.Contains(got, "in form “Kasse”") {
				t.Errorf("the receipt page does not name the form: %.1500s", got)
			}
			// The linked device's receipt is the customer's; another
			// customer's device's is not found, nor listed.
			if got := b.do("GET", "/privacy/receipts/demo/e-banner?format=jws", nil); got.status != http.StatusOK || !strings.HasPrefix(got.body, "eyJ") {
				t.Errorf("the receipt of a choice on the customer's linked device: %d", got.status)
			}
			if got := b.do("GET", "/privacy/receipts/demo/e-not-theirs", nil); got.status != http.StatusNotFound {
				t.Errorf("the receipt of another customer's device: %d, want 404", got.status)
			}
			if home := b.do("GET", "/privacy/home?lang=en", nil); strings.Contains(home.body, "e-not-theirs") {
				t.Error("the page lists another customer's device's choice")
			}
		})
	}
}
