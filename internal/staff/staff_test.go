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
	"github.com/steward-dev/steward/internal/ratelimit"
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
			{Email: "nobody@shop.example", Password: password, Code: "123456", IP: "192.0.2.1"},
			{Email: "bob@shop.example", Password: "wrong password!", Code: code(), IP: "192.0.2.2"},
			{Email: "bob@shop.example", Password: password, Code: "000000", IP: "192.0.2.3"},
		}
		for _, cred := range cases {
			if _, err := s.SignIn(ctx, cred); err != staff.ErrSignIn {
				t.Fatalf("SignIn(%+v) = %v, want the one generic error", cred.Email, err)
			}
		}
		// Five failures lock the account for that address, and say until
		// when; a known and an unknown email answer alike.
		for _, email := range []string{"bob@shop.example", "nobody@shop.example"} {
			for range 5 {
				s.SignIn(ctx, staff.Credentials{Email: email, Password: "wrong password!", IP: "203.0.113.9"})
			}
			_, err := s.SignIn(ctx, staff.Credentials{Email: email, Password: password, Code: code(), IP: "203.0.113.9"})
			if !errs.Is(err, errs.CodeUnauthorized) || !strings.Contains(err.Error(), "try again after 09:01 UTC") {
				t.Fatalf("%s after five failures: %v", email, err)
			}
		}
		c.add(time.Minute)
		if _, err := s.SignIn(ctx, staff.Credentials{Email: "bob@shop.example", Password: password, Code: code(), IP: "203.0.113.9"}); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		// Rate limit per address.
		var limited bool
		for range 25 {
			if _, err := s.SignIn(ctx, staff.Credentials{Email: "x@shop.example", Password: "p", IP: "198.51.100.7"}); err != nil && strings.Contains(err.Error(), "too many sign-in attempts") {
				limited = true
			}
		}
		if !limited {
			t.Fatal("25 attempts from one address in a minute were not limited")
		}
	})
}

// TestAttackerCannotLockOutTheOwner replays the attack of issue 11: an
// attacker who knows a staff email fails from their addresses; the owner
// still signs in from theirs, and with password and code even while the
// account is under attack from many addresses.
func TestAttackerCannotLockOutTheOwner(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		owner, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ona@shop.example", Name: "Ona", Role: staff.RoleAdmin, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		signIn := func(ip, pw string) error {
			code, _ := staff.TOTPCode(owner.TOTPSecret, c.now())
			_, err := s.SignIn(ctx, staff.Credentials{Email: "ona@shop.example", Password: pw, Code: code, IP: ip})
			c.add(30 * time.Second) // the next code is a new one
			return err
		}
		const attacker, home = "203.0.113.66", "192.0.2.10"
		for i := range 12 {
			signIn(attacker, fmt.Sprintf("guess %d guess", i))
		}
		if err := signIn(attacker, password); err == nil || !strings.Contains(err.Error(), "try again after") {
			t.Fatalf("the attacker's address is not locked: %v", err)
		}
		if err := signIn(home, password); err != nil {
			t.Fatalf("the owner is locked out by failures from another address: %v", err)
		}
		// A distributed attack: one failure from each of many addresses
		// puts the account under attack.
		for i := range 25 {
			signIn(fmt.Sprintf("198.51.100.%d", i+1), "not the password!")
		}
		if err := signIn("198.51.100.1", password); err == nil || !strings.Contains(err.Error(), "try again after") {
			t.Fatalf("an address that failed may try again while the account is under attack: %v", err)
		}
		if err := signIn("198.51.100.200", "not the password!"); err != staff.ErrSignIn {
			t.Fatalf("a new address's first failure: %v", err)
		}
		if err := signIn("198.51.100.200", "not the password either"); err == nil || !strings.Contains(err.Error(), "try again after") {
			t.Fatalf("a new address had a second try while the account is under attack: %v", err)
		}
		// The owner, with password and code, is let in during the attack,
		// even after a typo: they signed in from home before.
		if err := signIn(home, "a typo of the password"); err != staff.ErrSignIn {
			t.Fatalf("the owner's typo: %v", err)
		}
		if err := signIn(home, password); err != nil {
			t.Fatalf("the owner is locked out during a distributed attack: %v", err)
		}
		// So is the owner at a new address.
		if err := signIn("192.0.2.77", password); err != nil {
			t.Fatalf("the owner at a new address during a distributed attack: %v", err)
		}
	})
}

// TestPasswordHashingIsBounded replays the memory attack of issue 11: 120
// concurrent failed sign-ins run at most the gate's size of password
// hashes, the rest are refused with ErrBusy (503) instead of queueing
// without bound, and the owner signs in afterwards. Create and
// Reauthenticate hash in the same slots.
func TestPasswordHashingIsBounded(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		v := vaulttest.Open(t, store)
		box, err := v.SecretBox("staff-totp")
		if err != nil {
			t.Fatal(err)
		}
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
		const slots, queue, attempts = 2, 3, 120
		s, err := staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log, Now: c.now,
			Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1},
			Hashes: ratelimit.NewGate(slots, queue, time.Hour)}) // the queue's wait never runs out here
		if err != nil {
			t.Fatal(err)
		}
		var hashes sync.WaitGroup // counts the hashes that ran
		var hold chan struct{}
		var mu sync.Mutex
		staff.SetHashHook(s, func() {
			mu.Lock()
			h := hold
			mu.Unlock()
			hashes.Done()
			if h != nil {
				<-h
			}
		})
		hashes.Add(1)
		owner, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ona@shop.example", Name: "Ona", Role: staff.RoleAdmin, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		hashes.Wait() // Create hashed in a slot

		mu.Lock()
		hold = make(chan struct{})
		mu.Unlock()
		hashes.Add(slots + queue)
		results := make(chan error, attempts)
		for i := range attempts {
			go func() {
				_, err := s.SignIn(ctx, staff.Credentials{Email: "ona@shop.example", Password: "a wrong guess!",
					IP: fmt.Sprintf("10.%d.%d.1", i/250, i%250)})
				results <- err
			}()
		}
		// While the slots are held only refusals come back.
		for i := range attempts - slots - queue {
			err := <-results
			if err != staff.ErrBusy || !errs.Is(err, errs.CodeUnavailable) {
				t.Fatalf("refusal %d: %v, want ErrBusy", i, err)
			}
		}
		close(hold)
		for range slots + queue {
			if err := <-results; err != staff.ErrSignIn {
				t.Fatalf("a checked wrong password: %v", err)
			}
		}
		hashes.Wait()
		st := s.HashStats()
		if st.MaxInFlight > slots || st.Refused != attempts-slots-queue {
			t.Fatalf("hash gate %+v, want at most %d at once and %d refused", st, slots, attempts-slots-queue)
		}
		if s.RetryAfter() <= 0 {
			t.Fatal("no Retry-After for ErrBusy")
		}
		// The owner signs in right after, then confirms it is them.
		hashes.Add(2)
		code, _ := staff.TOTPCode(owner.TOTPSecret, c.now())
		sess, err := s.SignIn(ctx, staff.Credentials{Email: "ona@shop.example", Password: password, Code: code, IP: "192.0.2.10"})
		if err != nil {
			t.Fatalf("the owner after the flood: %v", err)
		}
		c.add(30 * time.Second)
		code, _ = staff.TOTPCode(owner.TOTPSecret, c.now())
		if err := s.Reauthenticate(ctx, sess, password, code, "192.0.2.10"); err != nil {
			t.Fatal(err)
		}
		hashes.Wait() // both hashed in a slot
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
		d, err := s.DrawQuiz(ctx, a.ID, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		if c1, _ := s.TakeQuiz(ctx, a.ID, m.Key, d.Token, answer(m, d, 1)); c1.Passed || c1.Score != 50 || c1.Right != 1 || c1.Asked != 2 {
			t.Fatalf("half right: %+v", c1)
		}
		c.add(time.Minute)
		if c2, _ := s.TakeQuiz(ctx, a.ID, m.Key, d.Token, answer(m, d, 2)); !c2.Passed || c2.Score != 100 {
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

// answer answers a draw with right answers to its first `right` questions
// and wrong ones to the rest, finding each drawn question in the module.
func answer(m staff.Module, d staff.Draw, right int) []int {
	out := make([]int, len(d.Questions))
	for i, q := range d.Questions {
		for _, pooled := range m.Quiz {
			if pooled.Text == q.Text {
				out[i] = pooled.Answer
				if i >= right {
					out[i] = (pooled.Answer + 1) % len(pooled.Choices)
				}
			}
		}
	}
	return out
}

// TestQuizCannotBeGuessed replays the attack of issue 11 on the training
// quiz: questions are drawn from a pool, an attempt learns only how many
// answers were right, and three failures in a row mean an hour's wait.
func TestQuizCannotBeGuessed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, c := newService(t, store)
		a, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "gus@shop.example", Name: "Gus", Role: staff.RolePrivacyOfficer, Password: password})
		m := staff.Module{Key: "pool", Title: "Pool", Content: "# Pool", PassMark: 100, ValidityDays: 365, Required: true, Ask: 4}
		for i := range 12 {
			m.Quiz = append(m.Quiz, staff.Question{Text: fmt.Sprintf("Question %d?", i), Choices: []string{"a", "b", "c", "d"}, Answer: i % 4})
		}
		if _, err := s.PutModule(ctx, m, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Module(ctx, "pool"); got.Ask != 4 || got.Asked() != 4 {
			t.Fatalf("stored ask = %d", got.Ask)
		}
		// Draws ask 4 different questions of the 12, and not always the same.
		seen := map[string]bool{}
		var orders []string
		for range 20 {
			d, err := s.DrawQuiz(ctx, a.ID, "pool")
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Questions) != 4 {
				t.Fatalf("drew %d questions", len(d.Questions))
			}
			var order []string
			distinct := map[string]bool{}
			for _, q := range d.Questions {
				if q.Answer != -1 {
					t.Fatal("a draw carries an answer")
				}
				seen[q.Text], distinct[q.Text] = true, true
				order = append(order, q.Text)
			}
			if len(distinct) != 4 {
				t.Fatalf("a question drawn twice: %q", order)
			}
			orders = append(orders, strings.Join(order, "|"))
		}
		if len(seen) < 6 {
			t.Fatalf("20 draws asked only %d of 12 questions", len(seen))
		}
		same := true
		for _, o := range orders[1:] {
			same = same && o == orders[0]
		}
		if same {
			t.Fatal("20 draws asked the same questions in the same order")
		}
		// Forged or foreign tokens are refused.
		d, _ := s.DrawQuiz(ctx, a.ID, "pool")
		other, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "hal@shop.example", Name: "Hal", Role: staff.RolePrivacyOfficer, Password: password})
		for name, token := range map[string]string{"forged": "AAAA", "another's": d.Token} {
			if _, err := s.TakeQuiz(ctx, other.ID, "pool", token, answer(m, d, 4)); !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("%s token: %v", name, err)
			}
		}
		// Three failures, then a wait of an hour from the last.
		for i := range 3 {
			got, err := s.TakeQuiz(ctx, a.ID, "pool", d.Token, answer(m, d, 3))
			if err != nil || got.Passed || got.Right != 3 || got.Asked != 4 {
				t.Fatalf("failure %d: %+v, %v", i+1, got, err)
			}
			c.add(time.Minute)
		}
		for name, try := range map[string]func() error{
			"draw": func() error { _, err := s.DrawQuiz(ctx, a.ID, "pool"); return err },
			"take": func() error { _, err := s.TakeQuiz(ctx, a.ID, "pool", d.Token, answer(m, d, 4)); return err },
		} {
			if err := try(); !errs.Is(err, errs.CodeForbidden) || !strings.Contains(err.Error(), "retry the quiz after 2026-11-28 10:02 UTC") {
				t.Fatalf("%s after three failures: %v", name, err)
			}
		}
		if until, _ := s.QuizWait(ctx, a.ID, "pool"); !until.Equal(time.Date(2026, 11, 28, 10, 2, 0, 0, time.UTC)) {
			t.Fatalf("QuizWait = %v", until)
		}
		c.add(time.Hour)
		d, err := s.DrawQuiz(ctx, a.ID, "pool")
		if err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		if got, err := s.TakeQuiz(ctx, a.ID, "pool", d.Token, answer(m, d, 4)); err != nil || !got.Passed {
			t.Fatalf("a pass after the wait: %+v, %v", got, err)
		}
		if until, _ := s.QuizWait(ctx, a.ID, "pool"); !until.IsZero() {
			t.Fatalf("a pass leaves a wait until %v", until)
		}
		// A module changed since the draw asks for a new one.
		m.Content = "# Pool, revised"
		c.add(time.Minute)
		if _, err := s.PutModule(ctx, m, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeQuiz(ctx, a.ID, "pool", d.Token, answer(m, d, 4)); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("a stale draw: %v", err)
		}
		if _, err := s.PutModule(ctx, staff.Module{Key: "pool2", Title: "P", Content: "c", PassMark: 50, ValidityDays: 1, Ask: 3,
			Quiz: m.Quiz[:2]}, true); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("asking more questions than the pool has: %v", err)
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

// TestEthicsPermission: only privacy officers write and approve purposes'
// ethics assessments; no other role, administrators included, may.
func TestEthicsPermission(t *testing.T) {
	for _, role := range staff.Roles {
		if got, want := role.Can(staff.PermEthics), role == staff.RolePrivacyOfficer; got != want {
			t.Errorf("%s.Can(ethics) = %v, want %v", role, got, want)
		}
	}
}
