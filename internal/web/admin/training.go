package admin

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type trainingData struct {
	Modules   []staff.ModuleStatus
	CanReveal error
	Form      moduleForm
}

// moduleForm is the training editor's input, kept to refill the form.
type moduleForm struct {
	Key, Title, Content, Quiz   string
	Ask, PassMark, ValidityDays string
	Required                    bool
}

// HandleTraining lists the modules with the staff member's standing.
func (c *Console) HandleTraining() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.training(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Form = moduleForm{PassMark: "80", ValidityDays: "365", Required: true}
		c.render(w, r, http.StatusOK, "training", page{Title: "title_training", Data: d})
	})
}

func (c *Console) training(r *http.Request) (*trainingData, error) {
	session := sessionOf(r)
	status, err := c.Staff.TrainingStatus(r.Context(), session.Account.ID)
	if err != nil {
		return nil, err
	}
	d := &trainingData{Modules: status}
	if session.Account.Role.Can(staff.PermReveal) {
		d.CanReveal = c.Staff.CanReveal(r.Context(), session.Account)
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
	draw, err := c.Staff.DrawQuiz(r.Context(), sessionOf(r).Account.ID, d.Module.Key)
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

// HandlePutModule creates or replaces a training module (training admins).
// The quiz is written one line each: "? question", "- wrong choice",
// "* right choice".
func (c *Console) HandlePutModule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := moduleForm{Key: r.PostFormValue("key"), Title: r.PostFormValue("title"), Content: r.PostFormValue("content"),
			Quiz: r.PostFormValue("quiz"), Ask: r.PostFormValue("ask"), PassMark: r.PostFormValue("pass_mark"), ValidityDays: r.PostFormValue("validity_days"),
			Required: r.PostFormValue("required") == "on"}
		m, problems := f.module(r)
		if len(problems) == 0 {
			create := r.PostFormValue("replace") != "on"
			if _, err := c.Staff.PutModule(r.Context(), m, create); err != nil {
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
			d.Form = f
			c.render(w, r, http.StatusBadRequest, "training", page{Title: "title_training", Problem: say(r, "tr_not_saved"), Fields: problems, Data: d})
			return
		}
		if _, err := c.Audit.Append(r.Context(), audit.Entry{Actor: actor(r), Action: "training.module_put",
			Target: audit.Target{Kind: "training_module", ID: m.Key}}); err != nil {
			c.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, say(r, "problem_audit_module")))
			return
		}
		http.Redirect(w, r, "/admin/training/"+url.PathEscape(m.Key), http.StatusSeeOther)
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
