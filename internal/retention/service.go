package retention

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/retention/period"
	"github.com/steward-dev/steward/internal/vault"
)

// The audit actions of retention (registered in internal/audit).
const (
	ActionRun       = "retention.run"
	ActionHoldPlace = "retention.hold_place"
	ActionHoldLift  = "retention.hold_lift"
	// ActionReadHeldContacts records that a run opened the held subjects'
	// addresses to exclude their rows from a system that finds rows by
	// email.
	ActionReadHeldContacts = "retention.read_held_contacts"
)

// Vault is the vault's part in retention.
type Vault interface {
	CountRetention(ctx context.Context, r vault.Retention) (map[string]int64, error)
	PurgeRetention(ctx context.Context, r vault.Retention) ([]vault.FieldInfo, error)
}

// Contacts reads a subject's sealed field (the vault).
type Contacts interface {
	Get(ctx context.Context, subject, name string) (vault.Record, error)
}

// Requests retires closed requests (dsr.Service).
type Requests interface {
	RetireClosed(ctx context.Context, before time.Time, held []string, dryRun bool) ([]string, error)
}

// Archives deletes, or counts, the archives of requests (export.Store).
type Archives interface {
	DeleteFor(ctx context.Context, subject string, requestIDs []string) (int, error)
	CountFor(ctx context.Context, requestIDs []string) (int, error)
}

// Ledger pseudonymises the consent ledger's dormant subjects
// (consent.Service).
type Ledger interface {
	DormantSubjects(ctx context.Context, before time.Time, after string, limit int) ([]string, error)
	Pseudonymise(ctx context.Context, subject string) (consent.Pseudonymised, error)
}

// Config are the parts retention walks. Every store but DB and Audit is
// optional: a run skips what is not configured.
type Config struct {
	DB    *db.DB
	Audit *audit.Log
	// Catalog gives the categories' and purposes' retention.
	Catalog Catalog
	Vault   Vault
	// Connectors are the company's SQL systems; those whose dataset file
	// declares a retention section are walked, opened with Getenv.
	Connectors []*connector.Dataset
	Getenv     func(string) string
	// Contacts holds the held subjects' email addresses (vault field
	// "email"), for the tables whose rows are found by email. Reading them
	// is audited (retention.read_held_contacts, once per run and system).
	// When it is nil, sealed or failing, such a system's retention fails:
	// a hold that cannot be applied stops the deletion.
	Contacts Contacts
	// Requests and Archives retire the requests closed longer ago than
	// RequestsPeriod (zero: never).
	Requests       Requests
	Archives       Archives
	RequestsPeriod period.Period
	// Ledger pseudonymises the subjects whose last recorded choice is older
	// than LedgerProof (zero: never).
	Ledger      Ledger
	LedgerProof period.Period
	// Erasures, when set, records each subject the ledger pseudonymises in
	// the erasure journal (erasure.Journal). When the journal cannot be
	// written the ledger's part of the run stops and fails: the subject
	// already pseudonymised is not journaled, which a restore survives,
	// since the next run after it pseudonymises the still-dormant subject
	// again.
	Erasures erasure.Recorder
	// Batch is the most rows one statement changes in a connected system
	// (connector.DefaultRetainBatch when 0).
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Service enforces retention and keeps legal holds.
type Service struct {
	cfg   Config
	db    *db.DB
	audit *audit.Log
	now   func() time.Time
	log   *slog.Logger
}

// New returns the retention service of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil {
		return nil, errors.New("retention: a store and an audit log are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, db: cfg.DB, audit: cfg.Audit, now: cfg.Now, log: cfg.Logger}, nil
}
