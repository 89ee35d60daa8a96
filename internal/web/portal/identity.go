package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/ratelimit"
	"github.com/steward-dev/steward/internal/vault"
)

// categoriesOf returns the vault categories Steward holds for subject: an
// export or erasure touching a sensitive one needs the second proof.
func (p *Portal) categoriesOf(ctx context.Context, subject string) ([]string, error) {
	if subject == "" {
		return nil, nil
	}
	fields, err := p.Vault.List(ctx, subject)
	if errors.Is(err, vault.ErrErased) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	var out []string
	for _, f := range fields {
		if !slices.Contains(out, f.Category) {
			out = append(out, f.Category)
		}
	}
	return out, nil
}

// scopeOf reads the CCPA scope the customer chose for a request to know;
// other requests take none.
func scopeOf(r *http.Request, regime dsr.Regime, kind dsr.Kind) dsr.Scope {
	if regime != dsr.CCPA || (kind != dsr.KindAccess && kind != dsr.KindExport) {
		return ""
	}
	if r.PostFormValue("scope") == string(dsr.ScopeSpecific) {
		return dsr.ScopeSpecific
	}
	return dsr.ScopeCategories
}

// identityData is the identity step on a request's page.
type identityData struct {
	Identity dsr.Identity
	// Points are the data points the customer may prove their identity
	// with, each labelled by what it asks, in the page's language; they
	// fill in as many as the request needs.
	Points []pointRow
	// Declaration is the declaration's text in the page's language.
	Declaration string
}

// pointRow is one data point of the identity step.
type pointRow struct {
	Name, Label string
}

func (p *Portal) identityStep(r *http.Request, req dsr.Request) (*identityData, error) {
	idn, err := p.Requests.Identity(r.Context(), req.ID)
	if err != nil {
		return nil, err
	}
	if idn.Required.Points == 0 {
		return nil, nil
	}
	t := messages[language(r)]
	d := &identityData{Identity: idn, Declaration: t["id_declaration"]}
	for _, name := range p.DataPoints {
		d.Points = append(d.Points, pointRow{Name: name, Label: pointLabel(t, name)})
	}
	return d, nil
}

// pointLabel names a data point by what it asks: the catalog's words for
// the default ones, else its configured name in words, capitalised
// ("customer_number" → "Customer number").
func pointLabel(t map[string]string, name string) string {
	if label := t["point_"+name]; label != "" {
		return label
	}
	words := strings.ReplaceAll(name, "_", " ")
	if words == "" {
		return words
	}
	r, size := utf8.DecodeRuneInString(words)
	return string(unicode.ToUpper(r)) + words[size:]
}

// HandleProveIdentity checks the data points the customer typed for one
// of their requests. The values are never shown again, logged or stored:
// a refused form comes back empty, saying only that they did not match,
// how many tries are left, or until when to wait.
func (p *Portal) HandleProveIdentity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var proof dsr.Proof
		// One line per data point offered; the customer fills in as many
		// as asked and leaves the rest empty.
		for i := range max(len(p.DataPoints), 4) {
			name, value := r.PostFormValue(fmt.Sprintf("point_%d", i)), r.PostFormValue(fmt.Sprintf("value_%d", i))
			if strings.TrimSpace(value) != "" {
				proof.Points = append(proof.Points, dsr.DataPoint{Name: name, Value: value})
			}
		}
		proof.Declared = r.PostFormValue("declaration") == "yes"
		id := r.PathValue("id")
		_, err := p.Requests.ProveIdentity(r.Context(), sessionOf(r).EmailHash, id, proof)
		switch {
		case err == nil:
			http.Redirect(w, r, "/privacy/requests/"+url.PathEscape(id)+"?"+url.Values{"lang": {language(r)}, "identified": {"1"}}.Encode(), http.StatusSeeOther)
		case errs.CodeOf(err) == errs.CodeInvalid:
			key := "id_no_match"
			if e, ok := errs.As(err); ok && e.Fields["declaration"] != "" {
				key = "id_declaration_missing"
			} else if ok && e.Fields["points"] != "" && !strings.Contains(e.Fields["points"], "match") {
				key = "id_points_missing"
			}
			p.showRequest(w, r, http.StatusBadRequest, page{Problem: key}, "")
		case errs.CodeOf(err) == errs.CodeConflict:
			p.showRequest(w, r, http.StatusTooManyRequests, page{Problem: "id_wait"}, "")
		default:
			p.fail(w, r, err)
		}
	})
}

// agentLimit counts agents' filings per agent email and per client
// address: five an hour, then a wait that doubles up to a day.
func newAgentLimit(now func() time.Time) *ratelimit.Lockout {
	return ratelimit.NewLockout(now, 5, time.Hour, 24*time.Hour)
}

// agentForm is what the agent typed, shown again when refused (never the
// mandate's text on a page other than theirs).
type agentForm struct {
	Kind, AgentName, AgentEmail, CustomerEmail, Mandate, Language, Regime string
	Kinds                                                                 []dsr.Kind
	Languages                                                             []langLink
}

// HandleAgentPage shows the form an authorised agent files a request with.
func (p *Portal) HandleAgentPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.binding(w, r)
		p.render(w, r, http.StatusOK, "agent", page{Title: "agent_title", Data: p.agentForm(r)})
	})
}

func (p *Portal) agentForm(r *http.Request) agentForm {
	f := agentForm{Kind: r.PostFormValue("kind"), AgentName: r.PostFormValue("agent_name"), AgentEmail: r.PostFormValue("agent_email"),
		CustomerEmail: r.PostFormValue("customer_email"), Mandate: r.PostFormValue("mandate"), Language: r.PostFormValue("customer_lang"),
		Regime: r.PostFormValue("regime"), Kinds: []dsr.Kind{dsr.KindAccess, dsr.KindExport, dsr.KindErasure, dsr.KindRectification, dsr.KindObjection}}
	if f.Language == "" {
		f.Language = language(r)
	}
	for _, code := range catalog.Languages() {
		f.Languages = append(f.Languages, langLink{code, messages[code]["lang_name"]})
	}
	return f
}

// HandleAgentFile files an agent's request and emails the customer, in the
// language the agent chose for them, a link to confirm it. Filings are
// limited per agent email and per client address. The answer does not say
// whether the customer's address is known.
func (p *Portal) HandleAgentFile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := p.agentForm(r)
		if !p.checkForm(w, r) {
			p.binding(w, r)
			p.render(w, r, http.StatusForbidden, "agent", page{Title: "agent_title", Problem: "form_expired", Data: f})
			return
		}
		if p.Mailer == nil {
			p.render(w, r, http.StatusServiceUnavailable, "agent", page{Title: "agent_title", Problem: "mail_off", Data: f})
			return
		}
		ctx := r.Context()
		agentHash, err := p.Vault.BlindIndex(ctx, "email", strings.TrimSpace(f.AgentEmail))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		keys := []string{fmt.Sprintf("agent|%x", agentHash), "addr|" + p.clientIP(r)}
		for _, k := range keys {
			if until := p.agentLimit.Locked(k); !until.IsZero() {
				p.render(w, r, http.StatusTooManyRequests, "agent", page{Title: "agent_title", Data: f,
					Problem: strings.ReplaceAll(messages[language(r)]["too_many_until"], "{time}", until.UTC().Format("15:04 UTC"))})
				return
			}
		}
		customerHash, err := p.Vault.BlindIndex(ctx, "email", strings.TrimSpace(f.CustomerEmail))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		regime := dsr.CCPA
		if f.Regime == string(dsr.GDPR) {
			regime = dsr.GDPR
		}
		kind := dsr.Kind(f.Kind)
		in := dsr.NewRequest{Kind: kind, Regime: regime, Email: strings.TrimSpace(f.CustomerEmail), EmailHash: customerHash,
			Language: f.Language, Scope: scopeOf(r, regime, kind)}
		actor := audit.Actor{Kind: "agent", ID: fmt.Sprintf("%x", agentHash[:8])}
		req, token, err := p.Requests.FileByAgent(audit.WithActor(ctx, actor), in,
			dsr.Agent{Name: f.AgentName, Email: f.AgentEmail, Mandate: f.Mandate}, agentHash)
		for _, k := range keys {
			p.agentLimit.Fail(k) // every filing counts, refused or not
		}
		if err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				fields := map[string]string{}
				for field := range e.Fields {
					fields[field] = "agent_field_" + agentField(field)
				}
				p.render(w, r, http.StatusBadRequest, "agent", page{Title: "agent_title", Problem: "form_problem",
					Fields: translate(language(r), fields), Data: f})
				return
			}
			p.fail(w, r, err)
			return
		}
		ag, err := p.Requests.AgentOf(ctx, req.ID)
		if err != nil || ag == nil {
			p.fail(w, r, fmt.Errorf("read agent request: %w", err))
			return
		}
		link := p.PublicURL + "/privacy/agent/confirm/" + url.PathEscape(req.ID) + "?" + url.Values{"token": {token}, "lang": {req.Language}}.Encode()
		msg, err := p.Mail.Render(req.Language, notify.TemplateAgentConfirm, notify.AgentConfirm{Brand: p.Brand,
			AgentName: strings.TrimSpace(f.AgentName), RequestID: req.ID, Type: mailType(req.Kind), ExpiresAt: ag.ExpiresAt, ConfirmURL: link})
		if err == nil {
			msg.To = in.Email
			err = p.Mailer.Send(ctx, msg)
		}
		if err != nil {
			// The request stays unconfirmed and expires; log without addresses.
			p.Log.Warn("portal: agent confirmation not sent", "request", req.ID, "err", err)
		}
		p.render(w, r, http.StatusOK, "agent_filed", page{Title: "agent_title", Notice: "agent_filed", Data: map[string]string{"ID": req.ID}})
	})
}

// agentField maps the service's field names to the form's message keys.
func agentField(field string) string {
	switch field {
	case "agent_name", "agent_email", "mandate", "email", "kind":
		return field
	}
	return "other"
}

// mailType is the name the email templates give a kind.
func mailType(k dsr.Kind) string {
	switch k {
	case dsr.KindRectification:
		return "rectify"
	case dsr.KindErasure:
		return "erase"
	case dsr.KindRestriction:
		return "restrict"
	case dsr.KindObjection:
		return "object"
	}
	return string(k)
}

// HandleAgentConfirmPage is where the customer's link leads: a button that
// confirms with a POST, so that a mail scanner opening the link confirms
// nothing.
func (p *Portal) HandleAgentConfirmPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.binding(w, r)
		p.render(w, r, http.StatusOK, "agent_confirm", page{Title: "agent_confirm_title",
			Data: map[string]string{"ID": r.PathValue("id"), "Token": r.URL.Query().Get("token")}})
	})
}

// HandleAgentConfirm confirms an agent's request with the token of its
// link: a token issued for another request confirms nothing (not found).
func (p *Portal) HandleAgentConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.checkForm(w, r) {
			p.binding(w, r)
			p.render(w, r, http.StatusForbidden, "agent_confirm", page{Title: "agent_confirm_title", Problem: "form_expired",
				Data: map[string]string{"ID": r.PathValue("id"), "Token": r.PostFormValue("token")}})
			return
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{Kind: "customer", ID: "confirmation-link"})
		if _, err := p.Requests.ConfirmAgent(ctx, r.PathValue("id"), r.PostFormValue("token")); err != nil {
			if errs.CodeOf(err) == errs.CodeConflict {
				p.render(w, r, http.StatusConflict, "agent_confirm", page{Title: "agent_confirm_title", Problem: "agent_expired"})
				return
			}
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "agent_confirm", page{Title: "agent_confirm_title", Notice: "agent_confirmed",
			Data: map[string]string{"Done": "1"}})
	})
}
