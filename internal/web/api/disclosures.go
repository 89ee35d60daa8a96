package api

import (
	"context"
	"net/http"

	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleAskDisclosure answers whether a subject's data may go to a vendor:
// allowed, blocked (with the reason) or pending (the customer is asked).
func (d *Deps) HandleAskDisclosure() http.Handler {
	type request struct {
		Subject    string      `json:"subject"`
		Vendor     string      `json:"vendor"`
		Purpose    string      `json:"purpose"`
		Categories []string    `json:"categories"`
		Reason     string      `json:"reason"`
		NeededBy   *httpx.Time `json:"needed_by"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		ask := disclosure.Ask{Subject: in.Subject, Vendor: in.Vendor, Purpose: in.Purpose, Categories: in.Categories, Reason: in.Reason}
		if in.NeededBy != nil {
			ask.NeededBy = in.NeededBy.Time
		}
		out, err := d.Disclosures.Ask(r.Context(), ask)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if d.OnDisclosure != nil {
			d.OnDisclosure(context.WithoutCancel(r.Context()), out)
		}
		status := http.StatusOK
		if out.State == disclosure.Pending {
			status = http.StatusAccepted
		}
		httpx.Encode(w, status, out)
	})
}

// HandleGetDisclosure reports a disclosure's state to the system that asked.
func (d *Deps) HandleGetDisclosure() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Disclosures == nil {
			d.fail(w, r, errs.NotFound("disclosure", r.PathValue("id")))
			return
		}
		out, err := d.Disclosures.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, out)
	})
}

// HandleVendorDisclosures lists what went ahead to a vendor.
func (d *Deps) HandleVendorDisclosures() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Disclosures == nil {
			httpx.Encode(w, http.StatusOK, list[disclosure.Disclosure]{Items: []disclosure.Disclosure{}})
			return
		}
		out, err := d.Disclosures.ForVendor(r.Context(), r.PathValue("key"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[disclosure.Disclosure]{Items: out})
	})
}
