package assurance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// Assurance tells whether a vendor may receive data now: its latest
// approval passed, has not expired, and covers every purpose and data
// category the catalog gives the vendor today. Anything else answers
// Passing false with the reason; disclosures then block with it. An
// unknown vendor is not an error (Status StatusUnknownVendor); an error
// means the answer could not be had, and the caller must block as well.
func (s *Service) Assurance(ctx context.Context, vendorKey string) (Assurance, error) {
	out := Assurance{VendorKey: vendorKey}
	v, err := s.catalog.Vendor(vendorKey)
	if errs.Is(err, errs.CodeNotFound) {
		out.Status, out.Reason = StatusUnknownVendor, fmt.Sprintf("vendor %q is not in the catalog", vendorKey)
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("read vendor: %w", err)
	}
	history, err := s.History(ctx, vendorKey)
	if err != nil {
		return out, err
	}
	now := s.now()
	approved := latestApproval(history)
	if approved == nil {
		out.Status, out.Reason = withoutApproval(history, now)
		if len(history) > 0 {
			out.AssessmentID = history[0].ID
		}
		return out, nil
	}
	out.AssessmentID, out.ValidUntil = approved.ID, approved.ValidUntil
	purposes := missing(v.Purposes, approved.Scope.Purposes)
	categories := missing(v.DataCategories, approved.Scope.DataCategories)
	var why []string
	switch {
	case !now.Before(*approved.ValidUntil):
		out.Status = StatusExpired
		why = append(why, fmt.Sprintf("assessment %s expired on %s", approved.ID, day(*approved.ValidUntil)))
	case len(purposes) > 0:
		out.Status = StatusPurposesGrew
	case len(categories) > 0:
		out.Status = StatusCategoriesGrew
	default:
		out.Passing, out.Status = true, StatusCurrent
		out.Reason = fmt.Sprintf("assessment %s approved on %s, valid until %s", approved.ID, day(*approved.ReviewedAt), day(*approved.ValidUntil))
		return out, nil
	}
	if len(purposes) > 0 {
		why = append(why, "purposes grew since the assessment: "+strings.Join(purposes, ", "))
	}
	if len(categories) > 0 {
		why = append(why, "data categories grew since the assessment: "+strings.Join(categories, ", "))
	}
	out.Grown = append(purposes, categories...)
	if next := history[0]; next.ID != approved.ID && next.SentAt.After(approved.SentAt) {
		switch {
		case next.State == StateSubmitted:
			why = append(why, fmt.Sprintf("a new assessment (%s) awaits review", next.ID))
		case next.LinkOpen(now):
			why = append(why, fmt.Sprintf("a new assessment (%s) was sent on %s", next.ID, day(next.SentAt)))
		}
	}
	out.Reason = strings.Join(why, "; ")
	return out, nil
}

// latestApproval returns the approval that counts: the latest passing
// approval by sign-off time, unless it was withdrawn since (a withdrawn
// approval does not let an older one count again). Nil: none.
func latestApproval(history []Assessment) *Assessment {
	var latest *Assessment
	for i, a := range history {
		approval := a.State == StateApproved && a.Passed() && a.ValidUntil != nil
		withdrawn := a.State == StateRevoked && a.ReviewedAt != nil
		if (approval || withdrawn) && (latest == nil || a.ReviewedAt.After(*latest.ReviewedAt)) {
			latest = &history[i]
		}
	}
	if latest == nil || latest.State != StateApproved {
		return nil
	}
	return latest
}

// withoutApproval explains a vendor without a passing approval from its
// latest assessment (history is newest first).
func withoutApproval(history []Assessment, now time.Time) (Status, string) {
	if len(history) == 0 {
		return StatusNone, "no assessment"
	}
	a := history[0]
	switch a.State {
	case StateSent:
		if a.LinkOpen(now) {
			return StatusPending, fmt.Sprintf("assessment %s sent on %s is not yet submitted", a.ID, day(a.SentAt))
		}
		return StatusLinkExpired, fmt.Sprintf("assessment %s sent on %s was not submitted before its link expired on %s",
			a.ID, day(a.SentAt), day(a.LinkExpiresAt))
	case StateSubmitted:
		return StatusAwaitingReview, fmt.Sprintf("assessment %s submitted on %s awaits review", a.ID, day(*a.SubmittedAt))
	case StateRevoked:
		return StatusRevoked, fmt.Sprintf("assessment %s was withdrawn on %s", a.ID, day(*a.RevokedAt))
	case StateRejected:
		return StatusRejected, fmt.Sprintf("assessment %s was rejected on %s", a.ID, day(*a.ReviewedAt))
	}
	// An approval whose answers did not pass: Review refuses to make one,
	// so it can only come from outside this package. It does not count.
	return StatusRejected, fmt.Sprintf("assessment %s is approved but its answers did not pass", a.ID)
}

// missing returns the values of current not in covered, sorted.
func missing(current, covered []string) []string {
	var out []string
	for _, c := range sortedSet(current) {
		if !slices.Contains(covered, c) {
			out = append(out, c)
		}
	}
	return out
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Assured is Assurance in the shape disclosures take
// (disclosure.Config.Assurance): whether the vendor may receive data now,
// and the reason either way.
func (s *Service) Assured(ctx context.Context, vendorKey string) (passing bool, reason string, err error) {
	a, err := s.Assurance(ctx, vendorKey)
	if err != nil {
		return false, "", err
	}
	return a.Passing, a.Reason, nil
}
