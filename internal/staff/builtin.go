package staff

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/i18n"
)

// The built-in modules live in modules/<key>/: module.json (pass mark,
// validity, whether the reveal gate needs it, and the roles it is assigned
// to by default), and per language of the catalog <lang>.md (a "# Title"
// line, then the content in Markdown) and <lang>.quiz (the console's quiz
// format: "? question", "- wrong choice", "* right choice").
//
//go:embed modules
var moduleFiles embed.FS

// builtinSettings is a built-in's module.json.
type builtinSettings struct {
	PassMark     int          `json:"pass_mark"`
	ValidityDays int          `json:"validity_days"`
	Ask          int          `json:"ask"`
	Required     bool         `json:"required"`
	Assign       []Assignment `json:"assign"`
}

// Builtin is a module Steward ships, with the assignments it starts with.
type Builtin struct {
	Module Module
	Assign []Assignment
	// Version is a hash of the shipped files: InstallBuiltins updates an
	// unedited module when it changes.
	Version string
}

// Builtins returns the modules Steward ships, by key. They are read and
// checked once; a broken file is a bug that the package's tests catch.
var Builtins = sync.OnceValues(func() ([]Builtin, error) { return loadBuiltins(moduleFiles, "modules") })

func loadBuiltins(fsys fs.FS, dir string) ([]Builtin, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("built-in modules: %w", err)
	}
	var out []Builtin
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := loadBuiltin(fsys, path.Join(dir, e.Name()), e.Name())
		if err != nil {
			return nil, fmt.Errorf("built-in module %s: %w", e.Name(), err)
		}
		out = append(out, b)
	}
	return out, nil
}

func loadBuiltin(fsys fs.FS, dir, key string) (Builtin, error) {
	hash := sha256.New()
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		hash.Write([]byte(name + "\x00"))
		hash.Write(b)
		return b, err
	}
	raw, err := read("module.json")
	if err != nil {
		return Builtin{}, err
	}
	var set builtinSettings
	if err := json.Unmarshal(raw, &set); err != nil {
		return Builtin{}, fmt.Errorf("module.json: %w", err)
	}
	m := Module{Key: key, PassMark: set.PassMark, ValidityDays: set.ValidityDays, Ask: set.Ask, Required: set.Required, Origin: OriginBuiltin}
	for _, lang := range i18n.Default().Languages() {
		md, err := read(lang + ".md")
		if err != nil {
			return Builtin{}, err
		}
		quizText, err := read(lang + ".quiz")
		if err != nil {
			return Builtin{}, err
		}
		title, content, ok := strings.Cut(strings.ReplaceAll(string(md), "\r\n", "\n"), "\n")
		title, found := strings.CutPrefix(title, "# ")
		if !ok || !found {
			return Builtin{}, fmt.Errorf("%s.md: the first line must be \"# Title\"", lang)
		}
		quiz, err := ParseQuiz(string(quizText))
		if err != nil {
			return Builtin{}, fmt.Errorf("%s.quiz: %w", lang, err)
		}
		t := ModuleText{Title: strings.TrimSpace(title), Content: strings.TrimSpace(content) + "\n", Quiz: quiz}
		if lang == i18n.English {
			m.Title, m.Content, m.Quiz = t.Title, t.Content, t.Quiz
			continue
		}
		if m.Translations == nil {
			m.Translations = map[string]ModuleText{}
		}
		m.Translations[lang] = t
	}
	if problems := m.validate(); len(problems) > 0 {
		return Builtin{}, fmt.Errorf("invalid: %v", problems)
	}
	for _, a := range set.Assign {
		if a.Role != AllRoles && !a.Role.Valid() || a.DueDays < 1 {
			return Builtin{}, fmt.Errorf("module.json: assignment %+v", a)
		}
	}
	return Builtin{Module: m, Assign: set.Assign, Version: hex.EncodeToString(hash.Sum(nil))}, nil
}

// ParseQuiz reads a quiz written one line each: "? question", "- wrong
// choice", "* right choice"; blank lines are skipped. The error names the
// line.
func ParseQuiz(text string) ([]Question, error) {
	var quiz []Question
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		marker, rest := line[:1], strings.TrimSpace(line[1:])
		switch {
		case marker == "?":
			quiz = append(quiz, Question{Text: rest, Answer: -1})
		case (marker == "-" || marker == "*") && len(quiz) > 0:
			q := &quiz[len(quiz)-1]
			if marker == "*" {
				if q.Answer >= 0 {
					return nil, fmt.Errorf("line %d: question %d has two right answers", n+1, len(quiz))
				}
				q.Answer = len(q.Choices)
			}
			q.Choices = append(q.Choices, rest)
		default:
			return nil, fmt.Errorf("line %d: start with '? ' for a question, '- ' for a choice or '* ' for the right choice", n+1)
		}
	}
	for i, q := range quiz {
		if q.Answer < 0 {
			return nil, fmt.Errorf("question %d has no right answer (mark it with '* ')", i+1)
		}
	}
	return quiz, nil
}

// FormatQuiz writes a quiz as ParseQuiz reads it.
func FormatQuiz(quiz []Question) string {
	var b strings.Builder
	for i, q := range quiz {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("? " + q.Text + "\n")
		for j, c := range q.Choices {
			mark := "- "
			if j == q.Answer {
				mark = "* "
			}
			b.WriteString(mark + c + "\n")
		}
	}
	return b.String()
}

// InstallBuiltins adds the built-in modules that are missing, with their
// default assignments, and brings unedited built-ins up to the shipped
// text; an edited or custom module of the same key is left alone. Each
// change is audited (training.module_install, by the system). It is safe
// to call at every start.
func (s *Service) InstallBuiltins(ctx context.Context) error {
	builtins, err := Builtins()
	if err != nil {
		return err
	}
	for _, b := range builtins {
		if err := s.installBuiltin(ctx, b); err != nil {
			return fmt.Errorf("install training module %s: %w", b.Module.Key, err)
		}
	}
	return nil
}

func (s *Service) installBuiltin(ctx context.Context, b Builtin) error {
	var origin, version string
	err := s.db.QueryRowContext(ctx, `SELECT origin, builtin_version FROM training_modules WHERE key = $1`, b.Module.Key).Scan(&origin, &version)
	missing := errors.Is(err, sql.ErrNoRows)
	if err != nil && !missing {
		return db.Classify(err)
	}
	if !missing && (origin != OriginBuiltin || version == b.Version) {
		return nil
	}
	m := b.Module
	quiz, _ := json.Marshal(m.Quiz)
	translations, _ := json.Marshal(m.Translations)
	now := s.now().UnixMicro()
	entry := audit.Entry{Actor: audit.System(), Action: "training.module_install", Target: audit.Target{Kind: "training_module", ID: m.Key},
		Details: audit.MustDetails(map[string]any{"version": b.Version[:16], "languages": strings.Join(m.Languages(), ",")})}
	_, err = s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		if !missing {
			_, err := tx.ExecContext(ctx, `UPDATE training_modules SET title = $2, content = $3, quiz = $4, ask = $5, pass_mark = $6, validity_days = $7,
				required = $8, translations = $9, builtin_version = $10, updated_at = $11 WHERE key = $1 AND origin = $12`,
				m.Key, m.Title, m.Content, string(quiz), m.Ask, m.PassMark, m.ValidityDays, m.Required, string(translations), b.Version, now, OriginBuiltin)
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO training_modules (key, title, content, quiz, ask, pass_mark, validity_days, required, translations, origin,
			builtin_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			m.Key, m.Title, m.Content, string(quiz), m.Ask, m.PassMark, m.ValidityDays, m.Required, string(translations), OriginBuiltin, b.Version, now); err != nil {
			return err
		}
		for _, a := range b.Assign {
			roles := []Role{a.Role}
			if a.Role == AllRoles {
				roles = slices.Clone(Roles)
			}
			for _, role := range roles {
				if _, err := tx.ExecContext(ctx, `INSERT INTO training_assignments (role, module_key, due_days, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $4) ON CONFLICT (role, module_key) DO NOTHING`, string(role), m.Key, a.DueDays, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return db.Classify(err)
}
