package admin

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/i18n"
)

// The purposes' ethics assessments (/admin/catalog/assessments and
// /admin/catalog/purposes/{key}/assessment; permission ethics, which
// privacy officers hold): the list of purposes with where each stands, a
// page per purpose with Steward's own answers and the officer's draft, the
// approval, and a view made to be printed.

const assessmentsPath = "/admin/catalog/assessments"

// assessmentRow is one purpose of the list.
type assessmentRow struct {
	ethics.Summary
	Name string
}

// HandleEthicsAssessments lists the purposes with the status of their
// assessment, the ones that need an officer first.
func (c *Console) HandleEthicsAssessments() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := c.Ethics.Summaries(r.Context())
		if err != nil {
			c.fail(w, r, err)
			return
		}
		lang := languageOf(r)
		rows := make([]assessmentRow, 0, len(list))
		for _, s := range list {
			name := s.Purpose
			if p, err := c.Consent.Purpose(s.Purpose); err == nil {
				name = cmp.Or(textIn(p.Names, lang), p.Key)
			}
			rows = append(rows, assessmentRow{Summary: s, Name: name})
		}
		// Refused first, then those due, then the rest, each in catalog order.
		rank := func(s ethics.Status) int {
			switch s {
			case ethics.StatusMissing, ethics.StatusExpired, ethics.StatusScopeChanged:
				return 0
			case ethics.StatusGrace:
				return 1
			}
			return 2
		}
		slices.SortStableFunc(rows, func(a, b assessmentRow) int { return rank(a.Status) - rank(b.Status) })
		p := page{Title: "title_ethics_assessments", Data: rows}
		if key := r.URL.Query().Get("approved"); key != "" && slices.ContainsFunc(list, func(s ethics.Summary) bool { return s.Purpose == key }) {
			p.Notice = say(r, "ea_approved_notice", "key", key)
		}
		c.render(w, r, http.StatusOK, "catalog_assessments", p)
	})
}

// ethicsData is what an assessment's page shows.
type ethicsData struct {
	View ethics.View
	Name string
	// Form is the draft as stored, or as typed when it was refused.
	Form ethics.Answers
	// Errors says what is wrong with each field, in the page's language.
	Errors map[string]string
	// Names are the catalog's names of the scope's categories and vendors.
	Categories map[string]string
	Risks      []riskOption
	// Shown is what the page shows as the answers: on the form, the draft
	// with Steward's answers now; printed, the approval in force as
	// approved (else the draft, and Draft is set).
	Shown answersView
	Draft bool
}

// answersView is a set of answers with Steward's, laid out for a page.
type answersView struct {
	ethics.Answers
	Facts ethics.Facts
	// Knows, OptOut and Storage say which questions Steward answers.
	Knows, OptOut, Storage bool
	// Choice is each yes/no answer as "yes", "no" or "" (not answered).
	Choice map[string]string
}

func answersViewOf(a ethics.Answers, f ethics.Facts, fromSteward []string) answersView {
	choice := func(b *bool) string {
		switch {
		case b == nil:
			return ""
		case *b:
			return "yes"
		}
		return "no"
	}
	return answersView{Answers: a, Facts: f,
		Knows:   slices.Contains(fromSteward, ethics.QuestionCustomerKnows),
		OptOut:  slices.Contains(fromSteward, ethics.QuestionOptOut),
		Storage: slices.Contains(fromSteward, ethics.QuestionStorage),
		Choice: map[string]string{"opt_out": choice(a.OptOut), "storage_safe": choice(a.StorageSafe), "typical": choice(a.Typical),
			"customer_knows_why": choice(a.CustomerKnowsWhy)}}
}

// riskOption is one kind of high-risk processing in the form.
type riskOption struct {
	Key     string
	Checked bool
	// Steward marks a kind Steward knows of (a special category).
	Steward bool
}

// assessmentPage renders a purpose's assessment, its form filled with form
// (the stored draft when nil).
func (c *Console) assessmentPage(w http.ResponseWriter, r *http.Request, status int, p page, d ethicsData, form *ethics.Answers, template string) {
	key := r.PathValue("key")
	v, err := c.Ethics.Get(r.Context(), key)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	purpose, err := c.Consent.Purpose(key)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	lang := languageOf(r)
	d.View, d.Name, d.Form = v, cmp.Or(textIn(purpose.Names, lang), key), v.Answers
	if form != nil {
		d.Form = *form
	}
	d.Categories = map[string]string{}
	for _, cat := range c.Consent.Categories() {
		d.Categories[cat.Key] = cmp.Or(textIn(cat.Names, lang), cat.Names[i18n.English], cat.Key)
	}
	d.Shown = answersViewOf(d.Form, v.Facts, v.FromSteward)
	if template == "catalog_assessment_print" {
		if a := v.Approval; a != nil {
			d.Shown = answersViewOf(a.Answers, a.Facts, a.FromSteward)
		} else {
			d.Draft = true
		}
	}
	for _, risk := range ethics.HighRisks {
		steward := risk == ethics.RiskSpecialCategories && len(d.Shown.Facts.Special) > 0
		d.Risks = append(d.Risks, riskOption{Key: risk, Steward: steward, Checked: steward || slices.Contains(d.Shown.HighRisk, risk)})
	}
	p.Title, p.Data = say(r, "title_ethics_assessment", "purpose", d.Name), d
	c.render(w, r, status, template, p)
}

// HandleEthicsAssessment shows a purpose's assessment: where it stands, what
// Steward answers, the officer's draft and the approval.
func (c *Console) HandleEthicsAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := page{}
		if r.URL.Query().Get("saved") == "1" {
			p.Notice = say(r, "ea_saved_notice")
		}
		c.assessmentPage(w, r, http.StatusOK, p, ethicsData{}, nil, "catalog_assessment")
	})
}

// HandleEthicsPrint shows a purpose's assessment made to be printed:
// the approval in force as approved, or else the draft, marked as such.
func (c *Console) HandleEthicsPrint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.assessmentPage(w, r, http.StatusOK, page{}, ethicsData{}, nil, "catalog_assessment_print")
	})
}

// yesNo reads a yes/no radio: nil when neither was chosen.
func yesNo(r *http.Request, field string) *bool {
	switch r.PostFormValue(field) {
	case "yes":
		v := true
		return &v
	case "no":
		v := false
		return &v
	}
	return nil
}

// postedAnswers reads the assessment form.
func postedAnswers(r *http.Request) ethics.Answers {
	risks := append([]string{}, r.PostForm["high_risk"]...) // the service checks each
	return ethics.Answers{
		CustomerKnows: r.PostFormValue("customer_knows"), OptOut: yesNo(r, "opt_out"), OptOutReason: r.PostFormValue("opt_out_reason"),
		StorageSafe: yesNo(r, "storage_safe"), Storage: r.PostFormValue("storage"),
		Typical: yesNo(r, "typical"), Advantage: r.PostFormValue("advantage"), CustomerKnowsWhy: yesNo(r, "customer_knows_why"),
		Balancing: ethics.Balancing{Purpose: r.PostFormValue("balancing.purpose"), Necessity: r.PostFormValue("balancing.necessity"),
			Balance: r.PostFormValue("balancing.balance")},
		HighRisk: risks,
		DPIA: ethics.DPIA{Description: r.PostFormValue("dpia.description"), Risks: r.PostFormValue("dpia.risks"),
			Measures: r.PostFormValue("dpia.measures")},
	}
}

// ethicsRefused shows the page again with what was wrong next to each field, or
// fails with err when it names no field.
func (c *Console) ethicsRefused(w http.ResponseWriter, r *http.Request, err error, problem string, form *ethics.Answers) {
	e, ok := errs.As(err)
	if !ok || e.Code != errs.CodeInvalid || len(e.Fields) == 0 {
		c.fail(w, r, err)
		return
	}
	c.assessmentPage(w, r, http.StatusBadRequest, page{Problem: say(r, problem)}, ethicsData{Errors: fieldMessages(r, e)}, form, "catalog_assessment")
}

// HandleSaveEthics saves the officer's draft; a refused form is shown
// again as typed, each problem next to its field.
func (c *Console) HandleSaveEthics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		form := postedAnswers(r)
		if _, err := c.Ethics.Save(r.Context(), key, form); err != nil {
			c.ethicsRefused(w, r, err, "ea_not_saved", &form)
			return
		}
		http.Redirect(w, r, "/admin/catalog/purposes/"+url.PathEscape(key)+"/assessment?saved=1", http.StatusSeeOther)
	})
}

// HandleApproveEthics approves the draft as it stands; an incomplete
// one is shown again with each question missing.
func (c *Console) HandleApproveEthics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		if _, err := c.Ethics.Approve(r.Context(), key); err != nil {
			c.ethicsRefused(w, r, err, "ea_not_approved", nil)
			return
		}
		http.Redirect(w, r, assessmentsPath+"?approved="+url.QueryEscape(key), http.StatusSeeOther)
	})
}
