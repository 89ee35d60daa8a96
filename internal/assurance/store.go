package assurance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// docIDPattern is a document id a vendor may give instead of a link.
var docIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,199}$`)

// schemePattern finds what a browser would read as a link's scheme
// (javascript:, http:): a document id must not start like one.
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// actorOf parses an actor stored as "kind:id" (Actor.String).
func actorOf(s string) audit.Actor {
	kind, id, _ := strings.Cut(s, ":")
	return audit.Actor{Kind: kind, ID: id}
}

const assessmentColumns = `id, vendor_key, template_key, template_version, state, scope_purposes, scope_categories, pass_mark,
	sent_at, sent_by, link_expires_at, answers_version, last_saved_at, submitted_at, score_earned, score_possible, passed,
	failed, must_pass_failed, reviewed_at, reviewed_by, review_comments, valid_until, revoked_at, revoke_reason,
	updated_at, version`

func scanAssessment(scan func(...any) error) (Assessment, error) {
	var a Assessment
	var purposes, categories, sentBy, failed, mustPassFailed, reviewedBy string
	var sent, linkExpires, updated int64
	var earned, possible int
	var passed bool
	var saved, submitted, reviewed, validUntil, revoked sql.NullInt64
	err := scan(&a.ID, &a.VendorKey, &a.TemplateKey, &a.TemplateVersion, &a.State, &purposes, &categories, &a.PassMark,
		&sent, &sentBy, &linkExpires, &a.AnswersVersion, &saved, &submitted, &earned, &possible, &passed,
		&failed, &mustPassFailed, &reviewed, &reviewedBy, &a.ReviewComments, &validUntil, &revoked, &a.RevokeReason,
		&updated, &a.Version)
	if err != nil {
		return Assessment{}, err
	}
	if err := errors.Join(json.Unmarshal([]byte(purposes), &a.Scope.Purposes),
		json.Unmarshal([]byte(categories), &a.Scope.DataCategories)); err != nil {
		return Assessment{}, fmt.Errorf("read assessment %s scope: %w", a.ID, err)
	}
	a.SentAt, a.LinkExpiresAt, a.UpdatedAt = time.UnixMicro(sent).UTC(), time.UnixMicro(linkExpires).UTC(), time.UnixMicro(updated).UTC()
	a.SentBy = actorOf(sentBy)
	a.LastSavedAt, a.SubmittedAt, a.ReviewedAt = db.OptTime(saved), db.OptTime(submitted), db.OptTime(reviewed)
	a.ValidUntil, a.RevokedAt = db.OptTime(validUntil), db.OptTime(revoked)
	if a.ReviewedAt != nil {
		a.ReviewedBy = actorOf(reviewedBy)
	}
	if a.SubmittedAt != nil {
		sc := &Score{Earned: earned, Possible: possible, PassMark: a.PassMark, Passed: passed}
		if possible > 0 {
			sc.Percent = earned * 100 / possible
		}
		if err := errors.Join(json.Unmarshal([]byte(failed), &sc.Failed), json.Unmarshal([]byte(mustPassFailed), &sc.MustPassFailed)); err != nil {
			return Assessment{}, fmt.Errorf("read assessment %s score: %w", a.ID, err)
		}
		a.Score = sc
	}
	return a, nil
}

func getAssessment(ctx context.Context, q db.Querier, id, lock string) (Assessment, error) {
	a, err := scanAssessment(q.QueryRowContext(ctx, `SELECT `+assessmentColumns+` FROM vendor_assessments WHERE id = $1`+lock, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Assessment{}, errs.NotFound("assessment", id)
	}
	if err != nil {
		return Assessment{}, db.Classify(fmt.Errorf("read assessment: %w", err))
	}
	return a, nil
}

func (s *Service) listAssessments(ctx context.Context, query string, args ...any) ([]Assessment, error) {
	out, err := db.QueryAll(ctx, s.db, query, args, scanAssessment)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list assessments: %w", err))
	}
	return out, nil
}

// Get returns an assessment, for staff.
func (s *Service) Get(ctx context.Context, id string) (Assessment, error) {
	return getAssessment(ctx, s.db, id, "")
}

// History returns a vendor's assessments, newest first.
func (s *Service) History(ctx context.Context, vendorKey string) ([]Assessment, error) {
	return s.listAssessments(ctx, `SELECT `+assessmentColumns+` FROM vendor_assessments WHERE vendor_key = $1
		ORDER BY sent_at DESC, id DESC`, vendorKey)
}

func scanAnswers(id string, scan func(...any) error) (Answers, error) {
	out := Answers{AssessmentID: id}
	var saved int64
	var values string
	if err := scan(&out.Version, &saved, &values, &out.Submitted); err != nil {
		return Answers{}, err
	}
	if err := json.Unmarshal([]byte(values), &out.Values); err != nil {
		return Answers{}, fmt.Errorf("read answers of %s: %w", id, err)
	}
	out.SavedAt = time.UnixMicro(saved).UTC()
	return out, nil
}

// latestAnswers returns the latest saved answers of an assessment: version
// 0 and no values when nothing was saved.
func latestAnswers(ctx context.Context, q db.Querier, id string) (Answers, error) {
	a, err := scanAnswers(id, q.QueryRowContext(ctx, `SELECT version, saved_at, answers, submitted FROM vendor_answers
		WHERE assessment_id = $1 ORDER BY version DESC LIMIT 1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Answers{AssessmentID: id, Values: map[string]string{}}, nil
	}
	if err != nil {
		return Answers{}, db.Classify(fmt.Errorf("read answers: %w", err))
	}
	return a, nil
}

// AnswerHistory returns every saved version of an assessment's answers,
// oldest first.
func (s *Service) AnswerHistory(ctx context.Context, id string) ([]Answers, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	out, err := db.QueryAll(ctx, s.db, `SELECT version, saved_at, answers, submitted FROM vendor_answers
		WHERE assessment_id = $1 ORDER BY version`, []any{id}, func(scan func(...any) error) (Answers, error) {
		return scanAnswers(id, scan)
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read answers: %w", err))
	}
	return out, nil
}

// Detail returns an assessment with its template version, its latest
// answers and each question's result, for the security officer's review.
func (s *Service) Detail(ctx context.Context, id string) (Detail, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	t, err := templateVersion(ctx, s.db, a.TemplateKey, a.TemplateVersion)
	if err != nil {
		return Detail{}, err
	}
	answers, err := latestAnswers(ctx, s.db, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Assessment: a, Template: t, Answers: answers, Results: make([]Result, len(t.Questions))}
	for i, q := range t.Questions {
		d.Results[i] = Result{Question: q, Answer: answers.Values[q.ID], Passed: q.Passes(answers.Values[q.ID])}
	}
	return d, nil
}

// Expiring returns the approvals that end within the given time of now
// (or have ended), one per vendor: its latest approval, whose end is what
// counts. The job that sends the vendor.assessment_expired webhook and
// reminds security officers to re-assess calls it; it is sorted by the
// end of validity, soonest first.
func (s *Service) Expiring(ctx context.Context, within time.Duration) ([]Assessment, error) {
	if within < 0 {
		return nil, errs.Invalid("within", "must not be negative")
	}
	approved, err := s.listAssessments(ctx, `SELECT `+assessmentColumns+` FROM vendor_assessments WHERE state = $1
		ORDER BY vendor_key, reviewed_at DESC, id DESC`, string(StateApproved))
	if err != nil {
		return nil, err
	}
	horizon := s.now().Add(within)
	out := []Assessment{}
	for i, a := range approved {
		if i > 0 && approved[i-1].VendorKey == a.VendorKey {
			continue // superseded by a later approval
		}
		if a.ValidUntil != nil && !a.ValidUntil.After(horizon) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b Assessment) int { return a.ValidUntil.Compare(*b.ValidUntil) })
	return out, nil
}
