package incident_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// start is when every test's clock starts.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture is a register on a real store, audit log, vault and staff
// service; mail goes to an in-process SMTP server when withMail is set.
type fixture struct {
	store *db.DB
	clock *clock
	log   *audit.Log
	vault *vault.Vault
	staff *staff.Service
	svc   *incident.Service
	mail  *mailtest.Server
	// config is the register's configuration, for a test that makes
	// another register on the same parts.
	config incident.Config
	ctx    context.Context // acts as staff:officer
}

func newFixture(t *testing.T, store *db.DB, withMail bool, adjust ...func(*incident.Config)) *fixture {
	t.Helper()
	f := &fixture{store: store, clock: &clock{t: start}}
	var err error
	if f.log, err = audit.New(audit.Config{DB: store, Now: f.clock.Now}); err != nil {
		t.Fatal(err)
	}
	f.vault = vaulttest.Open(t, store, func(c *vault.Config) { c.Now = f.clock.Now; c.Audit = f.log })
	t.Cleanup(func() { f.vault.Close() })
	totp, err := f.vault.SecretBox("staff-totp")
	if err != nil {
		t.Fatal(err)
	}
	if f.staff, err = staff.NewService(staff.Config{DB: store, Secrets: totp, Audit: f.log,
		Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	cfg := incident.Config{DB: store, Audit: f.log, Emails: f.vault, Staff: f.staff, Now: f.clock.Now,
		ConsoleURL: "https://steward.shop.example", Brand: notify.Brand{CompanyName: "Shop Example Ltd"}}
	if withMail {
		f.mail = mailtest.Start(t, mailtest.Options{})
		mailer, err := notify.NewMailer(f.mail.MailConfig("steward@shop.example"))
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := notify.NewTemplates()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sender, cfg.Mail = mailer, tmpl
	}
	for _, a := range adjust {
		a(&cfg)
	}
	if cfg.Notices.Signer != nil && cfg.Notices.Profiles == nil {
		cfg.Notices.Profiles = f.vault // the notices' tests read the customers' fields from the fixture's vault
	}
	f.config = cfg
	if f.svc, err = incident.New(cfg); err != nil {
		t.Fatal(err)
	}
	f.ctx = audit.WithActor(context.Background(), audit.Staff("officer"))
	return f
}

// addStaff creates an account of role with a synthetic address.
func (f *fixture) addStaff(t *testing.T, name string, role staff.Role) staff.Account {
	t.Helper()
	created, err := f.staff.Create(context.Background(), audit.System(), staff.NewAccount{Email: name + "@staff.example",
		Name: name, Role: role, Password: "correct horse battery staple 42"})
	if err != nil {
		t.Fatal(err)
	}
	return created.Account
}

// put stores a sealed field of subject.
func (f *fixture) put(t *testing.T, subject, name, category string) {
	t.Helper()
	if _, err := f.vault.Put(audit.WithActor(context.Background(), audit.System()), subject,
		vault.Field{Name: name, Category: category, Value: []byte("synthetic " + name)}); err != nil {
		t.Fatal(err)
	}
}

// consentFrom records a consent event of subject in jurisdiction (raw: the
// ledger's own rules are not under test).
func (f *fixture) consentFrom(t *testing.T, seq int, subject, jurisdiction string) {
	t.Helper()
	ctx := context.Background()
	if seq == 1 {
		mustExec(t, f.store, `INSERT INTO properties (key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, created_at, updated_at)
			VALUES ('shop', 'Shop', '[]', '{}', 'DE', '', 0, 0)`)
		mustExec(t, f.store, `INSERT INTO purposes (key, names, descriptions, legal_basis, necessary, sale_or_sharing, created_at, updated_at)
			VALUES ('analytics', '{}', '{}', 'consent', `+f.store.Bool(false)+`, `+f.store.Bool(false)+`, 0, 0)`)
	}
	mustExec(t, f.store, `INSERT INTO subjects (id, created_at) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING`, subject)
	if _, err := f.store.ExecContext(ctx, `INSERT INTO consent_events (seq, property, event_id, subject_id, purpose, vendor, action, source,
		notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at)
		VALUES ($1, 'shop', $2, $3, 'analytics', '', 'grant', 'portal', 'v1', $4, `+f.store.Bool(false)+`, `+f.store.Bool(false)+`, '', 0, 0)`,
		seq, fmt.Sprintf("ev%d", seq), subject, jurisdiction); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, store *db.DB, query string, args ...any) {
	t.Helper()
	if _, err := store.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

// open records an incident aware at the clock's time.
func (f *fixture) open(t *testing.T, categories ...string) incident.Incident {
	t.Helper()
	title, kind := "Laptop with an export stolen", incident.Confidentiality
	inc, err := f.svc.Create(f.ctx, incident.Input{Title: &title, Kind: &kind, Categories: &categories})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func ptr[T any](v T) *T { return &v }

func vaultField(name, category, value string) vault.Field {
	return vault.Field{Name: name, Category: category, Value: []byte(value)}
}
