package drift

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
)

// Catalog is the data map's vocabulary of categories (*consent.Service).
type Catalog interface {
	Categories() []consent.Category
}

var _ Catalog = (*consent.Service)(nil)

// Config holds what the service needs.
type Config struct {
	DB *db.DB
	// Audit records each officer's decision in its transaction.
	Audit audit.Recorder
	// Events, when set, receives inventory.drift for each new finding, in
	// the transaction that records it.
	Events outbox.Emitter
	// Catalog offers the categories an officer may declare.
	Catalog Catalog
	// Systems are the connected SQL databases the daily scan looks at,
	// with Getenv reading their connection strings.
	Systems []*connector.Dataset
	Getenv  func(string) string
	// Sample lets the daily scan read a sample of values (SampleRows per
	// text column whose name says nothing); values are never kept.
	Sample bool
	Now    func() time.Time
	Log    *slog.Logger
}

// Service keeps the findings of drift scans and the officers' decisions.
type Service struct {
	db      *db.DB
	audit   audit.Recorder
	events  outbox.Emitter
	catalog Catalog
	systems []*connector.Dataset
	getenv  func(string) string
	sample  bool
	now     func() time.Time
	log     *slog.Logger
}

// New returns the drift service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil || cfg.Catalog == nil {
		return nil, errors.New("drift: New needs a DB, an audit Recorder and a Catalog")
	}
	s := &Service{db: cfg.DB, audit: cfg.Audit, events: cfg.Events, catalog: cfg.Catalog, systems: cfg.Systems,
		getenv: cfg.Getenv, sample: cfg.Sample, now: cfg.Now, log: cfg.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.getenv == nil {
		s.getenv = func(string) string { return "" }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Categories are the categories an officer may declare a column as: the
// data map's, as far as a dataset file accepts them.
func (s *Service) Categories() []consent.Category {
	var out []consent.Category
	for _, c := range s.catalog.Categories() {
		if slices.Contains(connector.Categories, c.Key) {
			out = append(out, c)
		}
	}
	return out
}

// Dataset returns the dataset file of a system, or nil when Steward has
// none of that name (any more).
func (s *Service) Dataset(system string) *connector.Dataset {
	for _, ds := range s.systems {
		if ds.Name == system {
			return ds
		}
	}
	return nil
}

// ScanAll scans every connected SQL system and records what it finds. A
// system that cannot be reached is reported in the error and the others
// are still scanned.
func (s *Service) ScanAll(ctx context.Context) error {
	var failed []error
	for _, ds := range s.systems {
		if err := s.scanOne(ctx, ds); err != nil {
			failed = append(failed, fmt.Errorf("drift: system %s: %w", ds.Name, err))
		}
	}
	return errors.Join(failed...)
}

func (s *Service) scanOne(ctx context.Context, ds *connector.Dataset) error {
	conn, err := connector.Open(ctx, ds, s.getenv)
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := Scan(ctx, conn, ScanOptions{Sample: s.sample, Now: s.now})
	if err != nil {
		return err
	}
	rec, err := s.Record(ctx, res)
	if err != nil {
		return err
	}
	// Counts only: a finding names a column, which the console shows to
	// those allowed to see it.
	s.log.Info("drift scan", "system", ds.Name, "new", rec.New, "open", rec.Open, "closed", rec.Closed, "unsampled", res.Unsampled)
	return nil
}

// newID returns prefix and 96 random bits, base64url.
func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("drift: no randomness: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// notFound is the error for an unknown finding.
func notFound(id string) error { return errs.NotFound("finding", id) }
