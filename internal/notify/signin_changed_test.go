package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
)

// TestSignInAddressChanged: the notice reads in every language, carries the
// date, the company's contact and the portal link, and no other address.
func TestSignInAddressChanged(t *testing.T) {
	tmpl := mustTemplates(t)
	data := notify.SignInAddressChanged{Brand: brand, ChangedAt: time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC),
		ContactEmail: "privacy@shop.example", PortalURL: "https://shop.example/privacy"}
	want := map[string]string{"en": "6 December 2026", "de": "6. Dezember 2026", "fr": "6 décembre 2026", "es": "6 de diciembre de 2026"}
	for _, lang := range notify.Languages() {
		t.Run(lang, func(t *testing.T) {
			msg := mustRender(t, tmpl, lang, notify.TemplateSignInAddressChanged, data)
			for _, part := range []string{msg.Text, msg.HTML} {
				for _, s := range []string{want[lang], "privacy@shop.example", "https://shop.example/privacy"} {
					if !strings.Contains(part, s) {
						t.Errorf("%s lacks %q", part, s)
					}
				}
			}
			if strings.Count(msg.Text, "@") != 1 || msg.Headers["Content-Language"] != lang || !strings.Contains(msg.Subject, "Beispiel & Söhne GmbH") {
				t.Errorf("message: %q %q", msg.Subject, msg.Text)
			}
		})
	}
	data.ContactEmail = ""
	if msg := mustRender(t, tmpl, "de", notify.TemplateSignInAddressChanged, data); strings.Contains(msg.Text, "@") || !strings.Contains(msg.Text, "wenden Sie sich bitte sofort an Beispiel") {
		t.Errorf("without a contact address: %q", msg.Text)
	}
	if _, err := tmpl.Render("en", notify.TemplateSignInAddressChanged, notify.SignInAddressChanged{Brand: brand, ContactEmail: "not an address"}); errs.CodeOf(err) != errs.CodeInvalid {
		t.Fatalf("incomplete data: %v", err)
	}
}
