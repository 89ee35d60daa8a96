package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleGetAssessment answers a purpose's ethics assessment: the draft,
// Steward's own answers as they stand now, the approval in force and the
// status the decisions follow.
func (d *Deps) HandleGetAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := d.Ethics.Get(r.Context(), r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, v)
	})
}

// HandlePutAssessment replaces a purpose's draft; the approval in force
// stays until a privacy officer approves the draft in the console.
func (d *Deps) HandlePutAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[ethics.Answers](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		v, err := d.Ethics.Save(r.Context(), r.PathValue("key"), in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, v)
	})
}

// HandleApproveAssessment approves a purpose's draft. Only a privacy
// officer signed in to the console approves: an API key is refused (403,
// purpose_assessment_officer), as the trust model says an admin key may
// write the catalog but not sign it off.
func (d *Deps) HandleApproveAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := d.Ethics.Approve(r.Context(), r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, v)
	})
}
