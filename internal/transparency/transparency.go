// Package transparency serves Steward's public transparency pages: what the
// company tells everyone, without an account.
//
// The company's page (/transparency, /transparency.json, /transparency/history)
// is generated from what Steward enforces, never typed: the controller
// settings (who the company is, its privacy contact), the consent catalog
// (purposes with legal basis and retention, vendors), the data map
// (internal/inventory: categories and the systems holding them), the vendor
// gate (whether a vendor's security assessment is current), the published
// incidents, and figures over the twelve whole months before (requests,
// staff reveals, consent and GPC shares; groups under MinGroup people left
// out). A Publisher builds it as a Document, records a new Version each time
// what it states changes (table transparency_versions), signs it as a
// compact JWS under the server's receipt key (published in
// /.well-known/jwks.json), and caches it for a minute, or until the catalog
// or the vendor gate changes. A periodic job (transparency.refresh, every
// RefreshEvery) rebuilds it without a reader, so a change is versioned when
// it is made, not at the next visit.
//
// The incident register (/transparency/incidents) shows the accounts of
// personal data breaches the company chose to publish: an officer's public
// account of each, with counts from the incident's frozen affected set, as
// HTML and as JSON.
//
// A Handler has its own templates, stylesheet and words (the keys
// transparency.* of the one message catalog, internal/i18n). It reads only
// what is published: the pages cannot show an incident's internal record,
// its members or who handled it, because they never receive them.
//
//	pub, err := transparency.NewPublisher(transparency.PublisherConfig{DB: store, Signer: signer, Catalog: consentService,
//		DataMap: inventoryService, Incidents: register, Company: company, PublicURL: publicURL})
//	h, err := transparency.New(transparency.Deps{Incidents: register, Publisher: pub, CategoryName: names})
//	mux.Handle("GET /transparency", h.HandlePage())
//	mux.Handle("GET /transparency.json", h.HandleDocumentJSON())
//	mux.Handle("GET /transparency/history", h.HandleHistory())
//	mux.Handle("GET /transparency/incidents", h.HandleIncidents())
//	mux.Handle("GET /transparency/incidents/{id}", h.HandleIncident())
//	mux.Handle("GET /transparency/incidents.json", h.HandleIncidentsJSON())
//	mux.Handle("GET /transparency/assets/{file}", h.HandleStylesheet())
//
// Pages work without JavaScript, pick their language from ?lang= then
// Accept-Language, and carry the strict headers of Steward's other pages
// (internal/web/pages): a CSP that allows only their own stylesheet, no
// framing, no referrer.
package transparency

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/web/pages"
)

//go:embed templates/*.html assets/transparency.css
var files embed.FS

// Incidents are the published accounts of the incident register
// (incident.Service).
type Incidents interface {
	Published(ctx context.Context) ([]incident.Account, error)
	PublishedAccount(ctx context.Context, id string) (incident.Account, error)
}

// Deps are what the pages need.
type Deps struct {
	Incidents Incidents
	// Publisher builds the company's page (/transparency, its JSON and
	// history); nil leaves those pages out.
	Publisher *Publisher
	// CategoryName names a data category in a language; "" (or a nil
	// function) shows its key.
	CategoryName func(key, lang string) string
	// CompanyName heads the pages.
	CompanyName string
	Log         *slog.Logger
}

// Handler serves the transparency pages.
type Handler struct {
	Deps
	pages   map[string]*template.Template
	css     *pages.Stylesheet
	catalog *i18n.Catalog
	words   map[string]map[string]string
}

// New parses the templates and returns the pages.
func New(d Deps) (*Handler, error) {
	if d.Incidents == nil {
		return nil, errors.New("transparency: New needs Incidents")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.CategoryName == nil {
		d.CategoryName = func(string, string) string { return "" }
	}
	css, err := files.ReadFile("assets/transparency.css")
	if err != nil {
		return nil, fmt.Errorf("transparency: %w", err)
	}
	h := &Handler{Deps: d, css: pages.NewStylesheet("/transparency/assets/transparency", css), catalog: i18n.Default(),
		words: map[string]map[string]string{}}
	for _, lang := range h.catalog.Languages() {
		h.words[lang] = h.catalog.Printer(lang).Map("transparency.")
	}
	funcs := template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct":  func(share float64) float64 { return share * 100 },
	}
	if h.pages, err = pages.Load(files, "templates", funcs); err != nil {
		return nil, fmt.Errorf("transparency: %w", err)
	}
	for _, name := range []string{"incidents", "incident", "error", "company", "history"} {
		if h.pages[name] == nil {
			return nil, fmt.Errorf("transparency: no %s page", name)
		}
	}
	return h, nil
}

// HandleStylesheet serves the stylesheet under its content-hashed URL.
func (h *Handler) HandleStylesheet() http.Handler { return h.css }

// language picks the reader's language: ?lang=, then Accept-Language.
func (h *Handler) language(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); h.catalog.Has(l) {
		return l
	}
	return h.catalog.Match(r.Header.Get("Accept-Language"))
}

// say is a transparency.* message in lang, its placeholders filled.
func (h *Handler) say(lang, key string, args ...any) string {
	return h.catalog.Printer(lang).T("transparency."+key, args...)
}

// langLink is a link to the page in another language.
type langLink struct {
	Code, Name string
	Current    bool
}

// page is what every template gets.
type page struct {
	Lang    string
	Title   string
	Company string
	CSS     string
	T       map[string]string
	// Path is the page's path, for the language links.
	Path      string
	Languages []langLink
	Problem   string
	Data      any
}

// render writes a page, rendered into a buffer first so that a template
// failure becomes a clean error page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	pg.Lang, pg.CSS, pg.Company, pg.Path = h.language(r), h.css.Path, h.CompanyName, r.URL.Path
	pg.T = h.words[pg.Lang]
	for _, l := range h.catalog.Languages() {
		pg.Languages = append(pg.Languages, langLink{Code: l, Name: h.say(l, "language_name"), Current: l == pg.Lang})
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, pg); err != nil {
		h.Log.ErrorContext(r.Context(), "transparency: render", "page", name, "error", err)
		buf.Reset()
		status = http.StatusInternalServerError
		pg.Title, pg.Problem, pg.Data = h.say(pg.Lang, "error_title"), h.say(pg.Lang, "error_internal"), nil
		_ = h.pages["error"].Execute(&buf, pg)
	}
	setHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// setHeaders are a public page's: the strict headers of every Steward page,
// and Vary, since the language follows Accept-Language.
func setHeaders(h http.Header) {
	pages.SetHeaders(h, pages.CSP)
	h.Set("Vary", "Accept-Language")
}
