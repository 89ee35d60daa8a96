package admin

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/ratelimit"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
	"github.com/steward-dev/steward/internal/web/clientaddr"
)

// signInFixture is a console whose password checks go through a gate the
// test holds, behind a trusted proxy at 10.0.0.1, with one staff member.
type signInFixture struct {
	console *Console
	gate    *ratelimit.Gate
	owner   staff.Created
	mu      sync.Mutex
	now     time.Time
}

func (f *signInFixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *signInFixture) add(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newSignInFixture(t *testing.T) *signInFixture {
	t.Helper()
	ctx := context.Background()
	f := &signInFixture{now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), gate: ratelimit.NewGate(1, 0, time.Second)}
	store := dbtest.Open(t, db.SQLite)
	v := vaulttest.Open(t, store)
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	totp, _ := v.SecretBox("staff-totp")
	accounts, err := staff.NewService(staff.Config{DB: store, Secrets: totp, Audit: log, Now: f.clock,
		Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}, Hashes: f.gate})
	if err != nil {
		t.Fatal(err)
	}
	if f.owner, err = accounts.Create(ctx, audit.System(), staff.NewAccount{Email: "ona@shop.example", Name: "Ona", Role: staff.RoleAdmin,
		Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	signer, _ := receipt.NewSigner(key)
	catalog, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })
	ethicstest.OpenPurposes(t, catalog)
	dsrBox, _ := v.SecretBox("dsr")
	requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: dsrBox, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := clientaddr.Parse([]string{"10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if f.console, err = New(Deps{Staff: accounts, Vault: v, Audit: log, Consent: catalog, Requests: requests, ClientAddr: proxies}); err != nil {
		t.Fatal(err)
	}
	return f
}

// signIn posts the sign-in form from peer, with an X-Forwarded-For header
// when forwarded is set.
func (f *signInFixture) signIn(t *testing.T, peer, forwarded, password string, lang ...string) *httptest.ResponseRecorder {
	t.Helper()
	code, _ := staff.TOTPCode(f.owner.TOTPSecret, f.clock())
	f.add(time.Second)
	form := url.Values{"csrf": {"form-token"}, "email": {"ona@shop.example"}, "password": {password}, "code": {code}, "next": {"/admin"}}
	r := httptest.NewRequest(http.MethodPost, "/admin/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: signInCookie, Value: "form-token"})
	r.RemoteAddr = peer + ":40000"
	if forwarded != "" {
		r.Header.Set("X-Forwarded-For", forwarded)
	}
	for _, l := range lang {
		r.Header.Set("Accept-Language", l)
	}
	w := httptest.NewRecorder()
	f.console.HandleSignIn().ServeHTTP(w, r)
	return w
}

// TestSignInBusy replays the memory attack at the console: while every
// password check slot is taken, a sign-in is answered 503 with Retry-After
// and a sentence, and nothing is hashed.
func TestSignInBusy(t *testing.T) {
	f := newSignInFixture(t)
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() { done <- f.gate.Do(context.Background(), func() { close(held); <-release }) }()
	<-held
	w := f.signIn(t, "192.0.2.10", "", "correct horse battery staple")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Please try again in a few seconds") {
		t.Fatalf("busy sign-in: %d, Retry-After %q, %.300s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := f.signIn(t, "192.0.2.10", "", "correct horse battery staple"); w.Code != http.StatusSeeOther {
		t.Fatalf("the owner once the slot is free: %d %.300s", w.Code, w.Body.String())
	}
}

// TestSignInLockoutPerClientAddress replays the lockout attack through a
// trusted proxy: failures from the attacker's address lock that address
// only, the page says until when, and a forged X-Forwarded-For from an
// untrusted peer does not escape the lock.
func TestSignInLockoutPerClientAddress(t *testing.T) {
	f := newSignInFixture(t)
	const proxy, attacker, owner = "10.0.0.1", "203.0.113.66", "192.0.2.10"
	for i := range 5 {
		if w := f.signIn(t, proxy, attacker, "a wrong guess!"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	w := f.signIn(t, proxy, attacker, "correct horse battery staple")
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "try again after 09:01 UTC") {
		t.Fatalf("the attacker's address is not told it is locked: %d %.400s", w.Code, w.Body.String())
	}
	// The attacker connects directly and claims the owner's address.
	if w := f.signIn(t, attacker, owner, "correct horse battery staple"); !strings.Contains(w.Body.String(), "try again after") {
		t.Fatalf("a forged X-Forwarded-For from an untrusted peer was believed: %d %.300s", w.Code, w.Body.String())
	}
	if w := f.signIn(t, proxy, "198.51.100.1, "+owner, "correct horse battery staple"); w.Code != http.StatusSeeOther {
		t.Fatalf("the owner, through the proxy, is locked out: %d %.400s", w.Code, w.Body.String())
	}
}

// TestSignInRefusalsSpeakTheLanguage: the staff service's refusals (a wrong
// password, then the lockout with its time) reach the sign-in page in the
// reader's language, not in the service's English.
func TestSignInRefusalsSpeakTheLanguage(t *testing.T) {
	f := newSignInFixture(t)
	cases := []struct{ lang, wrong, locked string }{
		{"de", "E-Mail-Adresse, Passwort oder Code stimmen nicht.", "Zu viele fehlgeschlagene Anmeldungen"},
		{"fr", "L&#39;adresse e-mail, le mot de passe ou le code est incorrect.", "Trop de connexions échouées"},
		{"es", "El correo electrónico, la contraseña o el código no son correctos.", "Demasiados inicios de sesión fallidos"},
	}
	for i, c := range cases {
		peer := fmt.Sprintf("192.0.2.%d", 20+i)
		w := f.signIn(t, peer, "", "a wrong guess!", c.lang)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), c.wrong) || strings.Contains(w.Body.String(), "is not right") {
			t.Errorf("%s: wrong password: %d, want %q: %.600s", c.lang, w.Code, c.wrong, w.Body.String())
		}
		var last *httptest.ResponseRecorder
		for range 6 {
			last = f.signIn(t, peer, "", "a wrong guess!", c.lang)
		}
		if !strings.Contains(last.Body.String(), c.locked) || strings.Contains(last.Body.String(), "too many failed") {
			t.Errorf("%s: lockout: want %q: %.600s", c.lang, c.locked, last.Body.String())
		}
	}
}
