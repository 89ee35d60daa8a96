package admin

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// incidentForm is what an incident form sent, to show it again when it is
// refused.
type incidentForm struct {
	Title, Description, Kind, Cause, Systems, DelayReason, AwareAt, DetectedAt string
	Categories                                                                 []string
	// Method and its parameters (the affected set's form).
	Method, Actor, From, To, ExternalIDs string
	Risk, Reasons, Note                  string
}

// incidentsData is the register page.
type incidentsData struct {
	Incidents  []incident.Incident
	Kinds      []incident.Kind
	Categories []consent.Category
	Form       incidentForm
}

// countLine is one line of an affected set's counts.
type countLine struct {
	Key string
	N   int
}

// setView is an affected set with its counts in order.
type setView struct {
	incident.Set
	Categories, Jurisdictions []countLine
}

// incidentData is an incident's page.
type incidentData struct {
	Incident   incident.Incident
	Next       []incident.Status
	Clocks     []incident.Clock
	Timeline   []incident.Action
	Sets       []setView
	Kinds      []incident.Kind
	Risks      []incident.Risk
	Categories []consent.Category
	// Floor is the lowest risk the incident's categories allow.
	Floor incident.Risk
	Form  incidentForm
	Now   time.Time
}

// HandleIncidents lists the register, newest first, with the form that
// records an incident.
func (c *Console) HandleIncidents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.incidentsPage(w, r, http.StatusOK, page{}, incidentForm{Kind: string(incident.Confidentiality)})
	})
}

func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request, status int, p page, form incidentForm) {
	list, err := c.Incidents.List(r.Context(), "")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Title, p.Data = "title_incidents", &incidentsData{Incidents: list, Kinds: incident.Kinds, Categories: c.Consent.Categories(), Form: form}
	c.render(w, r, status, "incidents", p)
}

// HandleCreateIncident records an incident from the register's form.
func (c *Console) HandleCreateIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := readIncidentForm(r)
		in, fields := form.input(r, true)
		if len(fields) == 0 {
			inc, err := c.Incidents.Create(r.Context(), in)
			if err == nil {
				http.Redirect(w, r, "/admin/incidents/"+inc.ID, http.StatusSeeOther)
				return
			}
			if fields = c.incidentFields(r, err); fields == nil {
				c.fail(w, r, err)
				return
			}
		}
		c.incidentsPage(w, r, http.StatusBadRequest, page{Problem: say(r, "in_not_saved"), Fields: fields}, form)
	})
}

// HandleIncident shows an incident: what the register says, its clocks,
// the moves its status allows, its assessment, its affected sets (counts,
// never a customer) and its timeline.
func (c *Console) HandleIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := ""
		if key := r.URL.Query().Get("done"); slices.Contains([]string{"saved", "moved", "assessed", "noted", "computed"}, key) {
			notice = say(r, "in_done_"+key)
		}
		c.incidentPage(w, r, http.StatusOK, page{Notice: notice}, incidentForm{})
	})
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, status int, p page, form incidentForm) {
	ctx, id := r.Context(), r.PathValue("id")
	inc, err := c.Incidents.Get(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := &incidentData{Incident: inc, Next: inc.Status.Next(), Kinds: incident.Kinds, Risks: incident.Risks,
		Categories: c.Consent.Categories(), Form: form, Now: c.Now()}
	if d.Clocks, err = c.Incidents.Clocks(ctx, id); err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Timeline, err = c.Incidents.Timeline(ctx, id); err != nil {
		c.fail(w, r, err)
		return
	}
	sets, err := c.Incidents.Sets(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, s := range sets {
		d.Sets = append(d.Sets, setView{Set: s, Categories: counts(s.ByCategory), Jurisdictions: counts(s.ByJurisdiction)})
	}
	floorOf := slices.Clone(inc.Categories)
	if len(sets) > 0 {
		for k := range sets[0].ByCategory {
			floorOf = append(floorOf, k)
		}
	}
	d.Floor, _ = c.Incidents.RiskFloor(floorOf)
	if form.Title == "" && form.Method == "" {
		d.Form = incidentForm{Title: inc.Title, Description: inc.Description, Kind: string(inc.Kind), Cause: inc.Cause,
			Systems: strings.Join(inc.Systems, ", "), DelayReason: inc.DelayReason, Categories: inc.Categories,
			AwareAt: localTime(inc.AwareAt), DetectedAt: localTime(inc.DetectedAt), Method: string(incident.MethodInventory)}
	}
	p.Title, p.Data = say(r, "title_incident", "id", inc.ID), d
	c.render(w, r, status, "incident", p)
}

// counts orders a set's counts, largest first.
func counts(m map[string]int) []countLine {
	out := make([]countLine, 0, len(m))
	for k, n := range m {
		out = append(out, countLine{k, n})
	}
	slices.SortFunc(out, func(a, b countLine) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key)) })
	return out
}

// HandleUpdateIncident saves the incident's form.
func (c *Console) HandleUpdateIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := readIncidentForm(r)
		in, fields := form.input(r, false)
		if len(fields) == 0 {
			_, err := c.Incidents.Update(r.Context(), r.PathValue("id"), in)
			if c.afterIncidentChange(w, r, err, form, "saved") {
				return
			}
			fields = c.incidentFields(r, err)
		}
		c.incidentPage(w, r, http.StatusBadRequest, page{Problem: say(r, "in_not_saved"), Fields: fields}, form)
	})
}

// HandleMoveIncident moves the incident to the status the button names.
func (c *Console) HandleMoveIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := incidentForm{Note: r.PostFormValue("note")}
		_, err := c.Incidents.Move(r.Context(), r.PathValue("id"), incident.Status(r.PostFormValue("status")), form.Note)
		c.afterIncidentChange(w, r, err, form, "moved")
	})
}

// HandleAssessIncident records the risk assessment, one reason a line.
func (c *Console) HandleAssessIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := incidentForm{Risk: r.PostFormValue("risk"), Reasons: r.PostFormValue("reasons")}
		_, err := c.Incidents.Assess(r.Context(), r.PathValue("id"), incident.Assessment{Risk: incident.Risk(form.Risk), Reasons: lines(form.Reasons)})
		c.afterIncidentChange(w, r, err, form, "assessed")
	})
}

// HandleIncidentNote adds an action to the timeline.
func (c *Console) HandleIncidentNote() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := incidentForm{Note: r.PostFormValue("note")}
		_, err := c.Incidents.AddNote(r.Context(), r.PathValue("id"), form.Note)
		c.afterIncidentChange(w, r, err, form, "noted")
	})
}

// HandleComputeAffected computes who the incident affected by the chosen
// method; the page shows its counts.
func (c *Console) HandleComputeAffected() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := incidentForm{Method: r.PostFormValue("method"), Actor: strings.TrimSpace(r.PostFormValue("actor")),
			From: r.PostFormValue("from"), To: r.PostFormValue("to"), ExternalIDs: r.PostFormValue("external_ids"), Categories: r.PostForm["categories"]}
		m := incident.Method{Kind: incident.MethodKind(form.Method), Categories: form.Categories, Actor: form.Actor, ExternalIDs: lines(form.ExternalIDs)}
		fields := map[string]string{}
		if form.Method == string(incident.MethodAudit) {
			for name, into := range map[string]*time.Time{"from": &m.From, "to": &m.To} {
				t, ok := parseLocal(r.PostFormValue(name))
				if !ok {
					fields[name] = say(r, "in_field_time")
				}
				*into = t
			}
		}
		if len(fields) == 0 {
			_, err := c.Incidents.Compute(r.Context(), r.PathValue("id"), m)
			if c.afterIncidentChange(w, r, err, form, "computed") {
				return
			}
			fields = c.incidentFields(r, err)
		}
		c.incidentPage(w, r, http.StatusBadRequest, page{Problem: say(r, "in_not_saved"), Fields: fields}, form)
	})
}

// afterIncidentChange redirects to the incident's page after a change, or
// shows it again with what was refused; it reports whether it answered.
func (c *Console) afterIncidentChange(w http.ResponseWriter, r *http.Request, err error, form incidentForm, done string) bool {
	if err == nil {
		http.Redirect(w, r, "/admin/incidents/"+r.PathValue("id")+"?done="+done, http.StatusSeeOther)
		return true
	}
	fields := c.incidentFields(r, err)
	if fields == nil {
		c.fail(w, r, err)
		return true
	}
	problem := say(r, "in_not_saved")
	if errs.CodeOf(err) == errs.CodeConflict {
		problem = say(r, "in_not_allowed")
	}
	c.incidentPage(w, r, httpx.Status(err), page{Problem: problem, Fields: fields}, form)
	return true
}

// incidentFields says, in the page's language, what an invalid or refused
// change lacks; nil for another error.
func (c *Console) incidentFields(r *http.Request, err error) map[string]string {
	e, ok := errs.As(err)
	if !ok || (e.Code != errs.CodeInvalid && e.Code != errs.CodeConflict) {
		return nil
	}
	fields := map[string]string{}
	keyed := fieldMessages(r, e) // a keyed problem says what to do next (closing before the review)
	for field := range e.Fields {
		if _, ok := e.FieldKeys[field]; ok {
			fields[say(r, "in_label_"+field)] = keyed[field]
			continue
		}
		fields[say(r, "in_label_"+field)] = say(r, "in_field_"+field)
	}
	return fields
}

func readIncidentForm(r *http.Request) incidentForm {
	return incidentForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Kind: r.PostFormValue("kind"),
		Cause: r.PostFormValue("cause"), Systems: r.PostFormValue("systems"), DelayReason: r.PostFormValue("delay_reason"),
		AwareAt: r.PostFormValue("aware_at"), DetectedAt: r.PostFormValue("detected_at"), Categories: r.PostForm["categories"]}
}

// input turns the form into the register's input; create leaves empty
// fields out.
func (f incidentForm) input(r *http.Request, create bool) (incident.Input, map[string]string) {
	fields := map[string]string{}
	in := incident.Input{Title: &f.Title, Description: &f.Description, Cause: &f.Cause}
	kind := incident.Kind(f.Kind)
	in.Kind = &kind
	categories := f.Categories
	if categories == nil {
		categories = []string{}
	}
	in.Categories = &categories
	if !create {
		systems := []string{}
		for _, s := range strings.Split(f.Systems, ",") {
			if s = strings.TrimSpace(s); s != "" {
				systems = append(systems, s)
			}
		}
		in.Systems, in.DelayReason = &systems, &f.DelayReason
	}
	for name, raw := range map[string]string{"aware_at": f.AwareAt, "detected_at": f.DetectedAt} {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		t, ok := parseLocal(raw)
		if !ok {
			fields[say(r, "in_label_"+name)] = say(r, "in_field_time")
			continue
		}
		if name == "aware_at" {
			in.AwareAt = &t
		} else {
			in.DetectedAt = &t
		}
	}
	return in, fields
}

// parseLocal reads a datetime-local input, in UTC.
func parseLocal(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func localTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

// incidentReportData is the short form any staff member reports a suspected
// incident with.
type incidentReportData struct {
	Title, Description string
	// Reported is the draft opened; Told whether the officers were emailed.
	Reported string
	Told     bool
}

// HandleReportPage shows the short form.
func (c *Console) HandleReportPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "report_incident", page{Title: "title_report_incident", Data: &incidentReportData{}})
	})
}

// HandleReport opens a draft for the security officers and emails them;
// without mail the draft still opens and the page says to tell them.
func (c *Console) HandleReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := &incidentReportData{Title: r.PostFormValue("title"), Description: r.PostFormValue("description")}
		if emailLike.MatchString(d.Title + " " + d.Description) {
			c.render(w, r, http.StatusBadRequest, "report_incident", page{Title: "title_report_incident", Data: d,
				Problem: say(r, "in_not_saved"), Fields: map[string]string{say(r, "in_label_description"): say(r, "cu_no_personal_data")}})
			return
		}
		inc, told, err := c.Incidents.ReportAndTell(r.Context(), d.Title, d.Description)
		if err != nil {
			fields := c.incidentFields(r, err)
			if fields == nil {
				c.fail(w, r, err)
				return
			}
			c.render(w, r, http.StatusBadRequest, "report_incident", page{Title: "title_report_incident", Data: d,
				Problem: say(r, "in_not_saved"), Fields: fields})
			return
		}
		notice := say(r, "in_reported_told", "id", inc.ID)
		if !told {
			notice = say(r, "in_reported_not_told", "id", inc.ID)
		}
		c.render(w, r, http.StatusCreated, "report_incident", page{Title: "title_report_incident", Notice: notice,
			Data: &incidentReportData{Reported: inc.ID, Told: told}})
	})
}
