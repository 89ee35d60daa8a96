package ethics

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/inventory"
)

// Catalog is the consent catalog the assessments are of; *consent.Service
// is one.
type Catalog interface {
	Purpose(key string) (consent.Purpose, error)
	Purposes() []consent.Purpose
	PurposeScope(key string) (vendors, categories []string, err error)
	Categories() []consent.Category
	CurrentNotice() (consent.Notice, bool)
}

var _ Catalog = (*consent.Service)(nil)

// Inventory is the data map Steward's storage answers come from;
// *inventory.Service is one.
type Inventory interface {
	Map(ctx context.Context) (inventory.Map, error)
}

var _ Inventory = (*inventory.Service)(nil)

// Gate is the decision engine's purpose gate; *consent.Service is one.
type Gate interface {
	RefreshAssessedPurposes(ctx context.Context) error
}

var _ Gate = (*consent.Service)(nil)

// Config holds what the service needs.
type Config struct {
	DB *db.DB
	// Audit records every save and approval in its transaction: if the
	// entry cannot be written, nothing changes.
	Audit   audit.Recorder
	Catalog Catalog
	// Inventory, when set, answers where the purposes' data is stored.
	Inventory Inventory
	// Gate, when set, is told after every approval, so that decisions and
	// the banner follow at once.
	Gate Gate
	Now  func() time.Time
	// ValidMonths is how long an approval holds, in calendar months
	// (default 12).
	ValidMonths int
	// Logger reports a gate that could not be refreshed (the replicas
	// re-read it within ten seconds anyway).
	Logger *slog.Logger
}

// Service keeps the purposes' ethics assessments.
type Service struct {
	db          *db.DB
	audit       audit.Recorder
	catalog     Catalog
	inventory   Inventory
	gate        Gate
	now         func() time.Time
	validMonths int
	log         *slog.Logger
}

// New returns the service of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil || cfg.Catalog == nil {
		return nil, errors.New("ethics: New needs a DB, an audit Recorder and a Catalog")
	}
	if cfg.ValidMonths < 0 || cfg.ValidMonths > 36 {
		return nil, fmt.Errorf("ethics: ValidMonths %d: want 1 to 36 (0 for the default of 12)", cfg.ValidMonths)
	}
	s := &Service{db: cfg.DB, audit: cfg.Audit, catalog: cfg.Catalog, inventory: cfg.Inventory, gate: cfg.Gate,
		now: cfg.Now, validMonths: cfg.ValidMonths, log: cfg.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.validMonths == 0 {
		s.validMonths = 12
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// maxText is the longest answer text, in characters.
const maxText = 8000

// row is a purpose_assessments row.
type row struct {
	answers    Answers
	savedAt    *time.Time
	savedBy    string
	approval   *Approval
	graceUntil *time.Time
}

const rowColumns = `answers, saved_at, saved_by, approval, grace_until`

func timeOf(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

func scanRow(scan func(...any) error) (row, error) {
	var r row
	var answers, approval string
	var saved, grace sql.NullInt64
	if err := scan(&answers, &saved, &r.savedBy, &approval, &grace); err != nil {
		return row{}, err
	}
	if err := json.Unmarshal([]byte(answers), &r.answers); err != nil {
		return row{}, fmt.Errorf("read assessment answers: %w", err)
	}
	if approval != "" {
		r.approval = &Approval{}
		if err := json.Unmarshal([]byte(approval), r.approval); err != nil {
			return row{}, fmt.Errorf("read assessment approval: %w", err)
		}
	}
	r.savedAt, r.graceUntil = timeOf(saved), timeOf(grace)
	return r, nil
}

// readRow returns a purpose's row; ok is false when it has none.
func readRow(ctx context.Context, q db.Querier, key string) (r row, ok bool, err error) {
	r, err = scanRow(q.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM purpose_assessments WHERE purpose_key = $1`, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, false, nil
	}
	if err != nil {
		return row{}, false, db.Classify(fmt.Errorf("read assessment of %s: %w", key, err))
	}
	return r, true, nil
}

// scopeOf is what an approval of p would cover now.
func (s *Service) scopeOf(p consent.Purpose) (Scope, error) {
	vendors, categories, err := s.catalog.PurposeScope(p.Key)
	if err != nil {
		return Scope{}, err
	}
	return Scope{LegalBasis: p.LegalBasis, Vendors: vendors, Categories: categories}, nil
}

// covers reports whether an approval's scope covers now's.
func (sc Scope) covers(now Scope) bool {
	if sc.LegalBasis != now.LegalBasis {
		return false
	}
	for _, v := range now.Vendors {
		if !slices.Contains(sc.Vendors, v) {
			return false
		}
	}
	for _, c := range now.Categories {
		if !slices.Contains(sc.Categories, c) {
			return false
		}
	}
	return true
}

// status says where an assessment stands at now.
func status(required bool, r row, scope Scope, now time.Time) Status {
	switch {
	case !required:
		return StatusNotRequired
	case r.approval != nil && !now.Before(r.approval.ValidUntil):
		return StatusExpired
	case r.approval != nil && !r.approval.Scope.covers(scope):
		return StatusScopeChanged
	case r.approval != nil:
		return StatusApproved
	case r.graceUntil != nil && now.Before(*r.graceUntil):
		return StatusGrace
	default:
		return StatusMissing
	}
}

// Get returns a purpose's assessment: the draft, Steward's answers now and
// the approval, with its status.
func (s *Service) Get(ctx context.Context, key string) (View, error) {
	p, err := s.catalog.Purpose(key)
	if err != nil {
		return View{}, err
	}
	r, _, err := readRow(ctx, s.db, key)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, p, r)
}

func (s *Service) view(ctx context.Context, p consent.Purpose, r row) (View, error) {
	scope, err := s.scopeOf(p)
	if err != nil {
		return View{}, err
	}
	f, err := s.facts(ctx, p, scope)
	if err != nil {
		return View{}, err
	}
	v := View{Purpose: p.Key, LegalBasis: p.LegalBasis, Required: p.NeedsAssessment(), Scope: scope, Facts: f, FromSteward: f.Answered(),
		Answers: r.answers, SavedAt: r.savedAt, SavedBy: r.savedBy, Approval: r.approval}
	v.Status = status(v.Required, r, scope, s.now())
	if v.Status == StatusGrace {
		v.DueBy = r.graceUntil
	}
	v.NeedsBalancing = p.LegalBasis == consent.BasisLegitimateInterest
	v.NeedsDPIA = len(f.Special) > 0 || len(r.answers.HighRisk) > 0
	if v.Answers.HighRisk == nil {
		v.Answers.HighRisk = []string{}
	}
	return v, nil
}

// Summary is a purpose's status, for lists.
type Summary struct {
	Purpose string     `json:"purpose"`
	Status  Status     `json:"status"`
	DueBy   *time.Time `json:"due_by"`
	// ValidUntil is the approval's end, when there is one.
	ValidUntil *time.Time `json:"valid_until"`
}

// Summaries returns every purpose's status, in catalog order.
func (s *Service) Summaries(ctx context.Context) ([]Summary, error) {
	rows, err := s.rows(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []Summary{}
	for _, p := range s.catalog.Purposes() {
		scope, err := s.scopeOf(p)
		if err != nil {
			return nil, err
		}
		r := rows[p.Key]
		sum := Summary{Purpose: p.Key, Status: status(p.NeedsAssessment(), r, scope, now)}
		if sum.Status == StatusGrace {
			sum.DueBy = r.graceUntil
		}
		if r.approval != nil && sum.Status != StatusNotRequired {
			until := r.approval.ValidUntil
			sum.ValidUntil = &until
		}
		out = append(out, sum)
	}
	return out, nil
}

// rows reads every assessment row, by purpose.
func (s *Service) rows(ctx context.Context) (map[string]row, error) {
	type keyed struct {
		key string
		row
	}
	list, err := db.QueryAll(ctx, s.db, `SELECT purpose_key, `+rowColumns+` FROM purpose_assessments`, nil,
		func(scan func(...any) error) (keyed, error) {
			var k keyed
			r, err := scanRow(func(dest ...any) error { return scan(append([]any{&k.key}, dest...)...) })
			k.row = r
			return k, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read assessments: %w", err))
	}
	out := make(map[string]row, len(list))
	for _, k := range list {
		out[k.key] = k.row
	}
	return out, nil
}

// AssessedPurposes returns, for each purpose with an approval or a grace
// period, until when it holds and the scope it covers: the consent
// service's PurposeAssessmentSource. The consent service closes a purpose
// past its Until, or whose scope grew, by itself, so that expiry needs no
// job. It is one query, whatever the number of purposes.
func (s *Service) AssessedPurposes(ctx context.Context) (map[string]consent.PurposeAssessment, error) {
	rows, err := s.rows(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]consent.PurposeAssessment, len(rows))
	for key, r := range rows {
		switch {
		case r.approval != nil:
			a := r.approval
			out[key] = consent.PurposeAssessment{Until: a.ValidUntil, LegalBasis: a.Scope.LegalBasis,
				Vendors: a.Scope.Vendors, Categories: a.Scope.Categories}
		case r.graceUntil != nil:
			out[key] = consent.PurposeAssessment{Until: *r.graceUntil, Grace: true}
		}
	}
	return out, nil
}

// checkAnswers returns the problems of a draft's form: lengths and the
// kinds of high risk. Whether it is complete is Approve's concern.
func checkAnswers(a *Answers) errs.Problems {
	problems := errs.Problems{}
	texts := []struct {
		field string
		value *string
	}{
		{"customer_knows", &a.CustomerKnows}, {"opt_out_reason", &a.OptOutReason}, {"storage", &a.Storage},
		{"advantage", &a.Advantage}, {"balancing.purpose", &a.Balancing.Purpose}, {"balancing.necessity", &a.Balancing.Necessity},
		{"balancing.balance", &a.Balancing.Balance}, {"dpia.description", &a.DPIA.Description}, {"dpia.risks", &a.DPIA.Risks},
		{"dpia.measures", &a.DPIA.Measures},
	}
	for _, t := range texts {
		*t.value = strings.TrimSpace(*t.value)
		if utf8.RuneCountInString(*t.value) > maxText {
			problems.Add(t.field, "at_most_characters", "max", maxText)
		}
	}
	if a.HighRisk == nil {
		a.HighRisk = []string{}
	}
	for i, r := range a.HighRisk {
		if !slices.Contains(HighRisks, r) {
			problems.Add(fmt.Sprintf("high_risk[%d]", i), "high_risk_kind")
		}
	}
	slices.Sort(a.HighRisk)
	a.HighRisk = slices.Compact(a.HighRisk)
	return problems
}

// answered lists the questions a draft answers, for the audit entry.
func answered(a Answers) []string {
	out := []string{}
	if a.CustomerKnows != "" {
		out = append(out, QuestionCustomerKnows)
	}
	if a.OptOut != nil {
		out = append(out, QuestionOptOut)
	}
	if a.StorageSafe != nil {
		out = append(out, QuestionStorage)
	}
	if a.Typical != nil {
		out = append(out, QuestionTypical)
	}
	if a.Balancing != (Balancing{}) {
		out = append(out, QuestionBalancing)
	}
	if a.DPIA != (DPIA{}) {
		out = append(out, QuestionDPIA)
	}
	return out
}

// needed refuses a purpose that needs no assessment.
func needed(p consent.Purpose) error {
	if p.NeedsAssessment() {
		return nil
	}
	return errs.New(errs.CodeConflict, "purpose %s is necessary: it needs no ethics assessment", p.Key).Keyed("purpose_assessment_not_needed")
}

// Save replaces a purpose's draft with answers, recording who (the
// context's audit actor) and when. The approval in force, if any, stays
// until the draft is approved.
func (s *Service) Save(ctx context.Context, key string, answers Answers) (View, error) {
	p, err := s.catalog.Purpose(key)
	if err != nil {
		return View{}, err
	}
	if err := needed(p); err != nil {
		return View{}, err
	}
	if problems := checkAnswers(&answers); len(problems) > 0 {
		return View{}, errs.FieldsKeyed(problems)
	}
	actor := audit.ActorFrom(ctx)
	now := s.now()
	details, err := audit.NewDetails(map[string]any{"answered": answered(answers)})
	if err != nil {
		return View{}, err
	}
	body, err := json.Marshal(answers)
	if err != nil {
		return View{}, fmt.Errorf("encode answers: %w", err)
	}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: actor, Action: "purpose.assessment_saved", Target: audit.Target{Kind: "purpose", ID: key}, Details: details},
		func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO purpose_assessments (purpose_key, answers, saved_at, saved_by, updated_at)
				VALUES ($1, $2, $3, $4, $3)
				ON CONFLICT (purpose_key) DO UPDATE SET answers = excluded.answers, saved_at = excluded.saved_at,
				saved_by = excluded.saved_by, updated_at = excluded.updated_at`,
				key, string(body), now.UnixMicro(), actor.String())
			return err
		})
	if err != nil {
		return View{}, fmt.Errorf("save assessment of %s: %w", key, err)
	}
	return s.Get(ctx, key)
}

// Approve approves a purpose's draft as it stands, with Steward's answers
// now, for ValidMonths and the scope the purpose has now: decisions and
// the banner open the purpose at once. Only a staff member approves
// (audit.ActorFrom); every question the purpose needs must be answered
// (by Steward or in the draft), and the storage must be safe.
func (s *Service) Approve(ctx context.Context, key string) (View, error) {
	actor := audit.ActorFrom(ctx)
	if actor.Kind != audit.KindStaff {
		return View{}, errs.New(errs.CodeForbidden, "a purpose's ethics assessment is approved by a privacy officer, signed in to the console").Keyed("purpose_assessment_officer")
	}
	p, err := s.catalog.Purpose(key)
	if err != nil {
		return View{}, err
	}
	if err := needed(p); err != nil {
		return View{}, err
	}
	r, _, err := readRow(ctx, s.db, key)
	if err != nil {
		return View{}, err
	}
	v, err := s.view(ctx, p, r)
	if err != nil {
		return View{}, err
	}
	if problems := incomplete(v); len(problems) > 0 {
		return View{}, errs.FieldsKeyed(problems)
	}
	now := s.now().UTC()
	approval := Approval{ApprovedAt: now, ApprovedBy: actor.String(), ValidUntil: now.AddDate(0, s.validMonths, 0), Scope: v.Scope,
		Answers: v.Answers, Facts: v.Facts, FromSteward: v.FromSteward}
	body, err := json.Marshal(approval)
	if err != nil {
		return View{}, fmt.Errorf("encode approval: %w", err)
	}
	details, err := audit.NewDetails(map[string]any{"valid_until": approval.ValidUntil.Format(time.RFC3339),
		"legal_basis": string(v.Scope.LegalBasis), "vendors": v.Scope.Vendors, "categories": v.Scope.Categories, "from_steward": v.FromSteward})
	if err != nil {
		return View{}, err
	}
	answers, err := json.Marshal(v.Answers)
	if err != nil {
		return View{}, fmt.Errorf("encode answers: %w", err)
	}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: actor, Action: "purpose.assessment_approved", Target: audit.Target{Kind: "purpose", ID: key}, Details: details},
		func(ctx context.Context, tx *sql.Tx) error {
			// The grace of an upgrade ends with the first approval.
			_, err := tx.ExecContext(ctx, `INSERT INTO purpose_assessments (purpose_key, answers, saved_by, approval, updated_at)
				VALUES ($1, $2, '', $3, $4)
				ON CONFLICT (purpose_key) DO UPDATE SET approval = excluded.approval, grace_until = NULL, updated_at = excluded.updated_at`,
				key, string(answers), string(body), now.UnixMicro())
			return err
		})
	if err != nil {
		return View{}, fmt.Errorf("approve assessment of %s: %w", key, err)
	}
	s.refreshGate(ctx)
	return s.Get(ctx, key)
}

// incomplete returns what an assessment lacks to be approved, by field.
func incomplete(v View) errs.Problems {
	problems := errs.Problems{}
	a := v.Answers
	steward := func(q string) bool { return v.FromStewardHas(q) }
	if !steward(QuestionCustomerKnows) && a.CustomerKnows == "" {
		problems.Add("customer_knows", "required")
	}
	if !steward(QuestionOptOut) {
		switch {
		case a.OptOut == nil:
			problems.Add("opt_out", "required")
		case !*a.OptOut && a.OptOutReason == "":
			problems.Add("opt_out_reason", "opt_out_reason_required")
		}
	}
	if !steward(QuestionStorage) {
		switch {
		case a.StorageSafe == nil:
			problems.Add("storage_safe", "required")
		case !*a.StorageSafe:
			problems.Add("storage_safe", "storage_unsafe")
		case a.Storage == "":
			problems.Add("storage", "required")
		}
	}
	switch {
	case a.Typical == nil:
		problems.Add("typical", "required")
	case !*a.Typical && a.Advantage == "":
		problems.Add("advantage", "required")
	case !*a.Typical && a.CustomerKnowsWhy == nil:
		problems.Add("customer_knows_why", "required")
	}
	if v.NeedsBalancing {
		for field, text := range map[string]string{"balancing.purpose": a.Balancing.Purpose, "balancing.necessity": a.Balancing.Necessity,
			"balancing.balance": a.Balancing.Balance} {
			if text == "" {
				problems.Add(field, "required")
			}
		}
	}
	if v.NeedsDPIA {
		for field, text := range map[string]string{"dpia.description": a.DPIA.Description, "dpia.risks": a.DPIA.Risks, "dpia.measures": a.DPIA.Measures} {
			if text == "" {
				problems.Add(field, "required")
			}
		}
	}
	return problems
}

// refreshGate tells the gate of an approval just committed. A failure is
// logged, not returned: the approval stands, and every replica re-reads
// the assessments within ten seconds.
func (s *Service) refreshGate(ctx context.Context) {
	if s.gate == nil {
		return
	}
	if err := s.gate.RefreshAssessedPurposes(ctx); err != nil {
		s.log.Warn("refresh the purpose gate", "err", err)
	}
}
