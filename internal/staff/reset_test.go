package staff_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
)

// TestResetLinks: an administrator's one-time link replaces one factor
// and asks for the other; it ends the person's sessions, works once,
// expires, is spent by wrong attempts, and each step is audited.
func TestResetLinks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		admin := audit.Staff("stf_admin")
		ada, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ada@shop.example", Name: "Ada", Role: staff.RoleSupport, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		signIn := func(pw, secret string) (*staff.Session, error) {
			c.add(30 * time.Second) // a fresh TOTP step
			code, _ := staff.TOTPCode(secret, c.now())
			return s.SignIn(ctx, staff.Credentials{Email: ada.Email, Password: pw, Code: code, IP: "192.0.2.1"})
		}
		session, err := signIn(password, ada.TOTPSecret)
		if err != nil {
			t.Fatal(err)
		}

		// A password link ends the sessions; without a right code it sets nothing.
		link, err := s.IssueReset(ctx, admin, ada.ID, staff.ResetPassword)
		if err != nil || link.Token == "" || !link.ExpiresAt.Equal(c.now().Add(staff.ResetLifetime)) {
			t.Fatalf("IssueReset = %+v, %v", link, err)
		}
		if _, err := s.Session(ctx, session.Token); err == nil {
			t.Fatal("the session survived a reset")
		}
		const newPassword = "a brand new passphrase"
		if err := s.RedeemPassword(ctx, link.Token, newPassword, "000000"); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("a wrong code: %v", err)
		}
		if _, err := s.RedeemAuthenticator(ctx, link.Token, password); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("a password link enrolled an authenticator: %v", err)
		}
		c.add(30 * time.Second)
		code, _ := staff.TOTPCode(ada.TOTPSecret, c.now())
		if err := s.RedeemPassword(ctx, link.Token, newPassword, code); err != nil {
			t.Fatal(err)
		}
		if err := s.RedeemPassword(ctx, link.Token, "yet another passphrase", code); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("a link worked twice: %v", err)
		}
		if _, err := signIn(password, ada.TOTPSecret); err == nil {
			t.Fatal("the old password still works")
		}
		if _, err := signIn(newPassword, ada.TOTPSecret); err != nil {
			t.Fatalf("the new password: %v", err)
		}

		// An authenticator link asks for the password and gives a new secret;
		// the old authenticator stops working.
		link, _ = s.IssueReset(ctx, admin, ada.ID, staff.ResetAuthenticator)
		if _, err := s.RedeemAuthenticator(ctx, link.Token, "not the password"); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("a wrong password: %v", err)
		}
		enrolled, err := s.RedeemAuthenticator(ctx, link.Token, newPassword)
		if err != nil || enrolled.TOTPSecret == "" || enrolled.TOTPSecret == ada.TOTPSecret {
			t.Fatalf("RedeemAuthenticator = %+v, %v", enrolled, err)
		}
		if _, err := signIn(newPassword, ada.TOTPSecret); err == nil {
			t.Fatal("the old authenticator still works")
		}
		if _, err := signIn(newPassword, enrolled.TOTPSecret); err != nil {
			t.Fatalf("the new authenticator: %v", err)
		}

		// Links expire, and wrong attempts spend them; a newer link ends an older one.
		expired, _ := s.IssueReset(ctx, admin, ada.ID, staff.ResetPassword)
		c.add(staff.ResetLifetime)
		if _, err := s.PendingReset(ctx, expired.Token); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("an expired link: %v", err)
		}
		older, _ := s.IssueReset(ctx, admin, ada.ID, staff.ResetAuthenticator)
		spent, _ := s.IssueReset(ctx, admin, ada.ID, staff.ResetAuthenticator)
		if _, err := s.PendingReset(ctx, older.Token); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("an older link still works: %v", err)
		}
		var last error
		for range 5 {
			_, last = s.RedeemAuthenticator(ctx, spent.Token, "guess")
		}
		if errs.CodeOf(last) != errs.CodeForbidden {
			t.Fatalf("fifth wrong attempt: %v", last)
		}
		if _, err := s.RedeemAuthenticator(ctx, spent.Token, newPassword); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("a spent link worked: %v", err)
		}
		if _, err := s.IssueReset(ctx, admin, ada.ID, "everything"); errs.CodeOf(err) != errs.CodeInvalid {
			t.Fatalf("an unknown kind: %v", err)
		}

		issued := countAudit(t, s, store, "staff.reset_issued")
		if issued != 5 || countAudit(t, s, store, "staff.reset_redeemed") != 2 {
			t.Fatalf("audit: %d issued, %d redeemed", issued, countAudit(t, s, store, "staff.reset_redeemed"))
		}
	})
}

// TestUnlock replays an account locked by failed sign-ins: its
// administrator sees the lock and lifts it, audited, and the owner signs
// in from the locked address at once.
func TestUnlock(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		ada, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ada@shop.example", Name: "Ada", Role: staff.RoleSupport, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			s.SignIn(ctx, staff.Credentials{Email: ada.Email, Password: "wrong password!", Code: "000000", IP: "192.0.2.9"})
		}
		states, err := s.LockStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st := states[ada.ID]; st.Failures != 5 || st.LockedAddresses != 1 || !st.Locked() {
			t.Fatalf("lock state %+v, want 5 failures and one locked address", st)
		}
		code, _ := staff.TOTPCode(ada.TOTPSecret, c.now())
		if _, err := s.SignIn(ctx, staff.Credentials{Email: ada.Email, Password: password, Code: code, IP: "192.0.2.9"}); err == nil {
			t.Fatal("the locked address signed in")
		}
		if err := s.Unlock(ctx, audit.Staff("stf_admin"), ada.ID); err != nil {
			t.Fatal(err)
		}
		if states, _ := s.LockStates(ctx); states[ada.ID].Locked() || states[ada.ID].Failures != 0 {
			t.Fatalf("after unlock: %+v", states[ada.ID])
		}
		if _, err := s.SignIn(ctx, staff.Credentials{Email: ada.Email, Password: password, Code: code, IP: "192.0.2.9"}); err != nil {
			t.Fatalf("after unlock: %v", err)
		}
		if n := countAudit(t, s, store, "staff.unlock"); n != 1 {
			t.Fatalf("%d unlock entries", n)
		}
	})
}

func countAudit(t *testing.T, _ *staff.Service, store *db.DB, action string) int {
	t.Helper()
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	p, err := log.Search(context.Background(), audit.Query{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Entries)
}
