package staff

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
)

// Module is a training module: content in Markdown, a quiz with a pass
// mark, and how long a pass stays valid. The quiz is a pool: each attempt
// asks Ask of its questions (0: all), drawn at random and in random order,
// so that a retry is not the same quiz again.
type Module struct {
	Key          string     `json:"key"`
	Title        string     `json:"title"`
	Content      string     `json:"content"`
	Quiz         []Question `json:"quiz"`
	Ask          int        `json:"ask,omitempty"`
	PassMark     int        `json:"pass_mark"` // percent of right answers
	ValidityDays int        `json:"validity_days"`
	// Required modules must be current before anyone reveals personal data.
	Required bool `json:"required"`
	// Translations are the module's texts in the catalog's other
	// languages; Title, Content and Quiz are its English. A translation's
	// quiz asks the same questions with the same choices in the same
	// order, so the right answers are the English ones.
	Translations map[string]ModuleText `json:"translations,omitempty"`
	// Origin is OriginBuiltin, OriginEdited or OriginCustom (set by the
	// store).
	Origin    string    `json:"origin"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Where a module came from.
const (
	// OriginBuiltin is a module as Steward ships it (InstallBuiltins).
	OriginBuiltin = "builtin"
	// OriginEdited is a built-in an administrator changed: the stored
	// version, which a newer release of Steward leaves alone.
	OriginEdited = "edited"
	// OriginCustom is a module an administrator added.
	OriginCustom = "custom"
)

// ModuleText is a module's words in one language.
type ModuleText struct {
	Title   string     `json:"title"`
	Content string     `json:"content"`
	Quiz    []Question `json:"quiz"`
}

// Languages lists the languages the module is written in, English first.
func (m *Module) Languages() []string {
	out := []string{i18n.English}
	for _, lang := range i18n.Default().Languages() {
		if _, ok := m.Translations[lang]; ok && lang != i18n.English {
			out = append(out, lang)
		}
	}
	return out
}

// Text returns the module's words in lang, and whether it is written in
// it; in a language it lacks, its English.
func (m *Module) Text(lang string) (ModuleText, bool) {
	if t, ok := m.Translations[lang]; ok && lang != i18n.English {
		return t, true
	}
	return ModuleText{Title: m.Title, Content: m.Content, Quiz: m.Quiz}, lang == i18n.English
}

// Localized returns the module as a reader of lang sees it: its title,
// content and quiz in lang when it is written in it, with the right
// answers of the module.
func (m Module) Localized(lang string) Module {
	t, ok := m.Translations[lang]
	if !ok || lang == i18n.English {
		return m
	}
	m.Title, m.Content = t.Title, t.Content
	quiz := make([]Question, len(m.Quiz))
	for i, q := range m.Quiz {
		quiz[i] = Question{Text: t.Quiz[i].Text, Choices: t.Quiz[i].Choices, Answer: q.Answer}
	}
	m.Quiz = quiz
	return m
}

// Question is one quiz question with its choices; Answer is the index of the
// right choice and is never shown to the person taking the quiz.
type Question struct {
	Text    string   `json:"text"`
	Choices []string `json:"choices"`
	Answer  int      `json:"answer"`
}

// Asked is how many questions an attempt asks.
func (m *Module) Asked() int {
	if m.Ask <= 0 || m.Ask > len(m.Quiz) {
		return len(m.Quiz)
	}
	return m.Ask
}

// Completion is one attempt at a module's quiz.
type Completion struct {
	Module      string    `json:"module"`
	Score       int       `json:"score"` // percent
	Right       int       `json:"right"` // of Asked questions
	Asked       int       `json:"asked"`
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

func (m *Module) validate() errs.Problems {
	problems := errs.Problems{}
	if !moduleKeyPattern.MatchString(m.Key) {
		problems.Add("key", "module_key")
	}
	if t := strings.TrimSpace(m.Title); t == "" || len(t) > 200 {
		problems.Add("title", "required_at_most", "max", 200)
	}
	if strings.TrimSpace(m.Content) == "" || len(m.Content) > 200000 {
		problems.Add("content", "module_content")
	}
	if len(m.Quiz) == 0 || len(m.Quiz) > 200 {
		problems.Add("quiz", "quiz_questions")
	}
	if m.Ask < 0 || m.Ask > len(m.Quiz) || m.Ask > 50 {
		problems.Add("ask", "quiz_ask")
	}
	for i, q := range m.Quiz {
		if strings.TrimSpace(q.Text) == "" {
			problems.Add(fmt.Sprintf("quiz[%d].text", i), "required")
		}
		if len(q.Choices) < 2 || len(q.Choices) > 10 {
			problems.Add(fmt.Sprintf("quiz[%d].choices", i), "quiz_choices")
		}
		if q.Answer < 0 || q.Answer >= len(q.Choices) {
			problems.Add(fmt.Sprintf("quiz[%d].answer", i), "quiz_answer_index")
		}
	}
	if m.PassMark < 1 || m.PassMark > 100 {
		problems.Add("pass_mark", "pass_mark")
	}
	if m.ValidityDays < 1 || m.ValidityDays > 1100 {
		problems.Add("validity_days", "validity_days")
	}
	for lang, t := range m.Translations {
		switch {
		case lang == i18n.English || !i18n.Default().Has(lang):
			problems.Add("translations."+lang, "translation_language")
		case strings.TrimSpace(t.Title) == "" || len(t.Title) > 200:
			problems.Add("translations."+lang+".title", "required_at_most", "max", 200)
		case strings.TrimSpace(t.Content) == "" || len(t.Content) > 200000:
			problems.Add("translations."+lang+".content", "module_content")
		case len(t.Quiz) != len(m.Quiz):
			problems.Add("translations."+lang+".quiz", "translation_quiz_count", "n", len(m.Quiz))
		default:
			for i, q := range t.Quiz {
				if strings.TrimSpace(q.Text) == "" || len(q.Choices) != len(m.Quiz[i].Choices) {
					problems.Add(fmt.Sprintf("translations.%s.quiz[%d]", lang, i), "translation_quiz_choices")
				}
				if q.Answer != m.Quiz[i].Answer {
					problems.Add(fmt.Sprintf("translations.%s.quiz[%d].answer", lang, i), "translation_quiz_answer")
				}
			}
		}
	}
	return problems
}

// PutModule creates (create=true) or replaces a training module, audited
// as the context's actor (training.module_put). Replacing a built-in makes
// it an edited module: the stored version, which InstallBuiltins no longer
// updates.
func (s *Service) PutModule(ctx context.Context, m Module, create bool) (Module, error) {
	if problems := m.validate(); len(problems) > 0 {
		return m, errs.FieldsKeyed(problems)
	}
	quiz, _ := json.Marshal(m.Quiz)
	translations, _ := json.Marshal(m.Translations)
	if m.Translations == nil {
		translations = []byte("{}")
	}
	now := s.now().UnixMicro()
	origin := OriginCustom
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: "training.module_put", Target: audit.Target{Kind: "training_module", ID: m.Key}}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		var res sql.Result
		var err error
		if create {
			res, err = tx.ExecContext(ctx, `INSERT INTO training_modules (key, title, content, quiz, ask, pass_mark, validity_days, required, translations, origin, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`, m.Key, strings.TrimSpace(m.Title), m.Content, string(quiz), m.Ask, m.PassMark, m.ValidityDays,
				m.Required, string(translations), origin, now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "training module %q exists", m.Key)
			}
		} else {
			if err := tx.QueryRowContext(ctx, `SELECT origin FROM training_modules WHERE key = $1`, m.Key).Scan(&origin); errors.Is(err, sql.ErrNoRows) {
				return errs.NotFound("training module", m.Key)
			} else if err != nil {
				return fmt.Errorf("read training module: %w", err)
			}
			if origin == OriginBuiltin {
				origin = OriginEdited
			}
			res, err = tx.ExecContext(ctx, `UPDATE training_modules SET title = $2, content = $3, quiz = $4, ask = $5, pass_mark = $6, validity_days = $7,
				required = $8, translations = $9, origin = $10, updated_at = $11 WHERE key = $1`, m.Key, strings.TrimSpace(m.Title), m.Content, string(quiz), m.Ask,
				m.PassMark, m.ValidityDays, m.Required, string(translations), origin, now)
		}
		if err != nil {
			return fmt.Errorf("store training module: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("training module", m.Key)
		}
		return nil
	})
	if err != nil {
		return m, db.Classify(err)
	}
	return s.Module(ctx, m.Key)
}

const moduleColumns = `key, title, content, quiz, ask, pass_mark, validity_days, required, translations, origin, created_at, updated_at`

func scanModule(scan func(...any) error) (Module, error) {
	var m Module
	var quiz, translations string
	var created, updated int64
	if err := scan(&m.Key, &m.Title, &m.Content, &quiz, &m.Ask, &m.PassMark, &m.ValidityDays, &m.Required, &translations, &m.Origin, &created, &updated); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(quiz), &m.Quiz); err != nil {
		return m, fmt.Errorf("training module %s: quiz: %w", m.Key, err)
	}
	if err := json.Unmarshal([]byte(translations), &m.Translations); err != nil {
		return m, fmt.Errorf("training module %s: translations: %w", m.Key, err)
	}
	if len(m.Translations) == 0 {
		m.Translations = nil
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

// Quiz attempts: after quizFailures failed attempts in a row, the next
// waits quizWait after the last one, so that a quiz cannot be passed by
// guessing over and over.
const (
	quizFailures = 3
	quizWait     = time.Hour
)

// Draw is one attempt's questions, drawn from the module's pool, without
// their answers. Token binds them to the staff member and the module: it
// is sealed, so the questions cannot be chosen by whoever takes the quiz.
type Draw struct {
	Questions []Question
	Token     string
}

// drawn is what a draw's token seals.
type drawn struct {
	Questions []int `json:"q"`
	Version   int64 `json:"v"` // the module's updated_at
}

func quizAssociated(staffID, key string) []byte {
	return []byte("training-quiz:" + staffID + ":" + key)
}

// QuizWait returns when a staff member may next take a module's quiz: the
// zero time when they may now.
func (s *Service) QuizWait(ctx context.Context, staffID, moduleKey string) (time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT passed, completed_at FROM training_completions
		WHERE staff_id = $1 AND module_key = $2 ORDER BY completed_at DESC LIMIT `+fmt.Sprint(quizFailures), staffID, moduleKey)
	if err != nil {
		return time.Time{}, db.Classify(fmt.Errorf("read quiz attempts: %w", err))
	}
	defer rows.Close()
	failed, last := 0, int64(0)
	for rows.Next() {
		var passed bool
		var completed int64
		if err := rows.Scan(&passed, &completed); err != nil {
			return time.Time{}, fmt.Errorf("read quiz attempts: %w", err)
		}
		if passed {
			break
		}
		failed++
		last = max(last, completed)
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, db.Classify(err)
	}
	if failed < quizFailures {
		return time.Time{}, nil
	}
	until := time.UnixMicro(last).Add(quizWait).UTC()
	if !s.now().Before(until) {
		return time.Time{}, nil
	}
	return until, nil
}

// quizWaitError tells the person when they may try again.
func quizWaitError(until time.Time) error {
	at := until.UTC().Format("2006-01-02 15:04 UTC")
	return errs.New(errs.CodeForbidden, "not passed %d times in a row: read the module again; you can retry the quiz after %s",
		quizFailures, at).Keyed("quiz_wait", "n", quizFailures, "at", at)
}

// DrawQuiz draws the questions of one attempt at a module's quiz, in random
// order, in English. It refuses while the staff member must wait after
// failures.
func (s *Service) DrawQuiz(ctx context.Context, staffID, moduleKey string) (Draw, error) {
	return s.DrawQuizIn(ctx, staffID, moduleKey, i18n.English)
}

// DrawQuizIn is DrawQuiz with the questions in lang when the module is
// written in it (else in English). The answers are the same in every
// language, so TakeQuiz scores any of them.
func (s *Service) DrawQuizIn(ctx context.Context, staffID, moduleKey, lang string) (Draw, error) {
	m, err := s.Module(ctx, moduleKey)
	if err != nil {
		return Draw{}, err
	}
	m = m.Localized(lang)
	if until, err := s.QuizWait(ctx, staffID, moduleKey); err != nil {
		return Draw{}, err
	} else if !until.IsZero() {
		return Draw{}, quizWaitError(until)
	}
	order := make([]int, len(m.Quiz))
	for i := range order {
		order[i] = i
	}
	// A Fisher-Yates shuffle with crypto/rand: the draw must not be
	// predictable from earlier ones.
	for i := len(order) - 1; i > 0; i-- {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return Draw{}, fmt.Errorf("draw quiz: %w", err)
		}
		j := int(n.Int64())
		order[i], order[j] = order[j], order[i]
	}
	d := drawn{Questions: order[:m.Asked()], Version: m.UpdatedAt.UnixMicro()}
	plain, _ := json.Marshal(d)
	sealed, err := s.secrets.Seal(ctx, plain, quizAssociated(staffID, m.Key))
	if err != nil {
		return Draw{}, fmt.Errorf("draw quiz: %w", err)
	}
	out := Draw{Token: base64.RawURLEncoding.EncodeToString(sealed)}
	for _, i := range d.Questions {
		q := m.Quiz[i]
		q.Answer = -1 // answers stay on the server
		out.Questions = append(out.Questions, q)
	}
	return out, nil
}

// TakeQuiz scores a staff member's answers to a draw (one choice index per
// drawn question, in the draw's order) and records the attempt. The result
// says how many answers were right, never which.
func (s *Service) TakeQuiz(ctx context.Context, staffID, moduleKey, token string, answers []int) (Completion, error) {
	m, err := s.Module(ctx, moduleKey)
	if err != nil {
		return Completion{}, err
	}
	var d drawn
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		var plain []byte
		if plain, err = s.secrets.Open(ctx, sealed, quizAssociated(staffID, m.Key)); err == nil {
			err = json.Unmarshal(plain, &d)
		}
	}
	if err != nil || len(d.Questions) == 0 {
		return Completion{}, errs.Invalid("draw", "this quiz did not come from the console; reload the page and answer again").Keyed("quiz_not_drawn")
	}
	if d.Version != m.UpdatedAt.UnixMicro() {
		return Completion{}, errs.New(errs.CodeConflict, "the module changed while you took the quiz; reload the page and answer again").Keyed("quiz_module_changed")
	}
	if len(answers) != len(d.Questions) {
		return Completion{}, errs.Invalid("answers", "answer each of the %d questions", len(d.Questions)).Keyed("quiz_answer_each", "n", len(d.Questions))
	}
	// The wait is checked and the attempt recorded under one lock, so that
	// concurrent submissions cannot all slip in before the wait (each
	// replica has its own lock; the database keeps the count).
	s.quizMu.Lock()
	defer s.quizMu.Unlock()
	if until, err := s.QuizWait(ctx, staffID, m.Key); err != nil {
		return Completion{}, err
	} else if !until.IsZero() {
		return Completion{}, quizWaitError(until)
	}
	right := 0
	for i, q := range d.Questions {
		if q < 0 || q >= len(m.Quiz) {
			return Completion{}, errs.Invalid("draw", "this quiz did not come from the console; reload the page and answer again").Keyed("quiz_not_drawn")
		}
		if answers[i] == m.Quiz[q].Answer {
			right++
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c := Completion{Module: m.Key, Score: right * 100 / len(d.Questions), Right: right, Asked: len(d.Questions), CompletedAt: now,
		ExpiresAt: now.AddDate(0, 0, m.ValidityDays)}
	c.Passed = c.Score >= m.PassMark
	// The attempt is audited with it: the completion report's counts can
	// be checked against the log.
	entry := audit.Entry{Actor: audit.Staff(staffID), Action: "training.attempt", Target: audit.Target{Kind: "training_module", ID: m.Key},
		Details: audit.MustDetails(map[string]any{"score": c.Score, "passed": c.Passed})}
	_, err = s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO training_completions (staff_id, module_key, score, passed, completed_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, staffID, m.Key, c.Score, c.Passed, c.CompletedAt.UnixMicro(), c.ExpiresAt.UnixMicro())
		return err
	})
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
		return errs.New(errs.CodeForbidden, "your role (%s) may not reveal personal data", a.Role).Keyed("reveal_role", "role", string(a.Role))
	}
	status, err := s.TrainingStatus(ctx, a.ID)
	if err != nil {
		return err
	}
	var due, titles []string
	for _, st := range status {
		if st.Module.Required && st.State != "current" {
			due = append(due, fmt.Sprintf("%q (%s)", st.Module.Title, st.State))
			titles = append(titles, fmt.Sprintf("%q", st.Module.Title))
		}
	}
	if len(due) > 0 {
		return errs.New(errs.CodeForbidden, "complete your training before revealing personal data: %s; see Training in the console",
			strings.Join(due, ", ")).Keyed("reveal_training_due", "modules", strings.Join(titles, ", "))
	}
	return nil
}
