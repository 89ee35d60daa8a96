package admin

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// breachNoticeForm is one language's notice form.
type breachNoticeForm struct {
	incident.NoticeText
	// Written is false for a language the officer has not written yet.
	Written bool
}

// filingForm is what a filing form sent, to show it again when refused.
type filingForm struct {
	Kind, Agency, Reference, Channel, FiledAt, Note, EvidenceFrom, EvidenceTo string
}

// filingView is a filing with the command that writes its evidence.
type filingView struct {
	incident.Filing
	Command string
}

// partiesData is the page that tells the parties of a breach: the
// customers' notice and its progress, the vendors, the authority's report
// and the referrals to law enforcement.
type partiesData struct {
	Incident incident.Incident
	Notices  []breachNoticeForm
	Progress incident.Progress
	// Waiting counts the notices queued or being sent.
	Waiting   int
	NoticesOn bool
	// Members is the latest affected set's size (-1 without a set).
	Members int
	Vendors []incident.AffectedVendor
	Filings []filingView
	Form    filingForm
	Ready   bool
	// Refused is a notice text the register refused, shown again.
	Refused *incident.NoticeText
}

// HandleIncidentParties shows what was told to whom, and the forms that
// tell the rest.
func (c *Console) HandleIncidentParties() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := ""
		if key := r.URL.Query().Get("done"); slices.Contains([]string{"text", "queued", "vendors", "filed", "notified"}, key) {
			notice = say(r, "ip_done_"+key)
		}
		c.partiesPage(w, r, http.StatusOK, page{Notice: notice}, partiesData{})
	})
}

func (c *Console) partiesPage(w http.ResponseWriter, r *http.Request, status int, p page, d partiesData) {
	ctx, id := r.Context(), r.PathValue("id")
	inc, err := c.Incidents.Get(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Incident, d.NoticesOn, d.Members = inc, c.Incidents.NoticesOn(), -1
	d.Ready = inc.Status == incident.Assessed || inc.Status == incident.Contained || inc.Status == incident.Notified
	texts, err := c.Incidents.NoticeTexts(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, lang := range i18n.Default().Languages() {
		f := breachNoticeForm{NoticeText: incident.NoticeText{Language: lang}}
		for _, t := range texts {
			if t.Language == lang {
				f = breachNoticeForm{NoticeText: t, Written: true}
			}
		}
		if d.Refused != nil && d.Refused.Language == lang {
			f.NoticeText = *d.Refused // what was refused, to correct
		}
		d.Notices = append(d.Notices, f)
	}
	if d.Progress, err = c.Incidents.NoticeProgress(ctx, id); err != nil {
		c.fail(w, r, err)
		return
	}
	d.Waiting = d.Progress.Queued + d.Progress.Sending
	if set, err := c.Incidents.LatestSet(ctx, id); err == nil {
		d.Members = set.Members - set.Erased
	} else if !errs.Is(err, errs.CodeNotFound) {
		c.fail(w, r, err)
		return
	}
	if d.Vendors, err = c.Incidents.AffectedVendors(ctx, id); err != nil {
		c.fail(w, r, err)
		return
	}
	filings, err := c.Incidents.Filings(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, f := range filings {
		d.Filings = append(d.Filings, filingView{Filing: f, Command: f.EvidenceCommand()})
	}
	if d.Form.Kind == "" {
		d.Form.FiledAt = c.Now().UTC().Format("2006-01-02T15:04")
	}
	p.Title, p.Data = say(r, "title_incident_parties", "id", inc.ID), &d
	c.render(w, r, status, "incident_parties", p)
}

// HandleSetNoticeText saves one language's notice.
func (c *Console) HandleSetNoticeText() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := incident.NoticeText{Language: r.PostFormValue("language"), Happened: r.PostFormValue("happened"), Meaning: r.PostFormValue("meaning"),
			Done: r.PostFormValue("done"), CanDo: r.PostFormValue("can_do"), Contact: r.PostFormValue("contact")}
		_, err := c.Incidents.SetNoticeText(r.Context(), r.PathValue("id"), t)
		c.afterParties(w, r, err, "text", partiesData{Refused: &t})
	})
}

// HandleQueueNotices queues the customers' notices.
func (c *Console) HandleQueueNotices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := c.Incidents.QueueNotices(r.Context(), r.PathValue("id"))
		c.afterParties(w, r, err, "queued", partiesData{})
	})
}

// HandleNotifyVendors tells the affected vendors not yet told.
func (c *Console) HandleNotifyVendors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := c.Incidents.NotifyVendors(r.Context(), r.PathValue("id"))
		c.afterParties(w, r, err, "vendors", partiesData{})
	})
}

// HandleRecordFiling records a report to the authority or a referral to
// law enforcement.
func (c *Console) HandleRecordFiling() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := filingForm{Kind: r.PostFormValue("kind"), Agency: r.PostFormValue("agency"), Reference: r.PostFormValue("reference"),
			Channel: r.PostFormValue("channel"), FiledAt: r.PostFormValue("filed_at"), Note: r.PostFormValue("note"),
			EvidenceFrom: r.PostFormValue("evidence_from"), EvidenceTo: r.PostFormValue("evidence_to")}
		f := incident.Filing{Kind: incident.FilingKind(form.Kind), Agency: form.Agency, Reference: form.Reference, Channel: form.Channel, Note: form.Note}
		fields := map[string]string{}
		times := []struct {
			name, raw string
			into      **time.Time
		}{{"filed_at", form.FiledAt, nil}, {"evidence_from", form.EvidenceFrom, &f.EvidenceFrom}, {"evidence_to", form.EvidenceTo, &f.EvidenceTo}}
		for _, tt := range times {
			if strings.TrimSpace(tt.raw) == "" {
				continue
			}
			t, ok := parseLocal(tt.raw)
			if !ok {
				fields[say(r, "ip_label_"+tt.name)] = say(r, "in_field_time")
				continue
			}
			if tt.into == nil {
				f.FiledAt = t
			} else {
				*tt.into = &t
			}
		}
		if len(fields) > 0 {
			c.partiesPage(w, r, http.StatusBadRequest, page{Problem: say(r, "in_not_saved"), Fields: fields}, partiesData{Form: form})
			return
		}
		_, err := c.Incidents.RecordFiling(r.Context(), r.PathValue("id"), f)
		c.afterParties(w, r, err, "filed", partiesData{Form: form})
	})
}

// HandleRecordNotified moves the incident to notified from the recorded
// report and notices.
func (c *Console) HandleRecordNotified() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := c.Incidents.RecordNotified(r.Context(), r.PathValue("id"), r.PostFormValue("note"))
		c.afterParties(w, r, err, "notified", partiesData{})
	})
}

// afterParties redirects to the parties' page after a change, or shows it
// again with what was refused.
func (c *Console) afterParties(w http.ResponseWriter, r *http.Request, err error, done string, d partiesData) {
	if err == nil {
		http.Redirect(w, r, "/admin/incidents/"+r.PathValue("id")+"/parties?done="+done, http.StatusSeeOther)
		return
	}
	e, ok := errs.As(err)
	if !ok || (e.Code != errs.CodeInvalid && e.Code != errs.CodeConflict && e.Code != errs.CodeUnavailable) {
		c.fail(w, r, err)
		return
	}
	problem := say(r, "in_not_saved")
	switch e.Code {
	case errs.CodeConflict:
		problem = say(r, "in_not_allowed")
	case errs.CodeUnavailable:
		problem = say(r, "ip_unavailable")
	}
	fields := map[string]string{}
	for field := range e.Fields {
		fields[say(r, "ip_label_"+field)] = say(r, "ip_field_"+field)
	}
	if e.Code == errs.CodeConflict && len(fields) == 0 {
		fields[say(r, "in_label_status")] = say(r, "ip_field_status")
	}
	c.partiesPage(w, r, httpx.Status(err), page{Problem: problem, Fields: fields}, d)
}

// regulatorData is the printable draft of the authority's report.
type regulatorData struct {
	Report       incident.RegulatorReport
	Jurisdiction []countLine
}

// HandleRegulatorReport shows the draft report to the supervisory
// authority, laid out to print.
func (c *Console) HandleRegulatorReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		report, err := c.Incidents.RegulatorReport(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "regulator_report", page{Title: say(r, "title_regulator_report", "id", report.IncidentID),
			Data: &regulatorData{Report: report, Jurisdiction: counts(report.Subjects.ByJurisdiction)}})
	})
}
