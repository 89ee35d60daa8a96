// Package admin is the staff console at /admin: server-rendered pages
// (html/template, no JavaScript needed) for signing in with a password and a
// TOTP code, looking up a customer (masked), revealing a field with a stated
// purpose, taking training, searching the audit log and managing staff.
//
// The route table (internal/web/routes.go) declares each console route's
// staff permission; Console.Require enforces it, and every state-changing
// form carries a CSRF token bound to the session:
//
//	console, err := admin.New(admin.Deps{Staff: accounts, Vault: v, Audit: log, Consent: svc})
//	mux.Handle("GET /admin/audit", console.Require(staff.PermAudit, console.HandleAudit()))
//
// Sessions live in `__Host-` cookies (Secure, HttpOnly, SameSite=Strict)
// that hold a random token; the server keeps only its hash and can revoke
// it. Pages are never cached, and their Content-Security-Policy allows only
// the console's own stylesheet.
package admin

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector/drift"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/report"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web/clientaddr"
	"github.com/steward-dev/steward/internal/web/httpx"
	"github.com/steward-dev/steward/internal/web/pages"
)

//go:embed templates/*.html assets/console.css
var files embed.FS

// Cookie names. The __Host- prefix makes the browser refuse them unless
// Secure, host-only and for path /.
const (
	sessionCookie = "__Host-steward_session"
	signInCookie  = "__Host-steward_signin" // the sign-in form's CSRF pair
)

// Deps are what the console needs.
type Deps struct {
	Staff   *staff.Service
	Vault   *vault.Vault
	Audit   *audit.Log
	Consent *consent.Service
	// Requests is the data subject request workflow (privacy officers).
	Requests *dsr.Service
	// Disclosures lists what went to each vendor; nil hides it.
	Disclosures *disclosure.Service
	// MailQuestionnaire, when set, emails a vendor contact the link of a
	// questionnaire just sent.
	MailQuestionnaire func(ctx context.Context, to, vendorKey, link string, expires time.Time) error
	// PublicURL is Steward's address as vendors reach it (--public-url):
	// the questionnaire links start with it, never with the request's Host
	// header, which the sender of the request chooses.
	PublicURL string
	// Outbox keeps the webhook endpoints (administrators).
	Outbox *outbox.Service
	// Jobs shows and steers background work; nil hides it.
	Jobs *jobs.Runner
	// AfterRequestAction, when set, is told of each transition staff make
	// (the jobs package starts the work a started request needs).
	AfterRequestAction func(ctx context.Context, action, id string)
	// Progress, when set, tells how the work of a request stands, system
	// by system (the fulfil package's records); nil hides it.
	Progress func(ctx context.Context, r dsr.Request) (*Progress, error)
	Log      *slog.Logger
	Now      func() time.Time
	// FreshSignIn is how recent a sign-in must be to reveal or to make a
	// reveal key (default 15 minutes).
	FreshSignIn time.Duration
	// ClientAddr finds the client address sign-in limits count by (nil:
	// the connection's address; see --trusted-proxies).
	ClientAddr *clientaddr.Resolver
	// Reveals limits each staff member's reveals (the same limiter as the
	// API's reveal keys: 10 per 10 minutes by default); the next one is
	// refused and raises an alert. Without it nothing is revealed (503).
	Reveals *reveal.Limiter
	// Keys are the API keys (the API keys page); nil hides the page.
	Keys *apikey.Store
	// Vendors keeps vendor assessments (the vendor pages); nil leaves those
	// pages answering 503.
	Vendors *assurance.Service
	// Drift keeps the findings of personal data the connected systems
	// hold undeclared (the drift page); nil leaves it answering 503.
	Drift *drift.Service
	// Scanner runs the tracker scans of the properties and keeps their
	// reports (the scans pages); nil leaves them answering 503.
	Scanner *scanner.Service
	// Retention keeps legal holds and the reports of retention runs (the
	// customer page's hold form, the retention page); nil leaves those
	// answering 503 and hides the hold on the customer page.
	Retention *retention.Service
	// Inventory is the data map and the record of processing (the
	// inventory pages); nil leaves those pages answering 503.
	Inventory *inventory.Service
	// Backups tells where backups and drills stand (the dashboard); nil
	// hides it. BackupSchedule is what serve was told to do.
	Backups        func(ctx context.Context) (recovery.Status, error)
	BackupSchedule BackupSchedule
	// Incidents is the incident register (the incident pages and the
	// report form); nil leaves those pages answering 503.
	Incidents *incident.Service
	// Reviews keeps the quarterly access reviews (administrators); nil
	// leaves their pages answering 503.
	Reviews *review.Service
	// Reports makes the signed monthly report (administrators and security
	// officers); nil leaves its pages answering 503.
	Reports *report.Service
	// Ethics keeps the purposes' ethics assessments (the assessment pages
	// of the catalog); nil leaves those pages answering 503 and the
	// purposes' list without their status.
	Ethics *ethics.Service
	// Analytics reads the consent rollups (the analytics page, for the
	// roles that see aggregates) and rebuilds them (administrators); nil
	// leaves that page answering 503.
	Analytics *analytics.Service
}

// BackupSchedule is the backup settings the dashboard compares the runs
// with: whether backups are scheduled, how often, and how often a drill is
// expected.
type BackupSchedule struct {
	Scheduled         bool
	Every, DrillEvery time.Duration
}

// Console serves the staff console.
type Console struct {
	Deps
	pages map[string]*template.Template
	css   *pages.Stylesheet
}

// New parses the console's templates and returns it.
func New(d Deps) (*Console, error) {
	if d.Staff == nil || d.Vault == nil || d.Audit == nil || d.Consent == nil || d.Requests == nil {
		return nil, errors.New("admin: New needs Staff, Vault, Audit, Consent and Requests")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.FreshSignIn == 0 {
		d.FreshSignIn = 15 * time.Minute
	}
	css, err := files.ReadFile("assets/console.css")
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	c := &Console{Deps: d, css: pages.NewStylesheet("/admin/assets/console", css)}
	funcs := template.FuncMap{
		"can":     func(s *staff.Session, p string) bool { return s != nil && s.Account.Role.Can(staff.Permission(p)) },
		"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"dots":    func(n int) string { return strings.Repeat("•", min(max(n, 4), 12)) },
		"details": func(d audit.Details) string { return d.String() },
		"date":    func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"list":    func(items ...string) []string { return items },
		// share says a share in percent, as the analytics CSV does.
		"share": analytics.Share,
		// small says a withheld analytics figure: "< 10".
		"small": analytics.SmallLabel,
		// fill puts values in a catalog text's {name} placeholders:
		// {{fill .T.reveal_blocked "reason" .Why}}.
		"fill": func(text string, pairs ...string) string {
			for i := 0; i+1 < len(pairs); i += 2 {
				text = strings.ReplaceAll(text, "{"+pairs[i]+"}", pairs[i+1])
			}
			return text
		},
		// count says a plural catalog message in the page's language, its
		// form picked by n: {{count $.Lang "st_failures" .Failures}}.
		"count": func(lang, key string, n int) string {
			return i18n.Default().Printer(lang).T("console."+key, "n", n)
		},
		"deref": func(t *time.Time) time.Time {
			if t == nil {
				return time.Time{}
			}
			return *t
		},
		// bytes and duration say a size and a length of time briefly:
		// 12.3 MiB, 4m20s.
		"bytes": func(n int64) string {
			switch {
			case n >= 1<<30:
				return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
			case n >= 1<<10:
				return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
			}
			return fmt.Sprintf("%d B", n)
		},
		"duration": func(d time.Duration) string {
			if d >= time.Minute {
				return d.Round(time.Second).String()
			}
			return d.Round(time.Millisecond).String()
		},
		"opt": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02")
		},
	}
	if c.pages, err = pages.Load(files, "templates", funcs); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return c, nil
}

// HandleStylesheet serves the console's stylesheet under its hashed URL.
func (c *Console) HandleStylesheet() http.Handler { return c.css }

// page is what every template gets.
type page struct {
	Title   string
	Session *staff.Session
	CSRF    string
	CSS     string
	Notice  string
	Problem string
	Fields  map[string]string
	Data    any
	// Lang is the page's language and T its words: the catalog's console.*
	// keys without the prefix ({{.T.nav_requests}}). Langs is the language
	// switch.
	Lang  string
	T     map[string]string
	Langs []langLink
}

type langLink struct{ Code, Name string }

// langCookie remembers the language a staff member picked with the switch.
const langCookie = "steward_console_lang"

// language picks the console's language: ?lang= (the switch, remembered in
// a cookie on this device), then that cookie, then the signed-in staff
// member's own setting (their account page, for every device; saving it
// drops the cookie), then Accept-Language.
func language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); i18n.Default().Has(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/admin", MaxAge: 365 * 24 * 3600,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	return languageOf(r)
}

// languageOf is the language of a console request, as language picks it,
// without remembering a switch.
func languageOf(r *http.Request) string {
	catalog := i18n.Default()
	if l := r.URL.Query().Get("lang"); catalog.Has(l) {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && catalog.Has(c.Value) {
		return c.Value
	}
	if s := sessionOf(r); s != nil && catalog.Has(s.Account.Language) {
		return s.Account.Language
	}
	return catalog.Match(r.Header.Get("Accept-Language"))
}

// say is a console message (a console.* key without the prefix) in the
// request's language, its {name} placeholders filled from args: the
// sentences handlers put in titles, notices and problems.
func say(r *http.Request, key string, args ...any) string {
	return i18n.Default().Printer(languageOf(r)).T("console."+key, args...)
}

// message is what a page says of a coded error: its catalog message
// (error.*) in the request's language when the error names one; for field
// problems that are all keyed, each field with its problem in that
// language; else its text.
func message(r *http.Request, e *errs.Error) string {
	if e.Key != "" {
		return i18n.Default().Printer(languageOf(r)).T("error."+e.Key, e.Args...)
	}
	if len(e.FieldKeys) == 0 || len(e.FieldKeys) != len(e.Fields) {
		return e.Message
	}
	fields := fieldMessages(r, e)
	parts := make([]string, 0, len(fields))
	for _, field := range slices.Sorted(maps.Keys(fields)) {
		parts = append(parts, field+": "+fields[field])
	}
	return strings.Join(parts, "; ")
}

// fieldMessages are the field problems of e as a page says them: a keyed
// problem (errs.Problems) in the request's language, any other as its text.
// A one-field error keyed as a whole (errs.Invalid(...).Keyed(...)) says
// its field by that key. The result is a new map, nil when e names no field.
func fieldMessages(r *http.Request, e *errs.Error) map[string]string {
	if len(e.Fields) == 0 {
		return nil
	}
	out := make(map[string]string, len(e.Fields))
	if e.Key != "" && len(e.Fields) == 1 && len(e.FieldKeys) == 0 {
		for field := range e.Fields {
			out[field] = message(r, e)
		}
		return out
	}
	p := i18n.Default().Printer(languageOf(r))
	for field, text := range e.Fields {
		if k, ok := e.FieldKeys[field]; ok {
			text = p.T("error."+k.Key, k.Args...)
		}
		out[field] = text
	}
	return out
}

// words are the console's words in lang, with English for what lang lacks;
// pages only read them.
func words(lang string) map[string]string { return consoleWords()[lang] }

var consoleWords = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range i18n.Default().Languages() {
		out[lang] = i18n.Default().Printer(lang).Map("console.")
	}
	return out
})

type sessionCtx struct{}

// sessionOf returns the signed-in staff member of a console request.
func sessionOf(r *http.Request) *staff.Session {
	s, _ := r.Context().Value(sessionCtx{}).(*staff.Session)
	return s
}

// csrfToken is bound to the session: a one-way hash of its secret token,
// so it cannot be made without the cookie and needs no server state.
func csrfToken(s *staff.Session) string {
	if s == nil {
		return ""
	}
	return pages.FormToken("steward console csrf", s.Token)
}

// render writes a page, rendered into a buffer first so that a template
// failure becomes a clean error page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Session = sessionOf(r)
	p.CSRF = csrfToken(p.Session)
	p.CSS = c.css.Path
	p.Lang = language(w, r)
	p.T = words(p.Lang)
	for _, code := range i18n.Default().Languages() {
		p.Langs = append(p.Langs, langLink{code, words(code)["lang_name"]})
	}
	// A title or problem that is a catalog key is said in the page's
	// language; the pages not yet in the catalog pass English text.
	if t, ok := p.T[p.Title]; ok && strings.HasPrefix(p.Title, "title_") {
		p.Title = t
	}
	if t, ok := p.T[p.Problem]; ok && strings.HasPrefix(p.Problem, "problem_") {
		p.Problem = t
	}
	var buf bytes.Buffer
	t := c.pages[name]
	if t == nil {
		c.Log.Error("console: no such page", "page", name)
		status, t = http.StatusInternalServerError, c.pages["error"]
		p = page{Title: p.T["error"], Problem: p.T["problem_internal"], CSS: c.css.Path, Session: p.Session, Lang: p.Lang, T: p.T, Langs: p.Langs}
	}
	if err := t.Execute(&buf, p); err != nil {
		c.Log.Error("console: render", "page", name, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		_ = c.pages["error"].Execute(&buf, page{Title: p.T["error"], Problem: p.T["problem_internal"], CSS: c.css.Path, Lang: p.Lang, T: p.T, Langs: p.Langs})
	}
	pages.SetHeaders(w.Header(), pages.CSP)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Fail answers err with the console's error page, for the server's
// wrappers around console routes (a subsystem that is off).
func (c *Console) Fail(w http.ResponseWriter, r *http.Request, err error) { c.fail(w, r, err) }

// fail renders err as an error page with the status of its code. Unknown
// errors are logged (without personal data: messages of this package
// never hold any) and shown as a generic message.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.Status(err)
	msg := "problem_internal"
	var fields map[string]string
	if e, ok := errs.As(err); ok && e.Code != errs.CodeInternal {
		msg, fields = message(r, e), fieldMessages(r, e)
	} else {
		c.Log.Error("console", "route", r.Pattern, "err", err) // the pattern: paths hold ids and tokens
	}
	title := "title_status_" + strconv.Itoa(status)
	if _, ok := words(i18n.English)[title]; !ok {
		title = http.StatusText(status)
	}
	c.render(w, r, status, "error", page{Title: title, Problem: msg, Fields: fields})
}

// Require serves next only to a signed-in staff member whose role has
// perm (SignedIn: any role). Signed out, a page request is sent to the
// sign-in page and a form post is refused; a form post must carry the
// session's CSRF token.
func (c *Console) Require(perm staff.Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session, err := c.session(r)
		if err != nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/admin/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, errs.New(errs.CodeUnauthorized, "%s", say(r, "problem_sign_in_first")))
			return
		}
		r = r.WithContext(audit.WithActor(context.WithValue(r.Context(), sessionCtx{}, session), audit.Staff(session.Account.ID)))
		if perm != SignedIn && !session.Account.Role.Can(perm) {
			c.fail(w, r, errs.New(errs.CodeForbidden, "%s", say(r, "problem_role_forbidden", "role", session.Account.Role)))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
			if !pages.SameToken(r.PostFormValue("csrf"), csrfToken(session)) {
				c.fail(w, r, errs.New(errs.CodeForbidden, "%s", say(r, "problem_form_stale")))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SignedIn is the permission of console pages every staff member may use.
const SignedIn staff.Permission = "signed_in"

func (c *Console) session(r *http.Request) (*staff.Session, error) {
	cookie, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errs.New(errs.CodeUnauthorized, "sign in first")
	}
	return c.Staff.Session(r.Context(), cookie.Value)
}

// clientIP is the address sign-in limits count by: the connection's, or
// what a trusted proxy says it is (clientaddr).
func (c *Console) clientIP(r *http.Request) string { return c.ClientAddr.Of(r) }

// localNext keeps a redirect inside the console.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin"
	}
	return next
}

// actor is the audit actor of a console request: the signed-in staff
// member (Require puts them in the context).
func actor(r *http.Request) audit.Actor { return audit.ActorFrom(r.Context()) }
