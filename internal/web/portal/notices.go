package portal

import (
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/receipt"
)

// breachNotice is one breach notice as the home page's banner shows it:
// what the signed notice says (never what its row says now), and whether
// its signature verifies under the published keys.
type breachNotice struct {
	IncidentID string
	Notice     *receipt.Notice
	// Checked: the signature was checked against the published key set;
	// Verified: it verifies.
	Checked, Verified bool
	SentAt            *time.Time
	JWKSURL, File     string
}

// breachNotices reads the signed notices of the signed-in customer.
func (p *Portal) breachNotices(r *http.Request, subject string) ([]breachNotice, error) {
	if p.BreachNotices == nil {
		return nil, nil
	}
	list, err := p.BreachNotices(r.Context(), subject)
	if err != nil {
		return nil, err
	}
	out := make([]breachNotice, 0, len(list))
	for _, n := range list {
		b := breachNotice{IncidentID: n.IncidentID, SentAt: n.SentAt, JWKSURL: p.PublicURL + "/.well-known/jwks.json",
			File: "breach-notice-" + n.IncidentID + ".jws"}
		if len(p.JWKS) > 0 {
			signed, err := receipt.VerifyNotice(n.JWS, p.JWKS)
			b.Checked, b.Verified = true, err == nil && signed.SubjectID == subject
			if b.Verified {
				b.Notice = signed
			}
		}
		if b.Notice == nil {
			// Unverifiable: the page says so and shows no words it cannot
			// vouch for.
			b.Notice = &receipt.Notice{IncidentID: n.IncidentID}
		}
		out = append(out, b)
	}
	return out, nil
}

// HandleBreachNotice serves one of the customer's signed breach notices
// as a file, to keep or to check with `steward receipt verify`.
func (p *Portal) HandleBreachNotice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if p.BreachNotices == nil || session.SubjectID == "" {
			p.fail(w, r, errs.NotFound("notice", r.PathValue("id")))
			return
		}
		list, err := p.BreachNotices(r.Context(), session.SubjectID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		for _, n := range list {
			if n.IncidentID == r.PathValue("id") {
				w.Header().Set("Content-Type", "application/jose")
				w.Header().Set("Content-Disposition", `attachment; filename="breach-notice-`+n.IncidentID+`.jws"`)
				w.Header().Set("Cache-Control", "no-store")
				_, _ = w.Write([]byte(n.JWS))
				return
			}
		}
		p.fail(w, r, errs.NotFound("notice", r.PathValue("id"))) // another customer's notice is not found
	})
}
