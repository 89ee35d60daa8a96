// Package assess is the page where a vendor answers a security
// questionnaire: /assess/{token}, the link a security officer sent them
// (internal/assurance). There is no account: the token in the URL is the
// credential, for one assessment of one vendor, until it expires, is
// withdrawn or the answers are submitted. The vendor can save and come
// back as often as they like, then submit. The page is server-rendered,
// accessible, and works without JavaScript.
//
//	pages, err := assess.New(assess.Deps{Vendors: vendors, Log: log})
//	mux.Handle("GET /assess/{token}", pages.HandleForm())
//
// # Routes
//
// The lead adds these to internal/web/routes.go, each with permission
// Public (the token is checked here), and counts /assess among the HTML
// pages (Route.Page), which the OpenAPI document does not describe:
//
//	{"GET /assess/assets/{file}", Public, s.assess((*assess.Pages).HandleStylesheet)},
//	{"GET /assess/{token}", Public, s.assess((*assess.Pages).HandleForm)},
//	{"POST /assess/{token}", Public, s.assess((*assess.Pages).HandleSave)},
//
// where s.assess, like s.portal, answers 503 while the server has none and
// may wrap the handler in the server's http.CrossOriginProtection.
//
// # Protections
//
// A form post must carry a form token derived from the URL's token (a
// SHA-256 of it under a fixed label, in a hidden field) and must not come
// from another site by the browser's Sec-Fetch-Site (or, without it, its
// Origin). Every answer carries a Content-Security-Policy that allows
// only the page's own stylesheet and forms posting to itself, is never
// cached (Cache-Control: no-store), and has Referrer-Policy: no-referrer,
// so that the token never leaves in a Referer header. Nothing here logs a
// request's path, which holds the token.
package assess

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/pages"
)

//go:embed templates/*.html assets/assess.css
var files embed.FS

// Deps are what the pages need.
type Deps struct {
	Vendors *assurance.Service
	Log     *slog.Logger
}

// Pages serves the questionnaire pages.
type Pages struct {
	Deps
	pages map[string]*template.Template
	css   *pages.Stylesheet
}

// New parses the templates and returns the pages.
func New(d Deps) (*Pages, error) {
	if d.Vendors == nil {
		return nil, errors.New("assess: New needs Vendors")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	css, err := files.ReadFile("assets/assess.css")
	if err != nil {
		return nil, fmt.Errorf("assess: %w", err)
	}
	p := &Pages{Deps: d, css: pages.NewStylesheet("/assess/assets/assess", css)}
	funcs := template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format("2 January 2006") },
		"when": func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
	}
	if p.pages, err = pages.Load(files, "templates", funcs); err != nil {
		return nil, fmt.Errorf("assess: %w", err)
	}
	for _, name := range []string{"form", "done", "error"} {
		if p.pages[name] == nil {
			return nil, fmt.Errorf("assess: no %s page", name)
		}
	}
	return p, nil
}

// StylesheetPath is the stylesheet's content-hashed URL.
func (p *Pages) StylesheetPath() string { return p.css.Path }

// HandleStylesheet serves the stylesheet under its hashed URL.
func (p *Pages) HandleStylesheet() http.Handler { return p.css }

// setPageHeaders is set on every page, redirect and refusal: the link's
// token is in the URL, so no referrer, and no search engine keeps it.
func setPageHeaders(h http.Header) {
	pages.SetHeaders(h, pages.CSP)
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// page is what every template gets.
type page struct {
	Title   string
	CSS     string
	Notice  string
	Problem string
	Data    any
}

// render writes a page, rendered into a buffer first so that a template
// failure becomes a clean error page.
func (p *Pages) render(w http.ResponseWriter, status int, name string, pg page) {
	pg.CSS = p.css.Path
	var buf bytes.Buffer
	if err := p.pages[name].Execute(&buf, pg); err != nil {
		p.Log.Error("assess: render", "page", name, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		_ = p.pages["error"].Execute(&buf, page{Title: "Something went wrong", Problem: "Something went wrong on our side. Please try again later.", CSS: p.css.Path})
	}
	setPageHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders err as an error page with the status of its code. The
// messages of package assurance about a link name nothing but the link;
// other errors are logged (without the path: it holds the token) and
// shown as a generic message.
func (p *Pages) fail(w http.ResponseWriter, err error) {
	status, title, msg := http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Please try again later."
	if e, ok := errs.As(err); ok && e.Code != errs.CodeInternal {
		msg = e.Message
		switch e.Code {
		case errs.CodeInvalid:
			status, title = http.StatusBadRequest, "Please check the form"
		case errs.CodeNotFound:
			status, title, msg = http.StatusNotFound, "Not found", "This page does not exist."
		case errs.CodeConflict:
			status, title = http.StatusConflict, "Questionnaire submitted"
		case errs.CodeUnauthorized:
			status, title = http.StatusUnauthorized, "This link does not work"
		case errs.CodeForbidden:
			status, title = http.StatusForbidden, "Form refused"
		case errs.CodeUnavailable:
			status, title, msg = http.StatusServiceUnavailable, "Try again later", "The service is unavailable for a moment. Please try again later."
		}
	} else {
		p.Log.Error("assess", "err", err)
	}
	p.render(w, status, "error", page{Title: title, Problem: msg})
}

// formToken is the hidden field of the questionnaire's form: derived from
// the link's token, so that the form of one link does not post to
// another, and a page that does not know the token cannot make one.
func formToken(token string) string {
	return pages.FormToken("steward assess form", token)
}

// crossSite reports whether the browser says the post comes from another
// site: Sec-Fetch-Site, or without it an Origin that is not this host.
// Requests without either (not a browser) pass: they need the form token.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default: // cross-site, same-site (a sibling subdomain is another origin)
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != r.Host
}

// HandleForm shows the questionnaire of a link with its latest saved
// answers.
func (p *Pages) HandleForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		q, err := p.Vendors.ByToken(r.Context(), token)
		if err != nil {
			p.fail(w, err)
			return
		}
		pg := page{Title: "Security questionnaire", Data: newForm(q, q.Answers, nil, formToken(token))}
		if r.URL.Query().Get("saved") != "" && q.LastSavedAt != nil {
			pg.Notice = fmt.Sprintf("Your answers were saved. You can close this page and come back with the same link until %s.",
				q.LinkExpiresAt.UTC().Format("2 January 2006"))
		}
		p.render(w, http.StatusOK, "form", pg)
	})
}

// HandleSave saves the posted answers, or submits them when the submit
// button was pressed. Saved, it sends the browser back to the form; a
// problem with the answers shows the form again with what was typed.
func (p *Pages) HandleSave() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		if crossSite(r) {
			p.fail(w, errs.New(errs.CodeForbidden, "This form was sent from another site, so it was not saved."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
		if err := r.ParseForm(); err != nil {
			p.fail(w, errs.New(errs.CodeInvalid, "The form could not be read; it may be too large. Shorten your answers and try again."))
			return
		}
		if got := r.PostForm.Get("form"); !pages.SameToken(got, formToken(token)) {
			p.fail(w, errs.New(errs.CodeForbidden, "This form has expired or did not come from this page. Reload the page and try again."))
			return
		}
		var submit bool
		switch r.PostForm.Get("action") {
		case "", "save":
		case "submit":
			submit = true
		default:
			p.fail(w, errs.New(errs.CodeInvalid, "Use the Save or the Submit button."))
			return
		}
		answers := map[string]string{}
		for key, values := range r.PostForm {
			if id, ok := strings.CutPrefix(key, "q."); ok && len(values) > 0 {
				answers[id] = values[0]
			}
		}
		q, err := p.Vendors.SaveAnswers(r.Context(), token, answers, submit)
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid && len(e.Fields) > 0 {
			p.showProblems(w, r, token, answers, e.Fields)
			return
		}
		if err != nil {
			p.fail(w, err)
			return
		}
		if submit {
			p.render(w, http.StatusOK, "done", page{Title: "Thank you", Data: q})
			return
		}
		setPageHeaders(w.Header())
		http.Redirect(w, r, assurance.LinkPath(token)+"?saved=1", http.StatusSeeOther)
	})
}

// showProblems shows the form again with the answers as posted and the
// problems next to their questions.
func (p *Pages) showProblems(w http.ResponseWriter, r *http.Request, token string, answers map[string]string, fields map[string]string) {
	q, err := p.Vendors.ByToken(r.Context(), token)
	if err != nil {
		p.fail(w, err)
		return
	}
	problems := map[string]string{}
	for field, msg := range fields {
		problems[strings.TrimPrefix(field, "answers.")] = msg
	}
	p.render(w, http.StatusBadRequest, "form", page{Title: "Security questionnaire",
		Problem: "Some answers need your attention; nothing was saved.", Data: newForm(q, answers, problems, formToken(token))})
}

// form is the questionnaire as the template shows it.
type form struct {
	Q         assurance.Questionnaire
	FormToken string
	Answered  int
	Total     int
	Topics    []topic
	// Problems lists the questions at fault, in form order, for the summary.
	Problems []field
}

type topic struct {
	Name      string
	ID        string
	Questions []field
}

type field struct {
	ID      string // the element id: "q-" + question id
	Name    string // the form field: "q." + question id
	Number  int
	Text    string
	Help    string
	Kind    assurance.Kind
	Answer  string
	Choices []choice
	Problem string
	// DescribedBy lists the ids of the help and problem texts.
	DescribedBy string
}

type choice struct {
	ID      string
	Value   string
	Label   string
	Checked bool
}

// newForm lays out a questionnaire with answers (saved or as posted) and
// problems by question id.
func newForm(q assurance.Questionnaire, answers, problems map[string]string, token string) form {
	f := form{Q: q, FormToken: token, Total: len(q.Prompts)}
	byTopic := map[string]int{}
	for i, pr := range q.Prompts {
		id := "q-" + pr.ID
		fl := field{ID: id, Name: "q." + pr.ID, Number: i + 1, Text: pr.Text, Help: pr.Help, Kind: pr.Kind,
			Answer: answers[pr.ID], Problem: sentence(problems[pr.ID])}
		if strings.TrimSpace(fl.Answer) != "" {
			f.Answered++
		}
		var described []string
		if fl.Help != "" {
			described = append(described, id+"-help")
		}
		if fl.Problem != "" {
			described = append(described, id+"-problem")
		}
		fl.DescribedBy = strings.Join(described, " ")
		for j, c := range pr.Choices {
			label := c
			if pr.Kind == assurance.KindYesNo {
				label = map[string]string{assurance.Yes: "Yes", assurance.No: "No"}[c]
			}
			fl.Choices = append(fl.Choices, choice{ID: fmt.Sprintf("%s-%d", id, j), Value: c, Label: label, Checked: c == fl.Answer})
		}
		name := pr.Topic
		if name == "" {
			name = "Questions"
		}
		at, ok := byTopic[name]
		if !ok {
			at = len(f.Topics)
			byTopic[name] = at
			f.Topics = append(f.Topics, topic{Name: name, ID: fmt.Sprintf("topic-%d", at+1)})
		}
		f.Topics[at].Questions = append(f.Topics[at].Questions, fl)
		if fl.Problem != "" {
			f.Problems = append(f.Problems, fl)
		}
	}
	return f
}

// sentence starts a message of package assurance (lowercase, as errors are)
// with a capital, for the page.
func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[size:]
}
