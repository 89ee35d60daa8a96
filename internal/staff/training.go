package staff

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Module is a training module: content in Markdown, a short quiz with a
// pass mark, and how long a pass stays valid.
type Module struct {
	Key          string     `json:"key"`
	Title        string     `json:"title"`
	Content      string     `json:"content"`
	Quiz         []Question `json:"quiz"`
	PassMark     int        `json:"pass_mark"` // percent of right answers
	ValidityDays int        `json:"validity_days"`
	// Required modules must be current before anyone reveals personal data.
	Required  bool      `json:"required"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Question is one quiz question with its choices; Answer is the index of the
// right choice and is never shown to the person taking the quiz.
type Question struct {
	Text    string   `json:"text"`
	Choices []string `json:"choices"`
	Answer  int      `json:"answer"`
}

// Completion is one attempt at a module's quiz.
type Completion struct {
	Module      string    `json:"module"`
	Score       int       `json:"score"` // percent
	Passed      bool      `json:"passed"`
	CompletedAt time.Time `json:"completed_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// ModuleStatus is where a staff member stands with a module.
type ModuleStatus struct {
	Module Module      `json:"module"`
	Last   *Completion `json:"last_pass,omitempty"`
	// State is "current", "expired" or "missing".
	State string `json:"state"`
}

var moduleKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (m *Module) validate() map[string]string {
	problems := map[string]string{}
	if !moduleKeyPattern.MatchString(m.Key) {
		problems["key"] = "must be 1 to 64 lowercase letters, digits, '_' or '-'"
	}
	if t := strings.TrimSpace(m.Title); t == "" || len(t) > 200 {
		problems["title"] = "is required, at most 200 characters"
	}
	if strings.TrimSpace(m.Content) == "" || len(m.Content) > 200000 {
		problems["content"] = "is required, at most 200,000 characters"
	}
	if len(m.Quiz) == 0 || len(m.Quiz) > 50 {
		problems["quiz"] = "needs 1 to 50 questions"
	}
	for i, q := range m.Quiz {
		if strings.TrimSpace(q.Text) == "" {
			problems[fmt.Sprintf("quiz[%d].text", i)] = "is required"
		}
		if len(q.Choices) < 2 || len(q.Choices) > 10 {
			problems[fmt.Sprintf("quiz[%d].choices", i)] = "needs 2 to 10 choices"
		}
		if q.Answer < 0 || q.Answer >= len(q.Choices) {
			problems[fmt.Sprintf("quiz[%d].answer", i)] = "must be the index of one of the choices"
		}
	}
	if m.PassMark < 1 || m.PassMark > 100 {
		problems["pass_mark"] = "must be a percentage from 1 to 100"
	}
	if m.ValidityDays < 1 || m.ValidityDays > 1100 {
		problems["validity_days"] = "must be from 1 to 1100 days"
	}
	return problems
}

// PutModule creates (create=true) or replaces a training module.
func (s *Service) PutModule(ctx context.Context, m Module, create bool) (Module, error) {
	if problems := m.validate(); len(problems) > 0 {
		return m, errs.Fields(problems)
	}
	quiz, _ := json.Marshal(m.Quiz)
	now := s.now().UnixMicro()
	var res sql.Result
	var err error
	if create {
		res, err = s.db.ExecContext(ctx, `INSERT INTO training_modules (key, title, content, quiz, pass_mark, validity_days, required, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, m.Key, strings.TrimSpace(m.Title), m.Content, string(quiz), m.PassMark, m.ValidityDays, m.Required, now)
		if db.IsUniqueViolation(err) {
			return m, errs.New(errs.CodeConflict, "training module %q exists", m.Key)
		}
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE training_modules SET title = $2, content = $3, quiz = $4, pass_mark = $5, validity_days = $6,
			required = $7, updated_at = $8 WHERE key = $1`, m.Key, strings.TrimSpace(m.Title), m.Content, string(quiz), m.PassMark, m.ValidityDays, m.Required, now)
	}
	if err != nil {
		return m, db.Classify(fmt.Errorf("store training module: %w", err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return m, errs.NotFound("training module", m.Key)
	}
	return s.Module(ctx, m.Key)
}

const moduleColumns = `key, title, content, quiz, pass_mark, validity_days, required, created_at, updated_at`

func scanModule(scan func(...any) error) (Module, error) {
	var m Module
	var quiz string
	var created, updated int64
	if err := scan(&m.Key, &m.Title, &m.Content, &quiz, &m.PassMark, &m.ValidityDays, &m.Required, &created, &updated); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(quiz), &m.Quiz); err != nil {
		return m, fmt.Errorf("training module %s: quiz: %w", m.Key, err)
	}
	m.CreatedAt, m.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return m, nil
}

// Module returns a training module.
func (s *Service) Module(ctx context.Context, key string) (Module, error) {
	m, err := scanModule(s.db.QueryRowContext(ctx, `SELECT `+moduleColumns+` FROM training_modules WHERE key = $1`, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Module{}, errs.NotFound("training module", key)
	}
	return m, db.Classify(err)
}

// Modules lists the training modules by title.
func (s *Service) Modules(ctx context.Context) ([]Module, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT `+moduleColumns+` FROM training_modules ORDER BY title, key`, nil, scanModule)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list training modules: %w", err))
	}
	return out, nil
}

// TakeQuiz scores a staff member's answers (one choice index per question)
// and records the attempt.
func (s *Service) TakeQuiz(ctx context.Context, staffID, moduleKey string, answers []int) (Completion, error) {
	m, err := s.Module(ctx, moduleKey)
	if err != nil {
		return Completion{}, err
	}
	if len(answers) != len(m.Quiz) {
		return Completion{}, errs.Invalid("answers", "answer each of the %d questions", len(m.Quiz))
	}
	right := 0
	for i, q := range m.Quiz {
		if answers[i] == q.Answer {
			right++
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c := Completion{Module: m.Key, Score: right * 100 / len(m.Quiz), CompletedAt: now,
		ExpiresAt: now.AddDate(0, 0, m.ValidityDays)}
	c.Passed = c.Score >= m.PassMark
	_, err = s.db.ExecContext(ctx, `INSERT INTO training_completions (staff_id, module_key, score, passed, completed_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, staffID, m.Key, c.Score, c.Passed, c.CompletedAt.UnixMicro(), c.ExpiresAt.UnixMicro())
	if err != nil {
		return Completion{}, db.Classify(fmt.Errorf("record quiz: %w", err))
	}
	return c, nil
}

// TrainingStatus returns, for every module, the staff member's latest pass
// and whether it is current.
func (s *Service) TrainingStatus(ctx context.Context, staffID string) ([]ModuleStatus, error) {
	modules, err := s.Modules(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT module_key, score, completed_at, expires_at FROM training_completions
		WHERE staff_id = $1 AND passed = `+s.db.Bool(true)+` ORDER BY completed_at`, staffID)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read training: %w", err))
	}
	defer rows.Close()
	last := map[string]*Completion{}
	for rows.Next() {
		c := &Completion{Passed: true}
		var completed, expires int64
		if err := rows.Scan(&c.Module, &c.Score, &completed, &expires); err != nil {
			return nil, fmt.Errorf("read training: %w", err)
		}
		c.CompletedAt, c.ExpiresAt = time.UnixMicro(completed).UTC(), time.UnixMicro(expires).UTC()
		last[c.Module] = c
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(err)
	}
	now := s.now()
	out := make([]ModuleStatus, len(modules))
	for i, m := range modules {
		st := ModuleStatus{Module: m, Last: last[m.Key], State: "missing"}
		if st.Last != nil {
			st.State = "expired"
			if now.Before(st.Last.ExpiresAt) {
				st.State = "current"
			}
		}
		out[i] = st
	}
	return out, nil
}

// CanReveal says whether a staff member may reveal personal data: the role
// must allow it and every required training module must be current. The
// error tells them why not and what to do.
func (s *Service) CanReveal(ctx context.Context, a Account) error {
	if !a.Role.Can(PermReveal) {
		return errs.New(errs.CodeForbidden, "your role (%s) may not reveal personal data", a.Role)
	}
	status, err := s.TrainingStatus(ctx, a.ID)
	if err != nil {
		return err
	}
	var due []string
	for _, st := range status {
		if st.Module.Required && st.State != "current" {
			due = append(due, fmt.Sprintf("%q (%s)", st.Module.Title, st.State))
		}
	}
	if len(due) > 0 {
		return errs.New(errs.CodeForbidden, "complete your training before revealing personal data: %s; see Training in the console",
			strings.Join(due, ", "))
	}
	return nil
}
