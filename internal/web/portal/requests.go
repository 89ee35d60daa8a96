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

// requestForm is what the customer put in the request form, shown again
// when the form is refused.
type requestForm struct {
	Kind    string
	Details string
}

// formProblems turns the request service's field problems into the
// customer's language: the service speaks English to developers.
func formProblems(fields map[string]string, in dsr.NewRequest) map[string]string {
	out := map[string]string{}
	for field := range fields {
		switch {
		case field == "kind":
			out[field] = "form_kind"
		case field == "details" && strings.TrimSpace(in.Details) == "":
			out[field] = "form_details_required"
		case field == "details":
			out[field] = "form_details_long"
		default:
			out[field] = "form_other"
		}
	}
	return out
}

// HandleFileRequest files a request in the customer's name. Details are
// kept only for the kinds that take them: the form hides the box for the
// others, so what it holds was typed for another choice. A refused form is
// shown again with the customer's choice and words, and what is wrong in
// their language.
func (p *Portal) HandleFileRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		email, err := p.Customers.Email(r.Context(), session)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		kind := dsr.Kind(r.PostFormValue("kind"))
		details := strings.TrimSpace(r.PostFormValue("details"))
		typed := details
		if kind.Valid() && !kind.TakesDetails() {
			details = ""
		}
		categories, err := p.categoriesOf(r.Context(), session.SubjectID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		regime := p.regimeOf(r, session.SubjectID)
		in := dsr.NewRequest{Kind: kind, Regime: regime, SubjectID: session.SubjectID,
			Email: email, EmailHash: session.EmailHash, Details: details, Language: language(r),
			Categories: categories, Scope: scopeOf(r, regime, kind)}
		req, err := p.fileRequest(r, in)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				d, herr := p.home(r, false)
				if herr != nil {
					p.fail(w, r, herr)
					return
				}
				d.Form = requestForm{Kind: string(kind), Details: typed}
				pg := p.homePage(r, d)
				pg.Problem = "form_problem"
				pg.Fields = translate(language(r), formProblems(e.Fields, in))
				p.render(w, r, http.StatusBadRequest, "home", pg)
				return
			}
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/home?"+url.Values{"lang": {language(r)}, "filed": {req.ID}}.Encode()+"#requests", http.StatusSeeOther)
	})
}

// translate returns the messages of keys in lang.
func translate(lang string, keys map[string]string) map[string]string {
	out := make(map[string]string, len(keys))
	for field, key := range keys {
		if t, ok := messages[lang][key]; ok {
			out[field] = t
		} else {
			out[field] = messages[lang]["form_other"]
		}
	}
	return out
}

type requestPageData struct {
	Request dsr.Request
	// Answer is the text of a refused answer, shown again.
	Answer string
	// CanCancel: the work has not begun.
	CanCancel bool
	// Identity is the identity step, when the request needs more than
	// the email code.
	Identity *identityData
}

// HandleRequestPage shows one of the customer's requests: where it stands,
// what happens next, the question waiting for them with a form to answer
// it, the reason of a refusal, the download of an export. Another
// person's request is not found. The emails about a request link here.
func (p *Portal) HandleRequestPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := ""
		if r.URL.Query().Get("answered") == "1" {
			notice = "answer_sent"
		}
		if r.URL.Query().Get("identified") == "1" {
			notice = "id_confirmed"
		}
		p.showRequest(w, r, http.StatusOK, page{Notice: notice}, "")
	})
}

func (p *Portal) showRequest(w http.ResponseWriter, r *http.Request, status int, pg page, answer string) {
	req, err := p.Requests.ForRequester(r.Context(), sessionOf(r).EmailHash, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	idStep, err := p.identityStep(r, req)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	email, _ := p.Customers.Email(r.Context(), sessionOf(r))
	pg.Title, pg.Email = "request_title", email
	pg.Data = requestPageData{Request: req, Answer: answer, Identity: idStep,
		CanCancel: req.State == dsr.StateReceived || req.State == dsr.StateVerified || req.State == dsr.StateWaitingForCustomer}
	p.render(w, r, status, "request", pg)
}

// HandleAnswer records the customer's answer to the question on their
// request; a refused answer is shown again with what is wrong.
func (p *Portal) HandleAnswer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, answer := r.PathValue("id"), r.PostFormValue("answer")
		if _, err := p.Requests.Answer(r.Context(), sessionOf(r).EmailHash, id, answer); err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				key := "answer_too_long"
				if strings.TrimSpace(answer) == "" {
					key = "answer_required"
				}
				p.showRequest(w, r, http.StatusBadRequest, page{Problem: key}, answer)
				return
			}
			if errs.Is(err, errs.CodeConflict) {
				p.showRequest(w, r, http.StatusConflict, page{Problem: "answer_not_waiting"}, "")
				return
			}
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/requests/"+url.PathEscape(id)+"?"+url.Values{"lang": {language(r)}, "answered": {"1"}}.Encode(), http.StatusSeeOther)
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
			if errs.Is(err, errs.CodeConflict) {
				p.showRequest(w, r, http.StatusConflict, page{Problem: "cancel_not_possible"}, "")
				return
			}
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
