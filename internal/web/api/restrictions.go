package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// restrictionList is the answer of the restriction endpoints.
type restrictionList struct {
	Restrictions []consent.Restriction `json:"restrictions"`
	// PendingLifts wait until the customer has been told (GDPR Art. 18(3)).
	PendingLifts []consent.PendingLift `json:"pending_lifts,omitempty"`
}

func listRestrictions(d *Deps, w http.ResponseWriter, r *http.Request, status int) {
	list, err := d.Consent.Restrictions(r.Context(), r.PathValue("id"))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if list == nil {
		list = []consent.Restriction{}
	}
	pending, err := d.Consent.PendingLifts(r.Context(), r.PathValue("id"))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	httpx.Encode(w, status, restrictionList{Restrictions: list, PendingLifts: pending})
}

// HandleListRestrictions lists the subject's restrictions of processing
// in force.
func (d *Deps) HandleListRestrictions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		listRestrictions(d, w, r, http.StatusOK)
	})
}

// HandlePlaceRestriction restricts the subject's processing (GDPR Art.
// 18), for one purpose or all: decisions answer "restricted" and
// disclosures are blocked until it is lifted. Audited; placing one already
// in force changes nothing.
func (d *Deps) HandlePlaceRestriction() http.Handler {
	type request struct {
		Purpose   string `json:"purpose"`
		RequestID string `json:"request_id"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if _, err := d.Consent.Restrict(r.Context(), r.PathValue("id"), in.Purpose, in.RequestID); err != nil {
			d.fail(w, r, err)
			return
		}
		listRestrictions(d, w, r, http.StatusOK)
	})
}

// HandleLiftRestriction asks for the subject's restriction for the purpose
// of the query (?purpose=), or every one of theirs without it, to be
// lifted once the customer has been told (GDPR Art. 18(3)): 202, the
// restriction stays in force until the notice job sent the email. Audited;
// not found when none is in force; unavailable without email.
func (d *Deps) HandleLiftRestriction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := d.Consent.RequestLift(r.Context(), r.PathValue("id"), r.URL.Query().Get("purpose")); err != nil {
			d.fail(w, r, err)
			return
		}
		listRestrictions(d, w, r, http.StatusAccepted)
	})
}
