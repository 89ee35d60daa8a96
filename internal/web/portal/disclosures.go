package portal

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/errs"
)

// disclosureRow is a disclosure as the customer sees it.
type disclosureRow struct {
	disclosure.Disclosure
	VendorName, PurposeName string
}

// disclosures splits the customer's disclosures into those waiting for
// their answer and those that went ahead ("who received my data").
func (p *Portal) disclosures(r *http.Request, subject string) (pending, received []disclosureRow, err error) {
	if p.Disclosures == nil || subject == "" {
		return nil, nil, nil
	}
	list, err := p.Disclosures.ForSubject(r.Context(), subject)
	if err != nil {
		return nil, nil, err
	}
	lang := language(r)
	now := p.Now()
	for _, d := range list {
		row := disclosureRow{Disclosure: d, VendorName: d.Vendor, PurposeName: d.Purpose}
		if v, err := p.Consent.Vendor(d.Vendor); err == nil {
			row.VendorName = v.Name
		}
		if pu, err := p.Consent.Purpose(d.Purpose); err == nil {
			row.PurposeName = localName(pu.Names, lang, d.Purpose)
		}
		switch {
		case d.State == disclosure.Pending && now.Before(d.NeededBy):
			pending = append(pending, row)
		case d.State.WentAhead():
			received = append(received, row)
		}
	}
	// The one to answer soonest comes first.
	slices.SortStableFunc(pending, func(a, b disclosureRow) int { return a.NeededBy.Compare(b.NeededBy) })
	return pending, received, nil
}

// HandleDecideDisclosure records the customer's answer to a third party's
// request: approve or decline, in one click.
func (p *Portal) HandleDecideDisclosure() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if p.Disclosures == nil || session.SubjectID == "" {
			p.fail(w, r, errs.NotFound("disclosure", r.PathValue("id")))
			return
		}
		approve := r.PostFormValue("answer") == "approve"
		if !approve && r.PostFormValue("answer") != "decline" {
			p.fail(w, r, errs.Invalid("answer", "approve or decline"))
			return
		}
		d, err := p.Disclosures.Decide(r.Context(), r.PathValue("id"), session.SubjectID, approve)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if p.OnDisclosureDecided != nil {
			p.OnDisclosureDecided(r.Context(), d)
		}
		http.Redirect(w, r, "/privacy/home?"+url.Values{"lang": {language(r)}}.Encode()+"#third-parties", http.StatusSeeOther)
	})
}
