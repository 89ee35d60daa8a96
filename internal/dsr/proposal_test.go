package dsr_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

// TestProposal: a rectification's proposed values are sealed at rest (the
// row holds no value in clear), named in clear by field only, revealed
// with an audit entry, approved once by staff (which starts the work), and
// blanked by an erasure's Forget.
func TestProposal(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		const phone = "+49 30 1234567"
		r, err := f.s.File(as(customer), dsr.NewRequest{Kind: dsr.KindRectification, Regime: dsr.GDPR, Email: adaEmail,
			EmailHash: f.MustHash(t, adaEmail), Proposal: map[string]string{"vault:phone": phone}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Proposed) != 1 || r.Proposed[0] != "vault:phone" || r.ProposalApprovedAt != nil {
			t.Fatalf("filed %+v", r)
		}
		var sealed []byte
		if err := store.QueryRowContext(ctx, `SELECT proposal_sealed FROM dsr_requests WHERE id = $1`, r.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if len(sealed) == 0 || bytes.Contains(sealed, []byte(phone)) {
			t.Fatalf("proposal stored in clear or not at all: %q", sealed)
		}
		got, err := f.s.Proposal(as(officer), r.ID)
		if err != nil || got["vault:phone"] != phone {
			t.Fatalf("Proposal = %v, %v", got, err)
		}
		// Approval needs a verified request; it starts the work.
		if _, err := f.s.ApproveProposal(as(officer), r.ID); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("approve before verification: %v, want conflict", err)
		}
		if _, err := f.s.Verify(as(officer), r.ID); err != nil {
			t.Fatal(err)
		}
		ok, err := f.s.ApproveProposal(as(officer), r.ID)
		if err != nil || ok.State != dsr.StateInProgress || ok.ProposalApprovedAt == nil {
			t.Fatalf("ApproveProposal = %+v, %v", ok, err)
		}
		if _, err := f.s.ApproveProposal(as(officer), r.ID); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("second approval: %v, want conflict", err)
		}
		if again, _ := f.s.Get(ctx, r.ID); again.ProposalApprovedAt == nil {
			t.Fatal("approval not stored")
		}
		if _, err := f.s.Forget(ctx, "", f.ada, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := f.s.Proposal(as(officer), r.ID); err != nil || got != nil {
			t.Fatalf("after Forget, Proposal = %v, %v", got, err)
		}
	})
}

// TestProposalRefused: a proposal goes only with a rectification, names
// fields in the target syntax and gives each a value; the problem names
// the field at fault.
func TestProposalRefused(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		tests := []struct {
			name  string
			kind  dsr.Kind
			in    map[string]string
			field string
		}{
			{"not a rectification", dsr.KindObjection, map[string]string{"vault:phone": "1"}, "proposal"},
			{"empty value", dsr.KindRectification, map[string]string{"vault:phone": " "}, "proposal.vault:phone"},
			{"odd target", dsr.KindRectification, map[string]string{"vault:phone'; DROP": "1"}, "proposal"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.s.File(as(customer), dsr.NewRequest{Kind: tc.kind, Regime: dsr.GDPR, Email: adaEmail,
					EmailHash: f.MustHash(t, adaEmail), Proposal: tc.in})
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid || e.Fields[tc.field] == "" {
					t.Fatalf("File = %v, want invalid naming %s", err, tc.field)
				}
			})
		}
	})
}
