package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/fulfil"
)

// correctField is the form field prefix of a proposed value: "new." and
// the target ("new.vault:phone").
const correctField = "new."

// correctRow is a field the customer may propose a new value for.
type correctRow struct {
	Target, Label string
	Auto          bool
}

// correctables returns the correction form's fields: the vault fields the
// customer has (a known subject only), then the systems' columns, which
// are found by the customer's email and subject id.
func (p *Portal) correctables(t map[string]string, subject string, fields []fieldRow) []correctRow {
	if p.Correctables == nil || p.Rectify == nil {
		return nil
	}
	var out []correctRow
	for _, c := range p.Correctables() {
		if c.System == "" {
			if subject == "" || !slices.ContainsFunc(fields, func(f fieldRow) bool { return f.Name == c.Name }) {
				continue
			}
			out = append(out, correctRow{Target: c.Target, Label: fieldLabel(t, c), Auto: c.Auto})
			continue
		}
		out = append(out, correctRow{Target: c.Target, Label: fieldLabel(t, c), Auto: c.Auto})
	}
	return out
}

// label turns a field or column name into words: "postal_code" → "postal code".
func label(name string) string {
	return strings.NewReplacer("_", " ", ".", " ", "-", " ").Replace(name)
}

// fieldLabel names a correctable field in the reader's language: the
// catalog's words for the fields it knows ("iban" → "Bank account
// (IBAN)"), else its name in words; a connected system's column also
// names its system.
func fieldLabel(t map[string]string, c fulfil.Correctable) string {
	if c.System == "" {
		return say(t, "field_", c.Name)
	}
	_, column, _ := strings.Cut(c.Name, ".")
	return say(t, "field_", label(column)) + " (" + c.System + ")"
}

// HandleRectify files a rectification with the new values the customer
// typed for correctable fields. Only the signed-in customer's own
// identifiers go with it: the session's subject and email, never a form
// value. A field that is not correctable is refused, named.
func (p *Portal) HandleRectify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Rectify == nil || p.Correctables == nil {
			p.fail(w, r, errs.NotFound("page", r.URL.Path))
			return
		}
		session := sessionOf(r)
		email, err := p.Customers.Email(r.Context(), session)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if err := r.ParseForm(); err != nil {
			p.fail(w, r, errs.Invalid("form", "cannot be read"))
			return
		}
		proposal := map[string]string{}
		for key, values := range r.PostForm {
			target, ok := strings.CutPrefix(key, correctField)
			if !ok || len(values) == 0 {
				continue
			}
			if v := strings.TrimSpace(values[0]); v != "" {
				proposal[target] = v
			}
		}
		t := messages[language(r)]
		if len(proposal) == 0 {
			p.rectifyProblem(w, r, map[string]string{"proposal": t["correct_none_given"]})
			return
		}
		in := dsr.NewRequest{Kind: dsr.KindRectification, Regime: p.regimeOf(r, session.SubjectID), SubjectID: session.SubjectID,
			Email: email, EmailHash: session.EmailHash, Details: strings.TrimSpace(r.PostFormValue("correct_details")), Proposal: proposal,
			Language: language(r)}
		req, err := p.Rectify(r.Context(), in)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				p.rectifyProblem(w, r, p.localProblems(r, e.Fields))
				return
			}
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/home?"+url.Values{"lang": {language(r)}, "filed": {req.ID}}.Encode()+"#requests", http.StatusSeeOther)
	})
}

// localProblems words the problems of a proposal in the page's language,
// each naming its field as the form labels it.
func (p *Portal) localProblems(r *http.Request, fields map[string]string) map[string]string {
	t := messages[language(r)]
	labels := map[string]string{}
	for _, c := range p.Correctables() {
		labels[c.Target] = fieldLabel(t, c)
	}
	out := make(map[string]string, len(fields))
	for field := range fields {
		target, ok := strings.CutPrefix(field, "proposal.")
		switch {
		case ok && labels[target] != "":
			out[field] = labels[target] + ": " + t["correct_refused"]
		case ok:
			_, name, _ := strings.Cut(target, ":")
			out[field] = say(t, "field_", label(name)) + ": " + t["correct_refused"]
		case field == "details":
			// The service's message is English, for developers.
			out[field] = t["correct_details"] + ": " + t["form_other"]
		default:
			out[field] = t["form_other"]
		}
	}
	return out
}

// rectifyProblem shows the home page again with the problems.
func (p *Portal) rectifyProblem(w http.ResponseWriter, r *http.Request, fields map[string]string) {
	d, err := p.home(r, false)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pg := p.homePage(r, d)
	pg.Fields = fields
	p.render(w, r, http.StatusBadRequest, "home", pg)
}
