// Trackers as drift: a cookie, storage entry, request, script or frame a
// website scan (package scanner) found that the company does not declare
// is personal data leaving by a way the inventory does not know, as an
// undeclared column is. TrackerResult turns a scan's report into a Result
// of the site's own "system", so that Record keeps such trackers as
// findings with the columns' lifecycle: one finding per tracker however
// many scans see it, closed when a later scan no longer sees it
// (ClosedColumnGone) or sees it declared (ClosedDeclaredInFile), reopened
// when it comes back undeclared, dismissed for good by an officer.

package drift

import (
	"context"
	"strings"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/scanner"
)

// ByTracker is the evidence of a tracker finding: a website scan saw it.
const ByTracker Evidence = "tracker"

// trackerSystemPrefix names a property's website as a system of drift
// findings: "site:shop". A dataset name cannot hold ':', so it never
// meets a connected system.
const trackerSystemPrefix = "site:"

// TrackerSystem is the system name of property's tracker findings.
func TrackerSystem(property string) string { return trackerSystemPrefix + property }

// Tracker reports whether f is an undeclared tracker of a website (kind
// tracker) rather than a column of a connected system; Property, Kind and
// Name then say which: f.Table holds the tracker's kind, f.Column its
// name and domain.
func (f *Finding) Tracker() bool { return f.Evidence == ByTracker }

// TrackerProperty is the property of a tracker finding.
func (f *Finding) TrackerProperty() string { return strings.TrimPrefix(f.System, trackerSystemPrefix) }

// Undeclared reports whether a tracker a scan found is one the company
// does not declare: unclassified, or known only from the Open Cookie
// Database (which says who it is, not that the company declared it). The
// banner's own, the site's own, those matching a purpose's cookie patterns
// and those an officer assigned a purpose and vendor are declared.
func Undeclared(t scanner.Tracker) bool {
	return t.Class.Source == scanner.SourceUnclassified || t.Class.Source == scanner.SourceOCD
}

// trackerColumn is a tracker's identity within its kind: name and domain.
func trackerColumn(t scanner.Tracker) string {
	if t.Domain == "" {
		return t.Name
	}
	return t.Name + " @ " + t.Domain
}

// TrackerResult is a website scan as drift: every tracker it saw is live,
// the undeclared ones are candidates (their suggested category is the
// Open Cookie Database's, if any), the others declared.
func TrackerResult(report *scanner.Report) Result {
	res := Result{System: TrackerSystem(report.Property), Live: map[ColumnRef]bool{}, Declared: map[ColumnRef]bool{}}
	for _, t := range report.Trackers {
		ref := ColumnRef{Table: string(t.Kind), Column: trackerColumn(t)}
		res.Live[ref] = true
		if !Undeclared(t) {
			res.Declared[ref] = true
			continue
		}
		res.Candidates = append(res.Candidates, Candidate{Table: ref.Table, Column: ref.Column, Evidence: ByTracker})
	}
	return res
}

// TrackerAssigner gives a tracker of a property a purpose and a vendor,
// audited (*scanner.Service): what declares a tracker.
type TrackerAssigner interface {
	Assign(ctx context.Context, actor audit.Actor, property string, kind scanner.Kind, name, domain, purpose, vendor string) error
}

var _ TrackerAssigner = (*scanner.Service)(nil)

// DeclareTracker declares an open tracker finding: assign gives the
// tracker its purpose and vendor (as the scanner's page does), and the
// finding is declared with the purpose as its category; the next scan,
// which sees the tracker assigned, closes it (ClosedDeclaredInFile). A
// finding that is not a tracker is declared with Declare.
func (s *Service) DeclareTracker(ctx context.Context, actor audit.Actor, id, purpose, vendor, note string, assign TrackerAssigner) (Finding, error) {
	f, err := s.Get(ctx, id)
	if err != nil {
		return Finding{}, err
	}
	switch {
	case !f.Tracker():
		return Finding{}, errs.Invalid("id", "not a tracker: declare the column with a data category")
	case f.State != Open:
		return Finding{}, errs.New(errs.CodeConflict, "the finding is %s already", f.State)
	}
	name, domain, _ := strings.Cut(f.Column, " @ ")
	if err := assign.Assign(ctx, actor, f.TrackerProperty(), scanner.Kind(f.Table), name, domain, purpose, vendor); err != nil {
		return Finding{}, err
	}
	return s.decide(ctx, actor, id, Declared, purpose, note, "drift.declare")
}
