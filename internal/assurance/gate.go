package assurance

import (
	"context"

	"github.com/steward-dev/steward/internal/consent"
)

// Gate is the decision engine's vendor gate; *consent.Service is one.
type Gate interface {
	RefreshAssessedVendors(ctx context.Context) error
}

var _ Gate = (*consent.Service)(nil)

// AssessedVendors returns, for each vendor whose approval counts (the
// latest passing approval, not withdrawn since), until when it holds and
// the scope it covers: the consent service's AssessmentSource. The consent
// service closes a vendor past its Until, or whose catalog entry grew
// beyond the scope, by itself, so that expiry needs no job to take effect.
// It is one query, whatever the number of vendors.
func (s *Service) AssessedVendors(ctx context.Context) (map[string]consent.VendorAssessment, error) {
	reviewed, err := s.listAssessments(ctx, `SELECT `+assessmentColumns+` FROM vendor_assessments
		WHERE reviewed_at IS NOT NULL AND state IN ($1, $2) ORDER BY vendor_key, id`, string(StateApproved), string(StateRevoked))
	if err != nil {
		return nil, err
	}
	byVendor := map[string][]Assessment{}
	for _, a := range reviewed {
		byVendor[a.VendorKey] = append(byVendor[a.VendorKey], a)
	}
	out := make(map[string]consent.VendorAssessment, len(byVendor))
	for key, history := range byVendor {
		if a := latestApproval(history); a != nil {
			out[key] = consent.VendorAssessment{Until: *a.ValidUntil, Purposes: a.Scope.Purposes, Categories: a.Scope.DataCategories}
		}
	}
	return out, nil
}

// refreshGate tells the gate of a sign-off or withdrawal just committed.
// A failure is logged, not returned: the change stands, and every replica
// re-reads the assessments within ten seconds.
func (s *Service) refreshGate(ctx context.Context) {
	if s.gate == nil {
		return
	}
	if err := s.gate.RefreshAssessedVendors(ctx); err != nil {
		s.log.Warn("refresh the vendor gate", "err", err)
	}
}
