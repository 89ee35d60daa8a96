package portal

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzBindingCookie checks the portal's browser binding cookie, the signed
// token that sign-in codes and form tokens are bound to, on fuzzed cookie
// values. It never panics; a value is kept only when Steward made it (43
// characters of randomness and their HMAC, exactly); any other value is
// replaced by a fresh one Steward made, set on the response.
func FuzzBindingCookie(f *testing.F) {
	p := &Portal{Deps: Deps{BindingKey: DeriveBindingKey([]byte("fuzz binding secret"))}}
	random := strings.Repeat("A", 43)
	good := random + "." + p.bindingMAC(random)
	for _, seed := range []string{good, good + "x", good[:len(good)-1], random + ".", "." + p.bindingMAC(random),
		strings.Repeat("A", 44) + "." + p.bindingMAC(strings.Repeat("A", 44)), "", "a.b.c", "\"" + good + "\"", good + "; x=y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/privacy", nil)
		r.Header.Set("Cookie", bindingCookie+"="+value)
		got, ok := p.boundCookie(r)
		rnd, sig, cut := strings.Cut(got, ".")
		if ok && (!cut || len(rnd) != 43 || sig != p.bindingMAC(rnd)) {
			t.Fatalf("kept a cookie Steward did not make: %q", got)
		}
		w := httptest.NewRecorder()
		bound := p.binding(w, r)
		set := w.Result().Cookies()
		if ok {
			if bound != got || len(set) != 0 {
				t.Fatalf("a cookie Steward made was replaced: %q → %q", got, bound)
			}
			return
		}
		if len(set) != 1 || set[0].Value != bound || bound == value || !set[0].HttpOnly || !set[0].Secure {
			t.Fatalf("refused cookie %q not replaced by a fresh one: %+v", value, set)
		}
		again := httptest.NewRequest(http.MethodGet, "/privacy", nil)
		again.AddCookie(set[0])
		if v, ok := p.boundCookie(again); !ok || v != bound {
			t.Fatalf("the fresh cookie %q is not accepted", bound)
		}
	})
}

// FuzzNextTarget checks "next", the target that sign-in links and forms
// carry to land the customer where an email of ours sent them: it never
// panics, and what it keeps is a path of this portal that no browser or
// URL parser reads as another host, another scheme or another path.
func FuzzNextTarget(f *testing.F) {
	for _, seed := range []string{"/privacy/requests/r-1", "/privacy/home", "//evil.example", "/\\evil.example", "/privacy/%2e%2e/admin",
		"/privacy/../admin", "/privacy/requests/r-1?x=1", "https://evil.example/privacy", "/privacy/requests/r-1#x", "/privacy/\u2028",
		"/privacy/requests/" + strings.Repeat("a", 300), "/privacy/requests/./r", "/privacy/requests/r-1/", "/privacy/requests/req_a1", "/privacy/receipts/shop/e-1",
		"/privacy/receipts/shop/..", "/privacy/receipts/a+b/c=d"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		next := safeNext(raw)
		if next == "" {
			return
		}
		if next != raw || !strings.HasPrefix(next, "/privacy/") {
			t.Fatalf("safeNext(%q) = %q", raw, next)
		}
		for _, u := range []string{next, landing(next, "de"), withNext("/privacy/verify", url.Values{"code": {"123456"}}, next)} {
			parsed, err := url.Parse(u)
			if err != nil || parsed.Scheme != "" || parsed.Host != "" || parsed.Opaque != "" || !strings.HasPrefix(parsed.Path, "/privacy/") ||
				path.Clean(parsed.Path) != strings.TrimSuffix(parsed.Path, "/") {
				t.Fatalf("%q (from next %q) leaves the portal: %+v, %v", u, raw, parsed, err)
			}
		}
		// The link an email carries gives back the same target.
		link, _ := url.Parse(withNext("/privacy/verify", url.Values{"code": {"123456"}}, next))
		r := httptest.NewRequest(http.MethodGet, link.String(), nil)
		if got := nextOf(r); got != next {
			t.Fatalf("next %q came back from its link as %q", next, got)
		}
	})
}
