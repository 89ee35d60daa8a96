package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
)

// The audit actions of the post-incident review and the public account
// (registered in internal/audit).
const (
	ActionReview       = "incident.review"
	ActionReviewAction = "incident.review_action"
	ActionActionDone   = "incident.review_action_done"
	ActionReviewRemind = "incident.review_remind"
	ActionPublish      = "incident.publish"
	ActionWithdraw     = "incident.withdraw"
)

// The timeline's kinds of the review and the public account.
const (
	ActReviewed       = "reviewed"
	ActActionAdded    = "review_action"
	ActActionDone     = "review_action_done"
	ActActionReminded = "review_action_reminder"
	ActPublished      = "published"
	ActWithdrawn      = "withdrawn"
)

// ControlAreas are the areas of security control a review can name as
// having failed, in the order the console lists them.
var ControlAreas = []string{"access_control", "logging", "encryption", "vendor", "training", "patching", "backup", "configuration", "physical"}

// The states of a review's action.
const (
	ActionStateOpen = "open"
	ActionStateDone = "done"
)

// Review is the audit after an incident: what failed, which controls, and
// the follow-up actions. An incident confirmed as a breach is not closed
// without one, nor while one of its actions is open.
type Review struct {
	IncidentID string `json:"incident_id"`
	WhatFailed string `json:"what_failed"`
	// Controls says in words which controls failed or were missing; Areas
	// are their keys among ControlAreas.
	Controls  string         `json:"controls"`
	Areas     []string       `json:"areas"`
	WrittenBy string         `json:"written_by"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	Actions   []ReviewAction `json:"actions"`
}

// Open counts the review's open actions.
func (r Review) Open() int {
	n := 0
	for _, a := range r.Actions {
		if a.State == ActionStateOpen {
			n++
		}
	}
	return n
}

// ReviewInput is what an officer writes of a review.
type ReviewInput struct {
	WhatFailed string   `json:"what_failed"`
	Controls   string   `json:"controls"`
	Areas      []string `json:"areas"`
}

// ReviewAction is a follow-up action of a review.
type ReviewAction struct {
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	Title      string `json:"title"`
	// Owner is the staff account that carries it out; Due the UTC day it
	// falls due (midnight), overdue from the day after.
	Owner     string     `json:"owner"`
	Due       time.Time  `json:"due"`
	State     string     `json:"state"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	DoneBy    string     `json:"done_by,omitempty"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
}

// Overdue reports whether the action is open past its due day at now.
func (a ReviewAction) Overdue(now time.Time) bool {
	return a.State == ActionStateOpen && !now.Before(a.Due.AddDate(0, 0, 1))
}

// ActionInput is a new follow-up action: a title, the owner's staff
// account id and the due day (YYYY-MM-DD).
type ActionInput struct {
	Title string `json:"title"`
	Owner string `json:"owner"`
	Due   string `json:"due"`
}

// MaxActions is the most follow-up actions one review holds.
const MaxActions = 100

// personalLike finds what looks like an email address in an officer's
// text: the review's and the public account's texts are about the breach,
// never about a person.
var personalLike = regexpEmail()

// checkText adds field's problem to problems, keyed: required, at most max
// characters, one line when oneLine, no control characters, no address.
func checkText(problems errs.Problems, field, s string, max int, required, oneLine bool) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		problems.Add(field, "required")
	case utf8.RuneCountInString(s) > max:
		problems.Add(field, "at_most_characters", "max", max)
	case oneLine && strings.ContainsFunc(s, unicode.IsControl):
		problems.Add(field, "one_line")
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		problems.Add(field, "no_control_characters")
	case personalLike.MatchString(s):
		problems.Add(field, "no_personal_data")
	}
}

func (in ReviewInput) check() error {
	problems := errs.Problems{}
	checkText(problems, "what_failed", in.WhatFailed, MaxText, true, false)
	checkText(problems, "controls", in.Controls, MaxText, false, false)
	if len(in.Areas) > len(ControlAreas) {
		problems.Add("areas", "at_most", "max", len(ControlAreas))
	}
	for _, a := range in.Areas {
		if !slices.Contains(ControlAreas, a) {
			problems.Add("areas", "review_area", "areas", strings.Join(ControlAreas, ", "))
			break
		}
	}
	if len(problems) > 0 {
		return errs.FieldsKeyed(problems)
	}
	return nil
}

// SaveReview writes incident id's review, or changes it, by the actor in
// ctx, audited (incident.review, naming the areas, not the text) and on
// the timeline. A closed incident's review no longer changes.
func (s *Service) SaveReview(ctx context.Context, id string, in ReviewInput) (Review, error) {
	if err := in.check(); err != nil {
		return Review{}, err
	}
	now := s.clock()
	areas := sortedUnique(in.Areas)
	if areas == nil {
		areas = []string{}
	}
	actor := audit.ActorFrom(ctx).String()
	err := s.change(ctx, id, ActionReview, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status == Closed {
			return nil, errs.New(errs.CodeConflict, "the incident is closed: it no longer changes").Keyed("incident_closed")
		}
		if cur.Status == Draft {
			return nil, errs.New(errs.CodeConflict, "a suspected incident is confirmed before it is reviewed").Keyed("review_draft")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_reviews (incident_id, what_failed, controls, areas, written_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (incident_id) DO UPDATE SET what_failed = excluded.what_failed, controls = excluded.controls, areas = excluded.areas,
			written_by = excluded.written_by, updated_at = excluded.updated_at`,
			id, strings.TrimSpace(in.WhatFailed), strings.TrimSpace(in.Controls), mustJSON(areas), actor, now.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: save review: %w", err)
		}
		return map[string]any{"areas": areas}, s.addAction(ctx, tx, id, ActReviewed, strings.Join(areas, ", "))
	})
	if err != nil {
		return Review{}, err
	}
	return s.ReviewOf(ctx, id)
}

// ReviewOf returns incident id's review with its actions, oldest first;
// not found when none is written.
func (s *Service) ReviewOf(ctx context.Context, id string) (Review, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return Review{}, err
	}
	r, err := reviewOf(ctx, s.db, id)
	return r, db.Classify(err)
}

func reviewOf(ctx context.Context, q db.Querier, id string) (Review, error) {
	var r Review
	var areas string
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT incident_id, what_failed, controls, areas, written_by, created_at, updated_at
		FROM incident_reviews WHERE incident_id = $1`, id).Scan(&r.IncidentID, &r.WhatFailed, &r.Controls, &areas, &r.WrittenBy, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Review{}, errs.New(errs.CodeNotFound, "incident %q has no review yet", id)
	}
	if err != nil {
		return Review{}, fmt.Errorf("incident: read review: %w", err)
	}
	if err := unmarshalList(areas, &r.Areas); err != nil {
		return Review{}, fmt.Errorf("incident %s: review areas: %w", id, err)
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if r.Actions, err = db.QueryAll(ctx, q, `SELECT `+actionColumns+` FROM incident_review_actions WHERE incident_id = $1 ORDER BY seq`,
		[]any{id}, scanReviewAction); err != nil {
		return Review{}, fmt.Errorf("incident: review actions: %w", err)
	}
	if r.Actions == nil {
		r.Actions = []ReviewAction{}
	}
	return r, nil
}

const actionColumns = `id, incident_id, title, owner, due_at, state, created_by, created_at, done_by, done_at`

func scanReviewAction(scan func(...any) error) (ReviewAction, error) {
	var a ReviewAction
	var due, created int64
	var done sql.NullInt64
	if err := scan(&a.ID, &a.IncidentID, &a.Title, &a.Owner, &due, &a.State, &a.CreatedBy, &created, &a.DoneBy, &done); err != nil {
		return ReviewAction{}, err
	}
	a.Due, a.CreatedAt, a.DoneAt = time.UnixMicro(due).UTC(), time.UnixMicro(created).UTC(), db.OptTime(done)
	return a, nil
}

// owner returns the enabled staff account id names.
func (s *Service) owner(ctx context.Context, id string) (staff.Account, error) {
	if s.cfg.Staff == nil {
		return staff.Account{}, errs.New(errs.CodeUnavailable, "incident: no staff directory to name an owner from")
	}
	accounts, err := s.cfg.Staff.List(ctx)
	if err != nil {
		return staff.Account{}, fmt.Errorf("incident: owners: %w", err)
	}
	i := slices.IndexFunc(accounts, func(a staff.Account) bool { return a.ID == id && !a.Disabled })
	if i < 0 {
		return staff.Account{}, errs.InvalidKeyed("owner", "review_owner")
	}
	return accounts[i], nil
}

// AddReviewAction adds a follow-up action to incident id's review, by the
// actor in ctx, audited (incident.review_action, with its owner and due
// day) and on the timeline. The review is written first; the owner is an
// enabled staff account; the due day is not in the past.
func (s *Service) AddReviewAction(ctx context.Context, id string, in ActionInput) (ReviewAction, error) {
	now := s.clock()
	problems := errs.Problems{}
	checkText(problems, "title", in.Title, MaxTitle, true, true)
	due, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(in.Due), time.UTC)
	switch {
	case err != nil:
		problems.Add("due", "review_due")
	case due.Before(now.Truncate(24 * time.Hour)):
		problems.Add("due", "review_due_past")
	}
	if strings.TrimSpace(in.Owner) == "" {
		problems.Add("owner", "review_owner")
	}
	if len(problems) > 0 {
		return ReviewAction{}, errs.FieldsKeyed(problems)
	}
	if _, err := s.owner(ctx, in.Owner); err != nil {
		return ReviewAction{}, err
	}
	a := ReviewAction{ID: newID("rva_"), IncidentID: id, Title: strings.TrimSpace(in.Title), Owner: in.Owner, Due: due, State: ActionStateOpen,
		CreatedBy: audit.ActorFrom(ctx).String(), CreatedAt: now}
	err = s.change(ctx, id, ActionReviewAction, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		if cur.Status == Closed {
			return nil, errs.New(errs.CodeConflict, "the incident is closed: it no longer changes").Keyed("incident_closed")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incident_review_actions WHERE incident_id = $1`, id).Scan(&n); err != nil {
			return nil, fmt.Errorf("incident: count review actions: %w", err)
		}
		if n >= MaxActions {
			return nil, errs.InvalidKeyed("title", "at_most", "max", MaxActions)
		}
		if _, err := reviewOf(ctx, tx, id); err != nil {
			if errs.Is(err, errs.CodeNotFound) {
				return nil, errs.New(errs.CodeConflict, "write the review before its actions").Keyed("review_first")
			}
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_review_actions (id, incident_id, seq, title, owner, due_at, state, created_by, created_at)
			SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8 FROM incident_review_actions WHERE incident_id = $2`,
			a.ID, id, a.Title, a.Owner, a.Due.UnixMicro(), a.State, a.CreatedBy, a.CreatedAt.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: add review action: %w", err)
		}
		return map[string]any{"action": a.ID, "owner": a.Owner, "due": in.Due},
			s.addAction(ctx, tx, id, ActActionAdded, a.ID+": "+a.Title+" ("+a.Owner+", "+due.Format(time.DateOnly)+")")
	})
	return a, err
}

// ReviewAction returns follow-up action actionID.
func (s *Service) ReviewAction(ctx context.Context, actionID string) (ReviewAction, error) {
	a, err := reviewAction(ctx, s.db, actionID)
	return a, db.Classify(err)
}

func reviewAction(ctx context.Context, q db.Querier, actionID string) (ReviewAction, error) {
	a, err := scanReviewAction(q.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM incident_review_actions WHERE id = $1`, actionID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewAction{}, errs.NotFound("review action", actionID)
	}
	if err != nil {
		return ReviewAction{}, fmt.Errorf("incident: read review action: %w", err)
	}
	return a, nil
}

// CompleteReviewAction marks follow-up action actionID of incident id
// done, by the actor in ctx at the clock's time, audited
// (incident.review_action_done) and on the timeline. Who may is the
// caller's to decide (the console lets the owner and the officers).
func (s *Service) CompleteReviewAction(ctx context.Context, id, actionID string) (ReviewAction, error) {
	var a ReviewAction
	err := s.change(ctx, id, ActionActionDone, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		var err error
		if a, err = reviewAction(ctx, tx, actionID); err != nil {
			return nil, err
		}
		if a.IncidentID != id {
			return nil, errs.NotFound("review action", actionID)
		}
		if a.State == ActionStateDone {
			return nil, errs.New(errs.CodeConflict, "this action is done already").Keyed("review_action_done")
		}
		now := s.clock()
		a.State, a.DoneBy, a.DoneAt = ActionStateDone, audit.ActorFrom(ctx).String(), &now
		if _, err := tx.ExecContext(ctx, `UPDATE incident_review_actions SET state = $2, done_by = $3, done_at = $4 WHERE id = $1`,
			a.ID, a.State, a.DoneBy, now.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: complete review action: %w", err)
		}
		return map[string]any{"action": a.ID}, s.addAction(ctx, tx, id, ActActionDone, a.ID+": "+a.Title)
	})
	return a, err
}

// OwnedActions returns the open follow-up actions owner carries, the
// earliest due first: what the console shows them.
func (s *Service) OwnedActions(ctx context.Context, owner string) ([]ReviewAction, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT `+actionColumns+` FROM incident_review_actions WHERE owner = $1 AND state = $2 ORDER BY due_at, id`,
		[]any{owner, ActionStateOpen}, scanReviewAction)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: owned actions: %w", err))
	}
	return out, nil
}

// readyToClose says, keyed, what incident inc lacks of its review to be
// closed: a suspected incident dismissed (a draft) needs none; any other
// needs a review and no open action.
func readyToClose(ctx context.Context, tx *sql.Tx, inc Incident) (errs.Problems, error) {
	if inc.Status == Draft {
		return nil, nil
	}
	problems := errs.Problems{}
	r, err := reviewOf(ctx, tx, inc.ID)
	switch {
	case errs.Is(err, errs.CodeNotFound):
		problems.Add("review", "close_without_review")
	case err != nil:
		return nil, err
	case r.Open() > 0:
		problems.Add("review", "close_open_actions", "n", r.Open())
	}
	return problems, nil
}
