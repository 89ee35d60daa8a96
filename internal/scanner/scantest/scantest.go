// Package scantest serves the scanner's fixture site for tests: a shop on
// 127.0.0.1 that loads Steward's real banner, and a tracker on a second
// host name (localhost, another site to the browser) with a script that
// sets a cookie and calls home, a script that waits for its purpose, and
// an iframe that sets a third-party cookie. Broken, the tracker runs before
// any consent and the iframe loads at once; fixed, both are tagged with
// data-steward-purpose and wait.
//
//	svc := ... // a consent service on a test store
//	scantest.Seed(t, svc)
//	site := scantest.New(t, banner, true, 2)
//	target, _ := scanner.TargetFor(svc, scantest.Property, []string{site.URL}, site.URL)
package scantest

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/tcf"
	"github.com/steward-dev/steward/internal/web/banner"
)

// Property is the fixture's property key.
const Property = "shop"

// Seed puts the fixture's catalog into svc: purposes necessary (cookie
// "session"), analytics (cookies "_ga", "_ga_*") and marketing (cookie
// "tp_id"), replacing purposes of those keys, a published notice, and the
// property on 127.0.0.1.
func Seed(tb testing.TB, svc *consent.Service) {
	tb.Helper()
	ctx := context.Background()
	check := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, p := range []consent.Purpose{
		{Key: "necessary", Names: map[string]string{"en": "Strictly necessary", "de": "Unbedingt erforderlich"}, LegalBasis: consent.BasisContract, Necessary: true, Cookies: []string{"session"}},
		{Key: "analytics", Names: map[string]string{"en": "Analytics", "de": "Statistik"}, Descriptions: map[string]string{"en": "Counting visits."}, LegalBasis: consent.BasisConsent, Position: 1, Cookies: []string{"_ga", "_ga_*"}},
		{Key: "marketing", Names: map[string]string{"en": "Marketing", "de": "Marketing"}, LegalBasis: consent.BasisConsent, Position: 2, Cookies: []string{"tp_id"}},
	} {
		_, err := svc.Purpose(p.Key)
		check(svc.PutPurpose(ctx, p, err != nil)) // replaces a demo's purpose of the same key
	}
	check(svc.PutNotice(ctx, consent.Notice{Version: "v1", Texts: map[string]string{"en": "Notice"}, Material: true}, true, true))
	check(svc.PutProperty(ctx, consent.Property{Key: Property, Name: "Shop", Domains: []string{"127.0.0.1"}, DefaultJurisdiction: "DE",
		PolicyURL: "https://shop.example/privacy"}, true))
}

// Banner serves Steward's real banner.js for svc's catalog, with keys in
// store.
func Banner(tb testing.TB, svc *consent.Service, store *db.DB, publicURL string) http.Handler {
	tb.Helper()
	server, err := banner.New(banner.Deps{Consent: svc, Keys: apikey.NewStore(store, time.Now), VendorLists: tcf.NewVendorLists(store, time.Now), PublicURL: publicURL})
	if err != nil {
		tb.Fatal(err)
	}
	return server.HandleScript()
}

// Site is the running fixture.
type Site struct {
	// URL is the shop's home page, http://127.0.0.1:PORT/.
	URL string
	// Tracker is the tracker's origin, http://localhost:PORT.
	Tracker string
	// Posts counts the form submissions the shop received (the scanner
	// must make none).
	Posts  atomic.Int64
	broken atomic.Bool
}

// SetBroken switches the site between its broken and fixed pages.
func (s *Site) SetBroken(broken bool) { s.broken.Store(broken) }

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop page {{.N}}</title>
<script src="/banner.js?p=shop"></script>
{{if .Broken}}<script src="{{.Tracker}}/tracker.js"></script>
{{else}}<script type="text/plain" data-steward-purpose="marketing" src="{{.Tracker}}/tracker.js"></script>
{{end}}<script type="text/plain" data-steward-purpose="analytics" src="{{.Tracker}}/analytics.js"></script>
</head><body><h1>Page {{.N}}</h1>
<form method="post" action="/subscribe"><input name="email"><button>Subscribe</button></form>
{{range .Links}}<a href="{{.}}">{{.}}</a> {{end}}<a href="https://elsewhere.example/">elsewhere</a>
{{if .Broken}}<iframe src="{{.Tracker}}/frame"></iframe>
{{else}}<iframe data-steward-purpose="marketing" data-src="{{.Tracker}}/frame"></iframe>{{end}}
</body></html>`))

// New starts the fixture: pages pages (/, /p/1 ...), linked from the home
// page, and with sitemap a /sitemap.xml listing them (else none, and the
// scanner follows links). bannerJS serves /banner.js.
func New(tb testing.TB, bannerJS http.Handler, broken, sitemap bool, pages int) *Site {
	tb.Helper()
	site := &Site{}
	site.SetBroken(broken)
	tracker := http.NewServeMux()
	tracker.HandleFunc("GET /tracker.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, `document.cookie = "_fbp=fb.1.1.1; max-age=7776000; path=/"; new Image().src = %q;`, site.Tracker+"/pixel")
	})
	tracker.HandleFunc("GET /analytics.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.cookie = "_ga=GA1.1.1.1; max-age=63072000; path=/"; sessionStorage.setItem("stats_visit", "1");`)
	})
	tracker.HandleFunc("GET /frame", func(w http.ResponseWriter, r *http.Request) {
		// localhost is a secure context: Chromium keeps a Secure cookie
		// from it over http, and SameSite=None lets a frame set it.
		w.Header().Add("Set-Cookie", "tp_id=1; Max-Age=86400; Path=/; SameSite=None; Secure")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><p>An advertisement</p>`)
	})
	tracker.HandleFunc("GET /pixel", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	trackerServer := httptest.NewServer(tracker)
	tb.Cleanup(trackerServer.Close)
	site.Tracker = strings.Replace(trackerServer.URL, "127.0.0.1", "localhost", 1)

	shop := http.NewServeMux()
	shop.Handle("GET /banner.js", bannerJS)
	paths := []string{"/"}
	for i := 1; i < pages; i++ {
		paths = append(paths, fmt.Sprintf("/p/%d", i))
	}
	render := func(n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			links := []string{"/"}
			if n == 0 {
				links = paths[1:]
			}
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page.Execute(w, map[string]any{"N": n, "Broken": site.broken.Load(), "Tracker": site.Tracker, "Links": links})
		}
	}
	shop.HandleFunc("GET /{$}", render(0))
	for i := 1; i < pages; i++ {
		shop.HandleFunc("GET "+paths[i], render(i))
	}
	// /away sends the browser off the property (linked from nowhere).
	shop.HandleFunc("GET /away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, site.Tracker+"/frame", http.StatusFound)
	})
	shop.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) { site.Posts.Add(1) })
	if sitemap {
		shop.HandleFunc("GET /sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
			for _, p := range paths {
				fmt.Fprintf(w, "<url><loc>http://%s%s</loc></url>", r.Host, p)
			}
			fmt.Fprint(w, `<url><loc>https://elsewhere.example/</loc></url></urlset>`)
		})
	}
	shopServer := httptest.NewServer(shop)
	tb.Cleanup(shopServer.Close)
	site.URL = shopServer.URL + "/"
	return site
}
