package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsoleSpeaksTheLanguage: the console's pages are in the language
// the switch picked (remembered in a cookie), else the browser's, else
// English, and hold none of the English words they translate.
func TestConsoleSpeaksTheLanguage(t *testing.T) {
	f := newSignInFixture(t)
	cases := []struct {
		name, query, cookie, accept string
		lang, title, label, english string
		setsCookie                  bool
	}{
		{"default", "", "", "", "en", "<title>Sign in · Steward console</title>", "Password", "", false},
		{"browser", "", "", "de-AT, en;q=0.5", "de", "<title>Anmelden · Steward-Konsole</title>", "Passwort", "Password", false},
		{"switch", "?lang=fr", "", "de", "fr", "<title>Connexion · Console Steward</title>", "Mot de passe", "Password", true},
		{"remembered", "", "es", "de", "es", "<title>Iniciar sesión · Consola de Steward</title>", "Contraseña", "Password", false},
		{"unknown switch", "?lang=xx", "", "fr", "fr", "<title>Connexion · Console Steward</title>", "Mot de passe", "Password", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/admin/signin"+tc.query, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: langCookie, Value: tc.cookie})
			}
			rec := httptest.NewRecorder()
			f.console.HandleSignInPage().ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != http.StatusOK || !strings.Contains(body, `<html lang="`+tc.lang+`">`) || !strings.Contains(body, tc.title) ||
				!strings.Contains(body, ">"+tc.label+"</label>") || (tc.english != "" && strings.Contains(body, ">"+tc.english+"<")) {
				t.Errorf("%d\n%s", rec.Code, body)
			}
			if got := strings.Contains(strings.Join(rec.Header().Values("Set-Cookie"), "\n"), langCookie+"="+tc.lang); got != tc.setsCookie {
				t.Errorf("Set-Cookie %q", rec.Header().Values("Set-Cookie"))
			}
			for _, code := range []string{"en", "de", "fr", "es"} {
				if !strings.Contains(body, `href="?lang=`+code+`"`) {
					t.Errorf("no switch to %s", code)
				}
			}
		})
	}
}
