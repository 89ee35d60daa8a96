package portal

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

// regimeOf picks the law a customer's request falls under from the
// jurisdiction of their latest consent: California's CCPA for US-CA (and
// other US states, whose laws follow its deadlines closely), the GDPR
// otherwise.
func (p *Portal) regimeOf(r *http.Request, subject string) dsr.Regime {
	if subject == "" {
		return dsr.GDPR
	}
	events, err := p.Consent.Events(r.Context(), consent.EventFilter{Subject: subject, Limit: 10000})
	if err != nil || len(events) == 0 {
		return dsr.GDPR
	}
	if strings.HasPrefix(events[len(events)-1].Jurisdiction, "US") {
		return dsr.CCPA
	}
	return dsr.GDPR
}

// HandleFileRequest files a request in the customer's name.
func (p *Portal) HandleFileRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		email, err := p.Customers.Email(r.Context(), session)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		in := dsr.NewRequest{Kind: dsr.Kind(r.PostFormValue("kind")), Regime: p.regimeOf(r, session.SubjectID), SubjectID: session.SubjectID,
			Email: email, EmailHash: session.EmailHash, Details: strings.TrimSpace(r.PostFormValue("details"))}
		req, err := p.fileRequest(r, in)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				d, herr := p.home(r, false)
				if herr != nil {
					p.fail(w, r, herr)
					return
				}
				pg := p.homePage(r, d)
				pg.Fields = e.Fields
				p.render(w, r, http.StatusBadRequest, "home", pg)
				return
			}
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/home?"+url.Values{"lang": {language(r)}, "filed": {req.ID}}.Encode()+"#requests", http.StatusSeeOther)
	})
}

// fileRequest files in and, when a job runner is wired, enqueues its first
// job in the same transaction.
func (p *Portal) fileRequest(r *http.Request, in dsr.NewRequest) (dsr.Request, error) {
	if p.FileRequest != nil {
		return p.FileRequest(r.Context(), in)
	}
	return p.Requests.File(r.Context(), in)
}

// HandleCancelRequest withdraws one of the customer's pending requests.
func (p *Portal) HandleCancelRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := p.Requests.Cancel(r.Context(), sessionOf(r).EmailHash, r.PathValue("id")); err != nil {
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/home?lang="+language(r)+"#requests", http.StatusSeeOther)
	})
}

// HandleDownload streams the archive that answers one of the customer's
// requests, decrypted on the way out.
func (p *Portal) HandleDownload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := p.Requests.ForRequester(r.Context(), sessionOf(r).EmailHash, r.PathValue("id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		// Only access and export requests have an archive; a finished
		// erasure shows its report on the home page instead.
		if p.Exports == nil || req.ResultRef == "" || (req.Kind != dsr.KindAccess && req.Kind != dsr.KindExport) {
			p.fail(w, r, errs.NotFound("download", req.ID))
			return
		}
		archive, err := p.Exports.Open(r.Context(), req.ResultRef)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="my-data-`+req.ID+`.zip"`)
		w.Header().Set("Cache-Control", "no-store")
		if _, err := io.Copy(w, archive); err != nil && !errors.Is(err, r.Context().Err()) {
			p.Log.Error("portal: download", "request", req.ID, "err", err)
		}
	})
}
