package inventory

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// Catalog is the consent catalog's vocabulary, purposes and vendors
// (consent.Service).
type Catalog interface {
	Categories() []consent.Category
	Purposes() []consent.Purpose
	Vendors() []consent.Vendor
}

// VaultCounter counts the vault's fields without reading a value
// (vault.Vault).
type VaultCounter interface {
	FieldCounts(ctx context.Context) ([]vault.FieldCount, error)
}

// Config holds what a Service needs.
type Config struct {
	DB      *db.DB
	Audit   audit.Recorder
	Catalog Catalog
	// Datasets and HTTP are the connected systems' dataset files.
	Datasets []*connector.Dataset
	HTTP     []*httpsystem.Dataset
	// Vault counts its fields by name and category (vault.Vault); nil
	// shows the vault empty.
	Vault      VaultCounter
	Controller Controller
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service builds the map and the record from the live catalog and keeps
// the officers' facts.
type Service struct{ cfg Config }

// New returns the Service of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil || cfg.Catalog == nil {
		return nil, errors.New("inventory: New needs DB, Audit and Catalog")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Map builds the data map from the catalog, the dataset files, the vault's
// counts and the stored facts.
func (s *Service) Map(ctx context.Context) (Map, error) {
	facts, err := readFacts(ctx, s.cfg.DB)
	if err != nil {
		return Map{}, err
	}
	var fields []VaultField
	if s.cfg.Vault != nil {
		counts, err := s.cfg.Vault.FieldCounts(ctx)
		if err != nil {
			return Map{}, err
		}
		for _, c := range counts {
			fields = append(fields, VaultField{Name: c.Name, Category: c.Category, Count: c.Count})
		}
	}
	return Build(Inputs{Categories: s.cfg.Catalog.Categories(), Purposes: s.cfg.Catalog.Purposes(), Vendors: s.cfg.Catalog.Vendors(),
		Datasets: s.cfg.Datasets, HTTP: s.cfg.HTTP, Vault: fields, Facts: facts}), nil
}

// ROPA builds the record of processing as of now.
func (s *Service) ROPA(ctx context.Context) (ROPA, error) {
	m, err := s.Map(ctx)
	if err != nil {
		return ROPA{}, err
	}
	return s.ROPAOf(m), nil
}

// ROPAOf is the record of processing of a map already built (the console
// shows both), with the service's controller and clock.
func (s *Service) ROPAOf(m Map) ROPA { return BuildROPA(m, s.cfg.Controller, s.cfg.Now()) }

// System returns one system of the map.
func (s *Service) System(ctx context.Context, key string) (System, error) {
	m, err := s.Map(ctx)
	if err != nil {
		return System{}, err
	}
	i := slices.IndexFunc(m.Systems, func(sys System) bool { return sys.Key == key })
	if i < 0 {
		return System{}, errs.NotFound("system", key)
	}
	return m.Systems[i], nil
}

// known reports whether key names a system the map shows.
func (s *Service) known(key string) bool {
	if key == SystemVault || key == SystemLedger || key == SystemArchives {
		return true
	}
	return slices.ContainsFunc(s.cfg.Datasets, func(d *connector.Dataset) bool { return d.Name == key }) ||
		slices.ContainsFunc(s.cfg.HTTP, func(d *httpsystem.Dataset) bool { return d.Name == key })
}

// PutFacts replaces what officers wrote about system key, recording who
// (the context's audit actor) and when, and auditing which fields changed.
// Facts of an unknown system are refused (not found); invalid facts name
// their fields.
func (s *Service) PutFacts(ctx context.Context, key string, f Facts) (Facts, error) {
	if !s.known(key) {
		return Facts{}, errs.NotFound("system", key)
	}
	f = f.normalise()
	if problems := f.Validate(); problems != nil {
		return f, errs.FieldsKeyed(problems)
	}
	all, err := readFacts(ctx, s.cfg.DB)
	if err != nil {
		return f, err
	}
	before := all[key]
	var changed []string
	for _, c := range []struct {
		name          string
		before, after string
	}{{"owner", before.Owner, f.Owner}, {"location", before.Location, f.Location}, {"description", before.Description, f.Description},
		{"security_measures", before.SecurityMeasures, f.SecurityMeasures}} {
		if c.before != c.after {
			changed = append(changed, c.name)
		}
	}
	if len(changed) == 0 {
		return before, nil
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	f.UpdatedAt, f.UpdatedBy = &now, audit.ActorFrom(ctx).String()
	if err := writeFacts(ctx, s.cfg.Audit, key, f, changed); err != nil {
		return f, err
	}
	return f, nil
}
