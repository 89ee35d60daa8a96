package dsr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

const phoneCheck = "Called the number on file; the customer answered both security questions."

// TestStaffVerifiesIdentity: a customer who cannot give the data points is
// verified by staff another way. Only staff or an API key may record it,
// with a channel and a statement; it satisfies the tier (the request can
// be verified and started), is audited with the channel and never the
// statement, is refused where there is nothing to verify, and the
// customer's erasure blanks the statement.
func TestStaffVerifiesIdentity(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		ctx := context.Background()
		r := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, Categories: []string{"financial"}})
		good := dsr.StaffCheck{Channel: dsr.VerifyPhone, Statement: phoneCheck}

		for _, tc := range []struct {
			name  string
			actor audit.Actor
		}{
			{"the customer", customer},
			{"Steward itself", audit.System()},
			{"an agent", audit.Actor{Kind: "agent", ID: "a1"}},
			{"nobody", audit.Actor{}},
		} {
			t.Run("refused to "+tc.name, func(t *testing.T) {
				if _, err := f.s.VerifyIdentityByStaff(as(tc.actor), r.ID, good); errs.CodeOf(err) != errs.CodeForbidden {
					t.Fatalf("VerifyIdentityByStaff as %v = %v, want forbidden", tc.actor, err)
				}
			})
		}
		for _, tc := range []struct {
			name  string
			check dsr.StaffCheck
			field string
		}{
			{"no channel", dsr.StaffCheck{Statement: phoneCheck}, "channel"},
			{"unknown channel", dsr.StaffCheck{Channel: "telepathy", Statement: phoneCheck}, "channel"},
			{"no statement", dsr.StaffCheck{Channel: dsr.VerifyPhone, Statement: "   "}, "statement"},
			{"a word", dsr.StaffCheck{Channel: dsr.VerifyPhone, Statement: "ok"}, "statement"},
			{"an essay", dsr.StaffCheck{Channel: dsr.VerifyPhone, Statement: strings.Repeat("x", 1001)}, "statement"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.s.VerifyIdentityByStaff(as(officer), r.ID, tc.check)
				if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields[tc.field] == "" {
					t.Fatalf("VerifyIdentityByStaff = %v, want invalid naming %s", err, tc.field)
				}
			})
		}
		if idn, _ := f.s.Identity(ctx, r.ID); idn.Satisfied() || idn.StaffVerified != nil {
			t.Fatalf("a refused record changed the identity: %+v", idn)
		}

		idn, err := f.s.VerifyIdentityByStaff(as(officer), r.ID, good)
		if err != nil {
			t.Fatal(err)
		}
		sv := idn.StaffVerified
		if !idn.Satisfied() || idn.Reached != dsr.TierPoints2 || sv == nil || sv.By != officer || sv.ByRef != officer.String() ||
			sv.Channel != dsr.VerifyPhone || sv.Statement != phoneCheck || !sv.At.Equal(f.clock.now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("identity = %+v (staff %+v)", idn, sv)
		}
		if err := f.s.CheckWorkable(ctx, r.ID); err != nil {
			t.Fatalf("CheckWorkable after staff verified: %v", err)
		}
		if _, err := f.s.Verify(as(officer), r.ID); err != nil {
			t.Fatalf("Verify after staff verified: %v", err)
		}
		if _, err := f.s.VerifyIdentityByStaff(as(officer), r.ID, good); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("a second record = %v, want conflict", err)
		}
		var found bool
		for _, e := range f.MustAudit(t, r.ID) {
			if e.Action != "dsr.identity_verified_by_staff" {
				continue
			}
			found = true
			d := e.Details.String()
			if e.Actor != officer || !strings.Contains(d, `"channel":"phone"`) || !strings.Contains(d, `"tier":"points2"`) || strings.Contains(d, "security") {
				t.Errorf("audit entry by %v: %s", e.Actor, d)
			}
		}
		if !found {
			t.Fatal("no dsr.identity_verified_by_staff in the audit log")
		}

		// Nothing to verify: a request the code suffices for.
		plain := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.GDPR, Categories: []string{"contact"}})
		if _, err := f.s.VerifyIdentityByStaff(as(officer), plain.ID, good); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("on a code-only request = %v, want conflict", err)
		}
		// An API key of the company's support tools may record it too.
		other := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindExport, Regime: dsr.GDPR, Categories: []string{"health"}})
		if idn, err := f.s.VerifyIdentityByStaff(as(audit.APIKey("key_support")), other.ID, dsr.StaffCheck{Channel: dsr.VerifyInPerson,
			Statement: "Seen in the Leeds store with the loyalty card."}); err != nil || idn.StaffVerified.ByRef != "api_key:key_support" {
			t.Fatalf("as an API key = %+v, %v", idn, err)
		}

		if _, err := f.s.Forget(ctx, idSubject, f.ada, ""); err != nil {
			t.Fatal(err)
		}
		if idn, _ := f.s.Identity(ctx, r.ID); idn.StaffVerified == nil || idn.StaffVerified.Statement != "" || !idn.Satisfied() {
			t.Fatalf("after the erasure: %+v", idn.StaffVerified)
		}
	})
}

// TestStaffVerifiesDeclaration: where the tier needs the signed
// declaration (CCPA specific pieces), staff must record that it was
// signed.
func TestStaffVerifiesDeclaration(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newIdentityFixture(t, store)
		r := f.fileFor(t, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.CCPA, Scope: dsr.ScopeSpecific})
		check := dsr.StaffCheck{Channel: dsr.VerifyPostal, Statement: "Signed declaration received by post, checked against the address on file."}
		_, err := f.s.VerifyIdentityByStaff(as(officer), r.ID, check)
		if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields["declaration"] == "" {
			t.Fatalf("without the declaration = %v, want invalid naming declaration", err)
		}
		check.Declaration = true
		idn, err := f.s.VerifyIdentityByStaff(as(officer), r.ID, check)
		if err != nil || !idn.Satisfied() || idn.DeclaredAt == nil || idn.Reached != dsr.TierDeclared {
			t.Fatalf("with the declaration = %+v, %v", idn, err)
		}
	})
}
