package admin

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type trainingData struct {
	Modules   []staff.ModuleStatus
	CanReveal error
	Form      moduleForm
	// Programme is the reader's own assigned modules with their standing.
	Programme []staff.Standing
	// Assignments, Roles and Languages are for training administrators.
	Assignments []staff.Assignment
	Roles       []staff.Role
	Languages   []string
	// AssignForm refills the assignment form after a problem.
	AssignForm assignForm
}

// moduleForm is the training editor's input, kept to refill the form.
// Lang is the language of the texts edited: English is the module's own,
// another language one of its translations.
type moduleForm struct {
	Key, Title, Content, Quiz   string
	Ask, PassMark, ValidityDays string
	Required, Replace           bool
	Lang                        string
}

type assignForm struct{ Role, Module, DueDays string }

// HandleTraining lists the modules with the staff member's standing.
func (c *Console) HandleTraining() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.training(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Form = moduleForm{PassMark: "80", ValidityDays: "365", Required: true, Lang: i18n.English}
		d.AssignForm = assignForm{DueDays: "30"}
		c.render(w, r, http.StatusOK, "training", page{Title: "title_training", Data: d})
	})
}

func (c *Console) training(r *http.Request) (*trainingData, error) {
	session := sessionOf(r)
	status, err := c.Staff.TrainingStatus(r.Context(), session.Account.ID)
	if err != nil {
		return nil, err
	}
	lang := languageOf(r)
	for i := range status {
		status[i].Module = status[i].Module.Localized(lang)
	}
	d := &trainingData{Modules: status}
	if session.Account.Role.Can(staff.PermReveal) {
		d.CanReveal = c.Staff.CanReveal(r.Context(), session.Account)
	}
	if d.Programme, err = c.Staff.StandingOf(r.Context(), session.Account); err != nil {
		return nil, err
	}
	for i := range d.Programme {
		d.Programme[i].Module = d.Programme[i].Module.Localized(lang)
	}
	if session.Account.Role.Can(staff.PermTrainingAdmin) {
		if d.Assignments, err = c.Staff.Assignments(r.Context()); err != nil {
			return nil, err
		}
		d.Roles, d.Languages = staff.Roles, i18n.Default().Languages()
	}
	return d, nil
}

type moduleData struct {
	Module  staff.Module // without its questions: the page shows Draw's
	Content template.HTML
	Result  *staff.Completion
	// Draw is this attempt's questions; Wait, when set, says why and until
	// when there is no attempt now.
	Draw *staff.Draw
	Wait string
}

// markdown renders training content. Raw HTML in the source is dropped
// (goldmark's default), so content cannot inject markup or scripts.
var markdown = goldmark.New()

// HandleModule shows a module's content and a quiz drawn from its pool.
func (c *Console) HandleModule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.module(r, r.PathValue("key"))
		if err == nil {
			err = c.draw(r, d)
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "module", page{Title: d.Module.Title, Data: d})
	})
}

func (c *Console) module(r *http.Request, key string) (*moduleData, error) {
	m, err := c.Staff.Module(r.Context(), key)
	if err != nil {
		return nil, err
	}
	m = m.Localized(languageOf(r))
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(m.Content), &buf); err != nil {
		return nil, fmt.Errorf("render training %q: %w", key, err)
	}
	// The pool and its answers stay on the server.
	m.Ask, m.Quiz = m.Asked(), nil
	return &moduleData{Module: m, Content: template.HTML(buf.String())}, nil
}

// draw draws the next attempt's questions, or says until when the staff
// member must wait after failing.
func (c *Console) draw(r *http.Request, d *moduleData) error {
	draw, err := c.Staff.DrawQuizIn(r.Context(), sessionOf(r).Account.ID, d.Module.Key, languageOf(r))
	if e, ok := errs.As(err); ok && e.Code == errs.CodeForbidden {
		d.Wait = message(r, e)
		return nil
	}
	if err != nil {
		return err
	}
	d.Draw = &draw
	return nil
}

// HandleQuiz scores a quiz attempt and records it. The page says how many
// answers were right, never which, and offers a new draw.
func (c *Console) HandleQuiz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		d, err := c.module(r, key)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		answers := make([]int, d.Module.Ask)
		problems := map[string]string{}
		for i := range answers {
			field := "q" + strconv.Itoa(i)
			n, err := strconv.Atoi(r.PostFormValue(field))
			if err != nil {
				problems[field] = say(r, "md_answer_question", "n", i+1)
				continue
			}
			answers[i] = n
		}
		if len(problems) > 0 {
			if err := c.draw(r, d); err != nil {
				c.fail(w, r, err)
				return
			}
			c.render(w, r, http.StatusBadRequest, "module", page{Title: d.Module.Title, Problem: say(r, "md_answer_every"), Fields: problems, Data: d})
			return
		}
		completion, err := c.Staff.TakeQuiz(r.Context(), sessionOf(r).Account.ID, key, r.PostFormValue("draw"), answers)
		if e, ok := errs.As(err); ok && (e.Code == errs.CodeForbidden || e.Code == errs.CodeConflict || e.Code == errs.CodeInvalid) {
			status := httpx.Status(err)
			if err := c.draw(r, d); err != nil {
				c.fail(w, r, err)
				return
			}
			problem := message(r, e)
			if e.Code == errs.CodeForbidden {
				problem = "" // the wait, which the page shows instead of a quiz
			}
			c.render(w, r, status, "module", page{Title: d.Module.Title, Problem: problem, Data: d})
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Result = &completion
		if !completion.Passed {
			if err := c.draw(r, d); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		c.render(w, r, http.StatusOK, "module", page{Title: d.Module.Title, Data: d})
	})
}

// HandlePutModule creates or replaces a training module (training admins),
// or one language of it: the texts in English are the module's own, in
// another language a translation, whose quiz asks the same questions with
// the same right answers. Replacing a built-in module makes the stored
// version. The quiz is written one line each: "? question", "- wrong
// choice", "* right choice".
func (c *Console) HandlePutModule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := moduleForm{Key: r.PostFormValue("key"), Title: r.PostFormValue("title"), Content: r.PostFormValue("content"),
			Quiz: r.PostFormValue("quiz"), Ask: r.PostFormValue("ask"), PassMark: r.PostFormValue("pass_mark"), ValidityDays: r.PostFormValue("validity_days"),
			Required: r.PostFormValue("required") == "on", Replace: r.PostFormValue("replace") == "on", Lang: r.PostFormValue("lang")}
		if f.Lang == "" {
			f.Lang = i18n.English
		}
		m, problems := f.module(r)
		if !i18n.Default().Has(f.Lang) {
			problems["lang"] = say(r, "tr_lang_unknown")
		} else if f.Lang != i18n.English && !f.Replace {
			problems["lang"] = say(r, "tr_lang_new")
		}
		if len(problems) == 0 && f.Replace {
			var err error
			if m, err = c.mergeModule(r, m, f.Lang); err != nil {
				if e, ok := errs.As(err); ok && e.Code == errs.CodeNotFound {
					problems["key"] = message(r, e)
				} else {
					c.fail(w, r, err)
					return
				}
			}
		}
		if len(problems) == 0 {
			if _, err := c.Staff.PutModule(r.Context(), m, !f.Replace); err != nil {
				if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeConflict || e.Code == errs.CodeNotFound) {
					problems = fieldMessages(r, e)
					if len(problems) == 0 {
						problems = map[string]string{"key": message(r, e)}
					}
				} else {
					c.fail(w, r, err)
					return
				}
			}
		}
		if len(problems) > 0 {
			d, err := c.training(r)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			d.Form, d.AssignForm = f, assignForm{DueDays: "30"}
			c.render(w, r, http.StatusBadRequest, "training", page{Title: "title_training", Problem: say(r, "tr_not_saved"), Fields: problems, Data: d})
			return
		}
		http.Redirect(w, r, "/admin/training/"+url.PathEscape(m.Key)+"?lang="+url.QueryEscape(f.Lang), http.StatusSeeOther)
	})
}

// mergeModule puts the texts of one language the form edited into the
// stored module: the settings are the form's, the other languages stay.
func (c *Console) mergeModule(r *http.Request, edited staff.Module, lang string) (staff.Module, error) {
	stored, err := c.Staff.Module(r.Context(), edited.Key)
	if err != nil {
		return edited, err
	}
	translations := map[string]staff.ModuleText{}
	for l, t := range stored.Translations {
		translations[l] = t
	}
	if lang != i18n.English {
		translations[lang] = staff.ModuleText{Title: edited.Title, Content: edited.Content, Quiz: edited.Quiz}
		edited.Title, edited.Content, edited.Quiz = stored.Title, stored.Content, stored.Quiz
	}
	edited.Translations = translations
	return edited, nil
}

// HandleEditModule shows the editor filled with a module's texts in one
// language (?text=de; default English), for training administrators.
func (c *Console) HandleEditModule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := c.Staff.Module(r.Context(), r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		lang := r.URL.Query().Get("text")
		if !i18n.Default().Has(lang) {
			lang = i18n.English
		}
		text, _ := m.Text(lang)
		quiz := text.Quiz
		if lang != i18n.English { // a translation's right answers are the English ones
			quiz = m.Localized(lang).Quiz
		}
		d, err := c.training(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Form = moduleForm{Key: m.Key, Title: text.Title, Content: text.Content, Quiz: staff.FormatQuiz(quiz), Ask: strconv.Itoa(m.Ask),
			PassMark: strconv.Itoa(m.PassMark), ValidityDays: strconv.Itoa(m.ValidityDays), Required: m.Required, Replace: true, Lang: lang}
		d.AssignForm = assignForm{DueDays: "30"}
		c.render(w, r, http.StatusOK, "training", page{Title: "title_training", Data: d})
	})
}

// HandlePutAssignment assigns a module to a role (or every role) with the
// days to complete it (training admins).
func (c *Console) HandlePutAssignment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := assignForm{Role: r.PostFormValue("role"), Module: r.PostFormValue("module"), DueDays: strings.TrimSpace(r.PostFormValue("due_days"))}
		days, err := strconv.Atoi(f.DueDays)
		problems := map[string]string{}
		if err != nil {
			problems["due_days"] = say(r, "tr_days_number")
		} else if err := c.Staff.PutAssignment(r.Context(), staff.Role(f.Role), f.Module, days); err != nil {
			e, ok := errs.As(err)
			if !ok || (e.Code != errs.CodeInvalid && e.Code != errs.CodeNotFound) {
				c.fail(w, r, err)
				return
			}
			if problems = e.Fields; len(problems) == 0 {
				problems = map[string]string{"module": message(r, e)}
			}
		}
		if len(problems) > 0 {
			d, err := c.training(r)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			d.Form, d.AssignForm = moduleForm{PassMark: "80", ValidityDays: "365", Required: true, Lang: i18n.English}, f
			c.render(w, r, http.StatusBadRequest, "training", page{Title: "title_training", Problem: say(r, "tr_assign_not_saved"), Fields: problems, Data: d})
			return
		}
		http.Redirect(w, r, "/admin/training#assignments", http.StatusSeeOther)
	})
}

// HandleDeleteAssignment takes a module off a role's programme.
func (c *Console) HandleDeleteAssignment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Staff.DeleteAssignment(r.Context(), staff.Role(r.PostFormValue("role")), r.PostFormValue("module")); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/training#assignments", http.StatusSeeOther)
	})
}

type reportData struct {
	Counts    []staff.ModuleCounts
	Standings []staff.Standing
	State     string // the filter: "" for all
	States    []string
}

// HandleTrainingReport is the completion report: per module how many
// people are done, expiring, due and overdue, and per person and module
// where they stand (?state= filters), for whoever manages staff.
func (c *Console) HandleTrainingReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		standings, err := c.programme(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d := reportData{Counts: staff.Count(standings), States: staff.StandingStates, State: r.URL.Query().Get("state")}
		if d.State != "" && !slices.Contains(staff.StandingStates, d.State) {
			c.fail(w, r, errs.Invalid("state", "must be done, expiring, due or overdue").Keyed("training_state"))
			return
		}
		for _, st := range standings {
			if d.State == "" || st.State == d.State {
				d.Standings = append(d.Standings, st)
			}
		}
		c.render(w, r, http.StatusOK, "training_report", page{Title: "title_training_report", Data: d})
	})
}

// programme is every person's standing, the titles in the reader's
// language.
func (c *Console) programme(r *http.Request) ([]staff.Standing, error) {
	standings, err := c.Staff.Programme(r.Context())
	if err != nil {
		return nil, err
	}
	lang := languageOf(r)
	for i := range standings {
		standings[i].Module = standings[i].Module.Localized(lang)
	}
	return standings, nil
}

// HandleTrainingReportCSV downloads the report, one row per person and
// module; cells cannot run as spreadsheet formulas.
func (c *Console) HandleTrainingReportCSV() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		standings, err := c.programme(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		out := csv.NewWriter(&buf)
		_ = out.Write([]string{"staff_id", "name", "email", "role", "module", "title", "state", "due", "last_pass", "score", "expires"})
		for _, st := range standings {
			last, score, expires := "", "", ""
			if st.Last != nil {
				last, score, expires = st.Last.CompletedAt.UTC().Format(time.DateOnly), strconv.Itoa(st.Last.Score), st.Last.ExpiresAt.UTC().Format(time.DateOnly)
			}
			_ = out.Write([]string{csvCell(st.Account.ID), csvCell(st.Account.Name), csvCell(st.Account.Email), string(st.Account.Role), csvCell(st.Module.Key),
				csvCell(st.Module.Title), st.State, st.Due.UTC().Format(time.DateOnly), last, score, expires})
		}
		out.Flush()
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="training-`+c.Now().UTC().Format("2006-01-02")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
}

func (f moduleForm) module(r *http.Request) (staff.Module, map[string]string) {
	problems := map[string]string{}
	m := staff.Module{Key: strings.TrimSpace(f.Key), Title: f.Title, Content: f.Content, Required: f.Required}
	var err error
	if ask := strings.TrimSpace(f.Ask); ask != "" {
		if m.Ask, err = strconv.Atoi(ask); err != nil {
			problems["ask"] = say(r, "tr_ask_number")
		}
	}
	if m.PassMark, err = strconv.Atoi(strings.TrimSpace(f.PassMark)); err != nil {
		problems["pass_mark"] = say(r, "tr_whole_number")
	}
	if m.ValidityDays, err = strconv.Atoi(strings.TrimSpace(f.ValidityDays)); err != nil {
		problems["validity_days"] = say(r, "tr_days_number")
	}
	m.Quiz, err = parseQuiz(r, f.Quiz)
	if err != nil {
		problems["quiz"] = err.Error()
	}
	return m, problems
}

// parseQuiz reads "? question", "- choice" and "* right choice" lines.
func parseQuiz(r *http.Request, text string) ([]staff.Question, error) {
	var quiz []staff.Question
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		marker, rest := line[:1], strings.TrimSpace(line[1:])
		switch {
		case marker == "?":
			quiz = append(quiz, staff.Question{Text: rest, Answer: -1})
		case (marker == "-" || marker == "*") && len(quiz) > 0:
			q := &quiz[len(quiz)-1]
			if marker == "*" {
				if q.Answer >= 0 {
					return nil, errors.New(say(r, "tr_quiz_two_right", "line", n+1, "question", len(quiz)))
				}
				q.Answer = len(q.Choices)
			}
			q.Choices = append(q.Choices, rest)
		default:
			return nil, errors.New(say(r, "tr_quiz_line", "line", n+1))
		}
	}
	for i, q := range quiz {
		if q.Answer < 0 {
			return nil, errors.New(say(r, "tr_quiz_no_right", "question", i+1))
		}
	}
	return quiz, nil
}
