package ethics_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/receipt"
)

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ micros atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time  { return time.UnixMicro(c.micros.Load()).UTC() }
func (c *clock) set(t time.Time) { c.micros.Store(t.UnixMicro()) }

// world is a consent service with a catalog, the ethics service gating its
// purposes, and the audit log both write to.
type world struct {
	consent *consent.Service
	ethics  *ethics.Service
	log     *audit.Log
	clock   *clock
}

// fakeInventory is a data map with the systems given.
type fakeInventory struct{ m inventory.Map }

func (f fakeInventory) Map(context.Context) (inventory.Map, error) { return f.m, nil }

// openWorld opens the services on store, with the purpose gate following
// the ethics service.
func openWorld(t *testing.T, store *db.DB, inv ethics.Inventory) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{clock: newClock(start)}
	var err error
	if w.log, err = audit.New(audit.Config{DB: store, Now: w.clock.now}); err != nil {
		t.Fatal(err)
	}
	key, err := receipt.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	w.consent, err = consent.Open(ctx, consent.Config{DB: store, Signer: signer, Now: w.clock.now, FollowInterval: -1, Audit: w.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.consent.Close() })
	w.ethics, err = ethics.New(ethics.Config{DB: store, Audit: w.log, Catalog: w.consent, Inventory: inv, Gate: w.consent, Now: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.consent.SetPurposeAssessmentSource(ctx, w.ethics.AssessedPurposes); err != nil {
		t.Fatal(err)
	}
	return w
}

// newWorld opens the services with a catalog: a necessary purpose,
// analytics (consent) with an assessed vendor, fraud (legitimate
// interest), a published notice; and a device that granted every purpose.
func newWorld(t *testing.T, store *db.DB, inv ethics.Inventory) *world {
	t.Helper()
	ctx := context.Background()
	w := openWorld(t, store, inv)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.consent.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true))
	for _, p := range []consent.Purpose{
		{Key: "necessary", Names: map[string]string{"en": "Necessary"}, LegalBasis: consent.BasisContract, Necessary: true},
		{Key: "analytics", Names: map[string]string{"en": "Analytics"}, LegalBasis: consent.BasisConsent, Position: 1},
		{Key: "fraud", Names: map[string]string{"en": "Fraud prevention"}, LegalBasis: consent.BasisLegitimateInterest, Position: 2},
	} {
		must(w.consent.PutPurpose(ctx, p, true))
	}
	must(w.consent.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"},
		DataCategories: []string{"device"}, Country: "IE"}, true))
	must(w.consent.PutNotice(ctx, consent.Notice{Version: "v1", Material: true,
		Texts: map[string]string{"en": "We use analytics on your device data; fraud prevention keeps the shop safe."}}, true, true))
	w.consent.SetAssessedVendors(map[string]consent.VendorAssessment{"metrics-co": {Until: start.AddDate(5, 0, 0),
		Purposes: []string{"analytics"}, Categories: []string{"device", "contact"}}})
	// A device granted every purpose.
	for _, purpose := range []string{"analytics", "fraud"} {
		_, err := w.consent.Append(ctx, []consent.Event{{ID: "grant-" + purpose, Property: "shop", Device: "dev-1", Purpose: purpose,
			Action: consent.ActionGrant, Source: consent.SourceBanner, NoticeVersion: "v1", At: start.Add(-time.Minute)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) decide(t *testing.T, purpose string) consent.Answer {
	t.Helper()
	a, err := w.consent.Decider().Decide(&consent.Question{Device: "dev-1", Purpose: purpose, Property: "shop"}, false)
	if err != nil {
		t.Fatalf("decide %s: %v", purpose, err)
	}
	return a
}

func officer() context.Context {
	return audit.WithActor(context.Background(), audit.Staff("st-officer"))
}

func yes() *bool { v := true; return &v }
func no() *bool  { v := false; return &v }

// TestGate: an unassessed purpose is refused and its approval opens it at
// once; a change of its vendors or categories closes it until approved
// again; the approval runs out after 12 months by the clock alone; a
// necessary purpose is never gated.
func TestGate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store, nil)
		steps := []struct {
			name   string
			act    func(t *testing.T)
			want   consent.Reason
			status ethics.Status
		}{
			{"unassessed purpose refused", func(*testing.T) {}, consent.ReasonPurposeNotAssessed, ethics.StatusMissing},
			{"draft saved, still refused", func(t *testing.T) {
				if _, err := w.ethics.Save(officer(), "analytics", ethics.Answers{Typical: yes(), CustomerKnows: "The notice says so.",
					StorageSafe: yes(), Storage: "Metrics Co's EU data centre, ISO 27001."}); err != nil {
					t.Fatal(err)
				}
			}, consent.ReasonPurposeNotAssessed, ethics.StatusMissing},
			{"approved", func(t *testing.T) {
				v, err := w.ethics.Approve(officer(), "analytics")
				if err != nil {
					t.Fatal(err)
				}
				if v.Approval == nil || !v.Approval.ValidUntil.Equal(start.AddDate(1, 0, 0)) || v.Approval.ApprovedBy != "staff:st-officer" ||
					!slices.Equal(v.Approval.Scope.Vendors, []string{"metrics-co"}) || !slices.Equal(v.Approval.Scope.Categories, []string{"device"}) {
					t.Fatalf("approval = %+v", v.Approval)
				}
			}, consent.ReasonConsentGranted, ethics.StatusApproved},
			{"a vendor added closes it", func(t *testing.T) {
				if _, err := w.consent.PutVendor(ctx, consent.Vendor{Key: "tracker", Name: "Tracker", Purposes: []string{"analytics"}, Country: "IE"}, true); err != nil {
					t.Fatal(err)
				}
			}, consent.ReasonPurposeNotAssessed, ethics.StatusScopeChanged},
			{"approved again", func(t *testing.T) {
				if _, err := w.ethics.Approve(officer(), "analytics"); err != nil {
					t.Fatal(err)
				}
			}, consent.ReasonConsentGranted, ethics.StatusApproved},
			{"a category added closes it", func(t *testing.T) {
				if _, err := w.consent.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"},
					DataCategories: []string{"device", "contact"}, Country: "IE"}, false); err != nil {
					t.Fatal(err)
				}
			}, consent.ReasonPurposeNotAssessed, ethics.StatusScopeChanged},
			{"approved a third time", func(t *testing.T) {
				w.clock.set(start.Add(time.Hour))
				if _, err := w.ethics.Approve(officer(), "analytics"); err != nil {
					t.Fatal(err)
				}
			}, consent.ReasonConsentGranted, ethics.StatusApproved},
			{"a vendor removed leaves it open", func(t *testing.T) {
				if _, err := w.consent.PutVendor(ctx, consent.Vendor{Key: "tracker", Name: "Tracker", Purposes: []string{"fraud"}, Country: "IE"}, false); err != nil {
					t.Fatal(err)
				}
			}, consent.ReasonConsentGranted, ethics.StatusApproved},
			{"open the second before 12 months", func(*testing.T) { w.clock.set(start.Add(time.Hour).AddDate(1, 0, 0).Add(-time.Second)) },
				consent.ReasonConsentGranted, ethics.StatusApproved},
			{"expired at 12 months, without a job", func(*testing.T) { w.clock.set(start.Add(time.Hour).AddDate(1, 0, 0)) },
				consent.ReasonPurposeNotAssessed, ethics.StatusExpired},
		}
		for _, step := range steps {
			step.act(t)
			if got := w.decide(t, "analytics"); got.Reason != step.want || got.Allowed != (step.want == consent.ReasonConsentGranted) {
				t.Fatalf("%s: decision = %+v, want %s", step.name, got, step.want)
			}
			if got := w.consent.PurposeAssessed("analytics"); got != step.status.Open() {
				t.Errorf("%s: PurposeAssessed = %v", step.name, got)
			}
			v, err := w.ethics.Get(ctx, "analytics")
			if err != nil || v.Status != step.status {
				t.Fatalf("%s: status = %s, %v; want %s", step.name, v.Status, err, step.status)
			}
			if got := w.decide(t, "necessary"); !got.Allowed || got.Reason != consent.ReasonNecessary {
				t.Fatalf("%s: necessary = %+v", step.name, got)
			}
		}
		// Every write was audited, without the texts.
		for action, want := range map[string]int{"purpose.assessment_saved": 1, "purpose.assessment_approved": 3} {
			page, err := w.log.Search(ctx, audit.Query{Action: action, Target: audit.Target{Kind: "purpose", ID: "analytics"}})
			if err != nil || len(page.Entries) != want {
				t.Fatalf("%s: %d entries, %v; want %d", action, len(page.Entries), err, want)
			}
			for _, e := range page.Entries {
				if e.Actor != audit.Staff("st-officer") || strings.Contains(fmt.Sprint(e.Details), "The notice says so.") {
					t.Errorf("%s entry = %+v", action, e)
				}
			}
		}
	})
}

// TestApproveRefusals: only a staff member approves, only a complete
// assessment, only with safe storage, only a purpose that needs one; each
// refusal is keyed, and refused approvals leave the purpose closed.
func TestApproveRefusals(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		w := newWorld(t, store, nil)
		apiKey := audit.WithActor(ctx, audit.APIKey("key-1"))
		cases := []struct {
			name    string
			purpose string
			draft   *ethics.Answers
			ctx     context.Context
			code    errs.Code
			key     string
			fields  []string
		}{
			{"an API key may not approve", "analytics", nil, apiKey, errs.CodeForbidden, "purpose_assessment_officer", nil},
			{"nothing answered", "analytics", &ethics.Answers{}, officer(), errs.CodeInvalid, "",
				[]string{"typical"}},
			{"untypical without its reasons", "analytics", &ethics.Answers{Typical: no()}, officer(), errs.CodeInvalid, "",
				[]string{"advantage"}},
			{"legitimate interest without balancing", "fraud", &ethics.Answers{Typical: yes()}, officer(), errs.CodeInvalid, "",
				[]string{"balancing.purpose", "balancing.necessity", "balancing.balance"}},
			{"profiling without a DPIA", "fraud", &ethics.Answers{Typical: yes(), HighRisk: []string{ethics.RiskProfiling},
				Balancing: ethicstest.Complete().Balancing}, officer(), errs.CodeInvalid, "",
				[]string{"dpia.description", "dpia.risks", "dpia.measures"}},
			{"a necessary purpose needs none", "necessary", nil, officer(), errs.CodeConflict, "purpose_assessment_not_needed", nil},
			{"unknown purpose", "nope", nil, officer(), errs.CodeNotFound, "", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.draft != nil {
					if _, err := w.ethics.Save(officer(), c.purpose, *c.draft); err != nil {
						t.Fatal(err)
					}
				}
				_, err := w.ethics.Approve(c.ctx, c.purpose)
				e, ok := errs.As(err)
				if !ok || e.Code != c.code || e.Key != c.key {
					t.Fatalf("Approve = %v, want %s %q", err, c.code, c.key)
				}
				for _, f := range c.fields {
					if _, ok := e.FieldKeys[f]; !ok {
						t.Errorf("no problem of field %s in %v", f, e.Fields)
					}
				}
				if c.purpose != "necessary" && w.consent.PurposeAssessed(c.purpose) {
					t.Errorf("%s opened by a refused approval", c.purpose)
				}
			})
		}
		// The form's own checks.
		_, err := w.ethics.Save(officer(), "analytics", ethics.Answers{HighRisk: []string{"astrology"}})
		if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.FieldKeys["high_risk[0]"].Key != "high_risk_kind" {
			t.Fatalf("Save with an unknown risk = %v", err)
		}
		// Storage said unsafe: no approval.
		a := ethicstest.Complete()
		a.StorageSafe = no()
		if _, err := w.ethics.Save(officer(), "analytics", a); err != nil {
			t.Fatal(err)
		}
		_, err = w.ethics.Approve(officer(), "analytics")
		if e, ok := errs.As(err); !ok || e.FieldKeys["storage_safe"].Key != "storage_unsafe" {
			t.Fatalf("Approve with unsafe storage = %v", err)
		}
	})
}

// TestStewardAnswers: what Steward knows answers its questions, kept
// current, and an approval needs only the rest from the officer; a
// special category makes the purpose need a DPIA by itself.
func TestStewardAnswers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		inv := fakeInventory{m: inventory.Map{
			Systems: []inventory.System{{Key: "steward.vault", Kind: inventory.KindVault, Categories: []string{"device"},
				Facts: inventory.Facts{Location: "DE", SecurityMeasures: "Per-customer keys"}}},
			Categories: []inventory.Category{{Key: "device", Systems: []string{"steward.vault"}}},
		}}
		w := newWorld(t, store, inv)
		v, err := w.ethics.Get(ctx, "analytics")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{ethics.QuestionCustomerKnows, ethics.QuestionOptOut, ethics.QuestionStorage}
		if !slices.Equal(v.FromSteward, want) || v.Facts.Notice != "v1" || v.Facts.OptOut != ethics.OptOutBanner ||
			len(v.Facts.Systems) != 1 || v.Facts.Systems[0].Location != "DE" || v.NeedsDPIA || v.NeedsBalancing {
			t.Fatalf("view = %+v", v)
		}
		// The officer answers only what Steward cannot.
		if _, err := w.ethics.Save(officer(), "analytics", ethics.Answers{Typical: yes()}); err != nil {
			t.Fatal(err)
		}
		v, err = w.ethics.Approve(officer(), "analytics")
		if err != nil || !slices.Equal(v.Approval.FromSteward, want) || v.Approval.Facts.Notice != "v1" {
			t.Fatalf("approve = %+v, %v", v.Approval, err)
		}
		// A category the notice does not name, and no system holds: Steward
		// no longer answers those questions, and a special one needs a DPIA.
		if _, err := w.consent.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"},
			DataCategories: []string{"device", "health"}, Country: "IE"}, false); err != nil {
			t.Fatal(err)
		}
		v, err = w.ethics.Get(ctx, "analytics")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.FromSteward, []string{ethics.QuestionOptOut}) || !slices.Equal(v.Facts.NoticeMissing, []string{"health"}) ||
			!slices.Equal(v.Facts.Unplaced, []string{"health"}) || !slices.Equal(v.Facts.Special, []string{"health"}) || !v.NeedsDPIA ||
			v.Status != ethics.StatusScopeChanged {
			t.Fatalf("view after the change = %+v", v)
		}
		_, err = w.ethics.Approve(officer(), "analytics")
		if e, ok := errs.As(err); !ok || !hasFields(e, "customer_knows", "storage_safe", "dpia.risks") {
			t.Fatalf("approve without the answers Steward no longer gives = %v", err)
		}
	})
}

// TestGrace: purposes that exist when migration 0042 runs stay open for
// 90 days, shown as due; a necessary one gets no grace; an approval ends
// the grace; a purpose created afterwards has none.
func TestGrace(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			url := "sqlite:" + t.TempDir() + "/steward.db"
			if dialect == db.Postgres {
				url = dbtest.PostgresURL(t)
			}
			store, err := db.Open(ctx, url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			// The store as it was before the assessments' migration.
			all, err := db.Migrations(dialect)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(all, func(m db.Migration) bool { return strings.HasSuffix(m.Name, "_ethics_assessments") })
			if i < 0 {
				t.Fatal("no ethics_assessments migration")
			}
			if err := store.MigrateTo(ctx, all[i].Version-1); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				key, basis string
				necessary  bool
			}{{"analytics", "consent", false}, {"fraud", "legitimate_interest", false}, {"necessary", "contract", true}} {
				if _, err := store.ExecContext(ctx, `INSERT INTO purposes (key, names, descriptions, legal_basis, necessary,
					sale_or_sharing, position, settings, retention_days, created_at, updated_at)
					VALUES ($1, '{}', '{}', $2, $3, $4, 0, '{}', 0, 0, 0)`, p.key, p.basis, p.necessary, false); err != nil {
					t.Fatal(err)
				}
			}
			upgraded := time.Now()
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			w := openWorld(t, store, nil)
			assessed, err := w.ethics.AssessedPurposes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(assessed) != 2 || !assessed["analytics"].Grace || !assessed["fraud"].Grace {
				t.Fatalf("assessed after the upgrade = %+v", assessed)
			}
			due := assessed["analytics"].Until
			if d := due.Sub(upgraded) - ethics.GracePeriod; d < -time.Minute || d > time.Minute {
				t.Fatalf("grace ends %s, %s after the upgrade", due, due.Sub(upgraded))
			}
			w.clock.set(due.Add(-time.Hour))
			v, err := w.ethics.Get(ctx, "analytics")
			if err != nil || v.Status != ethics.StatusGrace || v.DueBy == nil || !v.DueBy.Equal(due) || !w.consent.PurposeAssessed("analytics") {
				t.Fatalf("in the grace period: %+v, %v", v, err)
			}
			if _, err := w.consent.PutPurpose(ctx, consent.Purpose{Key: "marketing", Names: map[string]string{"en": "Marketing"},
				LegalBasis: consent.BasisConsent}, true); err != nil {
				t.Fatal(err)
			}
			if w.consent.PurposeAssessed("marketing") || !w.consent.PurposeAssessed("necessary") {
				t.Fatal("a purpose created after the upgrade has a grace period, or the necessary one is gated")
			}
			// Approved during the grace: the approval holds from then on.
			if _, err := w.ethics.Save(officer(), "analytics", ethicstest.Complete()); err != nil {
				t.Fatal(err)
			}
			if _, err := w.ethics.Approve(officer(), "analytics"); err != nil {
				t.Fatal(err)
			}
			w.clock.set(due.Add(time.Hour))
			if !w.consent.PurposeAssessed("analytics") || w.consent.PurposeAssessed("fraud") {
				t.Fatal("after the grace, the approved purpose is closed or the unapproved one open")
			}
			v, err = w.ethics.Get(ctx, "fraud")
			if err != nil || v.Status != ethics.StatusMissing || v.DueBy != nil {
				t.Fatalf("after the grace: %+v, %v", v, err)
			}
		})
	}
}

// hasFields reports whether e has a keyed problem for every field.
func hasFields(e *errs.Error, fields ...string) bool {
	for _, f := range fields {
		if _, ok := e.FieldKeys[f]; !ok {
			return false
		}
	}
	return true
}
