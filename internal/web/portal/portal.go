// Package portal is the customer's privacy center at /privacy: sign-in with
// a code sent by email, the customer's consents (changed here with the same
// effect as the banner), their protected data and who accessed it, and
// their requests. Pages are server-rendered, work without JavaScript, speak
// English, German, French and Spanish, and wear the company's colour.
//
//	p, err := portal.New(portal.Deps{Customers: customers, Consent: svc, Vault: v, Audit: log, Mailer: mailer, Mail: templates, ...})
//	mux.Handle("GET /privacy", p.HandleStart())
//
// Every form carries a CSRF token derived from a random, HttpOnly cookie of
// the browser (which also binds sign-in codes to the browser that asked for
// them); pages are never cached.
package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/preference"
	"github.com/steward-dev/steward/internal/ratelimit"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/wcag"
	"github.com/steward-dev/steward/internal/web/clientaddr"
	"github.com/steward-dev/steward/internal/web/httpx"
	"github.com/steward-dev/steward/internal/web/pages"
)

//go:embed templates/*.html assets/portal.css
var files embed.FS

// Cookies: the browser's random binding (codes and CSRF tokens derive from
// it) and the session. SameSite=Lax, so that a link from an email opens a
// signed-in page; every state change is a POST with a CSRF token.
const (
	bindingCookie = "__Host-steward_browser"
	sessionCookie = "__Host-steward_portal"
)

// Deps are what the portal needs.
type Deps struct {
	Customers *customer.Service
	Consent   *consent.Service
	Vault     *vault.Vault
	Audit     *audit.Log
	// Mailer sends sign-in codes; nil turns sign-in off (503), as when no
	// SMTP server is configured.
	Mailer notify.Sender
	Mail   *notify.Templates
	Brand  notify.Brand
	// PublicURL is where customers reach Steward, for links in emails.
	PublicURL string
	// ContactEmail is the company's privacy contact, shown on every page.
	ContactEmail string
	// Requests files and lists the customer's requests; Exports keeps the
	// archives that answer them. FileRequest, when set, files a request
	// and enqueues its work in one transaction (the jobs package's part).
	Requests    *dsr.Service
	Exports     *export.Store
	FileRequest func(ctx context.Context, in dsr.NewRequest) (dsr.Request, error)
	// ErasureReport, when set, gives what a finished erasure did
	// (fulfil.Fulfiller.Report): its page shows it, counts per place.
	ErasureReport func(ctx context.Context, requestID string) (fulfil.Report, error)
	// Correctables lists the fields customers may propose new values for
	// (fulfil.Fulfiller.Correctables); Rectify files such a proposal and
	// starts its work when it needs no approval (the app's part). Either
	// nil hides the correction form.
	Correctables func() []fulfil.Correctable
	Rectify      func(ctx context.Context, in dsr.NewRequest) (dsr.Request, error)
	// FindInSystems counts the customer's rows in the company's connected
	// systems (tables and categories, no values); nil hides the button.
	FindInSystems func(ctx context.Context, subject, email string) ([]fulfil.Found, error)
	// Disclosures are third parties' requests for the customer's data;
	// OnDisclosureDecided, when set, is told of the customer's answer.
	Disclosures         *disclosure.Service
	OnDisclosureDecided func(ctx context.Context, d disclosure.Disclosure)
	// BreachNotices, when set, gives the signed breach notices of a
	// customer (incident.Service.NoticesFor): the home page's banner.
	BreachNotices func(ctx context.Context, subject string) ([]incident.CustomerNotice, error)
	// StaffName, when set (the company enables it), gives the name shown
	// in "who accessed your data" for a staff id; by default the customer
	// sees the role only.
	StaffName func(ctx context.Context, id string) (string, error)
	// BindingKey signs the browser-binding cookie, so that only values
	// Steward made are taken: replicas must share it. Empty: a random key
	// of this process (one replica only).
	BindingKey []byte
	Log        *slog.Logger
	Now        func() time.Time
	// ClientAddr finds the client address code limits count by (nil: the
	// connection's address; see --trusted-proxies).
	ClientAddr *clientaddr.Resolver
	// DataPoints are the names of the data points a customer may prove
	// their identity with (--identity-data-points), offered in the
	// identity step of a request that needs it.
	DataPoints []string
	// JWKS is the receipt signing key set (/.well-known/jwks.json), that
	// a receipt's page checks its signature against; nil: not checked.
	JWKS []byte
	// Preferences opens the preference centre's links; nil answers its
	// pages 503.
	Preferences *preference.Links
}

// Portal serves the privacy center.
type Portal struct {
	Deps
	pages map[string]*template.Template
	css   *pages.Stylesheet
	// agentLimit counts agents' filings per agent email and client address.
	agentLimit *ratelimit.Lockout
}

// New parses the templates and renders the stylesheet in the brand colour.
func New(d Deps) (*Portal, error) {
	if d.Customers == nil || d.Consent == nil || d.Vault == nil || d.Audit == nil || d.Mail == nil || d.Requests == nil {
		return nil, errors.New("portal: New needs Customers, Consent, Vault, Audit, Mail and Requests")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Brand.Colour == "" {
		d.Brand.Colour = "#0b57d0"
	}
	if len(d.BindingKey) == 0 {
		d.BindingKey = make([]byte, 32)
		_, _ = rand.Read(d.BindingKey)
	}
	base, err := files.ReadFile("assets/portal.css")
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	p := &Portal{Deps: d, agentLimit: newAgentLimit(d.Now), css: pages.NewStylesheet("/privacy/assets/portal", append([]byte(themeCSS(d.Brand.Colour)), base...))}
	funcs := template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"dots": func(n int) string { return strings.Repeat("•", min(max(n, 4), 12)) },
		"say":  say,
	}
	if p.pages, err = pages.Load(files, "templates", funcs); err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	return p, nil
}

// themeCSS sets the brand colour and a text colour on it that keeps AA
// contrast; links use the brand colour only where it is readable on white.
func themeCSS(colour string) string {
	on := "#ffffff"
	if wcag.Contrast(colour, "#ffffff") < wcag.Contrast(colour, "#111111") {
		on = "#111111"
	}
	link := colour
	if wcag.Contrast(colour, "#ffffff") < wcag.AA {
		link = "#1a1a1a"
	}
	return fmt.Sprintf(":root { --brand: %s; --on-brand: %s; --link: %s; }\n", colour, on, link)
}

// HandleStylesheet serves the stylesheet under its hashed URL.
func (p *Portal) HandleStylesheet() http.Handler { return p.css }

// page is what every template gets.
type page struct {
	Lang    string
	T       map[string]string
	Langs   []langLink
	Title   string
	CSS     string
	CSRF    string
	Brand   notify.Brand
	Contact string
	Email   string // the signed-in customer's address, or empty
	Notice  string
	Problem string
	Fields  map[string]string
	Data    any
	// Next is the portal page the sign-in steps return to (safeNext), or
	// empty for the home page.
	Next string
}

type langLink struct{ Code, Name string }

// language picks the page language: ?lang=, then Accept-Language.
func language(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); messages[l] != nil {
		return l
	}
	if l := r.PostFormValue("lang"); messages[l] != nil {
		return l
	}
	return catalog.Match(r.Header.Get("Accept-Language"))
}

// render writes a page, rendered into a buffer first.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	pg.Lang = language(r)
	pg.T = messages[pg.Lang]
	pg.CSS, pg.Brand, pg.Contact = p.css.Path, p.Brand, p.ContactEmail
	pg.CSRF = p.csrfToken(r)
	for _, code := range catalog.Languages() {
		pg.Langs = append(pg.Langs, langLink{code, messages[code]["lang_name"]})
	}
	if pg.Title == "" {
		pg.Title = pg.T["privacy_center"]
	} else if t, ok := pg.T[pg.Title]; ok {
		pg.Title = t
	}
	if t, ok := pg.T[pg.Problem]; ok {
		pg.Problem = t
	}
	var buf bytes.Buffer
	if err := p.pages[name].Execute(&buf, pg); err != nil {
		p.Log.Error("portal: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// Logos come from the company's own https address.
	pages.SetHeaders(w.Header(), pages.CSP+"; img-src 'self' https:")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders err as an error page with the status of its code; unknown
// errors are logged without personal data and shown as a generic message.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := httpx.Status(err), "error_title"
	var fields map[string]string
	if e, ok := errs.As(err); ok && e.Code != errs.CodeInternal {
		msg, fields = e.Message, e.Fields
		if e.Code == errs.CodeNotFound {
			// Never echo an id: "not found" is all anyone learns.
			msg, fields = "not_found", nil
		} else if messages[language(r)][msg] == "" {
			// The services speak English to developers: a message the
			// catalog does not hold is said by its kind, in the reader's
			// language.
			msg, fields = problemOf[e.Code], nil
		}
	} else {
		p.Log.Error("portal", "route", r.Pattern, "err", err) // never the path: some hold a link's token
	}
	p.render(w, r, status, "error", page{Title: "error_title", Problem: msg, Fields: fields})
}

// problemOf is the catalog's message for an error of each code whose own
// message is not the catalog's.
var problemOf = map[errs.Code]string{
	errs.CodeInvalid:      "form_other",
	errs.CodeUnauthorized: "signed_out",
	errs.CodeForbidden:    "form_expired",
	errs.CodeConflict:     "problem_conflict",
	errs.CodeUnavailable:  "problem_unavailable",
}

// binding returns the browser's binding cookie value, setting a new one
// when the browser has none, or one Steward did not make: a value the
// client chose (to know its codes' binding and its form tokens in advance,
// or to plant it in a victim's browser) is replaced, never used.
func (p *Portal) binding(w http.ResponseWriter, r *http.Request) string {
	if value, ok := p.boundCookie(r); ok {
		return value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	random := base64.RawURLEncoding.EncodeToString(b[:])
	value := random + "." + p.bindingMAC(random)
	http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: value, Path: "/", MaxAge: 30 * 24 * 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	// The page rendered in this response must derive its token from it;
	// a refused value the request carried goes.
	dropCookie(r, bindingCookie)
	r.AddCookie(&http.Cookie{Name: bindingCookie, Value: value})
	return value
}

// DeriveBindingKey returns the key that signs binding cookies from a
// secret every replica holds (the receipt signing key's seed), separated
// from its other uses by a label.
func DeriveBindingKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("steward portal browser binding key"))
	return mac.Sum(nil)
}

// bindingMAC signs the random part of a binding cookie.
func (p *Portal) bindingMAC(random string) string {
	mac := hmac.New(sha256.New, p.BindingKey)
	mac.Write([]byte("steward portal binding\x00" + random))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// boundCookie returns the request's binding cookie when Steward made it:
// 32 random bytes and their signature.
func (p *Portal) boundCookie(r *http.Request) (string, bool) {
	c, err := r.Cookie(bindingCookie)
	if err != nil {
		return "", false
	}
	random, sig, ok := strings.Cut(c.Value, ".")
	if !ok || len(random) != 43 || !hmac.Equal([]byte(sig), []byte(p.bindingMAC(random))) {
		return "", false
	}
	return c.Value, true
}

// dropCookie removes every cookie named name from r's Cookie header.
func dropCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}

// csrfToken derives the form token from the browser's binding cookie; a
// cookie Steward did not make gives none, and so no form passes.
func (p *Portal) csrfToken(r *http.Request) string {
	value, ok := p.boundCookie(r)
	if !ok {
		return ""
	}
	return pages.FormToken("steward portal csrf", value)
}

// checkForm refuses a post without the browser's CSRF token.
func (p *Portal) checkForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return pages.SameToken(r.PostFormValue("csrf"), p.csrfToken(r))
}

type sessionCtx struct{}

func sessionOf(r *http.Request) *customer.Session {
	s, _ := r.Context().Value(sessionCtx{}).(*customer.Session)
	return s
}

// Require serves next only to a signed-in customer; a post must carry the
// CSRF token. Signed out, the customer is sent to the sign-in page.
func (p *Portal) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session, err := p.session(r)
		if err != nil {
			if r.Method == http.MethodGet {
				// A link from an email (a request's page) comes back here
				// once the customer has signed in.
				http.Redirect(w, r, withNext("/privacy", url.Values{"lang": {language(r)}}, safeNext(r.URL.Path)), http.StatusSeeOther)
				return
			}
			p.fail(w, r, customer.ErrSignedOut)
			return
		}
		if r.Method == http.MethodPost && !p.checkForm(w, r) {
			p.fail(w, r, errs.New(errs.CodeForbidden, "form_expired"))
			return
		}
		ctx := context.WithValue(r.Context(), sessionCtx{}, session)
		next.ServeHTTP(w, r.WithContext(audit.WithActor(ctx, customerActor(session))))
	})
}

func (p *Portal) session(r *http.Request) (*customer.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, customer.ErrSignedOut
	}
	return p.Customers.Session(r.Context(), c.Value)
}

// customerActor names a customer in the audit log: their subject, or a
// pseudonym of their address when they are no known subject.
func customerActor(s *customer.Session) audit.Actor {
	if s.SubjectID != "" {
		return audit.Actor{Kind: audit.KindSubject, ID: s.SubjectID}
	}
	return audit.Actor{Kind: "customer", ID: fmt.Sprintf("%x", s.EmailHash[:8])}
}

// clientIP is the address rate limits count by: the connection's, or what
// a trusted proxy says it is (clientaddr).
func (p *Portal) clientIP(r *http.Request) string { return p.ClientAddr.Of(r) }
