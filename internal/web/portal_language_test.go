package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web/portal"
)

// TestPortalSpeaksOnlyTheLanguage replays issue 12: German, French and
// Spanish portal pages still said things in English ("masked record", the
// identity step's "Detail 0", staff roles, the language menu's name). Every
// main page, filled with what a customer meets (requests, the identity
// step, a restriction and an objection, accesses by staff, the correction
// form and its refusal, the sign-in steps, errors), is rendered in each
// language and searched for the English catalog's sentences and for words
// only English uses; the identity step names each detail by what it asks.
func TestPortalSpeaksOnlyTheLanguage(t *testing.T) {
	ctx := context.Background()
	mail := mailtest.Start(t, mailtest.Options{})
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: mail.Addr(), CorrectableFields: map[string]bool{"iban": false, "phone": true}})
	for _, field := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte("ada.portal@example.org")},
		{Name: "phone", Category: "contact", Value: []byte("+49 30 1234567")},
		{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")},
	} {
		if _, err := srv.App.Vault.Put(ctx, "cust-1", field); err != nil {
			t.Fatal(err)
		}
	}
	f := &portalFixture{srv: srv, mail: mail}
	b := f.signIn(t, "ada.portal@example.org")
	token := csrfField.FindStringSubmatch(b.do("GET", "/privacy/home", nil).body)[1]
	// An export of financial data: its page asks for the second proof.
	filed := b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"export"}})
	exportID := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(filed.header.Get("Location"))
	if exportID == "" {
		t.Fatalf("file: %d", filed.status)
	}
	// The preference centre's pages, reached by an email's links (the
	// customer's subscription makes its receipt).
	record, _, err := srv.App.Keys.Create(ctx, apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	links := preferenceLinks(t, srv.URL, record, "cust-1", `{"property":"demo","topics":["newsletter"]}`)
	prefPath, unsubscribePath := pathOf(t, links.PreferencesURL), pathOf(t, links.UnsubscribeURL)
	form := html.UnescapeString(preferenceForm.FindStringSubmatch(b.do("GET", prefPath, nil).body)[1])
	if got := b.do("POST", prefPath, url.Values{"form": {form}, "shown": {"newsletter"}, "topic": {"newsletter"}}); got.status != http.StatusSeeOther {
		t.Fatalf("subscribe: %d", got.status)
	}
	events, err := srv.App.Consent.Events(ctx, consent.EventFilter{Subject: "cust-1", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	prefReceipt := prefPath + "/receipts/demo/" + events[len(events)-1].ID

	if _, err := srv.App.Consent.Restrict(ctx, "cust-1", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.App.Audit.Append(ctx, audit.Entry{Actor: audit.Staff("stf_1"), Action: "customer.view", Target: audit.Subject("cust-1"),
		Details: audit.MustDetails(map[string]any{"masked": true, "role": "privacy_officer"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.App.Audit.Append(ctx, audit.Entry{Actor: audit.Staff("stf_1"), Action: "vault.reveal", Target: audit.Subject("cust-1"),
		Details: audit.MustDetails(map[string]any{"fields": []string{"iban"}, "role": "support", "purpose": "Rückfrage", "ticket": "T-1"})}); err != nil {
		t.Fatal(err)
	}

	english := portal.EnglishPhrases()
	// Words only English uses, as whole words, for what the catalog does
	// not hold (a message from Go code, a role's name).
	onlyEnglish := regexp.MustCompile(`\b(the|your|you|with|and|please|officer|support|masked|record|detail|language|request|not found)\b`)
	for _, lang := range []string{"de", "fr", "es"} {
		signedOut := newBrowser(t, srv.URL)
		pages := map[string]answer{
			"sign-in":             signedOut.do("GET", "/privacy?lang="+lang, nil),
			"code":                signedOut.do("GET", "/privacy/code?lang="+lang, nil),
			"verify":              signedOut.do("GET", "/privacy/verify?code=123456&lang="+lang, nil),
			"agent":               signedOut.do("GET", "/privacy/agent?lang="+lang, nil),
			"signed out":          signedOut.do("POST", "/privacy/requests?lang="+lang, url.Values{"lang": {lang}, "kind": {"export"}}),
			"home":                b.do("GET", "/privacy/home?lang="+lang, nil),
			"request":             b.do("GET", "/privacy/requests/"+exportID+"?lang="+lang, nil),
			"not found":           b.do("GET", "/privacy/requests/req_nothing?lang="+lang, nil),
			"receipt":             b.do("GET", "/privacy/receipts/demo/e-analytics?lang="+lang, nil),
			"preferences":         signedOut.do("GET", prefPath+"?saved=1&lang="+lang, nil),
			"preference receipt":  signedOut.do("GET", prefReceipt+"?lang="+lang, nil),
			"unsubscribe":         signedOut.do("GET", unsubscribePath+"?lang="+lang, nil),
			"unsubscribed":        signedOut.do("POST", unsubscribePath, url.Values{"List-Unsubscribe": {"One-Click"}, "page": {"1"}, "lang": {lang}}),
			"unsubscribe refused": signedOut.do("POST", unsubscribePath, url.Values{"lang": {lang}}),
			"broken link":         signedOut.do("GET", prefPath+"x?lang="+lang, nil),
			"rectify refused": b.do("POST", "/privacy/rectify?lang="+lang, url.Values{"csrf": {token}, "lang": {lang},
				"new.vault:phone": {"+49 30 7654321"}, "new.vault:email": {"eve@example.org"}}),
			"identity refused": b.do("POST", "/privacy/requests/"+exportID+"/identity?lang="+lang, url.Values{"csrf": {token}, "lang": {lang},
				"point_0": {"birth_date"}, "value_0": {"1901-01-01"}}),
		}
		names := make([]string, 0, len(pages))
		for name := range pages {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			page := pages[name]
			if page.status >= 500 || !strings.Contains(page.body, `<html lang="`+lang+`">`) {
				t.Errorf("%s %s: %d, not in %s", lang, name, page.status, lang)
				continue
			}
			text := visibleText(page.body)
			for _, phrase := range english[lang] {
				if strings.Contains(text, phrase) {
					t.Errorf("%s %s says in English: %q", lang, name, phrase)
				}
			}
			if m := onlyEnglish.FindAllString(strings.ToLower(text), -1); len(m) > 0 {
				t.Errorf("%s %s has English words %q in:\n%s", lang, name, m, text)
			}
		}
		// The identity step names what it asks.
		request := pages["request"].body
		want := map[string][]string{"de": {"Geburtsdatum", "Letzte 4 Ziffern Ihrer IBAN"}, "fr": {"Date de naissance", "4 derniers chiffres de votre IBAN"},
			"es": {"Fecha de nacimiento", "Últimos 4 dígitos de su IBAN"}}[lang]
		for _, w := range want {
			if !strings.Contains(html.UnescapeString(request), w) {
				t.Errorf("%s: the identity step does not ask for %q", lang, w)
			}
		}
		if regexp.MustCompile(`>\s*(Angabe|Information|Dato|Detail) \d`).MatchString(request) {
			t.Errorf("%s: the identity step numbers its details", lang)
		}
	}
	if got := b.do("GET", "/privacy/requests/"+exportID+"?lang=en", nil); !strings.Contains(got.body, "Last 4 digits of your IBAN") ||
		!strings.Contains(got.body, "Date of birth") || strings.Contains(got.body, "Detail 0") {
		t.Errorf("en: the identity step: %.3000s", got.body)
	}
	if got := b.do("GET", "/privacy/requests/"+exportID+"?lang=de", nil); got.status != http.StatusOK {
		t.Fatalf("request page: %d", got.status)
	}
}

var (
	tags       = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]+>`)
	attributes = regexp.MustCompile(`\s(?:aria-label|title|alt|placeholder)="([^"]*)"`)
	spaces     = regexp.MustCompile(`\s+`)
)

// visibleText is what a reader meets on a page: its text and the
// attributes read aloud (aria-label, title, alt, placeholder).
func visibleText(body string) string {
	var read []string
	for _, m := range attributes.FindAllStringSubmatch(body, -1) {
		read = append(read, m[1])
	}
	text := tags.ReplaceAllString(body, " ") + " " + strings.Join(read, " ")
	return spaces.ReplaceAllString(html.UnescapeString(text), " ")
}
