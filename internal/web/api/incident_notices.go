package api

import (
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/incident"
)

// HandleRegulatorReport answers the draft of the report to the supervisory
// authority (GDPR Art. 33(3)), computed now.
func (d *Deps) HandleRegulatorReport() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (incident.RegulatorReport, error) {
		return d.Incidents.RegulatorReport(r.Context(), r.PathValue("id"))
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
	return answer(d, http.StatusOK, func(r *http.Request) (noticesView, error) {
		id := r.PathValue("id")
		texts, err := d.Incidents.NoticeTexts(r.Context(), id)
		if err == nil {
			_, err = d.Incidents.Get(r.Context(), id)
		}
		if err != nil {
			return noticesView{}, err
		}
		progress, err := d.Incidents.NoticeProgress(r.Context(), id)
		return noticesView{Texts: orEmpty(texts), Progress: progress}, err
	})
}

// HandleSetNoticeText writes the notice of one language (audited:
// incident.notice_text).
func (d *Deps) HandleSetNoticeText() http.Handler {
	return answerBody(d, smallBody, http.StatusOK, func(r *http.Request, in incident.NoticeText) (incident.NoticeText, error) {
		in.Language = r.PathValue("lang")
		return d.Incidents.SetNoticeText(r.Context(), r.PathValue("id"), in)
	})
}

// HandleQueueNotices queues a notice to every affected customer not yet
// told (audited: incident.notices_queued); 202, the jobs send them.
func (d *Deps) HandleQueueNotices() http.Handler {
	return answer(d, http.StatusAccepted, func(r *http.Request) (incident.Queued, error) {
		return d.Incidents.QueueNotices(r.Context(), r.PathValue("id"))
	})
}

// HandleIncidentVendors lists the vendors an incident touches and whether
// each was told.
func (d *Deps) HandleIncidentVendors() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[incident.AffectedVendor], error) {
		vendors, err := d.Incidents.AffectedVendors(r.Context(), r.PathValue("id"))
		return items(vendors), err
	})
}

// HandleNotifyVendors tells the affected vendors not yet told (webhook
// incident.notified and email; audited: incident.vendor_notified).
func (d *Deps) HandleNotifyVendors() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[incident.AffectedVendor], error) {
		told, err := d.Incidents.NotifyVendors(r.Context(), r.PathValue("id"))
		return items(told), err
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

func viewOfFiling(f incident.Filing) filingView {
	return filingView{Filing: f, EvidenceCommand: f.EvidenceCommand()}
}

// HandleIncidentFilings lists the reports and referrals recorded on an
// incident.
func (d *Deps) HandleIncidentFilings() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[filingView], error) {
		filings, err := d.Incidents.Filings(r.Context(), r.PathValue("id"))
		out := make([]filingView, len(filings))
		for i, f := range filings {
			out[i] = viewOfFiling(f)
		}
		return items(out), err
	})
}

// HandleRecordFiling records a report to the authority or a referral to law
// enforcement (audited: incident.filed).
func (d *Deps) HandleRecordFiling() http.Handler {
	return answerBody(d, smallBody, http.StatusCreated, func(r *http.Request, in filingRequest) (filingView, error) {
		f, err := d.Incidents.RecordFiling(r.Context(), r.PathValue("id"), incident.Filing{Kind: in.Kind, Agency: in.Agency,
			Reference: in.Reference, Channel: in.Channel, FiledAt: in.FiledAt, Note: in.Note, EvidenceFrom: in.EvidenceFrom, EvidenceTo: in.EvidenceTo})
		return viewOfFiling(f), err
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
	return answerBody(d, smallBody, http.StatusOK, func(r *http.Request, in notifiedRequest) (incidentView, error) {
		inc, err := d.Incidents.RecordNotified(r.Context(), r.PathValue("id"), in.Note)
		return d.incidentView(r, inc, err)
	})
}
