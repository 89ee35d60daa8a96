package web_test

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/i18n"
)

// TestPortalSaysWhereChoicesWereGiven: the consents page says, per purpose,
// when and where the latest choice was made (a form by its name, our
// systems, the portal itself), from the ledger, in the customer's language;
// the history names the form too.
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
			events, err := app.Consent.Events(ctx, consent.EventFilter{Subject: "cust-1"})
			if err != nil || len(events) != 3 {
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
				{"en", []string{"Given on " + date["en"] + " in form “Kasse”", "Given on " + date["en"] + " through our systems", "Withdrawn on " + date["en"] + " in our privacy portal"}},
				{"de", []string{"Erteilt am " + date["de"] + " im Formular „Kasse“", "Erteilt am " + date["de"] + " über unsere Systeme", "Widerrufen am " + date["de"] + " in unserem Datenschutzportal"}},
				{"fr", []string{"Donné le " + date["fr"] + " dans le formulaire « Kasse »", "Donné le " + date["fr"] + " par nos systèmes", "Retiré le " + date["fr"] + " dans notre portail de confidentialité"}},
				{"es", []string{"Dado el " + date["es"] + " en el formulario «Kasse»", "Dado el " + date["es"] + " a través de nuestros sistemas", "Retirado el " + date["es"] + " en nuestro portal de privacidad"}},
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
		})
	}
}
