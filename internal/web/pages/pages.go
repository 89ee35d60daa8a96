// Package pages holds what Steward's server-rendered page sets share (the
// staff console, the customer's portal, the vendors' questionnaires):
// templates parsed once with their layout, a stylesheet under a
// content-hashed URL, and the headers of every page.
//
//	set, err := pages.Load(files, "templates", funcs) // set["home"] renders layout.html with home.html
//	css := pages.NewStylesheet("/privacy/assets/portal", data)
//	mux.Handle("GET /privacy/assets/{file}", css)
//	pages.SetHeaders(w.Header(), pages.CSP)
package pages

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// CSP allows a page its own stylesheet and forms that post to itself, and
// nothing else: no script, no frame, no other origin.
const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Load parses every DIR/*.html of fsys but layout.html, each with
// DIR/layout.html, into a template named after the file ("home" for
// home.html). Templates are parsed once, at start.
func Load(fsys fs.FS, dir string, funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(fsys, dir+"/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, dir+"/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		out[base] = t
	}
	if out["error"] == nil {
		return nil, fmt.Errorf("%s: no error.html", dir)
	}
	return out, nil
}

// Stylesheet serves a stylesheet under a URL that changes with its
// content, so that browsers may keep it for a year.
type Stylesheet struct {
	// Path is the stylesheet's URL path, for the pages' <link>.
	Path string
	css  []byte
}

// NewStylesheet returns css served at prefix.HASH.css.
func NewStylesheet(prefix string, css []byte) *Stylesheet {
	sum := sha256.Sum256(css)
	return &Stylesheet{Path: prefix + "." + base64.RawURLEncoding.EncodeToString(sum[:9]) + ".css", css: css}
}

// ServeHTTP serves the stylesheet at its path only.
func (s *Stylesheet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.Path {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(s.css)
}

// SetHeaders sets the headers of a page: its content security policy, no
// caching (pages hold personal data), no referrer (URLs may hold tokens),
// and no framing.
func SetHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

// FormToken is the hidden field that proves a form came from a page of
// ours: a one-way hash of a secret the browser holds (a session or binding
// cookie, a link's token) under purpose, so each page set's tokens differ,
// none can be made without the secret, and none needs server state.
func FormToken(purpose, secret string) string {
	sum := sha256.Sum256([]byte(purpose + "\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// SameToken compares a posted token with the expected one in constant
// time; an empty expectation matches nothing.
func SameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
