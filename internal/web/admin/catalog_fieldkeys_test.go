package admin

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
)

// TestCatalogFieldProblemsSpeakTheLanguage (issue 13): a catalog form the
// service refuses shows each field problem next to its own input in the
// reader's language (?lang=, else the staff member's setting), and not in
// the service's English, which the API keeps.
func TestCatalogFieldProblemsSpeakTheLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newVendorFixtureOn(t, store)
		c := f.console
		cases := []struct {
			name    string
			handler http.Handler
			target  string
			form    url.Values
			staff   string // the staff member's language setting
			input   string // the id of the input the problem belongs to
			german  string // what the page says there
			english string // what the service says, and the page must not
		}{
			{name: "purpose name too long", handler: c.HandlePutPurpose(true), target: "/admin/catalog/purposes?lang=de",
				form:  url.Values{"key": {"chat"}, "name.en": {strings.Repeat("x", 201)}, "legal_basis": {"consent"}},
				input: "name-en", german: "darf höchstens 200 Zeichen lang sein", english: "must be at most 200 characters"},
			{name: "purpose sold though necessary", handler: c.HandlePutPurpose(true), target: "/admin/catalog/purposes?lang=de",
				form:  url.Values{"key": {"chat"}, "name.en": {"Chat"}, "legal_basis": {"contract"}, "necessary": {"on"}, "sale_or_sharing": {"on"}},
				input: "sale_or_sharing", german: "ein notwendiger Zweck kann kein Verkauf", english: "a necessary purpose cannot be a sale"},
			{name: "property with a bad domain", handler: c.HandlePutProperty(true), target: "/admin/catalog/properties?lang=de",
				form:  url.Values{"key": {"blog"}, "name": {"Blog"}, "domains": {"blog.example\nNot A Domain"}, "default_regime": {"opt_in"}},
				input: "domains", german: "Zeile 2: muss ein Hostname in Kleinbuchstaben sein",
				english: "must be a lowercase host name"},
			{name: "property with an unknown jurisdiction", handler: c.HandlePutProperty(true), target: "/admin/catalog/properties?lang=de",
				form:  url.Values{"key": {"blog"}, "name": {"Blog"}, "opt_in": {"EU, Narnia"}, "default_regime": {"opt_in"}},
				input: "opt_in", german: `Zeile 2: "Narnia" ist kein Land (DE)`, english: "is not a country (DE)"},
			{name: "property with GPP and an unknown purpose", handler: c.HandlePutProperty(true), target: "/admin/catalog/properties?lang=de",
				form: url.Values{"key": {"blog"}, "name": {"Blog"}, "default_regime": {"opt_in"}, "gpp_enabled": {"on"},
					"gpp_sections": {"usnat"}, "gpp_sale": {"marketing, nope"}},
				input: "gpp_sale", german: `Zeile 2: unbekannter Zweck "nope"`, english: "unknown purpose"},
			{name: "property with an MSPA mode but no coverage", handler: c.HandlePutProperty(true), target: "/admin/catalog/properties?lang=de",
				form: url.Values{"key": {"blog"}, "name": {"Blog"}, "default_regime": {"opt_in"}, "gpp_enabled": {"on"},
					"gpp_sections": {"usca"}, "gpp_mspa_mode": {"service_provider"}},
				input: "gpp_mspa_mode", german: "ein MSPA-Modus gilt nur für erfasste Transaktionen", english: "an MSPA mode applies only"},
			{name: "property with a CMP id that is no number", handler: c.HandlePutProperty(true), target: "/admin/catalog/properties?lang=de",
				form:  url.Values{"key": {"blog"}, "name": {"Blog"}, "default_regime": {"opt_in"}, "gpp_enabled": {"on"}, "gpp_cmp_id": {"x"}},
				input: "gpp_cmp_id", german: "muss zwischen 0 und 4095 liegen", english: "must be between 0 and 4095"},
			{name: "vendor with a bad URL", handler: c.HandlePutVendor(true), target: "/admin/catalog/vendors?lang=de",
				form:  url.Values{"key": {"chat"}, "name": {"Chat Ltd"}, "purposes": {"marketing"}, "privacy_url": {"ftp://chat.example"}},
				input: "privacy_url", german: "muss eine absolute http- oder https-URL sein", english: "must be an absolute http or https URL"},
			{name: "vendor with a bad URL, staff setting", handler: c.HandlePutVendor(true), target: "/admin/catalog/vendors", staff: "de",
				form:  url.Values{"key": {"chat"}, "name": {"Chat Ltd"}, "purposes": {"marketing"}, "privacy_url": {"ftp://chat.example"}},
				input: "privacy_url", german: "muss eine absolute http- oder https-URL sein", english: "must be an absolute http or https URL"},
			{name: "notice version", handler: c.HandlePutNotice(true), target: "/admin/catalog/notices?lang=de",
				form:  url.Values{"version": {"bad version!"}, "text.en": {"Typed notice"}},
				input: "version", german: "muss aus 1 bis 64 Buchstaben", english: "must be 1 to 64 letters"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f.session.Account.Language = tc.staff
				t.Cleanup(func() { f.session.Account.Language = "" })
				w := f.call(t, tc.handler, "POST", tc.target, tc.form, nil)
				body := html.UnescapeString(w.Body.String())
				if w.Code != http.StatusBadRequest || !strings.Contains(body, `<html lang="de">`) {
					t.Fatalf("%d\n%.600s", w.Code, body)
				}
				at := inputParagraph(body, tc.input)
				if !strings.Contains(at, tc.german) {
					t.Errorf("the input %s does not say %q:\n%s", tc.input, tc.german, at)
				}
				if !strings.Contains(at, `aria-invalid="true"`) {
					t.Errorf("the input %s is not marked invalid:\n%s", tc.input, at)
				}
				if strings.Contains(body, tc.english) {
					t.Errorf("the page says the English %q", tc.english)
				}
			})
		}
	})
}

// TestServiceFieldProblemsSpeakTheLanguage: the field problems of other
// services, listed in a page's problem box, are in the reader's language
// too, each after its field.
func TestServiceFieldProblemsSpeakTheLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newVendorFixtureOn(t, store)
		c := f.console
		cases := []struct {
			name     string
			handler  http.Handler
			method   string
			target   string
			form     url.Values
			lang     string
			problems map[string]string // field → what the box says of it
			english  []string
		}{
			{name: "staff account", handler: c.HandleCreateStaff(), method: "POST", target: "/admin/staff?lang=fr",
				form: url.Values{"email": {"not-an-address"}, "name": {"Synthetic Person"}, "role": {"chief"}, "password": {"short"}}, lang: "fr",
				problems: map[string]string{"email": "doit être une adresse e-mail", "role": "doit être admin, privacy_officer",
					"password": "doit comporter au moins"},
				english: []string{"must be an email address", "must be admin, privacy_officer", "must be at least"}},
			{name: "request filter", handler: c.HandleRequests(), method: "GET", target: "/admin/requests?lang=es&overdue=1&closed=1", lang: "es",
				problems: map[string]string{"overdue": "solo las solicitudes abiertas están vencidas"},
				english:  []string{"only open requests are overdue"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w := f.call(t, tc.handler, tc.method, tc.target, tc.form, nil)
				body := html.UnescapeString(w.Body.String())
				if w.Code != http.StatusBadRequest || !strings.Contains(body, `<html lang="`+tc.lang+`">`) {
					t.Fatalf("%d\n%.600s", w.Code, body)
				}
				for field, want := range tc.problems {
					if !strings.Contains(body, "<strong>"+field+"</strong>: "+want) {
						t.Errorf("the problem of %s does not say %q", field, want)
					}
				}
				for _, english := range tc.english {
					if strings.Contains(body, english) {
						t.Errorf("the page says the English %q", english)
					}
				}
			})
		}
	})
}

// inputParagraph is the paragraph of the form that holds the input id,
// its label and its problem; "" without one.
func inputParagraph(body, id string) string {
	at := strings.Index(body, ` id="`+id+`"`)
	if at < 0 {
		return ""
	}
	start := strings.LastIndex(body[:at], "<p>")
	end := strings.Index(body[at:], "</p>")
	if start < 0 || end < 0 {
		return ""
	}
	return body[start : at+end]
}

// TestFieldMessages: keyed problems are said in the reader's language,
// un-keyed ones as they are; a whole message of keyed fields too.
func TestFieldMessages(t *testing.T) {
	keyed := errs.FieldsKeyed(errs.Problems{"name": {Key: "too_long", Args: []any{"max", 200}}, "country": {Key: "country_code"}})
	mixed := errs.Fields(map[string]string{"name": "must be at most 200 characters", "note": "schon übersetzt"})
	mixed.FieldKeys = errs.Problems{"name": {Key: "too_long", Args: []any{"max", 200}}}
	fr := i18n.Default().Printer("fr")
	cases := []struct {
		name    string
		err     *errs.Error
		want    map[string]string
		message string
	}{
		{"keyed", keyed, map[string]string{"name": fr.T("error.too_long", "max", 200), "country": fr.T("error.country_code")},
			"country: " + fr.T("error.country_code") + "; name: " + fr.T("error.too_long", "max", 200)},
		{"mixed", mixed, map[string]string{"name": fr.T("error.too_long", "max", 200), "note": "schon übersetzt"}, mixed.Message},
		{"one field, not keyed", errs.Invalid("x", "bad"), map[string]string{"x": "bad"}, "x: bad"},
		{"one field keyed whole", errs.Invalid("answers", "answer each of the 3 questions").Keyed("quiz_answer_each", "n", 3),
			map[string]string{"answers": fr.T("error.quiz_answer_each", "n", 3)}, fr.T("error.quiz_answer_each", "n", 3)},
		{"no field", errs.New(errs.CodeConflict, "taken"), nil, "taken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/admin/x?lang=fr", nil)
			got := fieldMessages(r, tc.err)
			if len(got) != len(tc.want) {
				t.Fatalf("%v, want %v", got, tc.want)
			}
			for field, want := range tc.want {
				if got[field] != want {
					t.Errorf("%s: %q, want %q", field, got[field], want)
				}
			}
			if got := message(r, tc.err); got != tc.message {
				t.Errorf("message %q, want %q", got, tc.message)
			}
		})
	}
	if fr.T("error.too_long", "max", 200) == keyed.Fields["name"] {
		t.Error("French and English are the same: the test proves nothing")
	}
}
