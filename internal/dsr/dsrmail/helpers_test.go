package dsrmail_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// mailFixture is what the mail tests share: a vault, the audit log, the
// request service at a fixed time, and a real mail server with its sender
// and templates.
type mailFixture struct {
	vault    *vault.Vault
	audit    *audit.Log
	requests *dsr.Service
	server   *mailtest.Server
	sender   notify.Sender
	tmpl     *notify.Templates
}

// newMailFixture opens the fixture on store; onChange, when set, is the
// request service's OnChange.
func newMailFixture(t *testing.T, store *db.DB, now time.Time, onChange func(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event) error) *mailFixture {
	t.Helper()
	f := &mailFixture{vault: vaulttest.Open(t, store)}
	box, err := f.vault.SecretBox("dsr")
	if err != nil {
		t.Fatal(err)
	}
	if f.audit, err = audit.New(audit.Config{DB: store}); err != nil {
		t.Fatal(err)
	}
	if f.requests, err = dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: f.audit, Now: func() time.Time { return now },
		OnChange: onChange}); err != nil {
		t.Fatal(err)
	}
	f.server = mailtest.Start(t, mailtest.Options{TLS: notify.TLSNone})
	if f.sender, err = notify.NewMailer(f.server.MailConfig("Shop <privacy@shop.example>")); err != nil {
		t.Fatal(err)
	}
	if f.tmpl, err = notify.NewTemplates(); err != nil {
		t.Fatal(err)
	}
	return f
}
