// Package demo serves the page that `steward serve --demo` shows: a small
// shop page with the banner of the demo property, a script and an iframe
// that wait for consent, and the Google Consent Mode calls as they happen.
package demo

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed page.html
var pageSource string

var page = template.Must(template.New("demo").Parse(pageSource))

// Handler serves the demo page for a property; when enabled is false it
// answers 404, so that only demo runs show it. api is the URL the banner
// posts consent to (--public-url): the page may connect to it as well as
// to its own origin, so that the demo records consent whether it is
// opened at localhost or at 127.0.0.1 (the property's domains hold both).
func Handler(enabled bool, property, api string, notFound http.Handler) http.Handler {
	connect := "'self'"
	if u, err := url.Parse(api); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
		"connect-src " + connect + "; img-src 'self' data:; frame-src 'self' data:; base-uri 'none'; form-action 'self'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !enabled {
			notFound.ServeHTTP(w, r)
			return
		}
		var buf bytes.Buffer
		if err := page.Execute(&buf, map[string]string{"Property": property}); err != nil {
			http.Error(w, "demo page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		// The page is a stand-in for the company's site: it runs the banner
		// and the inline scripts the banner activates.
		h.Set("Content-Security-Policy", csp)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	})
}
