package admin

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/connector/drift"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// driftHistory is how many decided and closed findings the page shows.
const driftHistory = 100

type driftData struct {
	Open       []driftRow
	Waiting    []driftRow // declared, until the dataset file declares them
	History    []driftRow
	Categories []categoryOption
	// Purposes and Vendors are what an undeclared tracker is declared
	// with (a finding of kind tracker, from a website scan).
	Purposes, Vendors []categoryOption
	// Form keeps what the officer typed into a refused form.
	Form struct{ ID, Category, Purpose, Vendor, Note string }
}

type driftRow struct {
	drift.Finding
	CategoryName string // the suggested (or declared) category, in the page's language
	Percent      string // of sampled values, "85%"; "" by name
	Snippet      drift.Snippet
}

type categoryOption struct{ Key, Name string }

func (c *Console) driftPage(w http.ResponseWriter, r *http.Request, status int, p page, d *driftData) {
	ctx, lang := r.Context(), languageOf(r)
	names := map[string]string{}
	for _, cat := range c.Drift.Categories() {
		name := cat.Names[lang]
		if name == "" {
			name = cat.Names["en"]
		}
		if name == "" {
			name = cat.Key
		}
		names[cat.Key] = name
		d.Categories = append(d.Categories, categoryOption{cat.Key, name})
	}
	if c.Consent != nil {
		for _, p := range c.Consent.Purposes() {
			if p.Communication() {
				continue // a tracker serves a use of data, never a topic
			}
			name := p.Names[lang]
			if name == "" {
				name = cmp.Or(p.Names["en"], p.Key)
			}
			d.Purposes = append(d.Purposes, categoryOption{p.Key, name})
		}
		for _, v := range c.Consent.Vendors() {
			d.Vendors = append(d.Vendors, categoryOption{v.Key, cmp.Or(v.Name, v.Key)})
		}
	}
	row := func(f drift.Finding) driftRow {
		category := f.Category
		if f.DeclaredCategory != "" {
			category = f.DeclaredCategory
		}
		out := driftRow{Finding: f, CategoryName: names[category], Snippet: c.Drift.Snippet(f, category)}
		if out.CategoryName == "" {
			out.CategoryName = category
		}
		if f.Evidence == drift.ByValues {
			out.Percent = fmt.Sprintf("%d%%", (f.Permille+5)/10)
		}
		return out
	}
	open, err := c.Drift.OpenFindings(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	history, err := c.Drift.History(ctx, driftHistory)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, f := range open {
		d.Open = append(d.Open, row(f))
	}
	for _, f := range history {
		if f.State == drift.Declared {
			d.Waiting = append(d.Waiting, row(f))
		}
		d.History = append(d.History, row(f))
	}
	p.Title, p.Data = "title_drift", d
	c.render(w, r, status, "drift", p)
}

// HandleDrift lists the undeclared columns that look like personal data,
// with a form to declare or dismiss each, the declared ones waiting for
// their dataset file, and the history.
func (c *Console) HandleDrift() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.driftPage(w, r, http.StatusOK, page{}, &driftData{})
	})
}

// HandleDriftDecision declares a finding (with the category the officer
// chose) or dismisses it (with the reason).
func (c *Console) HandleDriftDecision() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, d := r.PathValue("id"), &driftData{}
		d.Form.ID, d.Form.Category, d.Form.Note = id, r.PostFormValue("category"), r.PostFormValue("note")
		d.Form.Purpose, d.Form.Vendor = r.PostFormValue("purpose"), r.PostFormValue("vendor")
		var f drift.Finding
		var err error
		var notice string
		tracker := false
		if found, getErr := c.Drift.Get(r.Context(), id); getErr == nil {
			tracker = found.Tracker()
		}
		switch decision := r.PathValue("decision"); {
		case decision == "declare" && tracker:
			if c.Scanner == nil {
				err = errs.New(errs.CodeUnavailable, "the scanner is not configured")
				break
			}
			// The tracker is assigned its purpose and vendor, as on the
			// scanner's page; the next scan closes the finding.
			f, err = c.Drift.DeclareTracker(r.Context(), actor(r), id, d.Form.Purpose, d.Form.Vendor, d.Form.Note, c.Scanner)
			notice = say(r, "dr_tracker_declared_notice", "tracker", f.Column)
		case decision == "declare":
			f, err = c.Drift.Declare(r.Context(), actor(r), id, d.Form.Category, d.Form.Note)
			notice = say(r, "dr_declared_notice", "column", f.Table+"."+f.Column)
		case decision == "dismiss":
			f, err = c.Drift.Dismiss(r.Context(), actor(r), id, d.Form.Note)
			notice = say(r, "dr_dismissed_notice", "column", f.Table+"."+f.Column)
		default:
			err = errs.NotFound("decision", r.PathValue("decision"))
		}
		if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeConflict) {
			fields := map[string]string{}
			for field := range e.Fields {
				fields[field] = say(r, "dr_problem_"+strings.ReplaceAll(field, ".", "_"))
			}
			problem := say(r, "dr_not_changed")
			if e.Code == errs.CodeConflict {
				problem = say(r, "dr_decided_already")
			}
			c.driftPage(w, r, httpx.Status(err), page{Problem: problem, Fields: fields}, d)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.driftPage(w, r, http.StatusOK, page{Notice: notice}, &driftData{})
	})
}
