package portal

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/web/pages"
)

// TestBindingCookieIsServerMade replays a client that chooses its own
// browser-binding cookie (to know its form tokens and codes' binding in
// advance, or to plant the value in a victim's browser): the value is
// refused for forms and replaced by one the server made and signed.
func TestBindingCookieIsServerMade(t *testing.T) {
	p := &Portal{Deps: Deps{BindingKey: DeriveBindingKey([]byte("test signing seed"))}}
	other := &Portal{Deps: Deps{BindingKey: DeriveBindingKey([]byte("another deployment"))}}
	chosen := strings.Repeat("A", 43)
	fresh := func(t *testing.T) string {
		w := httptest.NewRecorder()
		return p.binding(w, httptest.NewRequest("GET", "/privacy", nil))
	}
	made := fresh(t)
	random, _, _ := strings.Cut(made, ".")
	cases := []struct {
		name   string
		cookie string
		kept   bool
	}{
		{"made by the server", made, true},
		{"chosen by the client, old format", chosen, false},
		{"chosen, with a made-up signature", chosen + "." + strings.Repeat("B", 24), false},
		{"a real random part, signature dropped", random, false},
		{"a real random part, another signature", random + "." + other.bindingMAC(random), false},
		{"made by another deployment", func() string {
			w := httptest.NewRecorder()
			return other.binding(w, httptest.NewRequest("GET", "/privacy", nil))
		}(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The client posts the sign-in form with the token its cookie
			// gives.
			form := url.Values{"csrf": {pages.FormToken("steward portal csrf", c.cookie)}, "email": {"ada@example.org"}}
			r := httptest.NewRequest("POST", "/privacy/code", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: bindingCookie, Value: c.cookie})
			w := httptest.NewRecorder()
			if got := p.checkForm(w, r); got != c.kept {
				t.Fatalf("checkForm = %v, want %v", got, c.kept)
			}
			value := p.binding(w, r)
			set := w.Result().Cookies()
			if c.kept {
				if value != c.cookie || len(set) != 0 {
					t.Fatalf("a server-made cookie was replaced: %q, %v", value, set)
				}
				return
			}
			if value == c.cookie || len(set) != 1 || set[0].Value != value || !set[0].Secure || !set[0].HttpOnly {
				t.Fatalf("the client's value %q stays: binding %q, Set-Cookie %v", c.cookie, value, set)
			}
			if _, ok := p.boundCookie(r); !ok {
				t.Fatal("the request does not carry the replacement for the page")
			}
			if n := strings.Count(r.Header.Get("Cookie"), bindingCookie); n != 1 {
				t.Fatalf("the request carries %d binding cookies", n)
			}
		})
	}
}
