package dsr_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a request service on a fresh store, with a real vault and
// audit log.
type fixture struct {
	s     *dsr.Service
	clock *clock
	vault *vault.Vault
	log   *audit.Log
	store *db.DB
	ada   []byte // the blind index of adaEmail
}

// start is a Monday, 09:00 UTC.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t testing.TB, store *db.DB) *fixture {
	t.Helper()
	v := vaulttest.Open(t, store)
	box, err := v.SecretBox("dsr")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: log, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, clock: c, vault: v, log: log, store: store}
	f.ada = f.MustHash(t, adaEmail)
	return f
}

// The actors of the tests.
var (
	officer  = audit.Staff("stf_ada")
	customer = audit.Actor{Kind: audit.KindSubject, ID: "cust-42"}
)

func as(a audit.Actor) context.Context { return audit.WithActor(context.Background(), a) }

// MustHash returns the blind index of an email.
func (f *fixture) MustHash(tb testing.TB, email string) []byte {
	tb.Helper()
	h, err := f.vault.BlindIndex(context.Background(), "email", email)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// MustFile files a request as the customer.
func (f *fixture) MustFile(tb testing.TB, kind dsr.Kind, regime dsr.Regime, email, details string) dsr.Request {
	tb.Helper()
	r, err := f.s.File(as(customer), dsr.NewRequest{Kind: kind, Regime: regime, Email: email, EmailHash: f.MustHash(tb, email), Details: details})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// MustAudit returns the audit entries of a request, oldest first.
func (f *fixture) MustAudit(tb testing.TB, id string) []audit.Stored {
	tb.Helper()
	page, err := f.log.Search(context.Background(), audit.Query{Target: audit.Target{Kind: dsr.TargetRequest, ID: id}})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Reverse(page.Entries)
	return page.Entries
}

// MustHistory returns a request's history.
func (f *fixture) MustHistory(tb testing.TB, id string) []dsr.Event {
	tb.Helper()
	h, err := f.s.History(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
