package incident

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

// The audit actions of the incident register (registered in internal/audit).
const (
	ActionOpen     = "incident.open"
	ActionReport   = "incident.report"
	ActionUpdate   = "incident.update"
	ActionStatus   = "incident.status"
	ActionAssess   = "incident.assess"
	ActionNote     = "incident.note"
	ActionAffected = "incident.affected"
	ActionRemind   = "incident.remind"
)

// TargetKind is the audit target kind of an incident.
const TargetKind = "incident"

// Catalog gives the data categories and which are special (GDPR Art. 9).
type Catalog interface {
	Categories() []consent.Category
}

// EmailFinder resolves an email address to the subjects whose vault field
// "email" holds it (vault.Vault.Find).
type EmailFinder interface {
	Find(ctx context.Context, name, value string) ([]string, error)
}

// Staff lists the staff accounts, for the security officers' addresses.
type Staff interface {
	List(ctx context.Context) ([]staff.Account, error)
}

// Config are the parts of the register. DB and Audit are required.
type Config struct {
	DB    *db.DB
	Audit *audit.Log
	// Catalog marks the special categories, which raise the risk.
	Catalog Catalog
	// Emails resolves the connected systems' rows found by email; without
	// it they count as unresolved.
	Emails EmailFinder
	// Connectors are the company's SQL systems, opened with Getenv.
	Connectors []*connector.Dataset
	Getenv     func(string) string
	// Sender, Mail, Brand and ConsoleURL email the security officers (Staff
	// with the permission "incidents"); a nil Sender sends nothing.
	Sender     notify.Sender
	Mail       *notify.Templates
	Brand      notify.Brand
	ConsoleURL string
	Staff      Staff
	// Statutes are the US states' breach laws applied (DefaultStatutes when
	// nil).
	Statutes []Statute
	// Batch is how many identifiers one query reads from a connected system
	// (1000 when 0).
	Batch int
	// Notices are the parts that tell the parties (notice.go, vendors.go,
	// regulator.go); without them those parts are off.
	Notices Notices
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service keeps the incident register.
type Service struct {
	cfg   Config
	db    *db.DB
	audit *audit.Log
	now   func() time.Time
	log   *slog.Logger
}

// New returns the register of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil {
		return nil, errors.New("incident: a store and an audit log are required")
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
	if cfg.Statutes == nil {
		cfg.Statutes = DefaultStatutes()
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	return &Service{cfg: cfg, db: cfg.DB, audit: cfg.Audit, now: cfg.Now, log: cfg.Logger}, nil
}

// MailOn reports whether the officers can be emailed.
func (s *Service) MailOn() bool {
	return s.cfg.Sender != nil && s.cfg.Mail != nil && s.cfg.Staff != nil
}

// Target returns the audit target of an incident.
func Target(id string) audit.Target { return audit.Target{Kind: TargetKind, ID: id} }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newID returns prefix and 96 random bits, base64url.
func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("incident: no randomness: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
