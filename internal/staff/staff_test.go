package staff_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, store *db.DB) (*staff.Service, *clock) {
	t.Helper()
	v := vaulttest.Open(t, store)
	box, err := v.SecretBox("staff-totp")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	s, err := staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log, Now: c.now,
		Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}}) // cheap hashes: the tests test logic, not cost
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

const password = "correct horse battery staple"

func TestSignInWithPasswordAndTOTP(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		created, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "Ada@Shop.Example", Name: "Ada", Role: staff.RoleSupport, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if created.Email != "ada@shop.example" || !strings.HasPrefix(created.TOTPURI, "otpauth://totp/") {
			t.Fatalf("created %+v", created)
		}
		var stored string
		store.QueryRowContext(ctx, `SELECT totp_secret || password_hash FROM staff WHERE id = $1`, created.ID).Scan(&stored)
		if strings.Contains(stored, created.TOTPSecret) || strings.Contains(stored, password) || !strings.Contains(stored, "$argon2id$") {
			t.Fatal("a secret is stored in the clear")
		}
		code, _ := staff.TOTPCode(created.TOTPSecret, c.now())
		sess, err := s.SignIn(ctx, staff.Credentials{Email: "ada@shop.example", Password: password, Code: code, IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, sess.Token)
		if err != nil || got.Account.ID != created.ID || !got.Fresh(c.now(), 15*time.Minute) {
			t.Fatalf("Session = %+v, %v", got, err)
		}
		// The same code works once.
		if _, err := s.SignIn(ctx, staff.Credentials{Email: "ada@shop.example", Password: password, Code: code}); err == nil {
			t.Fatal("a TOTP code was accepted twice")
		}
		c.add(20 * time.Minute)
		if got, _ := s.Session(ctx, sess.Token); got.Fresh(c.now(), 15*time.Minute) {
			t.Fatal("a 20-minute-old sign-in counts as fresh")
		}
		if err := s.SignOut(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, sess.Token); !errs.Is(err, errs.CodeUnauthorized) {
			t.Fatalf("revoked session: %v", err)
		}
	})
}

func TestSignInFailuresLookAlikeAndLockOut(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		created, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "bob@shop.example", Name: "Bob", Role: staff.RoleAdmin, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		code := func() string { v, _ := staff.TOTPCode(created.TOTPSecret, c.now()); return v }
		cases := []staff.Credentials{
			{Email: "nobody@shop.example", Password: password, Code: "123456"},
			{Email: "bob@shop.example", Password: "wrong password!", Code: code()},
			{Email: "bob@shop.example", Password: password, Code: "000000"},
		}
		for _, cred := range cases {
			if _, err := s.SignIn(ctx, cred); err != staff.ErrSignIn {
				t.Fatalf("SignIn(%+v) = %v, want the one generic error", cred.Email, err)
			}
		}
		for range 5 {
			s.SignIn(ctx, staff.Credentials{Email: "bob@shop.example", Password: "wrong password!"})
		}
		c.add(31 * time.Second)
		if _, err := s.SignIn(ctx, staff.Credentials{Email: "bob@shop.example", Password: password, Code: code()}); err != staff.ErrSignIn {
			t.Fatalf("locked account signed in: %v", err)
		}
		c.add(time.Hour)
		if _, err := s.SignIn(ctx, staff.Credentials{Email: "bob@shop.example", Password: password, Code: code()}); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		// Rate limit per address.
		var limited bool
		for range 25 {
			if _, err := s.SignIn(ctx, staff.Credentials{Email: "x@shop.example", Password: "p", IP: "198.51.100.7"}); err != nil && strings.Contains(err.Error(), "too many") {
				limited = true
			}
		}
		if !limited {
			t.Fatal("25 attempts from one address in a minute were not limited")
		}
	})
}

func TestRolesAndAccountChanges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		created, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "cy@shop.example", Name: "Cy", Role: staff.RoleSupport, Password: password})
		code, _ := staff.TOTPCode(created.TOTPSecret, c.now())
		sess, err := s.SignIn(ctx, staff.Credentials{Email: "cy@shop.example", Password: password, Code: code})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetRole(ctx, audit.System(), created.ID, staff.RoleAnalyst); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, sess.Token); err == nil {
			t.Fatal("a role change left the session open")
		}
		if err := s.Disable(ctx, audit.System(), created.ID); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.Get(ctx, created.ID); !a.Disabled || a.Role != staff.RoleAnalyst {
			t.Fatalf("account %+v", a)
		}
		bad := []staff.NewAccount{
			{Email: "not an email", Name: "X", Role: staff.RoleAdmin, Password: password},
			{Email: "x@shop.example", Name: "X", Role: "root", Password: password},
			{Email: "x@shop.example", Name: "X", Role: staff.RoleAdmin, Password: "short"},
			{Email: "cy@shop.example", Name: "X", Role: staff.RoleAdmin, Password: password},
		}
		for _, in := range bad {
			if _, err := s.Create(ctx, audit.System(), in); !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("Create(%+v) = %v, want invalid", in.Email, err)
			}
		}
		matrix := map[staff.Role][]staff.Permission{
			staff.RoleSupport: {staff.PermCustomerLookup},
			staff.RoleAnalyst: {staff.PermAggregates},
		}
		for role, allowed := range matrix {
			for _, p := range []staff.Permission{staff.PermReveal, staff.PermStaff, staff.PermAudit, staff.PermAggregates, staff.PermCustomerLookup} {
				want := false
				for _, a := range allowed {
					want = want || a == p
				}
				if role.Can(p) != want {
					t.Errorf("%s.Can(%s) = %v", role, p, !want)
				}
			}
		}
	})
}

func TestTrainingGatesReveal(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		a, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "dee@shop.example", Name: "Dee", Role: staff.RolePrivacyOfficer, Password: password})
		if err := s.CanReveal(ctx, a.Account); err != nil {
			t.Fatalf("no required module yet: %v", err)
		}
		m := staff.Module{Key: "data-protection", Title: "Data protection basics", Content: "# Why we ask for a purpose\n...",
			PassMark: 80, ValidityDays: 365, Required: true, Quiz: []staff.Question{
				{Text: "May you look up a customer out of curiosity?", Choices: []string{"Yes", "No"}, Answer: 1},
				{Text: "What must you state before revealing data?", Choices: []string{"Nothing", "A purpose and a ticket"}, Answer: 1},
			}}
		if _, err := s.PutModule(ctx, m, true); err != nil {
			t.Fatal(err)
		}
		err := s.CanReveal(ctx, a.Account)
		if !errs.Is(err, errs.CodeForbidden) || !strings.Contains(err.Error(), "Data protection basics") {
			t.Fatalf("untrained reveal: %v", err)
		}
		if c1, _ := s.TakeQuiz(ctx, a.ID, m.Key, []int{1, 0}); c1.Passed || c1.Score != 50 {
			t.Fatalf("half right: %+v", c1)
		}
		if c2, _ := s.TakeQuiz(ctx, a.ID, m.Key, []int{1, 1}); !c2.Passed || c2.Score != 100 {
			t.Fatalf("all right: %+v", c2)
		}
		if err := s.CanReveal(ctx, a.Account); err != nil {
			t.Fatalf("trained reveal: %v", err)
		}
		c.add(366 * 24 * time.Hour)
		if err := s.CanReveal(ctx, a.Account); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired training: %v", err)
		}
		for i, role := range []staff.Role{staff.RoleAnalyst, staff.RoleSupport} {
			other, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: fmt.Sprintf("eve%d@shop.example", i), Name: "Eve", Role: role, Password: password})
			if err := s.CanReveal(ctx, other.Account); !errs.Is(err, errs.CodeForbidden) {
				t.Fatalf("%s reveal: %v", role, err)
			}
		}
		if _, err := s.PutModule(ctx, staff.Module{Key: "x", Title: "X", Content: "c", PassMark: 0, ValidityDays: 1,
			Quiz: []staff.Question{{Text: "q", Choices: []string{"a"}, Answer: 3}}}, true); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("bad module: %v", err)
		}
	})
}

func TestTOTPKnownVector(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s: 94287082 (8 digits);
	// its last six digits are the 6-digit code.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	code, err := staff.TOTPCode(secret, time.Unix(59, 0))
	if err != nil || code != "287082" {
		t.Fatalf("TOTPCode = %q, %v; want 287082", code, err)
	}
	code, _ = staff.TOTPCode(secret, time.Unix(1111111109, 0))
	if code != "081804" {
		t.Fatalf("TOTPCode(1111111109) = %q; want 081804", code)
	}
}

// BenchmarkPasswordHash reports the cost of one sign-in's password check
// with the production parameters.
func BenchmarkPasswordHash(b *testing.B) {
	for b.Loop() {
		staff.HashForBenchmark(password)
	}
}
