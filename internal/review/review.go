// Package review holds the quarterly access reviews: once a calendar
// quarter an administrator goes through every enabled staff account, with
// its role, its last sign-in and its training standing, and confirms it,
// changes its role, or disables it. The review is open until every account
// in it has a decision, then it is closed. Each step is an audit entry
// (access_review.*); a role change or a disabling goes through the staff
// service, which records it too (staff.role, staff.disable) and ends the
// account's sessions.
//
//	reviews, err := review.New(review.Config{DB: store, Audit: log, Staff: accounts})
//	r, err := reviews.Open(ctx, audit.Staff(adminID), "2027-Q1")
//	err = reviews.Decide(ctx, audit.Staff(adminID), r.ID, staffID, review.Decision{Kind: review.Changed, Role: staff.RoleAnalyst})
//	err = reviews.Close(ctx, audit.Staff(adminID), r.ID)
//
// The schedule (Schedule) says which quarter's review is due and by when;
// the periodic job (PeriodicJobs) reminds the administrators by email, once
// per quarter and mark, when a quarter nears its end, or has ended, with no
// closed review.
package review

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
)

// The audit actions of access reviews (registered in internal/audit).
const (
	ActionOpen    = "access_review.open"
	ActionConfirm = "access_review.confirm"
	ActionChange  = "access_review.change"
	ActionDisable = "access_review.disable"
	ActionClose   = "access_review.close"
	ActionRemind  = "access_review.remind"
)

// KindReview is the audit target kind of a review.
const KindReview = "access_review"

// The decisions on an account.
const (
	Pending   = ""
	Confirmed = "confirmed"
	Changed   = "changed"
	Disabled  = "disabled"
)

// The training standings an item shows: the worst of the account's
// assigned modules, or none when its role has no module assigned.
const (
	TrainingNone = "none"
)

// Accounts is what reviews need of the staff service.
type Accounts interface {
	List(ctx context.Context) ([]staff.Account, error)
	Programme(ctx context.Context) ([]staff.Standing, error)
	LastSignIns(ctx context.Context) (map[string]time.Time, error)
	SetRoleTx(ctx context.Context, tx *sql.Tx, by audit.Actor, id string, role staff.Role) error
	DisableTx(ctx context.Context, tx *sql.Tx, by audit.Actor, id string) error
}

var _ Accounts = (*staff.Service)(nil)

// Config holds what the service needs.
type Config struct {
	DB    *db.DB
	Audit audit.Recorder
	Staff Accounts
	Now   func() time.Time
	// Remind, when set, tells one administrator that a quarter's review is
	// due or overdue (an email: app sets it to the mailer); nil sends no
	// reminders.
	Remind func(ctx context.Context, to staff.Account, r Reminder) error
}

// Service keeps the access reviews.
type Service struct {
	db     *db.DB
	audit  audit.Recorder
	staff  Accounts
	now    func() time.Time
	remind func(ctx context.Context, to staff.Account, r Reminder) error
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil || cfg.Staff == nil {
		return nil, errors.New("review: New needs a DB, an audit Recorder and the staff service")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: cfg.DB, audit: cfg.Audit, staff: cfg.Staff, now: cfg.Now, remind: cfg.Remind}, nil
}

// Review is one quarter's access review.
type Review struct {
	ID       string     `json:"id"`
	Quarter  string     `json:"quarter"`
	OpenedBy string     `json:"opened_by"`
	OpenedAt time.Time  `json:"opened_at"`
	ClosedBy string     `json:"closed_by,omitempty"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	// Items are the accounts, by name (Get fills them; List does not).
	Items []Item `json:"items,omitempty"`
	// Accounts and Decided count the items (both List and Get).
	Accounts int `json:"accounts"`
	Decided  int `json:"decided"`
}

// Closed reports whether the review is closed.
func (r Review) Closed() bool { return r.ClosedAt != nil }

// Pending is how many accounts wait for a decision.
func (r Review) Pending() int { return r.Accounts - r.Decided }

// Item is one account in a review: as it stood when the review listed it,
// and the decision on it.
type Item struct {
	StaffID string `json:"staff_id"`
	// Name and Email are the account's now (not kept in the review).
	Name  string `json:"name"`
	Email string `json:"email"`
	// Role is the role when the review listed the account.
	Role       staff.Role `json:"role"`
	LastSignIn *time.Time `json:"last_sign_in,omitempty"`
	// Training is the worst standing of the account's modules
	// (staff.Standing*), or TrainingNone.
	Training  string     `json:"training"`
	Decision  string     `json:"decision"`
	NewRole   staff.Role `json:"new_role,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// Decision is an administrator's decision on one account.
type Decision struct {
	Kind string     // Confirmed, Changed or Disabled
	Role staff.Role // the new role, for Changed
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "arv_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Open opens the review of quarter ("2027-Q1"), which must have begun,
// listing every enabled staff account. A quarter has one review: opening
// it twice is a conflict.
func (s *Service) Open(ctx context.Context, by audit.Actor, quarter string) (Review, error) {
	q, err := ParseQuarter(quarter)
	if err != nil {
		return Review{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if q.Start().After(now) {
		return Review{}, errs.InvalidKeyed("quarter", "review_quarter_future", "quarter", q.String())
	}
	items, err := s.snapshot(ctx, nil)
	if err != nil {
		return Review{}, err
	}
	r := Review{ID: newID(), Quarter: q.String(), OpenedBy: by.String(), OpenedAt: now, Accounts: len(items)}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: by, Action: ActionOpen, Target: audit.Target{Kind: KindReview, ID: r.ID},
		Details: audit.MustDetails(map[string]any{"quarter": r.Quarter, "accounts": len(items)})}, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_reviews (id, quarter, opened_by, opened_at) VALUES ($1, $2, $3, $4)`,
			r.ID, r.Quarter, r.OpenedBy, now.UnixMicro()); err != nil {
			return err
		}
		return insertItems(ctx, tx, r.ID, items)
	})
	if db.IsUniqueViolation(err) {
		return Review{}, errs.New(errs.CodeConflict, "the review of %s is already open or closed", r.Quarter).Keyed("review_exists", "quarter", r.Quarter)
	}
	if err != nil {
		return Review{}, db.Classify(fmt.Errorf("open access review: %w", err))
	}
	r.Items = items
	return r, nil
}

func insertItems(ctx context.Context, tx *sql.Tx, reviewID string, items []Item) error {
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_review_items (review_id, staff_id, role, last_sign_in, training) VALUES ($1, $2, $3, $4, $5)`,
			reviewID, it.StaffID, string(it.Role), db.OptMicros(it.LastSignIn), it.Training); err != nil {
			return err
		}
	}
	return nil
}

// snapshot lists the enabled accounts not in skip as review items: role,
// last sign-in and training standing now.
func (s *Service) snapshot(ctx context.Context, skip map[string]bool) ([]Item, error) {
	accounts, err := s.staff.List(ctx)
	if err != nil {
		return nil, err
	}
	standings, err := s.staff.Programme(ctx)
	if err != nil {
		return nil, err
	}
	last, err := s.staff.LastSignIns(ctx)
	if err != nil {
		return nil, err
	}
	training := map[string]string{}
	for _, st := range standings {
		if worse(st.State, training[st.Account.ID]) {
			training[st.Account.ID] = st.State
		}
	}
	var out []Item
	for _, a := range accounts {
		if a.Disabled || skip[a.ID] {
			continue
		}
		it := Item{StaffID: a.ID, Name: a.Name, Email: a.Email, Role: a.Role, Training: training[a.ID]}
		if it.Training == "" {
			it.Training = TrainingNone
		}
		if t, ok := last[a.ID]; ok {
			it.LastSignIn = &t
		}
		out = append(out, it)
	}
	return out, nil
}

// worse reports whether standing a is worse than b ("" is best).
func worse(a, b string) bool {
	rank := func(s string) int { return slices.Index(staff.StandingStates, s) }
	return rank(a) > rank(b)
}

// List returns every review, newest quarter first, with its counts.
func (s *Service) List(ctx context.Context) ([]Review, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT r.id, r.quarter, r.opened_by, r.opened_at, r.closed_by, r.closed_at,
		(SELECT COUNT(*) FROM access_review_items i WHERE i.review_id = r.id),
		(SELECT COUNT(*) FROM access_review_items i WHERE i.review_id = r.id AND i.decision <> '')
		FROM access_reviews r ORDER BY r.quarter DESC`, nil, scanReview)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list access reviews: %w", err))
	}
	return out, nil
}

func scanReview(scan func(...any) error) (Review, error) {
	var r Review
	var opened int64
	var closed sql.NullInt64
	err := scan(&r.ID, &r.Quarter, &r.OpenedBy, &opened, &r.ClosedBy, &closed, &r.Accounts, &r.Decided)
	r.OpenedAt, r.ClosedAt = time.UnixMicro(opened).UTC(), db.OptTime(closed)
	return r, err
}

// Get returns a review with its items. An account enabled since an open
// review listed its accounts joins it here, pending: a review closes only
// when every enabled account has been seen.
func (s *Service) Get(ctx context.Context, id string) (Review, error) {
	r, err := s.get(ctx, id)
	if err != nil || r.Closed() {
		return r, err
	}
	if added, err := s.addNewAccounts(ctx, r); err != nil || !added {
		return r, err
	}
	return s.get(ctx, id)
}

// ByQuarter returns the review of a quarter ("2027-Q1"), with its items.
func (s *Service) ByQuarter(ctx context.Context, quarter string) (Review, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM access_reviews WHERE quarter = $1`, quarter).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Review{}, errs.NotFound("access review", quarter)
	}
	if err != nil {
		return Review{}, db.Classify(fmt.Errorf("find access review: %w", err))
	}
	return s.Get(ctx, id)
}

func (s *Service) get(ctx context.Context, id string) (Review, error) {
	r, err := scanReview(s.db.QueryRowContext(ctx, `SELECT r.id, r.quarter, r.opened_by, r.opened_at, r.closed_by, r.closed_at, 0, 0
		FROM access_reviews r WHERE r.id = $1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Review{}, errs.NotFound("access review", id)
	}
	if err != nil {
		return Review{}, db.Classify(fmt.Errorf("read access review: %w", err))
	}
	items, err := db.QueryAll(ctx, s.db, `SELECT i.staff_id, COALESCE(s.name, ''), COALESCE(s.email, ''), i.role, i.last_sign_in, i.training,
		i.decision, i.new_role, i.decided_by, i.decided_at
		FROM access_review_items i LEFT JOIN staff s ON s.id = i.staff_id WHERE i.review_id = $1 ORDER BY s.name, i.staff_id`,
		[]any{id}, func(scan func(...any) error) (Item, error) {
			var it Item
			var last, decided sql.NullInt64
			err := scan(&it.StaffID, &it.Name, &it.Email, &it.Role, &last, &it.Training, &it.Decision, &it.NewRole, &it.DecidedBy, &decided)
			it.LastSignIn, it.DecidedAt = db.OptTime(last), db.OptTime(decided)
			return it, err
		})
	if err != nil {
		return Review{}, db.Classify(fmt.Errorf("read access review items: %w", err))
	}
	r.Items, r.Accounts = items, len(items)
	for _, it := range items {
		if it.Decision != Pending {
			r.Decided++
		}
	}
	return r, nil
}

// addNewAccounts adds to an open review the enabled accounts it does not
// list; added reports whether there were any.
func (s *Service) addNewAccounts(ctx context.Context, r Review) (added bool, err error) {
	listed := map[string]bool{}
	for _, it := range r.Items {
		listed[it.StaffID] = true
	}
	items, err := s.snapshot(ctx, listed)
	if err != nil || len(items) == 0 {
		return false, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO access_review_items (review_id, staff_id, role, last_sign_in, training)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (review_id, staff_id) DO NOTHING`,
				r.ID, it.StaffID, string(it.Role), db.OptMicros(it.LastSignIn), it.Training); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, db.Classify(fmt.Errorf("add accounts to access review: %w", err))
	}
	return true, nil
}

// Decide records an administrator's decision on one account of an open
// review: confirm its access, change its role (through the staff service:
// staff.role, sessions ended), or disable it (staff.disable). An account is
// decided once. An administrator may confirm their own access (a company
// with one administrator must close its review) but not change or disable
// it; the entry says when a decision was on oneself. The role change or the
// disabling and the decision are written in one transaction.
func (s *Service) Decide(ctx context.Context, by audit.Actor, reviewID, staffID string, d Decision) error {
	r, err := s.get(ctx, reviewID)
	if err != nil {
		return err
	}
	if r.Closed() {
		return errs.New(errs.CodeConflict, "the review of %s is closed", r.Quarter).Keyed("review_closed", "quarter", r.Quarter)
	}
	i := slices.IndexFunc(r.Items, func(it Item) bool { return it.StaffID == staffID })
	if i < 0 {
		return errs.NotFound("account in this review", staffID)
	}
	item := r.Items[i]
	if item.Decision != Pending {
		return errs.New(errs.CodeConflict, "this account was already decided").Keyed("review_decided")
	}
	self := by.Kind == audit.KindStaff && by.ID == staffID
	details := map[string]any{"review": r.ID, "quarter": r.Quarter, "role": string(item.Role)}
	var action string
	switch d.Kind {
	case Confirmed:
		action = ActionConfirm
		if self {
			details["self"] = true
		}
	case Changed:
		if self {
			return errs.InvalidKeyed("role", "review_own_account")
		}
		if !d.Role.Valid() {
			return errs.InvalidKeyed("role", "staff_role")
		}
		if d.Role == item.Role {
			return errs.InvalidKeyed("role", "review_same_role")
		}
		action, details["new_role"] = ActionChange, string(d.Role)
	case Disabled:
		if self {
			return errs.InvalidKeyed("decision", "review_own_account")
		}
		action = ActionDisable
	default:
		return errs.InvalidKeyed("decision", "review_decision")
	}
	now := s.now().UTC().UnixMicro()
	_, err = s.audit.Do(ctx, audit.Entry{Actor: by, Action: action, Target: audit.Target{Kind: audit.KindStaff, ID: staffID},
		Details: audit.MustDetails(details)}, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE access_review_items SET decision = $3, new_role = $4, decided_by = $5, decided_at = $6
			WHERE review_id = $1 AND staff_id = $2 AND decision = ''`, r.ID, staffID, d.Kind, string(d.Role), by.String(), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Another administrator decided it meanwhile.
			return errs.New(errs.CodeConflict, "this account was already decided").Keyed("review_decided")
		}
		// The change itself, recorded by the staff service (staff.role,
		// staff.disable) in this transaction: the decision and what it
		// does happen together, or neither.
		switch d.Kind {
		case Changed:
			return s.staff.SetRoleTx(ctx, tx, by, staffID, d.Role)
		case Disabled:
			return s.staff.DisableTx(ctx, tx, by, staffID)
		}
		return nil
	})
	return db.Classify(err)
}

// Close closes an open review once every account in it is decided
// (accounts enabled since it opened join it first, pending).
func (s *Service) Close(ctx context.Context, by audit.Actor, reviewID string) error {
	r, err := s.Get(ctx, reviewID)
	if err != nil {
		return err
	}
	if r.Closed() {
		return errs.New(errs.CodeConflict, "the review of %s is closed", r.Quarter).Keyed("review_closed", "quarter", r.Quarter)
	}
	if n := r.Pending(); n > 0 {
		return errs.New(errs.CodeConflict, "%d accounts wait for a decision", n).Keyed("review_pending", "n", n)
	}
	counts := map[string]int{}
	for _, it := range r.Items {
		counts[it.Decision]++
	}
	now := s.now().UTC().UnixMicro()
	_, err = s.audit.Do(ctx, audit.Entry{Actor: by, Action: ActionClose, Target: audit.Target{Kind: KindReview, ID: r.ID},
		Details: audit.MustDetails(map[string]any{"quarter": r.Quarter, "accounts": r.Accounts, "confirmed": counts[Confirmed],
			"changed": counts[Changed], "disabled": counts[Disabled]})}, func(ctx context.Context, tx *sql.Tx) error {
		// Closed only if nothing was added or undecided meanwhile.
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_review_items WHERE review_id = $1 AND decision = ''`, r.ID).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return errs.New(errs.CodeConflict, "%d accounts wait for a decision", pending).Keyed("review_pending", "n", pending)
		}
		res, err := tx.ExecContext(ctx, `UPDATE access_reviews SET closed_by = $2, closed_at = $3 WHERE id = $1 AND closed_at IS NULL`, r.ID, by.String(), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.CodeConflict, "the review of %s is closed", r.Quarter).Keyed("review_closed", "quarter", r.Quarter)
		}
		return nil
	})
	return db.Classify(err)
}
