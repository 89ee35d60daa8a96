package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// holdList is the answer of GET /v1/subjects/{id}/legal-hold: the
// subject's holds, newest first (an open one, then those lifted).
type holdList struct {
	Holds []retention.Hold `json:"holds"`
}

// HandleListHolds lists the subject's legal holds, open and lifted.
func (d *Deps) HandleListHolds() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		holds, err := d.Retention.Holds(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, holdList{Holds: holds})
	})
}

// HandlePlaceHold places a legal hold on the subject, with its reason:
// retention keeps all of their data until it is lifted. Audited (the
// actor is the API key); 409 when one is already open.
func (d *Deps) HandlePlaceHold() http.Handler {
	type request struct {
		Reason string `json:"reason"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		h, err := d.Retention.PlaceHold(r.Context(), r.PathValue("id"), in.Reason)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusCreated, h)
	})
}

// HandleLiftHold lifts the subject's open legal hold: retention applies to
// their data again at its next run. Audited; 404 when none is open.
func (d *Deps) HandleLiftHold() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := d.Retention.LiftHold(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, h)
	})
}
