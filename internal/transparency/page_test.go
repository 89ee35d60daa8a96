package transparency_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/transparency"
)

// fakeCatalog is a consent catalog whose purposes a test edits; each edit
// moves its version on, as consent.Service does.
type fakeCatalog struct {
	mu       sync.Mutex
	version  int64
	purposes []consent.Purpose
	vendors  []consent.Vendor
	assessed map[string]bool
}

func (c *fakeCatalog) Purposes() []consent.Purpose {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]consent.Purpose(nil), c.purposes...)
}
func (c *fakeCatalog) CatalogVersion() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}
func (c *fakeCatalog) VendorAssessed(key string) bool { return c.assessed[key] }
func (c *fakeCatalog) AssessedFingerprint() uint64    { return uint64(len(c.assessed)) }

func (c *fakeCatalog) setBasis(key string, basis consent.LegalBasis) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.purposes {
		if c.purposes[i].Key == key {
			c.purposes[i].LegalBasis = basis
		}
	}
	c.version++
}

// Map builds the data map from the fake catalog, as inventory.Service does
// from the live one.
func (c *fakeCatalog) Map(context.Context) (inventory.Map, error) {
	return inventory.Build(inventory.Inputs{Purposes: c.Purposes(), Vendors: c.vendors,
		Categories: []consent.Category{{Key: "contact", Names: map[string]string{"en": "Contact details", "de": "Kontaktdaten"}, RetentionDays: 365},
			{Key: "health", Special: true}}, // held nowhere, received by nobody
		Vault: []inventory.VaultField{{Name: "email", Category: "contact", Count: 3}}}), nil
}

type noIncidents struct{}

func (noIncidents) Published(context.Context) ([]incident.Account, error) { return nil, nil }
func (noIncidents) PublishedAccount(context.Context, string) (incident.Account, error) {
	return incident.Account{}, fmt.Errorf("none")
}

type pageEnv struct {
	catalog   *fakeCatalog
	signer    *receipt.Signer
	publisher *transparency.Publisher
	handler   *transparency.Handler
	now       time.Time
	cookies   []scanner.Declaration
	mu        sync.Mutex
}

func (e *pageEnv) cookieSource(context.Context) ([]scanner.Declaration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.cookies), nil
}

func (e *pageEnv) setCookies(d ...scanner.Declaration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cookies = d
}

func (e *pageEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *pageEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func newPageEnv(tb testing.TB, store *db.DB) *pageEnv {
	tb.Helper()
	signer, err := receipt.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		tb.Fatal(err)
	}
	e := &pageEnv{signer: signer, now: time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), catalog: &fakeCatalog{version: 1,
		purposes: []consent.Purpose{
			{Key: "analytics", Names: map[string]string{"en": "Analytics", "de": "Analyse"}, Descriptions: map[string]string{"en": "Counting visits."},
				LegalBasis: consent.LegalBasis("consent"), RetentionDays: 90},
			{Key: "orders", Names: map[string]string{"en": "Orders"}, LegalBasis: consent.LegalBasis("contract"), Necessary: true},
		},
		vendors:  []consent.Vendor{{Key: "metrics", Name: "Metrics Inc", Country: "US", Purposes: []string{"analytics"}, DataCategories: []string{"contact"}}},
		assessed: map[string]bool{"metrics": true}}}
	e.publisher, err = transparency.NewPublisher(transparency.PublisherConfig{DB: store, Signer: signer, Catalog: e.catalog, DataMap: e.catalog,
		Incidents: noIncidents{}, Cookies: e.cookieSource, PublicURL: "https://privacy.example", Now: e.clock,
		Company: transparency.Company{Name: "Shop Example Ltd", Email: "privacy@shop.example"}})
	if err != nil {
		tb.Fatal(err)
	}
	e.handler, err = transparency.New(transparency.Deps{Incidents: noIncidents{}, Publisher: e.publisher, CompanyName: "Shop Example Ltd"})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *pageEnv) get(tb testing.TB, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// signedBody is /transparency.json.
type signedBody struct {
	JWS      string          `json:"jws"`
	Document json.RawMessage `json:"document"`
}

func (e *pageEnv) document(t *testing.T) (signedBody, transparency.Document) {
	t.Helper()
	w := e.get(t, e.handler.HandleDocumentJSON(), "/transparency.json")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /transparency.json = %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var body signedBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	var doc transparency.Document
	if err := json.Unmarshal(body.Document, &doc); err != nil {
		t.Fatal(err)
	}
	return body, doc
}

func TestDocumentVerifiesAgainstJWKS(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		body, doc := e.document(t)
		payload, err := receipt.VerifyPayload(body.JWS, e.signer.JWKS())
		if err != nil {
			t.Fatalf("verify against the JWKS: %v", err)
		}
		if !bytes.Equal(payload, body.Document) {
			t.Fatalf("the signed payload is not the document served:\n%s\n%s", payload, body.Document)
		}
		if doc.Version != 1 || doc.Company.Email != "privacy@shop.example" || len(doc.Purposes) != 2 || doc.Rights.PortalURL != "https://privacy.example/privacy" {
			t.Fatalf("document = %+v", doc)
		}
		if v := doc.Vendors; len(v) != 1 || !v[0].AssessmentCurrent || !v[0].ThirdCountry {
			t.Fatalf("vendors = %+v", v)
		}
		if c := doc.Categories; len(c) == 0 || c[0].Key != "contact" || !slices.Contains(c[0].Places, transparency.Place{System: inventory.SystemVault, Kind: "vault"}) {
			t.Fatalf("categories = %+v, want contact details held in the vault first", c)
		}
		for _, c := range doc.Categories {
			if c.Key == "health" {
				t.Fatalf("a category nobody holds is listed: %+v", c)
			}
		}
		// Any changed byte fails, and another key does not verify it.
		tampered := strings.Replace(body.JWS, ".", ".x", 1)
		if _, err := receipt.VerifyPayload(tampered, e.signer.JWKS()); err == nil {
			t.Fatal("a tampered JWS verified")
		}
		other, _ := receipt.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)))
		if _, err := receipt.VerifyPayload(body.JWS, other.JWKS()); err == nil {
			t.Fatal("the JWS verified against another key set")
		}
		// The ETag answers a revalidation with 304.
		first := e.get(t, e.handler.HandleDocumentJSON(), "/transparency.json")
		again := e.get(t, e.handler.HandleDocumentJSON(), "/transparency.json", "If-None-Match", first.Header().Get("ETag"))
		if again.Code != http.StatusNotModified {
			t.Fatalf("revalidation = %d", again.Code)
		}
	})
}

func TestPurposeChangeMakesNewVersion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		_, first := e.document(t)
		// Time passes, nothing changes: the same version, newer copy.
		e.advance(2 * time.Minute)
		_, same := e.document(t)
		if same.Version != first.Version || same.ContentHash != first.ContentHash || !same.GeneratedAt.After(first.GeneratedAt) {
			t.Fatalf("unchanged content: version %d → %d, generated %v → %v", first.Version, same.Version, first.GeneratedAt, same.GeneratedAt)
		}
		// A purpose changes: the catalog's version moves, the cache notices
		// at once.
		e.catalog.setBasis("analytics", consent.LegalBasis("legitimate_interest"))
		_, changed := e.document(t)
		if changed.Version != first.Version+1 || changed.ContentHash == first.ContentHash {
			t.Fatalf("after a purpose change: version %d (hash %s), want %d", changed.Version, changed.ContentHash, first.Version+1)
		}
		history, err := e.publisher.History(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 2 || history[0].Number != 2 {
			t.Fatalf("history = %+v", history)
		}
		want := transparency.Change{Section: "purposes", Kind: transparency.ChangeChanged, Key: "analytics"}
		if got := history[0].Changes; len(got) != 1 || got[0] != want {
			t.Fatalf("changes = %+v, want [%+v]", got, want)
		}
		// Changing it back is a third version, not the first again.
		e.catalog.setBasis("analytics", consent.LegalBasis("consent"))
		if _, back := e.document(t); back.Version != 3 || back.ContentHash != first.ContentHash {
			t.Fatalf("changed back: version %d hash %s", back.Version, back.ContentHash)
		}
		w := e.get(t, e.handler.HandleHistory(), "/transparency/history?lang=de")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Zweck geändert: analytics") {
			t.Fatalf("history page = %d: %s", w.Code, w.Body)
		}
	})
}

// insertChoices records one purpose-level choice by each of n devices on
// day, half of them with GPC.
func insertChoices(t *testing.T, store *db.DB, seq *int, day time.Time, purpose, action string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		*seq++
		mustExec(t, store, `INSERT INTO consent_events (seq, property, event_id, device_id, purpose, vendor, action, source,
			notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at)
			VALUES ($1, 'shop', $2, $3, $4, '', $5, 'banner', 'v1', 'DE', `+store.Bool(i%2 == 0)+`, `+store.Bool(false)+`, '', $6, $6)`,
			*seq, fmt.Sprintf("ev%d", *seq), fmt.Sprintf("dev-%s-%s-%d", day.Format("0102"), action, i), purpose, action, day.UnixMicro())
	}
}

func TestFiguresLeaveOutGroupsUnderFifty(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		mustExec(t, store, `INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at)
			VALUES ('shop', 'Shop', '[]', '{}', 'DE', '', 0, 0)`)
		for _, p := range []string{"analytics", "orders"} {
			mustExec(t, store, `INSERT INTO purposes (key, names, descriptions, legal_basis, necessary, sale_or_sharing, created_at, updated_at)
				VALUES ($1, '{}', '{}', 'consent', `+store.Bool(false)+`, `+store.Bool(false)+`, 0, 0)`, p)
		}
		seq := 0
		march, april := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC)
		// March: 49 people chose analytics (hidden); April: 50 (30 accept,
		// 20 refuse: shown). December, the current month, is never counted.
		insertChoices(t, store, &seq, march, "analytics", "grant", 49)
		insertChoices(t, store, &seq, april, "analytics", "grant", 30)
		insertChoices(t, store, &seq, april.Add(time.Hour), "analytics", "deny", 20)
		insertChoices(t, store, &seq, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "analytics", "grant", 60)
		// One of April's people changed their mind later that month: their
		// last choice counts, once.
		seq++
		mustExec(t, store, `INSERT INTO consent_events (seq, property, event_id, device_id, purpose, vendor, action, source,
			notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at)
			VALUES ($1, 'shop', 'late', 'dev-0410-grant-0', 'analytics', '', 'withdraw', 'banner', 'v1', 'DE', `+store.Bool(false)+`, `+store.Bool(false)+`, '', $2, $2)`,
			seq, april.Add(48*time.Hour).UnixMicro())

		_, doc := e.document(t)
		f := doc.Figures
		if f.Period.From != time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC) || f.Period.To != time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) || f.MinGroup != 50 {
			t.Fatalf("period = %+v, min group %d", f.Period, f.MinGroup)
		}
		if len(f.Consent) != 1 {
			t.Fatalf("consent figures = %+v, want only April's group of 50", f.Consent)
		}
		want := transparency.ConsentFigure{Month: "2026-04", Purpose: "analytics", People: 50, AcceptedShare: 0.58, RefusedShare: 0.42}
		if f.Consent[0] != want {
			t.Fatalf("April = %+v, want %+v", f.Consent[0], want)
		}
		if len(f.GPC) != 1 || f.GPC[0].Month != "2026-04" || f.GPC[0].People != 50 || f.GPC[0].Share != 0.5 {
			t.Fatalf("gpc = %+v, want April only: 25 of 50", f.GPC)
		}
		w := e.get(t, e.handler.HandlePage(), "/transparency?lang=en")
		if body := w.Body.String(); !strings.Contains(body, "2026-04") || strings.Contains(body, "2026-03") {
			t.Fatalf("page shows March's group of 49, or not April's:\n%s", body)
		}
	})
}

func TestRequestFigures(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		day := 24 * time.Hour
		received := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		for i, r := range []struct {
			kind, state string
			took        time.Duration // 0: still open
			due         time.Duration
		}{
			{"erasure", "completed", 4 * day, 30 * day},
			{"erasure", "completed", 10 * day, 30 * day},
			{"erasure", "completed", 40 * day, 30 * day}, // late
			{"erasure", "in_progress", 0, 30 * day},
			{"access", "rejected", 2 * day, 30 * day},
		} {
			var closed any
			if r.took > 0 {
				closed = received.Add(r.took).UnixMicro()
			}
			mustExec(t, store, `INSERT INTO dsr_requests (id, kind, regime, state, email_hash, email_sealed, received_at, due_at, closed_at, updated_at, version)
				VALUES ($1, $2, 'gdpr', $3, $4, $4, $5, $6, $7, $5, 1)`,
				fmt.Sprintf("req%d", i), r.kind, r.state, []byte{byte(i)}, received.UnixMicro(), received.Add(r.due).UnixMicro(), closed)
		}
		_, doc := e.document(t)
		byKind := map[string]transparency.RequestFigure{}
		for _, r := range doc.Figures.Requests {
			byKind[r.Kind] = r
		}
		erasure := byKind["erasure"]
		if erasure.Received != 4 || erasure.Completed != 3 || erasure.MedianDays == nil || *erasure.MedianDays != 10 ||
			erasure.OnTimeShare == nil || *erasure.OnTimeShare != 0.667 {
			t.Fatalf("erasure = %+v", erasure)
		}
		if access := byKind["access"]; access.Received != 1 || access.Completed != 0 || access.MedianDays != nil {
			t.Fatalf("access = %+v", access)
		}
		if len(doc.Figures.Requests) != 6 {
			t.Fatalf("requests = %+v, want every kind", doc.Figures.Requests)
		}
	})
}

func TestCompanyPage(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	e := newPageEnv(t, store)
	for _, tc := range []struct {
		target, accept string
		want           []string
	}{
		{"/transparency", "", []string{`lang="en"`, "How we handle your data", "privacy@shop.example", "your consent", "Metrics Inc", "current: may receive data", "https://privacy.example/privacy"}},
		{"/transparency?lang=de", "", []string{`lang="de"`, "Wie wir mit Ihren Daten umgehen", "Analyse", "Kontaktdaten", "Ihre Einwilligung"}},
		{"/transparency", "fr-FR,fr;q=0.9", []string{`lang="fr"`, "Comment nous traitons vos données", "votre consentement"}},
		{"/transparency?lang=es", "", []string{`lang="es"`, "Cómo tratamos sus datos", "su consentimiento"}},
	} {
		t.Run(tc.target+" "+tc.accept, func(t *testing.T) {
			w := e.get(t, e.handler.HandlePage(), tc.target, "Accept-Language", tc.accept)
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			if strings.Contains(body, "<script") || !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("page has a script or lacks the strict CSP: %q", w.Header().Get("Content-Security-Policy"))
			}
		})
	}
}

// BenchmarkDocumentJSONCached serves /transparency.json from the cache.
func BenchmarkDocumentJSONCached(b *testing.B) {
	store := dbtest.Open(b, db.SQLite)
	e := newPageEnv(b, store)
	h := e.handler.HandleDocumentJSON()
	r := httptest.NewRequest(http.MethodGet, "/transparency.json", nil)
	h.ServeHTTP(httptest.NewRecorder(), r) // build once
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

func TestRevealFiguresPublishOnlyCommonPurposes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		var at time.Time
		log, err := audit.New(audit.Config{DB: store, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		reveal := func(day time.Time, purpose string, n int) {
			t.Helper()
			at = day
			for i := 0; i < n; i++ {
				if _, err := log.Append(context.Background(), audit.Entry{Actor: audit.Staff("stf_grace"), Action: "vault.reveal",
					Target: audit.Subject(fmt.Sprintf("subj-%d", i)), Details: audit.MustDetails(map[string]any{"purpose": purpose, "ticket": "T-1"})}); err != nil {
					t.Fatal(err)
				}
			}
		}
		june := time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC)
		reveal(june, "Answering a support ticket", 50)
		reveal(june, "Fraud check for order of Ms Example", 3) // free text naming someone: never shown
		reveal(june.AddDate(0, 1, 0), "Answering a support ticket", 49)
		_, doc := e.document(t)
		want := []transparency.RevealFigure{
			{Month: "2026-06", Purpose: "Answering a support ticket", Reveals: 50},
			{Month: "2026-06", Reveals: 3},
			{Month: "2026-07", Reveals: 49},
		}
		if !slices.Equal(doc.Figures.Reveals, want) {
			t.Fatalf("reveals = %+v, want %+v", doc.Figures.Reveals, want)
		}
		page := e.get(t, e.handler.HandlePage(), "/transparency").Body.String()
		if strings.Contains(page, "Ms Example") || !strings.Contains(page, "Answering a support ticket") {
			t.Fatalf("page shows a rare stated purpose, or not the common one")
		}
	})
}

// TestRefreshVersionsWithoutAReader: the periodic rebuild records a change
// of what the page states when it happens, though nobody reads the page.
func TestRefreshVersionsWithoutAReader(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		ctx := context.Background()
		jobs := e.publisher.PeriodicJobs()
		if len(jobs) != 1 || jobs[0].Name != "transparency.refresh" || jobs[0].Interval != transparency.RefreshEvery {
			t.Fatalf("periodic jobs = %+v", jobs)
		}
		if err := jobs[0].Run(ctx); err != nil {
			t.Fatal(err)
		}
		e.catalog.setBasis("analytics", consent.LegalBasis("legitimate_interest"))
		e.advance(3 * time.Minute)
		if err := jobs[0].Run(ctx); err != nil {
			t.Fatal(err)
		}
		history, err := e.publisher.History(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 2 || history[0].Number != 2 || !history[0].CreatedAt.Equal(e.clock().Truncate(time.Microsecond)) {
			t.Fatalf("history after two refreshes = %+v, want version 2 dated %v", history, e.clock())
		}
		// A refresh with nothing changed adds no version.
		e.advance(3 * time.Minute)
		if err := e.publisher.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if again, _ := e.publisher.History(ctx); len(again) != 2 {
			t.Fatalf("an unchanged refresh added a version: %+v", again)
		}
	})
}

// TestCookieDeclarationOnThePage: the properties' cookie declarations from
// their latest scans are stated (signed, versioned) and shown, in the
// reader's language; a rescan that finds the same makes no new version.
func TestCookieDeclarationOnThePage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newPageEnv(t, store)
		if _, doc := e.document(t); len(doc.Cookies) != 0 {
			t.Fatalf("cookies before any scan: %+v", doc.Cookies)
		}
		w := e.get(t, e.handler.HandlePage(), "/transparency")
		if !strings.Contains(w.Body.String(), "No website has been scanned yet.") {
			t.Fatalf("page before any scan lacks the no-scan sentence: %s", w.Body)
		}
		scan := func(at time.Time, extra ...scanner.DeclaredItem) scanner.Declaration {
			return scanner.Declaration{Property: "shop", ScannedAt: at,
				Purposes: []scanner.DeclaredPurpose{{Key: "analytics", Items: append([]scanner.DeclaredItem{
					{Kind: scanner.KindCookie, Name: "_pk_id", Domain: "shop.example", Lifetime: 13 * 30 * 86400}}, extra...)}},
				Unclassified: []scanner.DeclaredItem{{Kind: scanner.KindLocalStorage, Name: "mystery", Domain: "shop.example"}}}
		}
		e.setCookies(scan(e.clock()))
		e.advance(2 * time.Minute)
		_, first := e.document(t)
		if len(first.Cookies) != 1 || first.Cookies[0].Property != "shop" || len(first.Cookies[0].Items) != 2 {
			t.Fatalf("cookies = %+v", first.Cookies)
		}
		want := []transparency.CookieItem{{Kind: "local_storage", Name: "mystery", Domain: "shop.example"},
			{Kind: "cookie", Name: "_pk_id", Domain: "shop.example", Lifetime: 13 * 30 * 86400, Purpose: "analytics"}}
		if !slices.Equal(first.Cookies[0].Items, want) {
			t.Fatalf("items = %+v, want %+v", first.Cookies[0].Items, want)
		}
		page := e.get(t, e.handler.HandlePage(), "/transparency?lang=de").Body.String()
		for _, s := range []string{"Cookies und ähnliche Techniken", "<code>_pk_id</code>", "Analyse", "Noch nicht zugeordnet"} {
			if !strings.Contains(page, s) {
				t.Errorf("German page lacks %q", s)
			}
		}
		// The same finding a week later: no new version.
		e.advance(7 * 24 * time.Hour)
		e.setCookies(scan(e.clock()))
		if _, again := e.document(t); again.Version != first.Version {
			t.Fatalf("an unchanged rescan made version %d after %d", again.Version, first.Version)
		}
		// A new cookie: a new version that says the declaration changed.
		e.advance(2 * time.Minute)
		e.setCookies(scan(e.clock(), scanner.DeclaredItem{Kind: scanner.KindCookie, Name: "_ga", Domain: "shop.example", Lifetime: 86400}))
		_, changed := e.document(t)
		if changed.Version != first.Version+1 {
			t.Fatalf("after a new cookie: version %d, want %d", changed.Version, first.Version+1)
		}
		history, err := e.publisher.History(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := history[0].Changes, []transparency.Change{{Section: "cookies", Kind: transparency.ChangeChanged, Key: "shop"}}; !slices.Equal(got, want) {
			t.Fatalf("changes = %+v, want %+v", got, want)
		}
	})
}
