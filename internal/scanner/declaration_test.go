package scanner_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/scanner"
)

func TestDeclaration(t *testing.T) {
	ocd, err := scanner.OpenCookieDB()
	if err != nil {
		t.Fatal(err)
	}
	target := scanner.Target{Property: "shop", Domains: []string{"shop.example"}, Cookie: scanner.ConsentCookie{Name: "stw_consent"},
		Purposes: []scanner.Purpose{
			{Key: "necessary", Necessary: true, Cookies: []string{"session"}, Names: map[string]string{"en": "Strictly necessary", "de": "Unbedingt erforderlich"}},
			{Key: "analytics", Cookies: []string{"_ga", "_ga_*"}, Names: map[string]string{"en": "Analytics"}},
			{Key: "marketing", Names: map[string]string{"en": "Marketing"}},
		},
		Assignments: []scanner.Assignment{{Kind: scanner.KindLocalStorage, Name: "ab_test", Purpose: "analytics", Vendor: "metrics-co"}},
	}
	trackers := []scanner.Tracker{
		{Kind: scanner.KindCookie, Name: "session", Domain: "shop.example", Lifetime: -1},
		{Kind: scanner.KindCookie, Name: "stw_consent", Domain: "shop.example", Lifetime: 365 * 86400},
		{Kind: scanner.KindCookie, Name: "_ga_ABC123", Domain: "shop.example", Lifetime: 400 * 86400},
		{Kind: scanner.KindCookie, Name: "_fbp", Domain: "shop.example", Lifetime: 90 * 86400},
		{Kind: scanner.KindCookie, Name: "IDE", Domain: "doubleclick.net", ThirdParty: true, Lifetime: 45 * 60},
		{Kind: scanner.KindLocalStorage, Name: "ab_test", Domain: "https://shop.example"},
		{Kind: scanner.KindSessionStorage, Name: "mystery", Domain: "https://shop.example"},
		{Kind: scanner.KindScript, Name: "cdn.tracker.example", ThirdParty: true}, // hosts are not declared
	}
	d := scanner.Declare(target, trackers, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), ocd)
	got := map[string][]string{}
	for _, p := range d.Purposes {
		for _, it := range p.Items {
			got[p.Key] = append(got[p.Key], it.Name)
		}
	}
	for _, it := range d.Unclassified {
		got["?"] = append(got["?"], it.Name)
	}
	want := map[string]string{"necessary": "session,stw_consent", "analytics": "_ga_ABC123,ab_test", "marketing": "_fbp,IDE", "?": "mystery"}
	for key, names := range want {
		if g := strings.Join(got[key], ","); g != names {
			t.Errorf("%s: %s, want %s", key, g, names)
		}
	}
	if b, err := json.Marshal(d); err != nil || !strings.Contains(string(b), `"provider":"metrics-co"`) {
		t.Errorf("JSON %s, %v: want the assigned vendor as provider", b, err)
	}
	for _, tc := range []struct{ lang, want string }{
		{"en", "Strictly necessary"}, {"de", "Unbedingt erforderlich"}, {"fr", "Cookies et technologies similaires"}, {"es", "Cookies y tecnologías similares"},
	} {
		html, err := d.HTML(tc.lang)
		if err != nil {
			t.Fatal(err)
		}
		s := string(html)
		for _, w := range []string{tc.want, `lang="` + tc.lang + `"`, "<code>_fbp</code>", "2026-12-07"} {
			if !strings.Contains(s, w) {
				t.Errorf("%s: no %q in\n%s", tc.lang, w, s)
			}
		}
		if tc.lang == "en" {
			for _, w := range []string{"400 days", "45 minutes", "until the browser closes", "Not yet classified", "Local storage (this site)", "Cookie (third party)"} {
				if !strings.Contains(s, w) {
					t.Errorf("en: no %q in\n%s", w, s)
				}
			}
		}
	}
}
