package admin

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type scansData struct {
	Properties []scanProperty
	Runs       []scanner.Run
	// Chrome is false when the server has no Chromium: nothing can run.
	Chrome bool
}

type scanProperty struct {
	Key, Name string
	Domains   []string
	Last      *scanner.Run
}

// HandleScans lists the properties with a button to scan each now, and
// the scans so far.
func (c *Console) HandleScans() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.scansPage(w, r, http.StatusOK, page{})
	})
}

func (c *Console) scansPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	runs, err := c.Scanner.Runs(r.Context(), "", 100)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	_, chromeErr := scanner.FindChrome(c.Scanner.Options().Chrome)
	d := &scansData{Runs: runs, Chrome: chromeErr == nil}
	for _, prop := range c.Consent.Properties() {
		sp := scanProperty{Key: prop.Key, Name: prop.Name, Domains: prop.Domains}
		for i := range runs {
			if runs[i].Property == prop.Key {
				sp.Last = &runs[i]
				break
			}
		}
		d.Properties = append(d.Properties, sp)
	}
	p.Title, p.Data = "title_scans", d
	c.render(w, r, status, "scans", p)
}

// HandleStartScan starts a scan of the property in the form, in the
// background, and shows its page, which follows its progress.
func (c *Console) HandleStartScan() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.Scanner.Start(r.Context(), r.PostFormValue("property"), scanner.TriggerConsole)
		if e, ok := errs.As(err); ok && e.Code != errs.CodeInternal {
			c.scansPage(w, r, httpx.Status(err), page{Problem: say(r, "sc_not_started", "problem", message(r, e))})
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/scans/"+run.ID, http.StatusSeeOther)
	})
}

type scanData struct {
	Run    scanner.Run
	Report *scanner.Report
	// Violations grouped: the same item in the same state on several pages
	// is one line with its pages.
	Violations   []violationLine
	Unclassified []scanner.Tracker
	Purposes     []option
	Vendors      []option
	StateNames   map[string]string
	Languages    []string
	Form         struct{ Kind, Name, Domain, Purpose, Vendor string }
}

type violationLine struct {
	scanner.Violation
	Pages []string
}

type option struct{ Key, Name string }

// HandleScan shows one scan: while it runs, that it runs (the page
// reloads itself); then its violations, what to classify (with a form
// each), the scripts to tag, everything found, and the declaration.
func (c *Console) HandleScan() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.scanPage(w, r, http.StatusOK, page{}, r.PathValue("id"), nil)
	})
}

func (c *Console) scanPage(w http.ResponseWriter, r *http.Request, status int, p page, id string, form *scanData) {
	run, report, err := c.Scanner.Report(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	lang := languageOf(r)
	d := &scanData{Run: run, Report: report, StateNames: map[string]string{}, Languages: i18n.Default().Languages()}
	if form != nil {
		d.Form = form.Form
	}
	names := map[string]string{}
	for _, pu := range c.Consent.Purposes() {
		name := cmp.Or(pu.Names[lang], pu.Names["en"], pu.Key)
		names[pu.Key] = name
		d.Purposes = append(d.Purposes, option{pu.Key, name})
	}
	for _, v := range c.Consent.Vendors() {
		d.Vendors = append(d.Vendors, option{v.Key, v.Name})
	}
	if report != nil {
		for _, st := range report.States {
			s, _ := scanner.ParseState(st)
			if s.Kind == scanner.StateOnly {
				d.StateNames[st] = say(r, "sc_state_only", "purpose", cmp.Or(names[s.Purpose], s.Purpose))
			} else {
				d.StateNames[st] = say(r, "sc_state_"+string(s.Kind))
			}
		}
		byKey := map[string]int{}
		for _, v := range report.Violations {
			key := v.State + "|" + string(v.Kind) + "|" + v.Name + "|" + v.Domain
			if i, ok := byKey[key]; ok {
				d.Violations[i].Pages = append(d.Violations[i].Pages, v.Page)
				continue
			}
			byKey[key] = len(d.Violations)
			d.Violations = append(d.Violations, violationLine{Violation: v, Pages: []string{v.Page}})
		}
		// What is still unclassified now: an officer may have assigned some
		// since the scan.
		stored, err := c.Scanner.Trackers(r.Context(), run.Property)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		// A host assigned once covers its requests, scripts and frames.
		key := func(k scanner.Kind, name, domain string) string {
			if k == scanner.KindRequest || k == scanner.KindScript || k == scanner.KindIframe {
				return "host|" + name
			}
			return string(k) + "|" + name + "|" + domain
		}
		assigned := map[string]bool{}
		for _, t := range stored {
			if t.Source == scanner.SourceAssigned {
				assigned[key(t.Kind, t.Name, t.Domain)] = true
			}
		}
		for _, t := range report.Trackers {
			if t.Class.Source == scanner.SourceUnclassified && !assigned[key(t.Kind, t.Name, t.Domain)] {
				d.Unclassified = append(d.Unclassified, t)
			}
		}
	}
	p.Title, p.Data = "title_scan", d
	c.render(w, r, status, "scan", p)
}

// HandleAssignTracker assigns an unclassified tracker of a scan to a
// purpose and vendor.
func (c *Console) HandleAssignTracker() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		run, _, err := c.Scanner.Report(r.Context(), id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		form := &scanData{}
		f := &form.Form
		f.Kind, f.Name, f.Domain, f.Purpose, f.Vendor = r.PostFormValue("kind"), r.PostFormValue("name"), r.PostFormValue("domain"),
			r.PostFormValue("purpose"), r.PostFormValue("vendor")
		err = c.Scanner.Assign(r.Context(), actor(r), run.Property, scanner.Kind(f.Kind), f.Name, f.Domain, f.Purpose, f.Vendor)
		if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeNotFound) {
			fields := map[string]string{}
			for field := range e.Fields {
				fields[field] = say(r, "sc_problem_"+field)
			}
			c.scanPage(w, r, httpx.Status(err), page{Problem: say(r, "sc_not_assigned"), Fields: fields}, id, form)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.scanPage(w, r, http.StatusOK, page{Notice: say(r, "sc_assigned_notice", "name", f.Name, "purpose", f.Purpose)}, id, nil)
	})
}

// HandleDeclaration serves a property's cookie declaration from its
// latest scan: JSON, or with ?lang= the HTML snippet in that language.
func (c *Console) HandleDeclaration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.Scanner.Declaration(r.Context(), r.PathValue("property"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		lang := r.URL.Query().Get("lang")
		if lang == "" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Disposition", `attachment; filename="cookies-`+d.Property+`.json"`)
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(d)
			return
		}
		if !slices.Contains(i18n.Default().Languages(), lang) {
			c.fail(w, r, errs.Invalid("lang", "must be one of %s", strings.Join(i18n.Default().Languages(), ", ")))
			return
		}
		body, err := d.HTML(lang)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		// A snippet to copy into the policy page: as text, so that it is
		// neither rendered under the console's origin nor styled by it.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="cookies-`+d.Property+`.`+lang+`.html"`)
		w.Write(body)
	})
}
