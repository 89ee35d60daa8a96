package dsr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// The data points of the tests: what the customer may type, and the vault
// field each is matched against.
var testPoints = map[string]vault.DataPoint{
	"iban_last4": {Field: "iban", Last: 4},
	"birth_date": {Field: "birth_date"},
	"postcode":   {Field: "postcode"},
}

const idSubject = "cust-42"

// newIdentityFixture is a fixture whose service matches data points
// against the vault, with the customer's IBAN, date of birth and postcode
// stored.
func newIdentityFixture(t *testing.T, store *db.DB) *fixture {
	t.Helper()
	f := newFixture(t, store)
	box, err := f.vault.SecretBox("dsr")
	if err != nil {
		t.Fatal(err)
	}
	s, err := dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: f.log, Now: f.clock.now,
		MatchDataPoint: func(ctx context.Context, subject, name, value string) (bool, error) {
			dp, ok := testPoints[name]
			if !ok {
				return false, nil
			}
			return f.vault.MatchDataPoint(ctx, subject, dp, value)
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	ctx := context.Background()
	for _, fl := range []vault.Field{
		{Name: "iban", Category: "financial", Value: []byte("DE89 3704 0044 0532 0130 00")},
		{Name: "birth_date", Category: "other", Value: []byte("1815-12-10")},
		{Name: "postcode", Category: "contact", Value: []byte("W1 2AB")},
	} {
		if _, err := f.vault.Put(ctx, idSubject, fl); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) fileFor(t *testing.T, in dsr.NewRequest) dsr.Request {
	t.Helper()
	in.SubjectID, in.Email, in.EmailHash = idSubject, adaEmail, f.ada
	r, err := f.s.File(as(customer), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRequireTiers(t *testing.T) {
	p := dsr.IdentityPolicy{}
	tests := []struct {
		name       string
		regime     dsr.Regime
		kind       dsr.Kind
		categories []string
		scope      dsr.Scope
		want       dsr.Requirement
	}{
		{"gdpr export of contact data", dsr.GDPR, dsr.KindExport, []string{"contact"}, "", dsr.Requirement{}},
		{"gdpr export of financial data", dsr.GDPR, dsr.KindExport, []string{"contact", "financial"}, "", dsr.Requirement{Points: 2}},
		{"gdpr erasure of health data", dsr.GDPR, dsr.KindErasure, []string{"health"}, "", dsr.Requirement{Points: 2}},
		{"gdpr objection with financial data", dsr.GDPR, dsr.KindObjection, []string{"financial"}, "", dsr.Requirement{}},
		{"ccpa categories", dsr.CCPA, dsr.KindAccess, nil, dsr.ScopeCategories, dsr.Requirement{Points: 2}},
		{"ccpa specific pieces", dsr.CCPA, dsr.KindExport, nil, dsr.ScopeSpecific, dsr.Requirement{Points: 3, Declaration: true}},
		{"ccpa deletion of government id", dsr.CCPA, dsr.KindErasure, []string{"government_id"}, "", dsr.Requirement{Points: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Require(tt.regime, tt.kind, tt.categories, tt.scope); got != tt.want {
				t.Errorf("Require = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A sensitive export waits for the second proof: staff cannot verify it,
// wrong data points are refused without echo and limited, right ones let it
// proceed.
func TestSecondProofForSensitiveExport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		ctx := context.Background()
		r := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindExport, Regime: dsr.GDPR, Categories: []string{"contact", "financial"}})
		idn, err := f.s.Identity(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if idn.Satisfied() || idn.Reached != dsr.TierCode || idn.Required.Points != 2 {
			t.Fatalf("identity = %+v, want 2 points required, code reached", idn)
		}
		// The attack of today's code: staff (or the job) verify and work on
		// the request on the strength of the email code alone.
		if _, err := f.s.Verify(as(officer), r.ID); !errors.Is(err, dsr.ErrIdentityNotReached) || errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("Verify before the second proof = %v, want a conflict wrapping ErrIdentityNotReached", err)
		}
		if err := f.s.CheckWorkable(ctx, r.ID); !errors.Is(err, dsr.ErrIdentityNotReached) {
			t.Fatalf("CheckWorkable = %v", err)
		}
		// Someone else (another email) cannot even try.
		other := f.MustHash(t, "mallory@example.org")
		if _, err := f.s.ProveIdentity(as(customer), other, r.ID, dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "3000"}, {"postcode", "w12ab"}}}); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("another requester's proof = %v, want not found", err)
		}
		// Wrong data points: refused, the values never echoed; after three
		// failures a wait.
		wrong := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "9999"}, {"birth_date", "1815-12-11"}}}
		for i := range 3 {
			_, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, wrong)
			if errs.CodeOf(err) != errs.CodeInvalid {
				t.Fatalf("try %d with wrong points = %v, want invalid", i+1, err)
			}
			for _, leak := range []string{"9999", "1815", "3000", "DE89"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("the refusal %q echoes %q", err, leak)
				}
			}
		}
		right := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "30 00"}, {"birth_date", "1815-12-10"}}}
		if _, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, right); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("a try during the wait = %v, want conflict", err)
		}
		// One right data point is not enough.
		f.clock.add(16 * time.Minute)
		half := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "3000"}, {"birth_date", "1900-01-01"}}}
		if _, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, half); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("one of two points right = %v, want invalid", err)
		}
		// The same data point twice is not two.
		twice := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "3000"}, {"iban_last4", "3000"}}}
		if _, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, twice); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("one point twice = %v, want invalid", err)
		}
		idn, err = f.s.ProveIdentity(as(customer), f.ada, r.ID, right)
		if err != nil {
			t.Fatalf("right points: %v", err)
		}
		if !idn.Satisfied() || idn.Reached != dsr.TierPoints2 {
			t.Fatalf("identity after the right points = %+v", idn)
		}
		if _, err := f.s.Verify(as(officer), r.ID); err != nil {
			t.Fatalf("Verify after the proof: %v", err)
		}
		if _, err := f.s.Start(as(officer), r.ID); err != nil {
			t.Fatalf("Start after the proof: %v", err)
		}
		var tries, successes int
		for _, e := range f.MustAudit(t, r.ID) {
			if e.Action == "dsr.prove_identity" {
				tries++
				for _, leak := range []string{"3000", "1815", "w12ab"} {
					if strings.Contains(e.Details.String(), leak) {
						t.Errorf("audit entry %s holds %q", e.Details, leak)
					}
				}
				if strings.Contains(e.Details.String(), `"success":true`) {
					successes++
				}
			}
		}
		if tries != 5 || successes != 1 { // 3 wrong, 1 half, 1 right; the locked try and the duplicate are not tries
			t.Errorf("audited %d tries, %d successes; want 5, 1", tries, successes)
		}
	})
}

// Tries are limited per request: past MaxAttempts even the right points
// are refused.
func TestSecondProofAttemptsLimited(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		r := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, Categories: []string{"health"}})
		wrong := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "0000"}, {"postcode", "nope"}}}
		for range dsr.DefaultIdentityPolicy.MaxAttempts {
			if _, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, wrong); errs.CodeOf(err) == errs.CodeConflict {
				f.clock.add(time.Hour)
				if _, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, wrong); errs.CodeOf(err) != errs.CodeInvalid {
					t.Fatalf("try after the wait = %v", err)
				}
			}
		}
		f.clock.add(time.Hour)
		right := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "3000"}, {"postcode", "W1 2AB"}}}
		idn, err := f.s.ProveIdentity(as(customer), f.ada, r.ID, right)
		if errs.CodeOf(err) != errs.CodeConflict || idn.Satisfied() {
			t.Fatalf("right points after every try was used = %v, %+v; want conflict", err, idn)
		}
	})
}

// A request that touches no sensitive category needs only the code.
func TestNonSensitiveNeedsOnlyTheCode(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		r := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindExport, Regime: dsr.GDPR, Categories: []string{"contact"}})
		idn, err := f.s.Identity(context.Background(), r.ID)
		if err != nil || !idn.Satisfied() || idn.Reached != dsr.TierCode {
			t.Fatalf("identity = %+v, %v; want the code to suffice", idn, err)
		}
		if _, err := f.s.Verify(as(officer), r.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// CCPA: two data points for categories; three and the signed declaration
// for specific pieces, the declaration recorded with its time.
func TestCCPATiers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		two := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "3000"}, {"birth_date", "1815-12-10"}}}
		three := dsr.Proof{Points: []dsr.DataPoint{{"iban_last4", "3000"}, {"birth_date", "1815-12-10"}, {"postcode", "w1-2ab"}}}

		cats := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.CCPA, Scope: dsr.ScopeCategories})
		if idn, err := f.s.ProveIdentity(as(customer), f.ada, cats.ID, two); err != nil || idn.Reached != dsr.TierPoints2 {
			t.Fatalf("categories with two points = %+v, %v", idn, err)
		}

		spec := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.CCPA, Scope: dsr.ScopeSpecific})
		if _, err := f.s.ProveIdentity(as(customer), f.ada, spec.ID, dsr.Proof{Points: two.Points, Declared: true}); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("specific pieces with two points = %v, want invalid", err)
		}
		if _, err := f.s.ProveIdentity(as(customer), f.ada, spec.ID, three); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("specific pieces without the declaration = %v, want invalid", err)
		}
		if _, err := f.s.Verify(as(officer), spec.ID); !errors.Is(err, dsr.ErrIdentityNotReached) {
			t.Fatalf("Verify before the declaration = %v", err)
		}
		idn, err := f.s.ProveIdentity(as(customer), f.ada, spec.ID, dsr.Proof{Points: three.Points, Declared: true})
		if err != nil || idn.Reached != dsr.TierDeclared || idn.DeclaredAt == nil || !idn.DeclaredAt.Equal(f.clock.now()) {
			t.Fatalf("specific pieces with three points and the declaration = %+v, %v", idn, err)
		}
		if _, err := f.s.File(as(customer), dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.CCPA, Scope: dsr.ScopeSpecific,
			Email: adaEmail, EmailHash: f.ada}); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("a scope on a deletion = %v, want invalid", err)
		}
	})
}

var testAgent = dsr.Agent{Name: "Grace Agent", Email: "grace@agents.example", Mandate: "Ada Lovelace authorised me in writing on 1 March 2026."}

// The agent flow: filed, the customer confirms by the link, staff see the
// agent and the mandate, the request proceeds as the customer's own.
func TestAgentFlow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		ctx := context.Background()
		agentCtx := audit.WithActor(ctx, audit.Actor{Kind: audit.KindSubject, ID: "agent"})
		in := dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.CCPA, Email: adaEmail, EmailHash: f.ada, Language: "de"}
		r, token, err := f.s.FileByAgent(agentCtx, in, testAgent, f.MustHash(t, testAgent.Email))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Verify(as(officer), r.ID); !errors.Is(err, dsr.ErrIdentityNotReached) {
			t.Fatalf("Verify before the customer confirmed = %v", err)
		}
		// Another customer's link does not confirm this request.
		other, otherToken, err := f.s.FileByAgent(agentCtx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.CCPA,
			Email: "bob@example.org", EmailHash: f.MustHash(t, "bob@example.org")}, testAgent, f.MustHash(t, testAgent.Email))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.ConfirmAgent(ctx, r.ID, otherToken); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("confirming with another request's link = %v, want not found", err)
		}
		if _, err := f.s.ConfirmAgent(ctx, r.ID, ""); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("confirming without a token = %v, want not found", err)
		}
		if ag, _ := f.s.AgentOf(ctx, r.ID); ag == nil || ag.ConfirmedAt != nil {
			t.Fatalf("agent record after the wrong links = %+v", ag)
		}
		if _, err := f.s.ConfirmAgent(ctx, r.ID, token); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		ag, err := f.s.AgentOf(ctx, r.ID)
		if err != nil || ag == nil || ag.ConfirmedAt == nil {
			t.Fatalf("agent record = %+v, %v", ag, err)
		}
		details, err := f.s.AgentDetails(as(officer), r.ID)
		if err != nil || details == nil || *details != testAgent {
			t.Fatalf("AgentDetails = %+v, %v", details, err)
		}
		if _, err := f.s.Verify(as(officer), r.ID); err != nil {
			t.Fatalf("Verify after the confirmation: %v", err)
		}
		if err := f.s.CheckWorkable(ctx, other.ID); !errors.Is(err, dsr.ErrIdentityNotReached) {
			t.Fatalf("the other, unconfirmed request is workable: %v", err)
		}
		var actions []string
		for _, e := range f.MustAudit(t, r.ID) {
			actions = append(actions, e.Action)
			if strings.Contains(e.Details.String(), "grace") || strings.Contains(e.Details.String(), "authorised") {
				t.Errorf("audit entry %s holds the agent's data", e.Details)
			}
		}
		for _, want := range []string{"dsr.file", "dsr.agent_file", "dsr.agent_confirm", "dsr.reveal", "dsr.verify"} {
			if !strings.Contains(strings.Join(actions, " "), want) {
				t.Errorf("audit actions %v lack %s", actions, want)
			}
		}
		// The customer's erasure forgets the agent's mandate.
		if _, err := f.s.Forget(ctx, "", f.ada, ""); err != nil {
			t.Fatal(err)
		}
		if details, err := f.s.AgentDetails(as(officer), r.ID); err != nil || details != nil {
			t.Fatalf("AgentDetails after the erasure = %+v, %v; want nothing", details, err)
		}
	})
}

// An unconfirmed agent's request never proceeds and expires.
func TestAgentUnconfirmedExpires(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		ctx := context.Background()
		r, token, err := f.s.FileByAgent(ctx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.CCPA, Email: adaEmail, EmailHash: f.ada},
			testAgent, f.MustHash(t, testAgent.Email))
		if err != nil {
			t.Fatal(err)
		}
		f.clock.add(6 * 24 * time.Hour)
		if ids, err := f.s.ExpireAgentRequests(ctx); err != nil || len(ids) != 0 {
			t.Fatalf("expired before time: %v, %v", ids, err)
		}
		f.clock.add(24 * time.Hour)
		ids, err := f.s.ExpireAgentRequests(ctx)
		if err != nil || len(ids) != 1 || ids[0] != r.ID {
			t.Fatalf("ExpireAgentRequests = %v, %v", ids, err)
		}
		got, _ := f.s.Get(ctx, r.ID)
		if got.State != dsr.StateRejected {
			t.Fatalf("state = %s, want rejected", got.State)
		}
		if _, err := f.s.ConfirmAgent(ctx, r.ID, token); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("confirming after expiry = %v, want conflict", err)
		}
		if _, _, err := f.s.FileByAgent(ctx, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.CCPA, Email: adaEmail, EmailHash: f.ada},
			dsr.Agent{Name: "Ada", Email: adaEmail, Mandate: "myself"}, f.ada); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("an agent filing for their own address = %v, want invalid", err)
		}
	})
}
