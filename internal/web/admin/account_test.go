package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
)

// TestStaffLanguageSetting: a staff member's own language setting makes the
// console speak it on any device (over the browser's languages), a switch
// remembered on one device still comes first there, saving drops that
// switch, a language outside the catalog is refused in place, the form needs
// the session's CSRF token, and the change is audited.
func TestStaffLanguageSetting(t *testing.T) {
	f := newSignInFixture(t)
	ctx := context.Background()
	signedIn := f.signIn(t, "192.0.2.10", "", "correct horse battery staple")
	var token string
	for _, c := range signedIn.Result().Cookies() {
		if c.Name == sessionCookie {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatalf("no session: %d", signedIn.Code)
	}
	// get serves a page through Require, as the routes do, with the
	// browser's languages and an optional remembered switch.
	serve := func(method, target string, form url.Values, accept, cookie string) *httptest.ResponseRecorder {
		t.Helper()
		var h http.Handler
		switch {
		case strings.HasPrefix(target, "/admin/account/language"):
			h = f.console.Require(SignedIn, f.console.HandleSetLanguage())
		case strings.HasPrefix(target, "/admin/account"):
			h = f.console.Require(SignedIn, f.console.HandleAccount())
		default:
			h = f.console.Require(SignedIn, f.console.HandleTraining())
		}
		body := ""
		if form != nil {
			body = form.Encode()
		}
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: cookie})
		}
		r.Header.Set("Accept-Language", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	session, err := f.console.Staff.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	csrf := csrfToken(session)
	lang := func(w *httptest.ResponseRecorder) string {
		_, rest, _ := strings.Cut(w.Body.String(), `<html lang="`)
		code, _, _ := strings.Cut(rest, `"`)
		return code
	}
	if w := serve("GET", "/admin/account", nil, "de", ""); w.Code != 200 || lang(w) != "de" || !strings.Contains(w.Body.String(), "Wie der Browser") ||
		!strings.Contains(w.Body.String(), "Administrator/in") {
		t.Fatalf("account page before a setting: %d %s %.800s", w.Code, lang(w), w.Body.String())
	}
	// Without the session's CSRF token the form changes nothing.
	if w := serve("POST", "/admin/account/language", url.Values{"language": {"fr"}, "csrf": {"forged"}}, "de", ""); w.Code != http.StatusForbidden {
		t.Fatalf("language form without the CSRF token: %d", w.Code)
	}
	if w := serve("GET", "/admin/training", nil, "de", ""); lang(w) != "de" {
		t.Fatalf("a forged form changed the language: %s", lang(w))
	}
	w := serve("POST", "/admin/account/language", url.Values{"language": {"fr"}, "csrf": {csrf}}, "de", "es")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/account?saved=1" ||
		!strings.Contains(strings.Join(w.Header().Values("Set-Cookie"), "\n"), langCookie+"=;") {
		t.Fatalf("save: %d %q %q", w.Code, w.Header().Get("Location"), w.Header().Values("Set-Cookie"))
	}
	if w := serve("GET", "/admin/account?saved=1", nil, "de", ""); lang(w) != "fr" || !strings.Contains(w.Body.String(), "la console vous parle désormais") {
		t.Fatalf("after saving French: %s %.800s", lang(w), w.Body.String())
	}
	if w := serve("GET", "/admin/training", nil, "de, en;q=0.5", ""); lang(w) != "fr" {
		t.Errorf("another page with a German browser: %s, want the setting (fr)", lang(w))
	}
	if w := serve("GET", "/admin/training", nil, "de", "es"); lang(w) != "es" {
		t.Errorf("a device that remembers the switch to es: %s, want es", lang(w))
	}
	if w := serve("GET", "/admin/training?lang=de", nil, "fr", ""); lang(w) != "de" {
		t.Errorf("the switch on a page: %s, want de", lang(w))
	}
	w = serve("POST", "/admin/account/language", url.Values{"language": {"xx"}, "csrf": {csrf}}, "de", "")
	if w.Code != http.StatusBadRequest || lang(w) != "fr" || !strings.Contains(w.Body.String(), "Choisissez l&#39;une des langues") ||
		!strings.Contains(w.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("unknown language: %d %s %.1500s", w.Code, lang(w), w.Body.String())
	}
	// Back to following the browser.
	if w := serve("POST", "/admin/account/language", url.Values{"language": {""}, "csrf": {csrf}}, "de", ""); w.Code != http.StatusSeeOther {
		t.Fatalf("follow the browser: %d", w.Code)
	}
	if w := serve("GET", "/admin/training", nil, "es", ""); lang(w) != "es" {
		t.Errorf("following the browser again: %s, want es", lang(w))
	}
	page, err := f.console.Audit.Search(ctx, audit.Query{Action: "staff.language"})
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("audit entries staff.language: %+v, %v; want 2", page, err)
	}
}
