package consent

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// VendorAssessment is what the vendor gate knows of a vendor's current
// passing security assessment (package assurance decides what passes): until
// when it holds and what it covers.
type VendorAssessment struct {
	Until      time.Time
	Purposes   []string
	Categories []string
}

// AssessmentSource returns the vendors with a current passing security
// assessment; package assurance provides one (Service.AssessedVendors).
type AssessmentSource func(ctx context.Context) (map[string]VendorAssessment, error)

// gateRefreshEvery is how often a replica re-reads the assessments from
// its AssessmentSource, for the sign-offs and withdrawals made on other
// replicas (the replica that made one pushes it at once).
const gateRefreshEvery = 10 * time.Second

// vendorGate holds the vendors that may receive data: those with a current
// passing assessment whose scope still covers every purpose and data
// category the catalog gives them. Decisions read one immutable snapshot;
// writers rebuild it whole. Until a first push, no vendor is assessed: the
// gate is closed by default.
type vendorGate struct {
	mu          sync.Mutex // serialises rebuilds
	assessed    map[string]VendorAssessment
	source      AssessmentSource
	refreshedAt time.Time
	snapshot    atomic.Pointer[gateSnapshot]
}

// gateSnapshot is the end of each open vendor's assessment, Unix
// microseconds: by the index's vendor number (stable for the process), so
// that a decision reads it without hashing the key, and by key. A vendor
// without an entry (or 0) is not assessed.
type gateSnapshot struct {
	byID  []int64
	byKey map[string]int64
}

// rebuild computes the snapshot from the last assessments pushed and the
// catalog cat. The caller holds g.mu.
func (g *vendorGate) rebuild(cat *catalog) {
	snap := &gateSnapshot{byKey: make(map[string]int64, len(g.assessed))}
	for key, a := range g.assessed {
		v, ok := cat.vendors[key]
		if !ok || !scopeCovers(a.Purposes, v.Purposes) || !scopeCovers(a.Categories, v.DataCategories) {
			continue
		}
		until := a.Until.UnixMicro()
		snap.byKey[key] = until
		for int(v.id) >= len(snap.byID) {
			snap.byID = append(snap.byID, 0)
		}
		snap.byID[v.id] = until
	}
	g.snapshot.Store(snap)
}

// scopeCovers reports whether every value of want is in scope.
func scopeCovers(scope, want []string) bool {
	for _, w := range want {
		if !slices.Contains(scope, w) {
			return false
		}
	}
	return true
}

// open reports whether vendor may receive data at nowMicros.
func (g *vendorGate) open(vendor string, nowMicros int64) bool {
	snap := g.snapshot.Load()
	if snap == nil {
		return false
	}
	until, ok := snap.byKey[vendor]
	return ok && nowMicros < until
}

// SetAssessedVendors replaces the vendors with a current passing security
// assessment; package assurance pushes them at start, at every sign-off and
// withdrawal. Decisions naming any other vendor answer
// ReasonVendorNotAssessed, as do those naming a vendor past its Until or
// whose catalog entry grew beyond what the assessment covered.
func (s *Service) SetAssessedVendors(assessed map[string]VendorAssessment) {
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	s.gate.assessed = assessed
	s.gate.rebuild(s.catalog.load())
}

// SetAssessmentSource sets where this replica reads the assessments from,
// reads them now, and re-reads them every ten seconds as it follows the
// ledger (other replicas' sign-offs).
func (s *Service) SetAssessmentSource(ctx context.Context, source AssessmentSource) error {
	s.gate.mu.Lock()
	s.gate.source = source
	s.gate.mu.Unlock()
	return s.RefreshAssessedVendors(ctx)
}

// RefreshAssessedVendors reads the assessments from the source set with
// SetAssessmentSource (none: nothing to do).
func (s *Service) RefreshAssessedVendors(ctx context.Context) error {
	s.gate.mu.Lock()
	source := s.gate.source
	s.gate.mu.Unlock()
	if source == nil {
		return nil
	}
	assessed, err := source(ctx)
	if err != nil {
		return err
	}
	s.gate.mu.Lock()
	s.gate.refreshedAt = s.now()
	s.gate.mu.Unlock()
	s.SetAssessedVendors(assessed)
	return nil
}

// refreshGateIfDue re-reads the assessments when the last read is older
// than gateRefreshEvery.
func (s *Service) refreshGateIfDue(ctx context.Context) error {
	s.gate.mu.Lock()
	due := s.gate.source != nil && s.now().Sub(s.gate.refreshedAt) >= gateRefreshEvery
	s.gate.mu.Unlock()
	if !due {
		return nil
	}
	return s.RefreshAssessedVendors(ctx)
}

// rebuildGate applies a new catalog to the gate: a vendor whose purposes or
// categories grew beyond its assessment is closed at once.
func (s *Service) rebuildGate() {
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	s.gate.rebuild(s.catalog.load())
}

// VendorAssessed reports whether a vendor may receive data now: a current
// passing security assessment covers what the catalog gives it. The banner
// offers, and decisions allow, only such vendors.
func (s *Service) VendorAssessed(key string) bool {
	return s.gate.open(key, s.now().UnixMicro())
}

// VendorAssessmentOf returns the assessment last pushed for a vendor, with
// its scope, whether or not it still covers the vendor or holds now; ok is
// false when the vendor has none that counts. Disclosures check a data
// category against its scope.
func (s *Service) VendorAssessmentOf(key string) (a VendorAssessment, ok bool) {
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	a, ok = s.gate.assessed[key]
	return a, ok
}

// AssessedFingerprint changes whenever the set of vendors that may
// receive data, or of purposes data may be used for, changes now, by a
// push or by an approval running out: the banner caches its configuration
// under it.
func (s *Service) AssessedFingerprint() uint64 {
	now := s.now().UnixMicro()
	sum := s.purposesFingerprint(now)
	snap := s.gate.snapshot.Load()
	if snap == nil {
		return sum
	}
	for key, until := range snap.byKey {
		if now < until {
			sum += fnv64(key) // order-independent
		}
	}
	return sum
}

// fnv64 is FNV-1a of s.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
