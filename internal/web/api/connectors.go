package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleConnectorCallback takes the answer of a company system that Steward
// called for a request (access data or an erasure report). The Standard
// Webhooks signature, under the system's own secret, is the credential:
// the route takes no API key.
func (d *Deps) HandleConnectorCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Hooks == nil {
			d.fail(w, r, errs.NotFound("connector", r.PathValue("name")))
			return
		}
		// Headers first: a caller without a fresh, well-formed signature,
		// or for a call that is not open, is refused before a byte of the
		// body is read; then the body is read up to this call's limit.
		limit, err := d.Hooks.PrepareCallback(r.Context(), r.PathValue("name"), r.PathValue("call"), r.Header)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		body, err := httpx.ReadBody(w, r, limit)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if err := d.Hooks.HandleCallback(r.Context(), r.PathValue("name"), r.PathValue("call"), r.Header, body); err != nil {
			d.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
