package transparency_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/transparency"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// Words of the internal record that must never reach a public page.
const (
	secretDescription = "Found by Mallory in the finance share"
	secretCause       = "misconfigured bucket policy 7781"
	secretReason      = "IBANs readable by anyone with the link"
	officer           = "stf_GraceHopper"
)

var subjects = []string{"subj-ada-17", "subj-bob-22", "subj-cyd-31"}

// env is a register with three affected customers (two in DE, one of
// unknown residence; contact and financial data) and the pages over it.
type env struct {
	svc   *incident.Service
	ctx   context.Context
	srv   *httptest.Server
	shown string // published, in English and German
	gone  string // published, then withdrawn
	never string // never published
}

func newEnv(t *testing.T, store *db.DB) *env {
	t.Helper()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	log, err := audit.New(audit.Config{DB: store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v := vaulttest.Open(t, store, func(c *vault.Config) { c.Now = clock; c.Audit = log })
	t.Cleanup(func() { v.Close() })
	system := audit.WithActor(context.Background(), audit.System())
	for i, s := range subjects {
		category := "contact"
		if i == 2 {
			category = "financial"
		}
		if _, err := v.Put(system, s, vault.Field{Name: "f", Category: category, Value: []byte("synthetic")}); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, store, `INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at)
		VALUES ('shop', 'Shop', '[]', '{}', 'DE', '', 0, 0)`)
	mustExec(t, store, `INSERT INTO purposes (key, names, descriptions, legal_basis, necessary, sale_or_sharing, created_at, updated_at)
		VALUES ('analytics', '{}', '{}', 'consent', `+store.Bool(false)+`, `+store.Bool(false)+`, 0, 0)`)
	for i, s := range subjects[:2] {
		mustExec(t, store, `INSERT INTO subjects (id, created_at) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING`, s)
		mustExec(t, store, `INSERT INTO consent_events (seq, property, event_id, subject_id, purpose, vendor, action, source,
			notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at)
			VALUES ($1, 'shop', $2, $3, 'analytics', '', 'grant', 'portal', 'v1', 'DE', `+store.Bool(false)+`, `+store.Bool(false)+`, '', 0, 0)`,
			i+1, fmt.Sprintf("ev%d", i), s)
	}
	svc, err := incident.New(incident.Config{DB: store, Audit: log, Emails: v, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, ctx: audit.WithActor(context.Background(), audit.Staff(officer))}
	e.shown = e.published(t, map[string]incident.AccountText{
		"en": {Title: "Customer list exposed by a storage link", Happened: "A storage link to an export was shared too widely.",
			Done: "The link was revoked the same day.", Outcome: "Links to exports now expire after one hour."},
		"de": {Title: "Kundenliste über einen Speicherlink offengelegt", Happened: "Ein Link zu einem Export wurde zu weit geteilt.",
			Done: "Der Link wurde am selben Tag gesperrt.", Outcome: "Links zu Exporten laufen jetzt nach einer Stunde ab."},
	})
	e.gone = e.published(t, map[string]incident.AccountText{"en": {Title: "Withdrawn account title", Happened: "x", Done: "y"}})
	if _, err := svc.Withdraw(e.ctx, e.gone); err != nil {
		t.Fatal(err)
	}
	e.never = e.record(t)

	h, err := transparency.New(transparency.Deps{Incidents: svc, CompanyName: "Shop Example Ltd",
		CategoryName: func(key, lang string) string {
			return map[string]map[string]string{"contact": {"en": "Contact details", "de": "Kontaktdaten"}}[key][lang]
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /transparency/incidents", h.HandleIncidents())
	mux.Handle("GET /transparency/incidents/{id}", h.HandleIncident())
	mux.Handle("GET /transparency/incidents.json", h.HandleIncidentsJSON())
	mux.Handle("GET /transparency/assets/{file}", h.HandleStylesheet())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// record opens an incident whose internal record holds words no page may
// show, and computes who it affected.
func (e *env) record(t *testing.T) string {
	t.Helper()
	title, kind, description, cause := "Internal title: finance share open", incident.Confidentiality, secretDescription, secretCause
	categories := []string{"contact", "financial"}
	inc, err := e.svc.Create(e.ctx, incident.Input{Title: &title, Kind: &kind, Description: &description, Cause: &cause, Categories: &categories})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Assess(e.ctx, inc.ID, incident.Assessment{Risk: incident.HighRisk, Reasons: []string{secretReason}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Compute(e.ctx, inc.ID, incident.Method{Kind: incident.MethodInventory}); err != nil {
		t.Fatal(err)
	}
	return inc.ID
}

func (e *env) published(t *testing.T, texts map[string]incident.AccountText) string {
	t.Helper()
	id := e.record(t)
	if _, err := e.svc.Publish(e.ctx, id, incident.AccountInput{Texts: texts}); err != nil {
		t.Fatal(err)
	}
	return id
}

func mustExec(t *testing.T, store *db.DB, query string, args ...any) {
	t.Helper()
	if _, err := store.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *env) get(t *testing.T, path, acceptLanguage string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, res.Header, string(body)}
}

// leaks are what no public answer may hold: the internal record's words,
// the customers' ids, the officer's id.
func leaks(e *env) []string {
	return append([]string{secretDescription, secretCause, secretReason, officer, "Internal title", "Mallory"}, subjects...)
}

// TestPublishedAccountPages: the published account shows in each of the
// four languages (German as written, French and Spanish in English with a
// note), with the counts of its affected set; nothing of the internal
// record, the customers or the staff leaks; a withdrawn or unpublished
// incident is not found, like an unknown one.
func TestPublishedAccountPages(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		at := "/transparency/incidents/" + e.shown
		tests := []struct {
			name, path, accept string
			status             int
			lang               string
			expect             []string
		}{
			{"english", at + "?lang=en", "", 200, "en", []string{"Customer list exposed by a storage link", "3 people affected", "Contact details",
				"<td>2</td>", "DE", "not known", "Links to exports now expire after one hour.", "What happened"}},
			{"german by query", at + "?lang=de", "", 200, "de", []string{"Kundenliste über einen Speicherlink offengelegt", "3 Personen betroffen",
				"Kontaktdaten", "unbekannt", "Was geschehen ist", "Links zu Exporten laufen jetzt nach einer Stunde ab."}},
			{"german by the browser", at, "de-DE,de;q=0.9", 200, "de", []string{"Kundenliste über einen Speicherlink offengelegt"}},
			{"french falls back", at + "?lang=fr", "", 200, "fr", []string{"Customer list exposed by a storage link", "affiché en anglais",
				"3 personnes touchées", "Ce qui s’est passé", "financial", "inconnu"}},
			{"spanish falls back", at, "es", 200, "es", []string{"Customer list exposed by a storage link", "se muestra en inglés",
				"3 personas afectadas", "Qué ocurrió"}},
			{"list", "/transparency/incidents?lang=en", "", 200, "en", []string{"Customer list exposed by a storage link", "3 people affected",
				"/transparency/incidents/" + e.shown + "?lang=en"}},
			{"list in german", "/transparency/incidents", "de", 200, "de", []string{"Sicherheitsvorfälle", "Kundenliste über einen Speicherlink offengelegt"}},
			{"withdrawn", "/transparency/incidents/" + e.gone + "?lang=en", "", 404, "en", []string{"It may have been withdrawn."}},
			{"never published", "/transparency/incidents/" + e.never + "?lang=de", "", 404, "de", []string{"Nicht gefunden"}},
			{"unknown", "/transparency/incidents/inc_nope", "fr", 404, "fr", []string{"Introuvable"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := e.get(t, tt.path, tt.accept)
				if got.status != tt.status {
					t.Fatalf("status %d, want %d: %s", got.status, tt.status, got.body)
				}
				if !strings.Contains(got.body, `<html lang="`+tt.lang+`">`) {
					t.Errorf("page not in %s", tt.lang)
				}
				for _, want := range tt.expect {
					if !strings.Contains(got.body, want) {
						t.Errorf("page lacks %q", want)
					}
				}
				for _, secret := range append(leaks(e), "Withdrawn account title", "<script", e.never) {
					if strings.Contains(got.body, secret) && !strings.Contains(tt.path, secret) { // the language links repeat the path asked
						t.Errorf("page holds %q", secret)
					}
				}
				if csp := got.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
					t.Errorf("CSP %q", csp)
				}
				for header, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
					"Content-Type": "text/html; charset=utf-8", "Vary": "Accept-Language"} {
					if got.header.Get(header) != want {
						t.Errorf("%s: %q, want %q", header, got.header.Get(header), want)
					}
				}
			})
		}
	})
}

// TestIncidentsJSON: the feed lists the accounts the list page shows, with
// their texts as written and the counts of their affected sets, and
// nothing else.
func TestIncidentsJSON(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		got := e.get(t, "/transparency/incidents.json", "")
		if got.status != 200 || got.header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, %s", got.status, got.header.Get("Content-Type"))
		}
		for _, secret := range append(leaks(e), e.gone, e.never) {
			if strings.Contains(got.body, secret) {
				t.Errorf("feed holds %q", secret)
			}
		}
		var feed struct {
			Incidents []struct {
				ID       string                          `json:"id"`
				Version  int                             `json:"version"`
				URL      string                          `json:"url"`
				Texts    map[string]incident.AccountText `json:"texts"`
				Affected struct {
					Total          int            `json:"total"`
					ByCategory     map[string]int `json:"by_category"`
					ByJurisdiction map[string]int `json:"by_jurisdiction"`
				} `json:"affected"`
			} `json:"incidents"`
		}
		if err := json.Unmarshal([]byte(got.body), &feed); err != nil {
			t.Fatal(err)
		}
		if len(feed.Incidents) != 1 {
			t.Fatalf("%d incidents in the feed, want 1", len(feed.Incidents))
		}
		item := feed.Incidents[0]
		if item.ID != e.shown || item.Version != 1 || item.URL != "/transparency/incidents/"+e.shown {
			t.Errorf("item %+v", item)
		}
		if langs := slices.Sorted(maps.Keys(item.Texts)); !slices.Equal(langs, []string{"de", "en"}) {
			t.Errorf("languages %v, want the two written", langs)
		}
		if item.Affected.Total != 3 || !maps.Equal(item.Affected.ByCategory, map[string]int{"contact": 2, "financial": 1}) ||
			!maps.Equal(item.Affected.ByJurisdiction, map[string]int{"DE": 2, "unknown": 1}) {
			t.Errorf("counts %+v", item.Affected)
		}
		page := e.get(t, "/transparency/incidents?lang=de", "")
		if !strings.Contains(page.body, item.Texts["de"].Title) {
			t.Errorf("the list page does not show the feed's title %q", item.Texts["de"].Title)
		}

		if _, err := e.svc.Withdraw(e.ctx, e.shown); err != nil {
			t.Fatal(err)
		}
		if got := e.get(t, "/transparency/incidents.json", ""); got.body != "{\"incidents\":[]}\n" {
			t.Errorf("feed after the withdrawal: %s", got.body)
		}
		if got := e.get(t, "/transparency/incidents?lang=en", ""); strings.Contains(got.body, "Customer list exposed") || !strings.Contains(got.body, "No incident has been published.") {
			t.Errorf("list after the withdrawal still shows the account")
		}
		if got := e.get(t, "/transparency/incidents/"+e.shown, ""); got.status != 404 {
			t.Errorf("withdrawn account: status %d", got.status)
		}
	})
}
