package assurance_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// catalog is a vendor catalog the tests change at will.
type catalog struct {
	mu      sync.Mutex
	vendors map[string]consent.Vendor
}

func (c *catalog) Vendor(key string) (consent.Vendor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vendors[key]
	if !ok {
		return consent.Vendor{}, errs.NotFound("vendor", key)
	}
	v.Purposes, v.DataCategories = slices.Clone(v.Purposes), slices.Clone(v.DataCategories)
	return v, nil
}

func (c *catalog) put(v consent.Vendor) {
	c.mu.Lock()
	c.vendors[v.Key] = v
	c.mu.Unlock()
}

// fixture is a vendor service on a fresh store, with a real vault and
// audit log.
type fixture struct {
	s       *assurance.Service
	clock   *clock
	catalog *catalog
	log     *audit.Log
	store   *db.DB
}

// start is a Monday, 09:00 UTC.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// The vendors of the tests.
var (
	mailer = consent.Vendor{Key: "mailer", Name: "Mailer GmbH", Purposes: []string{"newsletter"},
		DataCategories: []string{"contact"}, Country: "DE"}
	adnet = consent.Vendor{Key: "adnet", Name: "Adnet Inc.", Purposes: []string{"analytics", "marketing"},
		DataCategories: []string{"online_identifiers"}, Country: "US"}
)

const contactEmail = "security@mailer.example"

func newFixture(t *testing.T, store *db.DB) *fixture {
	t.Helper()
	v := vaulttest.Open(t, store)
	box, err := v.SecretBox("vendor")
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	cat := &catalog{vendors: map[string]consent.Vendor{mailer.Key: mailer, adnet.Key: adnet}}
	s, err := assurance.NewService(assurance.Config{DB: store, Audit: log, Secrets: box, Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, clock: c, catalog: cat, log: log, store: store}
}

// The actors of the tests.
var (
	officer = audit.Staff("stf_sam")
	other   = audit.Staff("stf_kim")
)

func as(a audit.Actor) context.Context { return audit.WithActor(context.Background(), a) }

// MustSend sends the built-in questionnaire to a vendor as the officer.
func (f *fixture) MustSend(tb testing.TB, vendorKey string) assurance.Sent {
	tb.Helper()
	sent, err := f.s.Send(as(officer), vendorKey, assurance.SecurityBaseline, contactEmail, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return sent
}

// passing answers every question of the built-in template with a passing
// answer.
func passing(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, q := range assurance.BuiltinTemplates()[0].Questions {
		switch {
		case len(q.Pass) > 0:
			out[q.ID] = q.Pass[0]
		case q.Kind == assurance.KindFileReference:
			out[q.ID] = "https://mailer.example/trust/" + q.ID + ".pdf"
		default:
			out[q.ID] = "Ten years for invoices, 30 days for logs."
		}
	}
	return out
}

// MustApprove answers, submits and approves a vendor's questionnaire.
func (f *fixture) MustApprove(tb testing.TB, vendorKey string) assurance.Assessment {
	tb.Helper()
	sent := f.MustSend(tb, vendorKey)
	if _, err := f.s.SaveAnswers(context.Background(), sent.Token, passing(tb), true); err != nil {
		tb.Fatal(err)
	}
	a, err := f.s.Review(as(officer), sent.Assessment.ID, true, "Read their ISO 27001 certificate; scope covers the service.")
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// MustAudit returns the audit entries about a vendor, oldest first.
func (f *fixture) MustAudit(tb testing.TB, vendorKey string) []audit.Stored {
	tb.Helper()
	page, err := f.log.Search(context.Background(), audit.Query{Target: audit.Target{Kind: assurance.TargetVendor, ID: vendorKey}})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Reverse(page.Entries)
	return page.Entries
}

// actions lists the actions of entries.
func actions(entries []audit.Stored) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Action
	}
	return out
}

// code returns the errs code of err, "" for nil.
func code(err error) errs.Code {
	if err == nil {
		return ""
	}
	return errs.CodeOf(err)
}
