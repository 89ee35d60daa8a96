package portal

import (
	"net/http"
	"net/url"

	"github.com/steward-dev/steward/internal/errs"
)

// HandleLiftRestriction ends a restriction of the customer's own, at once:
// they asked for it and may end it; no notice is due to the one who
// decides (GDPR Art. 18(3) protects them from a lift by the company). Only
// their own: the subject is the session's, and a purpose not restricted is
// not found.
func (p *Portal) HandleLiftRestriction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if session.SubjectID == "" {
			p.fail(w, r, errs.NotFound("restriction", ""))
			return
		}
		if err := p.Consent.Lift(r.Context(), session.SubjectID, r.PostFormValue("purpose")); err != nil {
			if errs.CodeOf(err) == errs.CodeInvalid {
				err = errs.NotFound("restriction", "") // an unknown purpose is no restriction of theirs either
			}
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/home?"+url.Values{"lang": {language(r)}}.Encode()+"#restrictions", http.StatusSeeOther)
	})
}
