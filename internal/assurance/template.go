package assurance

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// TargetTemplate is the audit target kind of template changes.
const TargetTemplate = "vendor_template"

// Limits on templates.
const (
	maxQuestions    = 100
	maxOptions      = 20
	maxWeight       = 100
	maxQuestionText = 1000
	maxHelp         = 2000
	maxOption       = 200
	maxTopic        = 100
	maxName         = 200
	maxDescription  = 2000
)

var (
	templateKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	questionIDPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,63}$`)
)

// Validate checks a template and names every field at fault; ids, counts
// and the required answers are checked as PutTemplate stores them.
func (t *Template) Validate() error {
	if problems := t.validate(); len(problems) > 0 {
		return errs.FieldsKeyed(problems)
	}
	return nil
}

func (t *Template) validate() errs.Problems {
	problems := errs.Problems{}
	if !templateKeyPattern.MatchString(t.Key) {
		problems.Add("key", "module_key")
	}
	checkLine(problems, "name", t.Name, 1, maxName)
	checkText(problems, "description", t.Description, maxDescription)
	if t.PassMark < 1 || t.PassMark > 100 {
		problems.Add("pass_mark", "pass_mark")
	}
	if len(t.Questions) == 0 || len(t.Questions) > maxQuestions {
		problems.Add("questions", "template_questions", "max", maxQuestions)
	}
	seen := map[string]bool{}
	for i, q := range t.Questions {
		field := func(name string) string { return fmt.Sprintf("questions[%d].%s", i, name) }
		switch {
		case !questionIDPattern.MatchString(q.ID):
			problems.Add(field("id"), "question_id")
		case seen[q.ID]:
			problems.Add(field("id"), "question_id_taken", "id", strconv.Quote(q.ID))
		}
		seen[q.ID] = true
		checkLine(problems, field("topic"), q.Topic, 0, maxTopic)
		checkText(problems, field("text"), q.Text, maxQuestionText)
		if strings.TrimSpace(q.Text) == "" {
			problems.Add(field("text"), "required")
		}
		checkText(problems, field("help"), q.Help, maxHelp)
		if q.Weight < 1 || q.Weight > maxWeight {
			problems.Add(field("weight"), "from_to", "min", 1, "max", maxWeight)
		}
		switch q.Kind {
		case KindYesNo:
			if len(q.Options) > 0 {
				problems.Add(field("options"), "yes_no_options")
			}
		case KindChoice:
			if len(q.Options) < 2 || len(q.Options) > maxOptions {
				problems.Add(field("options"), "choice_options", "max", maxOptions)
			}
			for j, o := range q.Options {
				option := fmt.Sprintf("questions[%d].options[%d]", i, j)
				if checkLine(problems, option, o, 1, maxOption); !problems.Has(option) && slices.Index(q.Options, o) != j {
					problems.Add(option, "repeated_option")
				}
			}
		case KindText, KindFileReference:
			if len(q.Options) > 0 {
				problems.Add(field("options"), "open_question_options")
			}
			if len(q.Pass) > 0 {
				problems.Add(field("pass"), "open_question_pass")
			}
		default:
			problems.Add(field("kind"), "question_kind")
		}
		if q.Kind.closed() {
			choices := q.Choices()
			if len(q.Pass) == 0 {
				problems.Add(field("pass"), "name_passing_answers")
			}
			for j, p := range q.Pass {
				if !slices.Contains(choices, p) {
					problems.Add(fmt.Sprintf("questions[%d].pass[%d]", i, j), "not_an_answer", "answer", strconv.Quote(p))
				} else if slices.Index(q.Pass, p) != j {
					problems.Add(fmt.Sprintf("questions[%d].pass[%d]", i, j), "repeated_passing_answer")
				}
			}
		}
	}
	return problems
}

// checkLine puts what is wrong with one line of text under field.
func checkLine(problems errs.Problems, field, s string, minLen, maxLen int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		problems.Add(field, "one_line_text")
	case strings.TrimSpace(s) != s:
		problems.Add(field, "no_edge_spaces")
	case n < minLen || n > maxLen:
		if minLen > 0 {
			problems.Add(field, "length_between", "min", minLen, "max", maxLen)
		} else {
			problems.Add(field, "too_long", "max", maxLen)
		}
	}
}

// lineOK reports whether s is one line of text checkLine accepts.
func lineOK(s string, minLen, maxLen int) bool {
	problems := errs.Problems{}
	checkLine(problems, "", s, minLen, maxLen)
	return len(problems) == 0
}

// checkText bounds multi-line text.
func checkText(problems errs.Problems, field, s string, maxLen int) {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxLen {
		problems.Add(field, "text_at_most", "max", maxLen)
	}
}

// Score scores answers against the template: each question with a passing
// answer earns its weight; unanswered questions fail. The answers pass
// when the earned weight reaches the pass mark (compared exactly, not on
// the rounded percentage) and no must-pass question failed.
func (t Template) Score(answers map[string]string) Score {
	sc := Score{PassMark: t.PassMark, Failed: []string{}, MustPassFailed: []string{}}
	for _, q := range t.Questions {
		sc.Possible += q.Weight
		if q.Passes(answers[q.ID]) {
			sc.Earned += q.Weight
			continue
		}
		sc.Failed = append(sc.Failed, q.ID)
		if q.MustPass {
			sc.MustPassFailed = append(sc.MustPassFailed, q.ID)
		}
	}
	if sc.Possible > 0 {
		sc.Percent = sc.Earned * 100 / sc.Possible
	}
	sc.Passed = sc.Possible > 0 && sc.Earned*100 >= t.PassMark*sc.Possible && len(sc.MustPassFailed) == 0
	return sc
}

// prompts returns the questions as the vendor sees them.
func (t Template) prompts() []Prompt {
	out := make([]Prompt, len(t.Questions))
	for i, q := range t.Questions {
		out[i] = Prompt{ID: q.ID, Topic: q.Topic, Text: q.Text, Help: q.Help, Kind: q.Kind, Choices: q.Choices()}
	}
	return out
}

// contentHash identifies what a template asks, whatever its version.
func (t Template) contentHash() string {
	b, err := json.Marshal(struct {
		Name, Description string
		PassMark          int
		Questions         []Question
	}{t.Name, t.Description, t.PassMark, t.Questions})
	if err != nil {
		panic("vendor: marshal template: " + err.Error()) // plain data only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// normalise makes the empty slices of a template non-nil, so that it
// encodes the same way however it was built.
func (t *Template) normalise() {
	t.Questions = slices.Clone(t.Questions)
	for i := range t.Questions {
		q := &t.Questions[i]
		if q.Kind != KindChoice && len(q.Options) == 0 {
			q.Options = nil
		}
		if !q.Kind.closed() && len(q.Pass) == 0 {
			q.Pass = nil
		}
	}
}

const templateColumns = `key, version, name, description, pass_mark, questions, builtin, created_at`

func scanTemplate(scan func(...any) error) (Template, error) {
	var t Template
	var questions string
	var created int64
	if err := scan(&t.Key, &t.Version, &t.Name, &t.Description, &t.PassMark, &questions, &t.Builtin, &created); err != nil {
		return Template{}, err
	}
	if err := json.Unmarshal([]byte(questions), &t.Questions); err != nil {
		return Template{}, fmt.Errorf("read template %s version %d: %w", t.Key, t.Version, err)
	}
	t.CreatedAt = time.UnixMicro(created).UTC()
	return t, nil
}

// templateVersion reads one version of a template.
func templateVersion(ctx context.Context, q db.Querier, key string, version int) (Template, error) {
	t, err := scanTemplate(q.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM vendor_templates WHERE key = $1 AND version = $2`,
		key, version).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Template{}, errs.NotFound("template", fmt.Sprintf("%s version %d", key, version))
	}
	if err != nil {
		return Template{}, db.Classify(fmt.Errorf("read template: %w", err))
	}
	return t, nil
}

// latestTemplate reads the latest version of a template.
func latestTemplate(ctx context.Context, q db.Querier, key string) (Template, error) {
	t, err := scanTemplate(q.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM vendor_templates WHERE key = $1
		ORDER BY version DESC LIMIT 1`, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Template{}, errs.NotFound("template", key)
	}
	if err != nil {
		return Template{}, db.Classify(fmt.Errorf("read template: %w", err))
	}
	return t, nil
}

// Template returns the latest version of a template. A built-in template
// is stored on first use.
func (s *Service) Template(ctx context.Context, key string) (Template, error) {
	t, err := latestTemplate(ctx, s.db, key)
	if errs.Is(err, errs.CodeNotFound) && builtin(key) != nil {
		if err := s.EnsureBuiltins(ctx); err != nil {
			return Template{}, err
		}
		return latestTemplate(ctx, s.db, key)
	}
	return t, err
}

// TemplateVersion returns one version of a template, as an assessment
// sent with it asks.
func (s *Service) TemplateVersion(ctx context.Context, key string, version int) (Template, error) {
	return templateVersion(ctx, s.db, key, version)
}

// Templates returns the latest version of every template, by key, the
// built-in ones stored first if they are not yet.
func (s *Service) Templates(ctx context.Context) ([]Template, error) {
	if err := s.EnsureBuiltins(ctx); err != nil {
		return nil, err
	}
	out, err := db.QueryAll(ctx, s.db, `SELECT `+templateColumns+` FROM vendor_templates t
		WHERE version = (SELECT MAX(version) FROM vendor_templates WHERE key = t.key) ORDER BY key`, nil, scanTemplate)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list templates: %w", err))
	}
	return out, nil
}

// PutTemplate stores t as the next version of its key (version 1 for a new
// key) and returns it. Assessments already sent keep the version they were
// sent with. The keys of built-in templates are refused: copy one under a
// key of your own to change it.
func (s *Service) PutTemplate(ctx context.Context, t Template) (Template, error) {
	if builtin(t.Key) != nil {
		return Template{}, errs.Invalid("key", "%q is a built-in template; save your changes under another key", t.Key).Keyed("template_builtin", "key", t.Key)
	}
	t.Builtin = false
	return s.putTemplate(ctx, t)
}

func (s *Service) putTemplate(ctx context.Context, t Template) (Template, error) {
	t.normalise()
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	questions, err := json.Marshal(t.Questions)
	if err != nil {
		return Template{}, fmt.Errorf("encode questions: %w", err)
	}
	actor := audit.ActorFrom(ctx)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var latest sql.NullInt64
		var hash sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT version, content_hash FROM vendor_templates WHERE key = $1
			ORDER BY version DESC LIMIT 1`+s.lock(), t.Key).Scan(&latest, &hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return db.Classify(fmt.Errorf("read template version: %w", err))
		}
		if t.Builtin && hash.Valid && hash.String == t.contentHash() {
			return errUnchanged // another replica stored it first
		}
		t.Version = int(latest.Int64) + 1
		t.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
		_, err = tx.ExecContext(ctx, `INSERT INTO vendor_templates (key, version, name, description, pass_mark, questions,
			builtin, content_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.Key, t.Version, t.Name, t.Description, t.PassMark, string(questions), t.Builtin, t.contentHash(), t.CreatedAt.UnixMicro())
		if db.IsUniqueViolation(err) {
			return errs.New(errs.CodeConflict, "template %s was changed meanwhile; try again", t.Key).Keyed("template_changed", "key", t.Key)
		}
		if err != nil {
			return db.Classify(fmt.Errorf("store template: %w", err))
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "vendor.template_saved",
			Target: audit.Target{Kind: TargetTemplate, ID: t.Key},
			Details: audit.MustDetails(map[string]any{"version": t.Version, "questions": len(t.Questions),
				"pass_mark": t.PassMark, "builtin": t.Builtin})})
		return err
	})
	if errors.Is(err, errUnchanged) {
		return latestTemplate(ctx, s.db, t.Key)
	}
	if err != nil {
		return Template{}, err
	}
	return t, nil
}

// errUnchanged ends a transaction that finds nothing to do.
var errUnchanged = errors.New("vendor: unchanged")

// EnsureBuiltins stores each built-in template whose latest stored version
// differs from the one this build of Steward ships (or that is not stored
// yet) as a new version. Run it at start-up; Template and Templates also
// run it when they need to.
func (s *Service) EnsureBuiltins(ctx context.Context) error {
	for _, t := range BuiltinTemplates() {
		latest, err := latestTemplate(ctx, s.db, t.Key)
		if err == nil && latest.contentHash() == t.contentHash() {
			continue
		}
		if err != nil && !errs.Is(err, errs.CodeNotFound) {
			return err
		}
		if _, err := s.putTemplate(audit.WithActor(ctx, audit.System()), t); err != nil {
			return fmt.Errorf("store built-in template %s: %w", t.Key, err)
		}
	}
	return nil
}

// builtin returns the built-in template of key, or nil.
func builtin(key string) *Template {
	for _, t := range BuiltinTemplates() {
		if t.Key == key {
			return &t
		}
	}
	return nil
}

// SecurityBaseline is the key of the built-in supplier security template.
const SecurityBaseline = "security-baseline"

// BuiltinTemplates returns the templates Steward ships. security-baseline
// covers what a controller asks of a processor before sharing personal
// data (GDPR Art. 28 and 32): encryption, access control, training,
// incidents and breach notice, sub-processors, data location, backups,
// certifications, retention and deletion. The must-pass questions are the
// ones no score can make up for.
func BuiltinTemplates() []Template {
	return []Template{{
		Key:  SecurityBaseline,
		Name: "Supplier security baseline",
		Description: "Questions about how you protect the personal data we share with you. " +
			"Answer for the service you provide to us. You can save your answers and come back before you submit.",
		PassMark: 80,
		Builtin:  true,
		Questions: []Question{
			{ID: "encryption_at_rest", Topic: "Encryption", Kind: KindYesNo, Weight: 10, Pass: []string{Yes}, MustPass: true,
				Text: "Is all of our data that you store encrypted at rest (databases, file storage, backups) with a current algorithm such as AES-256?"},
			{ID: "key_management", Topic: "Encryption", Kind: KindChoice, Weight: 5, Pass: []string{"A key management service or HSM, with access limited to named administrators and logged"},
				Text: "How are the encryption keys that protect our data kept?",
				Options: []string{
					"A key management service or HSM, with access limited to named administrators and logged",
					"With the application, readable by its operators",
					"Keys are not managed separately",
				}},
			{ID: "encryption_in_transit", Topic: "Encryption", Kind: KindYesNo, Weight: 10, Pass: []string{Yes}, MustPass: true,
				Text: "Is our data encrypted in transit on every network path, public and internal, with TLS 1.2 or later?"},
			{ID: "mfa", Topic: "Access control", Kind: KindYesNo, Weight: 10, Pass: []string{Yes}, MustPass: true,
				Text: "Do all staff and administrators who can reach our data sign in with multi-factor authentication?"},
			{ID: "least_privilege", Topic: "Access control", Kind: KindChoice, Weight: 8,
				Pass: []string{"Role-based and least privilege, reviewed at least quarterly", "Role-based and least privilege, reviewed at least yearly"},
				Text: "How is access to our data granted and reviewed?",
				Options: []string{
					"Role-based and least privilege, reviewed at least quarterly",
					"Role-based and least privilege, reviewed at least yearly",
					"Granted on request, not reviewed regularly",
					"All staff have access",
				}},
			{ID: "access_logging", Topic: "Access control", Kind: KindYesNo, Weight: 5, Pass: []string{Yes},
				Text: "Are accesses to our data logged, with the logs kept for at least 12 months and protected from alteration?"},
			{ID: "staff_training", Topic: "People", Kind: KindChoice, Weight: 6, Pass: []string{"When they join and at least yearly"},
				Text:    "How often do staff with access to our data complete security and data protection training?",
				Options: []string{"When they join and at least yearly", "When they join only", "There is no formal training"}},
			{ID: "incident_response", Topic: "Incidents", Kind: KindYesNo, Weight: 8, Pass: []string{Yes},
				Text: "Do you have a documented incident response plan, tested at least once a year?"},
			{ID: "breach_notice", Topic: "Incidents", Kind: KindChoice, Weight: 10, Pass: []string{"Within 24 hours", "Within 48 hours"}, MustPass: true,
				Text:    "How soon after becoming aware of a personal data breach affecting our data do you commit to notify us?",
				Help:    "We must notify the supervisory authority within 72 hours of becoming aware of a breach (GDPR Art. 33), so we need to hear from you well before then.",
				Options: []string{"Within 24 hours", "Within 48 hours", "Within 72 hours", "Without a committed time"}},
			{ID: "subprocessors", Topic: "Sub-processors", Kind: KindYesNo, Weight: 6, Pass: []string{Yes},
				Text: "Do you keep a current list of the sub-processors that may process our data, and tell us before you add or replace one?"},
			{ID: "subprocessor_list", Topic: "Sub-processors", Kind: KindFileReference, Weight: 3,
				Text: "Where can we read your current list of sub-processors?",
				Help: "An https link, or the id of a document you have sent us."},
			{ID: "data_location", Topic: "Data location", Kind: KindChoice, Weight: 8, MustPass: true,
				Pass: []string{
					"Only in the EU or EEA",
					"Also in countries with an EU adequacy decision",
					"Also elsewhere, under Standard Contractual Clauses with a transfer impact assessment",
				},
				Text: "Where is our data stored and processed, including by sub-processors and for support?",
				Options: []string{
					"Only in the EU or EEA",
					"Also in countries with an EU adequacy decision",
					"Also elsewhere, under Standard Contractual Clauses with a transfer impact assessment",
					"Also elsewhere, without transfer safeguards",
				}},
			{ID: "backups", Topic: "Backups", Kind: KindYesNo, Weight: 6, Pass: []string{Yes},
				Text: "Are backups of our data encrypted, kept apart from production, and restored in a test at least once a year?"},
			{ID: "certification", Topic: "Certifications", Kind: KindChoice, Weight: 6,
				Pass: []string{"ISO/IEC 27001", "SOC 2 Type II", "Both ISO/IEC 27001 and SOC 2 Type II", "Another recognised scheme (such as BSI C5 or ISAE 3402)"},
				Text: "Which independent certification or attestation covers the service you provide to us?",
				Options: []string{"ISO/IEC 27001", "SOC 2 Type II", "Both ISO/IEC 27001 and SOC 2 Type II",
					"Another recognised scheme (such as BSI C5 or ISAE 3402)", "None"}},
			{ID: "certification_evidence", Topic: "Certifications", Kind: KindFileReference, Weight: 4,
				Text: "Where can we read the current certificate or report, with its date and scope?",
				Help: "An https link, or the id of a document you have sent us."},
			{ID: "deletion", Topic: "Retention and deletion", Kind: KindYesNo, Weight: 8, Pass: []string{Yes},
				Text: "At the end of our contract, or when we ask, will you delete or return our data within 30 days, and from backups within their rotation?"},
			{ID: "retention", Topic: "Retention and deletion", Kind: KindText, Weight: 4,
				Text: "How long do you keep our data, and its backups and logs, and what decides those periods?"},
			{ID: "security_testing", Topic: "Assurance", Kind: KindText, Weight: 3,
				Text: "How is the security of the service tested (penetration tests, vulnerability scans): how often, and by whom?"},
		},
	}}
}
