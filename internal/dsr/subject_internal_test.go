package dsr

import (
	"testing"

	"github.com/steward-dev/steward/internal/errs"
)

// TestSubjectProblemIsTheCatalogs: Prepare words a bad subject id with
// subjectProblem, AttachSubject with the catalog's error.subject_id; the
// API must say the same either way.
func TestSubjectProblemIsTheCatalogs(t *testing.T) {
	if got := (errs.Problem{Key: "subject_id"}).English(); got != subjectProblem {
		t.Errorf("error.subject_id is %q, subjectProblem %q", got, subjectProblem)
	}
}
