package consent

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// PurposeAssessment is what the purpose gate knows of a purpose's ethics
// assessment (package ethics decides what counts): until when it holds and
// what it was approved for.
type PurposeAssessment struct {
	Until time.Time
	// Grace marks the period an upgrade gives a purpose that existed
	// before assessments did: it holds until Until, whatever the scope.
	Grace bool
	// LegalBasis, Vendors and Categories are the scope approved: a purpose
	// whose basis changed, or whose vendors or data categories grew beyond
	// these, is closed until approved again.
	LegalBasis LegalBasis
	Vendors    []string
	Categories []string
}

// PurposeAssessmentSource returns the purposes with an ethics assessment
// that counts; package ethics provides one (Service.AssessedPurposes).
type PurposeAssessmentSource func(ctx context.Context) (map[string]PurposeAssessment, error)

// NeedsAssessment reports whether a purpose needs an approved ethics
// assessment before data is used for it: every purpose but those the
// decisions and the banner treat as necessary (the necessary flag, a
// contract or a legal obligation).
func (p *Purpose) NeedsAssessment() bool {
	return !p.Necessary && p.LegalBasis != BasisContract && p.LegalBasis != BasisLegalObligation
}

// purposeGate holds the purposes data may be used for: those that need no
// assessment, and those whose assessment holds and whose scope still
// covers what the catalog gives them. Decisions read one immutable
// snapshot; writers rebuild it whole. Until a first push, no purpose that
// needs an assessment has one: the gate is closed by default.
type purposeGate struct {
	mu          sync.Mutex // serialises rebuilds
	assessed    map[string]PurposeAssessment
	source      PurposeAssessmentSource
	refreshedAt time.Time
	snapshot    atomic.Pointer[gateSnapshot]
}

// alwaysOpen is the end of the gate of a purpose that needs no assessment.
const alwaysOpen = math.MaxInt64

// rebuild computes the snapshot from the last assessments pushed and the
// catalog cat. The caller holds g.mu.
func (g *purposeGate) rebuild(cat *catalog) {
	snap := &gateSnapshot{byKey: make(map[string]int64, len(cat.purposes))}
	for key, p := range cat.purposes {
		until := int64(0)
		if !p.NeedsAssessment() {
			until = alwaysOpen
		} else if a, ok := g.assessed[key]; ok && (a.Grace || a.covers(cat, &p.Purpose)) {
			until = a.Until.UnixMicro()
		}
		if until == 0 {
			continue
		}
		snap.byKey[key] = until
		for int(p.id) >= len(snap.byID) {
			snap.byID = append(snap.byID, 0)
		}
		snap.byID[p.id] = until
	}
	g.snapshot.Store(snap)
}

// covers reports whether an approval still covers purpose p as the catalog
// gives it now.
func (a *PurposeAssessment) covers(cat *catalog, p *Purpose) bool {
	vendors, categories := cat.purposeScope(p.Key)
	return a.LegalBasis == p.LegalBasis && scopeCovers(a.Vendors, vendors) && scopeCovers(a.Categories, categories)
}

// purposeScope returns the vendors declared for a purpose and the data
// categories they declare, sorted: what an assessment of the purpose covers.
func (c *catalog) purposeScope(key string) (vendors, categories []string) {
	vendors, categories = []string{}, []string{}
	for _, v := range c.vendors {
		if _, ok := v.purposes[key]; !ok {
			continue
		}
		vendors = append(vendors, v.Key)
		for _, cat := range v.DataCategories {
			if !slices.Contains(categories, cat) {
				categories = append(categories, cat)
			}
		}
	}
	slices.Sort(vendors)
	slices.Sort(categories)
	return vendors, categories
}

// PurposeScope returns what an ethics assessment of a purpose covers: the
// vendors the catalog declares for it and the data categories they
// declare, sorted.
func (s *Service) PurposeScope(key string) (vendors, categories []string, err error) {
	cat := s.catalog.load()
	if _, ok := cat.purposes[key]; !ok {
		return nil, nil, errs.NotFound("purpose", key)
	}
	vendors, categories = cat.purposeScope(key)
	return vendors, categories, nil
}

// SetAssessedPurposes replaces the purposes with an ethics assessment that
// counts; package ethics pushes them at start and at every approval.
// Decisions for any other purpose that needs one answer
// ReasonPurposeNotAssessed, as do those for a purpose past its Until or
// whose basis, vendors or categories changed beyond what was approved; the
// banner does not offer them.
func (s *Service) SetAssessedPurposes(assessed map[string]PurposeAssessment) {
	s.purposes.mu.Lock()
	defer s.purposes.mu.Unlock()
	s.purposes.assessed = assessed
	s.purposes.rebuild(s.catalog.load())
}

// SetPurposeAssessmentSource sets where this replica reads the purposes'
// assessments from, reads them now, and re-reads them every ten seconds as
// it follows the ledger (other replicas' approvals).
func (s *Service) SetPurposeAssessmentSource(ctx context.Context, source PurposeAssessmentSource) error {
	s.purposes.mu.Lock()
	s.purposes.source = source
	s.purposes.mu.Unlock()
	return s.RefreshAssessedPurposes(ctx)
}

// RefreshAssessedPurposes reads the assessments from the source set with
// SetPurposeAssessmentSource (none: nothing to do).
func (s *Service) RefreshAssessedPurposes(ctx context.Context) error {
	s.purposes.mu.Lock()
	source := s.purposes.source
	s.purposes.mu.Unlock()
	if source == nil {
		return nil
	}
	assessed, err := source(ctx)
	if err != nil {
		return err
	}
	s.purposes.mu.Lock()
	s.purposes.refreshedAt = s.now()
	s.purposes.mu.Unlock()
	s.SetAssessedPurposes(assessed)
	return nil
}

// refreshPurposeGateIfDue re-reads the assessments when the last read is
// older than gateRefreshEvery.
func (s *Service) refreshPurposeGateIfDue(ctx context.Context) error {
	s.purposes.mu.Lock()
	due := s.purposes.source != nil && s.now().Sub(s.purposes.refreshedAt) >= gateRefreshEvery
	s.purposes.mu.Unlock()
	if !due {
		return nil
	}
	return s.RefreshAssessedPurposes(ctx)
}

// rebuildPurposeGate applies a new catalog to the gate: a purpose whose
// vendors or categories grew beyond its approval is closed at once, and a
// new purpose stays closed until approved.
func (s *Service) rebuildPurposeGate() {
	s.purposes.mu.Lock()
	defer s.purposes.mu.Unlock()
	s.purposes.rebuild(s.catalog.load())
}

// PurposeAssessed reports whether data may be used for a purpose now: it
// needs no assessment, or its approval (or an upgrade's grace period)
// holds and covers what the catalog gives it. The banner offers, and
// decisions allow, only such purposes.
func (s *Service) PurposeAssessed(key string) bool {
	snap := s.purposes.snapshot.Load()
	if snap == nil {
		return false
	}
	until, ok := snap.byKey[key]
	return ok && s.now().UnixMicro() < until
}

// purposesFingerprint is the order-independent sum of the purposes open at
// now (see AssessedFingerprint).
func (s *Service) purposesFingerprint(now int64) uint64 {
	snap := s.purposes.snapshot.Load()
	if snap == nil {
		return 0
	}
	var sum uint64
	for key, until := range snap.byKey {
		if now < until {
			sum += fnv64("purpose\x00" + key)
		}
	}
	return sum
}
