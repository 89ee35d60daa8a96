// Package web is Steward's HTTP server: the route table with a permission
// for every route (routes.go), middleware for authentication, security
// headers, metrics and panics, and the operational endpoints.
//
//	handler := web.NewServer(web.Deps{Consent: svc, Keys: keys, DB: store, Signer: signer, Metrics: web.NewMetrics(), Log: log})
//	http.ListenAndServe(addr, handler)
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/preference"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/transparency"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web/admin"
	"github.com/steward-dev/steward/internal/web/api"
	"github.com/steward-dev/steward/internal/web/assess"
	"github.com/steward-dev/steward/internal/web/auth"
	"github.com/steward-dev/steward/internal/web/banner"
	"github.com/steward-dev/steward/internal/web/httpx"
	"github.com/steward-dev/steward/internal/web/portal"
)

// Deps are what the server needs.
type Deps struct {
	Consent *consent.Service
	// JWKS is the key set /.well-known/jwks.json publishes: the receipt
	// keys and the backup signing key; empty: the receipt keys alone.
	JWKS []byte
	// Erasures records the admin API's erasures in the erasure journal.
	Erasures erasure.Recorder
	Keys     *apikey.Store
	// DB is the store, for the default reveal limiter (Reveals).
	DB      *db.DB
	Signer  *receipt.Signer
	Metrics *Metrics
	Log     *slog.Logger
	// Banner serves the consent banner; nil leaves its routes unanswered (503).
	Banner *banner.Server
	// DemoProperty, when set (serve --demo), is the property whose banner
	// the page at /demo shows.
	DemoProperty string
	Vault        *vault.Vault
	Audit        *audit.Log
	Hooks        *httpsystem.Service
	Disclosures  *disclosure.Service
	Outbox       *outbox.Service
	// OnDisclosure is told of each disclosure answered through the API.
	OnDisclosure func(ctx context.Context, d disclosure.Disclosure)
	// Console serves the staff console at /admin; nil leaves its routes
	// answering 503.
	Console *admin.Console
	// Portal serves the customer's privacy center at /privacy; nil leaves
	// its routes answering 503.
	Portal *portal.Portal
	// Assess serves the vendors' questionnaires at /assess; nil leaves its
	// routes answering 503.
	Assess *assess.Pages
	// GPCLastUpdate is the date (YYYY-MM-DD) served in /.well-known/gpc.json.
	GPCLastUpdate string

	// Reveals limits reveals per key or staff member (the console has its
	// own reference to the same limiter); nil makes one with the defaults.
	Reveals *reveal.Limiter
	// BeforeSignInChange tells a customer's previous sign-in address of a
	// change made through the API (see api.Deps).
	BeforeSignInChange func(ctx context.Context, subject, address string) error
	// SendAgentConfirmation emails the customer of an agent's request filed
	// through the API the link to confirm it (see api.Deps); nil refuses
	// agents' requests there.
	SendAgentConfirmation func(ctx context.Context, req dsr.Request, to, agentName, token string) error
	// MetricsElsewhere, set with --metrics-listen, leaves /metrics off this
	// handler: MetricsHandler serves it on an internal address instead.
	MetricsElsewhere bool
	// Requests serves /v1/requests; nil answers 503.
	Requests *dsr.Service
	// AccessLog logs one line per request to Log (--access-log): the
	// route's pattern from routes.go, never the path, whose ids and
	// emails are personal data; the status, duration and bytes written.
	AccessLog bool
	// Ready says whether the server is ready to serve (/readyz): the app
	// composes it from the store's reachability and migrations and the
	// consent ledger's chain status. Nil answers 503.
	Ready func(ctx context.Context) (ReadyStatus, error)
	// Retention keeps the legal holds; nil answers their routes 503.
	Retention *retention.Service
	// Inventory builds the data map and the record of processing; nil
	// answers 503 on /v1/inventory.
	Inventory *inventory.Service
	// Incidents is the incident register; nil answers its routes 503.
	Incidents *incident.Service
	// Transparency serves the public transparency pages at /transparency;
	// nil answers its routes 503.
	Transparency *transparency.Handler
	// Preferences makes and opens the preference centre's links; nil
	// answers /v1/subjects/{id}/preference-links 503. PublicURL is where
	// customers reach Steward, the links' base.
	Preferences *preference.Links
	PublicURL   string
	// Ethics keeps the purposes' ethics assessments; nil answers
	// /v1/purposes/{key}/assessment 503.
	Ethics *ethics.Service
}

type server struct {
	Deps
	api  *api.Deps
	csrf *http.CrossOriginProtection
}

// NewServer returns the HTTP handler of Steward.
func NewServer(d Deps) http.Handler {
	s := newServer(d)
	if d.Banner == nil {
		s.Log.Warn("banner routes are disabled")
	}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Pattern, s.wrap(rt))
	}
	// Everything no route matches gets a problem+json 404, or 405 with Allow
	// when another method of the path exists; "/" matches last.
	mux.Handle("/", s.wrap(Route{Pattern: "/", Permission: Public, Handler: s.handleUnmatched(mux)}))
	return mux
}

// methodsOf lists the methods to probe for a 405; none without a mux.
func methodsOf(mux *http.ServeMux) []string {
	if mux == nil {
		return nil
	}
	return []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}
}

func (s *server) handleUnmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, method := range methodsOf(mux) {
			probe := r.Clone(r.Context())
			probe.Method = method
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allowed = append(allowed, method)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			httpx.Error(w, r, nil, &errs.Error{Code: errs.CodeInvalid, Message: "method " + r.Method + " is not allowed here", Err: httpx.ErrMethodNotAllowed})
			return
		}
		httpx.Error(w, r, nil, errs.New(errs.CodeNotFound, "no such route: see /openapi.json"))
	})
}

// Routes returns the route table, for tests and documentation.
func Routes(d Deps) []Route {
	return newServer(d).routes()
}

// RouteGroups returns the route table by surface, for tests and
// documentation: Routes is their routes, in order.
func RouteGroups(d Deps) []RouteGroup {
	return newServer(d).groups()
}

// newServer fills the defaults of d and makes the API handlers' deps.
func newServer(d Deps) *server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if d.Reveals == nil && d.DB != nil && d.Audit != nil {
		d.Reveals = reveal.New(reveal.Config{DB: d.DB, Audit: d.Audit})
	}
	return &server{Deps: d, csrf: http.NewCrossOriginProtection(), api: &api.Deps{Consent: d.Consent, Keys: d.Keys, Vault: d.Vault, Audit: d.Audit, Reveals: d.Reveals, BeforeSignInChange: d.BeforeSignInChange, Hooks: d.Hooks, Disclosures: d.Disclosures, Outbox: d.Outbox, OnDisclosure: d.OnDisclosure, Log: d.Log,
		SendAgentConfirmation: d.SendAgentConfirmation,
		ObserveAnswers:        d.Metrics.ObserveAnswers, Requests: d.Requests, Retention: d.Retention, Inventory: d.Inventory,
		Erasures: d.Erasures, Incidents: d.Incidents, Preferences: d.Preferences, PublicURL: d.PublicURL, Ethics: d.Ethics}}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap puts a route's middleware around its handler: panics, headers,
// metrics, then the permission check.
func (s *server) wrap(rt Route) http.Handler {
	obs := s.Metrics.route(rt.Pattern)
	h := s.authorize(rt.Permission, rt.Handler)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic in handler", "route", rt.Pattern, "panic", v)
				if sw.status == 0 {
					httpx.Error(sw, r, nil, errs.New(errs.CodeInternal, "internal error"))
				}
			}
			elapsed := time.Since(start)
			obs.observe(sw.status, elapsed)
			if s.AccessLog {
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", rt.Pattern),
					slog.Int("status", status), slog.Duration("duration", elapsed), slog.Int64("bytes", sw.bytes))
			}
		}()
		setSecurityHeaders(w.Header())
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
	})
}

// securityHeaders are set on every answer. The value slices are shared
// between responses and never changed: assigning them costs no allocation
// on the hot path. A slice rather than a map: walking a map starts an
// iterator on every request.
var securityHeaders = [...]struct {
	name  string
	value []string
}{
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	{"Strict-Transport-Security", []string{"max-age=63072000; includeSubDomains"}},
	{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
}

func setSecurityHeaders(h http.Header) {
	for _, sh := range securityHeaders {
		h[sh.name] = sh.value
	}
}

// bearer returns the API key of a request: "Authorization: Bearer KEY", or,
// for ingest routes only, "?key=KEY" (navigator.sendBeacon cannot set
// headers; ingest keys are public anyway).
func bearer(r *http.Request, allowQuery bool) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	if allowQuery {
		return r.URL.Query().Get("key")
	}
	return ""
}

func (s *server) authorize(p Permission, next http.Handler) http.Handler {
	if p == Public {
		return next
	}
	if p == Customer {
		if s.Portal == nil {
			return next // answers 503 (see portal)
		}
		return s.Portal.Require(next)
	}
	if perm, ok := p.staffPermission(); ok {
		if s.Console == nil {
			return next // answers 503 (see console)
		}
		return s.Console.Require(perm, next)
	}
	scope := apikey.Scope(p)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain := bearer(r, p == Ingest)
		if plain == "" {
			httpx.Error(w, r, s.Log, errs.New(errs.CodeUnauthorized, "this route needs an API key: Authorization: Bearer KEY"))
			return
		}
		key, err := s.Keys.Check(r.Context(), plain)
		if err != nil {
			httpx.Error(w, r, s.Log, err)
			return
		}
		if p == Ingest {
			// Recording consent takes an ingest key (the banner's, public), a
			// record key (a back end's) or an admin key; the handler holds
			// each to what it may assert. Only the public key may travel in
			// the URL, where logs and browser histories keep it.
			if !key.Allows(apikey.ScopeIngest) && !key.Allows(apikey.ScopeRecord) {
				httpx.Error(w, r, s.Log, errs.New(errs.CodeForbidden, "this key has scope %q; the route needs \"ingest\", \"record\" or \"admin\"", key.Scope))
				return
			}
			if key.Scope != apikey.ScopeIngest && r.Header.Get("Authorization") == "" {
				httpx.Error(w, r, s.Log, errs.New(errs.CodeForbidden, "only a public ingest key may be sent as ?key=; send this key as Authorization: Bearer KEY"))
				return
			}
		} else if !key.Allows(scope) {
			httpx.Error(w, r, s.Log, errs.New(errs.CodeForbidden, "this key has scope %q; the route needs %q", key.Scope, scope))
			return
		}
		switch {
		case p == Ingest:
			// Ingest handlers hold the key to what it may assert.
			r = r.WithContext(auth.WithKey(r.Context(), key))
		case p == Admin || p == Reveal || p == Disclose:
			// Admin and reveal acts are recorded in the audit log under the
			// key's id. Decisions, the hot path, skip the cost of a new request.
			r = r.WithContext(audit.WithActor(auth.WithKey(r.Context(), key), audit.APIKey(key.ID)))
		}
		next.ServeHTTP(w, r)
	})
}

// requirement is a route's handler behind the subsystem it needs: while
// the server runs without that subsystem, the route answers 503 instead.
type requirement struct {
	on        bool
	subsystem string
	next      http.Handler
	// page, when set, writes the refusal as an HTML page (the console's
	// error page) instead of problem+json.
	page func(w http.ResponseWriter, r *http.Request, err error)
}

func (q *requirement) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if q.on {
		q.next.ServeHTTP(w, r)
		return
	}
	if q.page != nil {
		// The console's page says it in the reader's language: subsystem
		// is then a short name with a catalog key console.problem_no_NAME.
		q.page(w, r, errs.New(errs.CodeUnavailable, "problem_no_%s", q.subsystem))
		return
	}
	err := errs.New(errs.CodeUnavailable, "%s is not configured on this server", q.subsystem)
	httpx.Error(w, r, nil, err)
}

// requires is the one way a route says it needs a subsystem: h when on,
// else an RFC 9457 problem (503, code "unavailable") naming subsystem.
func (s *server) requires(on bool, subsystem string, h http.Handler) http.Handler {
	if !on {
		h = nil // never served
	}
	return &requirement{on: on, subsystem: subsystem, next: h}
}

// console returns a console handler, or a 503 while the server has no
// console. Console routes refuse cross-origin form posts twice: by the
// browser's Sec-Fetch-Site or Origin header (http.CrossOriginProtection,
// also for the sign-in form) and by the session's CSRF token (Require).
func (s *server) console(handler func(*admin.Console) http.Handler) http.Handler {
	if s.Console == nil {
		return s.requires(false, "the staff console", nil)
	}
	return s.csrf.Handler(handler(s.Console))
}

// consoleNeeds returns a console page that needs one of the console's
// optional subsystems (on tells whether the console has it): while it is
// off, the page answers 503 with the console's error page, which says
// console.problem_no_SUBSYSTEM (subsystem is a short name: "jobs").
func (s *server) consoleNeeds(on func(*admin.Deps) bool, subsystem string, handler func(*admin.Console) http.Handler) http.Handler {
	if s.Console == nil || on(&s.Console.Deps) {
		return s.console(handler)
	}
	return &requirement{subsystem: subsystem, page: s.Console.Fail}
}

// assess returns a questionnaire page, or a 503 while the server has none.
// The link's token is the vendor's credential; form posts are refused
// cross-origin too.
func (s *server) assess(handler func(*assess.Pages) http.Handler) http.Handler {
	if s.Assess == nil {
		return s.requires(false, "the vendor questionnaire", nil)
	}
	return s.csrf.Handler(handler(s.Assess))
}

// portal returns a portal handler, or a 503 while the server has no
// portal; form posts are refused cross-origin as in the console.
func (s *server) portal(handler func(*portal.Portal) http.Handler) http.Handler {
	if s.Portal == nil {
		return s.requires(false, "the privacy portal", nil)
	}
	return s.csrf.Handler(handler(s.Portal))
}

// transparency returns a public transparency page, or a 503 while the
// server has none.
func (s *server) transparency(handler func(*transparency.Handler) http.Handler) http.Handler {
	if s.Transparency == nil {
		return s.requires(false, "the transparency pages", nil)
	}
	return handler(s.Transparency)
}

// portalOneClick is portal without the cross-origin check, for the
// one-click unsubscribe: RFC 8058 mail receivers post it from wherever
// they run, with no cookie, and the link's sealed token is the credential.
func (s *server) portalOneClick(handler func(*portal.Portal) http.Handler) http.Handler {
	if s.Portal == nil {
		return s.requires(false, "the privacy portal", nil)
	}
	return handler(s.Portal)
}

// bannerRoute returns handler, or a 503 while the server has no banner.
func (s *server) bannerRoute(handler func(*banner.Server) http.Handler) http.Handler {
	if s.Banner == nil {
		return s.requires(false, "the banner", nil)
	}
	return handler(s.Banner)
}

func (s *server) handleLive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Encode(w, http.StatusOK, map[string]string{"status": "live"})
	})
}

// ReadyStatus is what a ready server reports at /readyz.
type ReadyStatus struct {
	// LedgerSeq is the consent ledger's last sequence number.
	LedgerSeq int64
}

// handleReady answers 200 when Deps.Ready says the server is ready, and
// 503 with its reason otherwise (or when the server has no readiness
// function: deny by default).
func (s *server) handleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Ready == nil {
			httpx.Error(w, r, nil, errs.New(errs.CodeUnavailable, "readiness is not configured on this server"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		st, err := s.Ready(ctx)
		if err != nil {
			if _, ok := errs.As(err); !ok {
				err = errs.Wrap(errs.CodeUnavailable, err, "not ready")
			}
			httpx.Error(w, r, s.Log, err)
			return
		}
		httpx.Encode(w, http.StatusOK, map[string]any{"status": "ready", "ledger_seq": st.LedgerSeq})
	})
}

func (s *server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
}

// MetricsHandler serves m at GET /metrics and nothing else, for the
// internal listener of --metrics-listen: metrics tell request volumes,
// routes and internals that the public has no business reading.
func MetricsHandler(m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	return mux
}

func (s *server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if len(s.JWKS) > 0 {
			_, _ = w.Write(s.JWKS)
			return
		}
		_, _ = w.Write(s.Signer.JWKS())
	})
}

// handleGPC serves the GPC support resource: this site honours Global
// Privacy Control signals.
func (s *server) handleGPC() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		httpx.Encode(w, http.StatusOK, map[string]any{"gpc": true, "lastUpdate": s.GPCLastUpdate})
	})
}
