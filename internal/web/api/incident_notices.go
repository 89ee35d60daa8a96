package api

import (
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleRegulatorReport answers the draft of the report to the supervisory
// authority (GDPR Art. 33(3)), computed now.
func (d *Deps) HandleRegulatorReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		report, err := d.Incidents.RegulatorReport(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, report)
	})
}

// noticesView is an incident's notices: the texts and the progress of
// sending them.
type noticesView struct {
	Texts    []incident.NoticeText `json:"texts"`
	Progress incident.Progress     `json:"progress"`
}

// HandleIncidentNotices answers an incident's notice texts and how many
// notices are queued, sent and failed.
func (d *Deps) HandleIncidentNotices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		texts, err := d.Incidents.NoticeTexts(r.Context(), id)
		if err == nil {
			_, err = d.Incidents.Get(r.Context(), id)
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		progress, err := d.Incidents.NoticeProgress(r.Context(), id)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if texts == nil {
			texts = []incident.NoticeText{}
		}
		httpx.Encode(w, http.StatusOK, noticesView{Texts: texts, Progress: progress})
	})
}

// HandleSetNoticeText writes the notice of one language (audited:
// incident.notice_text).
func (d *Deps) HandleSetNoticeText() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.NoticeText](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		in.Language = r.PathValue("lang")
		text, err := d.Incidents.SetNoticeText(r.Context(), r.PathValue("id"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, text)
	})
}

// HandleQueueNotices queues a notice to every affected customer not yet
// told (audited: incident.notices_queued); 202, the jobs send them.
func (d *Deps) HandleQueueNotices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := d.Incidents.QueueNotices(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusAccepted, q)
	})
}

// HandleIncidentVendors lists the vendors an incident touches and whether
// each was told.
func (d *Deps) HandleIncidentVendors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vendors, err := d.Incidents.AffectedVendors(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[incident.AffectedVendor]{Items: orEmpty(vendors)})
	})
}

// HandleNotifyVendors tells the affected vendors not yet told (webhook
// incident.notified and email; audited: incident.vendor_notified).
func (d *Deps) HandleNotifyVendors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		told, err := d.Incidents.NotifyVendors(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[incident.AffectedVendor]{Items: orEmpty(told)})
	})
}

// filingRequest is the body of POST /v1/incidents/{id}/filings.
type filingRequest struct {
	Kind         incident.FilingKind `json:"kind"`
	Agency       string              `json:"agency"`
	Reference    string              `json:"reference"`
	Channel      string              `json:"channel"`
	FiledAt      time.Time           `json:"filed_at"`
	Note         string              `json:"note"`
	EvidenceFrom *time.Time          `json:"evidence_from"`
	EvidenceTo   *time.Time          `json:"evidence_to"`
}

// filingView is a filing with the command that writes its evidence.
type filingView struct {
	incident.Filing
	EvidenceCommand string `json:"evidence_command,omitempty"`
}

// HandleIncidentFilings lists the reports and referrals recorded on an
// incident.
func (d *Deps) HandleIncidentFilings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		filings, err := d.Incidents.Filings(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		out := make([]filingView, len(filings))
		for i, f := range filings {
			out[i] = filingView{Filing: f, EvidenceCommand: f.EvidenceCommand()}
		}
		httpx.Encode(w, http.StatusOK, list[filingView]{Items: out})
	})
}

// HandleRecordFiling records a report to the authority or a referral to law
// enforcement (audited: incident.filed).
func (d *Deps) HandleRecordFiling() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[filingRequest](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		f, err := d.Incidents.RecordFiling(r.Context(), r.PathValue("id"), incident.Filing{Kind: in.Kind, Agency: in.Agency,
			Reference: in.Reference, Channel: in.Channel, FiledAt: in.FiledAt, Note: in.Note, EvidenceFrom: in.EvidenceFrom, EvidenceTo: in.EvidenceTo})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, filingView{Filing: f, EvidenceCommand: f.EvidenceCommand()})
	})
}

// notifiedRequest is the body of POST /v1/incidents/{id}/notified.
type notifiedRequest struct {
	Note string `json:"note"`
}

// HandleRecordNotified moves the incident to notified from the recorded
// report and notices (audited: incident.status); 400 or 409 name what is
// missing.
func (d *Deps) HandleRecordNotified() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[notifiedRequest](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		inc, err := d.Incidents.RecordNotified(r.Context(), r.PathValue("id"), in.Note)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		view, err := d.incidentView(r, inc)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, view)
	})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
