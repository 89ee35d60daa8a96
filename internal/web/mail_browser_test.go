package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
)

// TestSignInMailInFourLanguages walks the two customer emails that the
// request mail tests (internal/dsr/dsrmail) do not cover, on both stores
// and in each of en, de, fr and es: the sign-in code asked for in the
// portal in that language arrives in it and signs the customer in to a
// portal in it; a change of the sign-in address through the API tells the
// previous address in the customer's language. Neither mail holds the
// customer's addresses.
func TestSignInMailInFourLanguages(t *testing.T) {
	changed := map[string]string{"en": "Your sign-in address at", "de": "Ihre Anmeldeadresse bei", "fr": "Votre adresse de connexion chez", "es": "Su dirección de acceso en"}
	requests := map[string]string{"en": "Your requests", "de": "Ihre Anfragen", "fr": "Vos demandes", "es": "Sus solicitudes"}
	forStores(t, func(t *testing.T, dialect db.Dialect) {
		w := newWalk(t, dialect, apptest.Options{}, "cust-mail-en", "lang.en@example.org",
			vault.Field{Name: "language", Category: "other", Value: []byte("en")})
		c := caller{t, w.srv.URL}
		for _, lang := range []string{"en", "de", "fr", "es"} {
			w.subject, w.email = "cust-mail-"+lang, "lang."+lang+"@example.org"
			if lang != "en" {
				for _, f := range []vault.Field{{Name: "email", Category: "contact", Value: []byte(w.email)}, {Name: "language", Category: "other", Value: []byte(lang)}} {
					if _, err := w.srv.App.Vault.Put(w.ctx, w.subject, f); err != nil {
						t.Fatal(err)
					}
				}
				w.tab = chromium.Tab(t)
			}
			w.run(lang+": ask for a code",
				chromedp.Navigate(w.base+"/privacy?lang="+lang),
				chromedp.SendKeys(chromedp.CSS("#email"), w.email),
				chromedp.Click(chromedp.CSS("form.card button")),
				chromedp.WaitVisible(chromedp.CSS("#code")))
			code := w.mail.WaitFor(t, w.email)
			checkCustomerMail(t, lang, code, codeSubjects[lang], w.email)
			if code.Code() == "" {
				t.Fatalf("%s: no code in %q", lang, code.Text)
			}
			w.run(lang+": sign in",
				chromedp.SendKeys(chromedp.CSS("#code"), code.Code()),
				chromedp.Click(chromedp.CSS("form.card button")),
				chromedp.WaitVisible(chromedp.CSS("#requests")))
			if got, _ := chromedp.Run(w.tab, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
				t.Errorf("%s: the portal speaks %q", lang, got)
			}
			if got := w.text("#requests-h"); got != requests[lang] {
				t.Errorf("%s: the portal's requests heading is %q, want %q", lang, got, requests[lang])
			}

			next := "new." + lang + "@example.org"
			status, body, _ := c.do("PUT", "/v1/subjects/"+w.subject+"/fields/email", w.srv.Keys.Admin, `{"category":"contact","value":"`+next+`"}`)
			if status != http.StatusOK {
				t.Fatalf("%s: change the address: %d %s", lang, status, body)
			}
			notice := w.mail.WaitFor(t, w.email)
			checkCustomerMail(t, lang, notice, changed[lang], w.email, next)
		}
	})
}

// checkCustomerMail checks that m is in lang, its subject contains want,
// and neither part names any of addresses.
func checkCustomerMail(t *testing.T, lang string, m mailtest.Message, want string, addresses ...string) {
	t.Helper()
	if !strings.Contains(m.Subject, want) {
		t.Errorf("%s: subject %q, want %q", lang, m.Subject, want)
	}
	if got := m.Header.Get("Content-Language"); got != lang {
		t.Errorf("%s: %q is in %q", lang, m.Subject, got)
	}
	for _, a := range addresses {
		if strings.Contains(m.Text, a) || strings.Contains(m.HTML, a) {
			t.Errorf("%s: %q names %s", lang, m.Subject, a)
		}
	}
}
