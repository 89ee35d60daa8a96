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

func (d *Deps) incidentView(r *http.Request, inc incident.Incident) (incidentView, error) {
	clocks, err := d.Incidents.Clocks(r.Context(), inc.ID)
	if clocks == nil {
		clocks = []incident.Clock{}
	}
	return incidentView{Incident: inc, Clocks: clocks}, err
}

// HandleListIncidents lists the incident register, newest first; ?status=
// narrows it.
func (d *Deps) HandleListIncidents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		incidents, err := d.Incidents.List(r.Context(), incident.Status(r.URL.Query().Get("status")))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[incident.Incident]{Items: incidents})
	})
}

// HandleCreateIncident records an incident (audited: incident.open).
func (d *Deps) HandleCreateIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.Input](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		inc, err := d.Incidents.Create(r.Context(), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		view, err := d.incidentView(r, inc)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, view)
	})
}

// HandleGetIncident answers an incident with its clocks.
func (d *Deps) HandleGetIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inc, err := d.Incidents.Get(r.Context(), r.PathValue("id"))
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

// HandleUpdateIncident changes the fields the body sets (audited:
// incident.update).
func (d *Deps) HandleUpdateIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.Input](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		inc, err := d.Incidents.Update(r.Context(), r.PathValue("id"), in)
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

// moveRequest is the body of POST /v1/incidents/{id}/status.
type moveRequest struct {
	Status incident.Status `json:"status"`
	Note   string          `json:"note"`
}

// HandleMoveIncident moves an incident to another status (audited:
// incident.status); 409 names what the move lacks.
func (d *Deps) HandleMoveIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[moveRequest](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if in.Status == "" {
			d.fail(w, r, errs.Invalid("status", "is required"))
			return
		}
		inc, err := d.Incidents.Move(r.Context(), r.PathValue("id"), in.Status, in.Note)
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

// HandleAssessIncident records the risk assessment (audited:
// incident.assess); special categories and financial data raise it.
func (d *Deps) HandleAssessIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.Assessment](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		inc, err := d.Incidents.Assess(r.Context(), r.PathValue("id"), in)
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

// HandleIncidentTimeline lists an incident's actions, oldest first.
func (d *Deps) HandleIncidentTimeline() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actions, err := d.Incidents.Timeline(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[incident.Action]{Items: actions})
	})
}

// HandleAddIncidentNote adds an action to the timeline (audited:
// incident.note).
func (d *Deps) HandleAddIncidentNote() http.Handler {
	type request struct {
		Note string `json:"note"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		a, err := d.Incidents.AddNote(r.Context(), r.PathValue("id"), in.Note)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, a)
	})
}

// HandleListAffectedSets lists an incident's affected sets, newest first:
// counts and hashes, never the members.
func (d *Deps) HandleListAffectedSets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sets, err := d.Incidents.Sets(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[incident.Set]{Items: sets})
	})
}

// HandleComputeAffectedSet computes and stores a new affected set
// (audited: incident.affected); earlier ones are kept.
func (d *Deps) HandleComputeAffectedSet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.Method](w, r, uploadMax)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		set, err := d.Incidents.Compute(r.Context(), r.PathValue("id"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, set)
	})
}

// HandleGetReview answers an incident's post-incident review with its
// actions; 404 until one is written.
func (d *Deps) HandleGetReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		review, err := d.Incidents.ReviewOf(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, review)
	})
}

// HandlePutReview writes or changes the review (audited: incident.review).
func (d *Deps) HandlePutReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.ReviewInput](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		review, err := d.Incidents.SaveReview(r.Context(), r.PathValue("id"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, review)
	})
}

// HandleAddReviewAction adds a follow-up action with its owner and due day
// (audited: incident.review_action).
func (d *Deps) HandleAddReviewAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[incident.ActionInput](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		a, err := d.Incidents.AddReviewAction(r.Context(), r.PathValue("id"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, a)
	})
}

// HandleCompleteReviewAction marks a follow-up action done, by the key
// (audited: incident.review_action_done).
func (d *Deps) HandleCompleteReviewAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := d.Incidents.CompleteReviewAction(r.Context(), r.PathValue("id"), r.PathValue("action"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, a)
	})
}

// HandleListAccounts lists every version of an incident's public account,
// newest first.
func (d *Deps) HandleListAccounts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accounts, err := d.Incidents.Accounts(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if accounts == nil {
			accounts = []incident.Account{}
		}
		httpx.Encode(w, http.StatusOK, list[incident.Account]{Items: accounts})
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
		if r.URL.Query().Get("preview") == "true" {
			a, err := d.Incidents.PreviewAccount(r.Context(), r.PathValue("id"), in)
			if err != nil {
				d.fail(w, r, err)
				return
			}
			httpx.Encode(w, http.StatusOK, a)
			return
		}
		a, err := d.Incidents.Publish(r.Context(), r.PathValue("id"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, a)
	})
}

// HandleWithdrawAccount takes the public account off the transparency
// pages (audited: incident.withdraw).
func (d *Deps) HandleWithdrawAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := d.Incidents.Withdraw(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, a)
	})
}
