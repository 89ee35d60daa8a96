package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// uploadMax bounds the body of an affected set's computation: an uploaded
// list of external ids (about 400,000 ids of 36 characters).
const uploadMax = 16 << 20

// incidentView is an incident with its clocks now.
type incidentView struct {
	incident.Incident
	Clocks []incident.Clock `json:"clocks"`
}

// incidentView is inc with its clocks, or err when err is not nil (the
// error of the call that answered inc).
func (d *Deps) incidentView(r *http.Request, inc incident.Incident, err error) (incidentView, error) {
	if err != nil {
		return incidentView{}, err
	}
	clocks, err := d.Incidents.Clocks(r.Context(), inc.ID)
	return incidentView{Incident: inc, Clocks: orEmpty(clocks)}, err
}

// HandleListIncidents lists the incident register, newest first; ?status=
// narrows it.
func (d *Deps) HandleListIncidents() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[incident.Incident], error) {
		incidents, err := d.Incidents.List(r.Context(), incident.Status(r.URL.Query().Get("status")))
		return items(incidents), err
	})
}

// HandleCreateIncident records an incident (audited: incident.open).
func (d *Deps) HandleCreateIncident() http.Handler {
	return answerBody(d, smallBody, http.StatusCreated, func(r *http.Request, in incident.Input) (incidentView, error) {
		inc, err := d.Incidents.Create(r.Context(), in)
		return d.incidentView(r, inc, err)
	})
}

// HandleGetIncident answers an incident with its clocks.
func (d *Deps) HandleGetIncident() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (incidentView, error) {
		inc, err := d.Incidents.Get(r.Context(), r.PathValue("id"))
		return d.incidentView(r, inc, err)
	})
}

// HandleUpdateIncident changes the fields the body sets (audited:
// incident.update).
func (d *Deps) HandleUpdateIncident() http.Handler {
	return answerBody(d, smallBody, http.StatusOK, func(r *http.Request, in incident.Input) (incidentView, error) {
		inc, err := d.Incidents.Update(r.Context(), r.PathValue("id"), in)
		return d.incidentView(r, inc, err)
	})
}

// moveRequest is the body of POST /v1/incidents/{id}/status.
type moveRequest struct {
	Status incident.Status `json:"status"`
	Note   string          `json:"note"`
}

// HandleMoveIncident moves an incident to another status (audited:
// incident.status); 409 names what the move lacks.
func (d *Deps) HandleMoveIncident() http.Handler {
	return answerBody(d, smallBody, http.StatusOK, func(r *http.Request, in moveRequest) (incidentView, error) {
		if in.Status == "" {
			return incidentView{}, errs.Invalid("status", "is required")
		}
		inc, err := d.Incidents.Move(r.Context(), r.PathValue("id"), in.Status, in.Note)
		return d.incidentView(r, inc, err)
	})
}

// HandleAssessIncident records the risk assessment (audited:
// incident.assess); special categories and financial data raise it.
func (d *Deps) HandleAssessIncident() http.Handler {
	return answerBody(d, smallBody, http.StatusOK, func(r *http.Request, in incident.Assessment) (incidentView, error) {
		inc, err := d.Incidents.Assess(r.Context(), r.PathValue("id"), in)
		return d.incidentView(r, inc, err)
	})
}

// HandleIncidentTimeline lists an incident's actions, oldest first.
func (d *Deps) HandleIncidentTimeline() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[incident.Action], error) {
		actions, err := d.Incidents.Timeline(r.Context(), r.PathValue("id"))
		return items(actions), err
	})
}

// noteRequest is the body of POST /v1/incidents/{id}/timeline.
type noteRequest struct {
	Note string `json:"note"`
}

// HandleAddIncidentNote adds an action to the timeline (audited:
// incident.note).
func (d *Deps) HandleAddIncidentNote() http.Handler {
	return answerBody(d, smallBody, http.StatusCreated, func(r *http.Request, in noteRequest) (incident.Action, error) {
		return d.Incidents.AddNote(r.Context(), r.PathValue("id"), in.Note)
	})
}

// HandleListAffectedSets lists an incident's affected sets, newest first:
// counts and hashes, never the members.
func (d *Deps) HandleListAffectedSets() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[incident.Set], error) {
		sets, err := d.Incidents.Sets(r.Context(), r.PathValue("id"))
		return items(sets), err
	})
}

// HandleComputeAffectedSet computes and stores a new affected set
// (audited: incident.affected); earlier ones are kept.
func (d *Deps) HandleComputeAffectedSet() http.Handler {
	return answerBody(d, uploadMax, http.StatusCreated, func(r *http.Request, in incident.Method) (incident.Set, error) {
		return d.Incidents.Compute(r.Context(), r.PathValue("id"), in)
	})
}

// HandleGetReview answers an incident's post-incident review with its
// actions; 404 until one is written.
func (d *Deps) HandleGetReview() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (incident.Review, error) {
		return d.Incidents.ReviewOf(r.Context(), r.PathValue("id"))
	})
}

// HandlePutReview writes or changes the review (audited: incident.review).
func (d *Deps) HandlePutReview() http.Handler {
	return answerBody(d, smallBody, http.StatusOK, func(r *http.Request, in incident.ReviewInput) (incident.Review, error) {
		return d.Incidents.SaveReview(r.Context(), r.PathValue("id"), in)
	})
}

// HandleAddReviewAction adds a follow-up action with its owner and due day
// (audited: incident.review_action).
func (d *Deps) HandleAddReviewAction() http.Handler {
	return answerBody(d, smallBody, http.StatusCreated, func(r *http.Request, in incident.ActionInput) (incident.ReviewAction, error) {
		return d.Incidents.AddReviewAction(r.Context(), r.PathValue("id"), in)
	})
}

// HandleCompleteReviewAction marks a follow-up action done, by the key
// (audited: incident.review_action_done).
func (d *Deps) HandleCompleteReviewAction() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (incident.ReviewAction, error) {
		return d.Incidents.CompleteReviewAction(r.Context(), r.PathValue("id"), r.PathValue("action"))
	})
}

// HandleListAccounts lists every version of an incident's public account,
// newest first.
func (d *Deps) HandleListAccounts() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (list[incident.Account], error) {
		accounts, err := d.Incidents.Accounts(r.Context(), r.PathValue("id"))
		return items(accounts), err
	})
}

// HandlePublishAccount publishes a new version of the public account on
// /transparency/incidents (audited: incident.publish); ?preview=true
// answers what would be published without publishing it.
func (d *Deps) HandlePublishAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.AccountInput](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		publish, status := d.Incidents.Publish, http.StatusCreated
		if r.URL.Query().Get("preview") == "true" {
			publish, status = d.Incidents.PreviewAccount, http.StatusOK
		}
		a, err := publish(r.Context(), r.PathValue("id"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, status, a)
	})
}

// HandleWithdrawAccount takes the public account off the transparency
// pages (audited: incident.withdraw).
func (d *Deps) HandleWithdrawAccount() http.Handler {
	return answer(d, http.StatusOK, func(r *http.Request) (incident.Account, error) {
		return d.Incidents.Withdraw(r.Context(), r.PathValue("id"))
	})
}
