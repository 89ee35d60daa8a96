package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// requestPage is a page of GET /v1/requests.
type requestPage struct {
	Items []dsr.Queued `json:"items"`
	Next  string       `json:"next,omitempty"`
}

// requestFilter reads GET /v1/requests's query: state, kind, regime (each
// repeatable or comma-separated), overdue, closed (true or false), id,
// limit, cursor.
func requestFilter(r *http.Request) (dsr.Filter, error) {
	q := r.URL.Query()
	problems := map[string]string{}
	values := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for part := range strings.SplitSeq(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
		}
		return out
	}
	flag := func(name string) bool {
		v := q.Get(name)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems[name] = "must be true or false"
		}
		return b
	}
	f := dsr.Filter{ID: q.Get("id"), Overdue: flag("overdue"), Closed: flag("closed"), After: q.Get("cursor")}
	for _, v := range values("state") {
		f.States = append(f.States, dsr.State(v))
	}
	for _, v := range values("kind") {
		f.Kinds = append(f.Kinds, dsr.Kind(v))
	}
	for _, v := range values("regime") {
		f.Regimes = append(f.Regimes, dsr.Regime(v))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			problems["limit"] = "must be 1 to 1000"
		}
		f.Limit = n
	}
	if len(problems) > 0 {
		return dsr.Filter{}, errs.Fields(problems)
	}
	return f, nil
}

// HandleListRequests lists data subject requests as the console's queue
// does: open ones by default, the soonest deadline first, with filters and
// cursor pages.
func (d *Deps) HandleListRequests() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := requestFilter(r)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		page, err := d.Requests.Search(r.Context(), f)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Fields["cursor"] != "" {
				d.fail(w, r, errs.Invalid("cursor", "%s", e.Fields["cursor"]))
				return
			}
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, requestPage{Items: page.Requests, Next: page.Next})
	})
}

// requestDetail is GET /v1/requests/{id}: the request, its history, what
// staff may do next, where it stands on identity, and the agent who filed
// it, if one did.
type requestDetail struct {
	Request  dsr.Request  `json:"request"`
	AtRisk   bool         `json:"at_risk"`
	Overdue  bool         `json:"overdue"`
	History  []dsr.Event  `json:"history"`
	Actions  []string     `json:"actions"`
	Identity identityView `json:"identity"`
	Agent    *agentView   `json:"agent,omitempty"`
}

// identityView is a request's identity check as the API shows it: what it
// needs, the tier needed and reached, whether it is met, and how (the
// customer's data points, or staff's verification another way).
type identityView struct {
	dsr.Identity
	// Tier is the tier the request needs.
	Tier      dsr.Tier `json:"tier"`
	Satisfied bool     `json:"satisfied"`
}

func viewIdentity(idn dsr.Identity) identityView {
	return identityView{Identity: idn, Tier: idn.Required.Tier(), Satisfied: idn.Satisfied()}
}

// agentView is an authorised agent's part in a request, without the
// agent's name, email or mandate: those are stored sealed with the request
// (the mandate names the customer), an admin key reads no plaintext, and
// the system that filed the request knows them already. Staff see them on
// the console's request page, audited.
type agentView struct {
	FiledAt     time.Time  `json:"filed_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	Confirmed   bool       `json:"confirmed"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

func viewAgent(a *dsr.AgentRecord) *agentView {
	if a == nil {
		return nil
	}
	return &agentView{FiledAt: a.FiledAt, ExpiresAt: a.ExpiresAt, Confirmed: a.ConfirmedAt != nil, ConfirmedAt: a.ConfirmedAt}
}

// HandleGetRequest returns one request with its history.
func (d *Deps) HandleGetRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Requests == nil {
			d.fail(w, r, errs.NotFound("request", r.PathValue("id")))
			return
		}
		req, err := d.Requests.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		history, err := d.Requests.History(r.Context(), req.ID)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		idn, err := d.Requests.Identity(r.Context(), req.ID)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		agent, err := d.Requests.AgentOf(r.Context(), req.ID)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		now := time.Now()
		if d.Now != nil {
			now = d.Now()
		}
		httpx.Encode(w, http.StatusOK, requestDetail{Request: req, History: history, Actions: d.Requests.Actions(req, now),
			AtRisk: req.AtRisk(now, d.Requests.Policies().AtRiskMargin), Overdue: req.Overdue(now),
			Identity: viewIdentity(idn), Agent: viewAgent(agent)})
	})
}

// HandleFileRequest files a request on a customer's behalf: support took
// it by phone, email, letter or chat. The customer is named by their
// subject id, their email, or both; the email is where Steward writes back
// (without it, the subject's "email" field, read with an audit entry).
// The filing is audited with the key and the channel.
//
// With agent (name, email, mandate), the request is an authorised agent's
// for the customer (CCPA), as the portal's agent form files it: the
// customer is emailed a link to confirm it, in their language, and until
// they do it cannot be verified or worked (it expires unconfirmed after
// --agent-expiry). It needs email to be configured (503 otherwise).
func (d *Deps) HandleFileRequest() http.Handler {
	type agent struct {
		Name    string `json:"name"`
		Email   string `json:"email"`
		Mandate string `json:"mandate"`
	}
	type request struct {
		Kind      dsr.Kind    `json:"kind"`
		Regime    dsr.Regime  `json:"regime"`
		Channel   dsr.Channel `json:"channel"`
		SubjectID string      `json:"subject_id"`
		Email     string      `json:"email"`
		Details   string      `json:"details"`
		Language  string      `json:"language"`
		Scope     dsr.Scope   `json:"scope"`
		Agent     *agent      `json:"agent"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		problems := map[string]string{}
		if in.Channel == dsr.ChannelPortal || !in.Channel.Valid() {
			problems["channel"] = "must be phone, email, letter or chat: how the customer asked"
		}
		if in.Regime == "" {
			in.Regime = dsr.GDPR
		}
		in.Email = strings.TrimSpace(in.Email)
		if in.Email == "" && in.SubjectID == "" {
			problems["email"] = "is required when subject_id is not given: Steward writes back to it"
		}
		switch in.Scope {
		case "", dsr.ScopeCategories, dsr.ScopeSpecific:
			if in.Scope != "" && (in.Regime != dsr.CCPA || (in.Kind != dsr.KindAccess && in.Kind != dsr.KindExport)) {
				problems["scope"] = "only a CCPA access or export request has a scope"
			}
		default:
			problems["scope"] = "must be categories or specific"
		}
		if in.Agent != nil && d.SendAgentConfirmation == nil {
			d.fail(w, r, errs.New(errs.CodeUnavailable, "email is not configured on this server, so the customer could not confirm an agent's request"))
			return
		}
		if len(problems) > 0 {
			d.fail(w, r, errs.Fields(problems))
			return
		}
		ctx := r.Context()
		if in.Email == "" {
			// The address on file leaves the vault into the request: recorded first.
			if _, err := d.Audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "dsr.contact_from_vault",
				Target: audit.Subject(in.SubjectID), Details: audit.MustDetails(map[string]any{"fields": []string{"email"}})}); err != nil {
				d.fail(w, r, err)
				return
			}
			rec, err := d.Vault.Get(ctx, in.SubjectID, "email")
			if err != nil {
				if errs.Is(err, errs.CodeNotFound) || errs.Is(err, errs.CodeInvalid) {
					d.fail(w, r, errs.Invalid("email", "is required: subject %s has no email address on file", in.SubjectID))
					return
				}
				d.fail(w, r, err)
				return
			}
			in.Email = string(rec.Value)
		}
		hash, err := d.Vault.BlindIndex(ctx, "email", in.Email)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		filing := dsr.NewRequest{Kind: in.Kind, Regime: in.Regime, SubjectID: in.SubjectID, Email: in.Email,
			EmailHash: hash, Details: in.Details, Language: in.Language, Channel: in.Channel, Scope: in.Scope}
		var req dsr.Request
		if in.Agent == nil {
			req, err = d.Requests.File(ctx, filing)
		} else {
			req, err = d.fileByAgent(ctx, filing, dsr.Agent{Name: in.Agent.Name, Email: in.Agent.Email, Mandate: in.Agent.Mandate})
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/requests/"+req.ID)
		httpx.Encode(w, http.StatusCreated, req)
	})
}

// fileByAgent files an agent's request and emails the customer the link
// to confirm it. The agent's fields are named agent.name, agent.email and
// agent.mandate in problems.
func (d *Deps) fileByAgent(ctx context.Context, in dsr.NewRequest, a dsr.Agent) (dsr.Request, error) {
	var agentHash []byte
	if email := strings.TrimSpace(a.Email); email != "" {
		var err error
		if agentHash, err = d.Vault.BlindIndex(ctx, "email", email); err != nil {
			return dsr.Request{}, err
		}
	}
	req, token, err := d.Requests.FileByAgent(ctx, in, a, agentHash)
	if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid && len(e.Fields) > 0 {
		renamed := map[string]string{}
		for field, problem := range e.Fields {
			switch field {
			case "agent_name":
				field = "agent.name"
			case "agent_email", "agent_email_hash":
				field = "agent.email"
			case "mandate":
				field = "agent.mandate"
			}
			renamed[field] = problem
		}
		return dsr.Request{}, errs.Fields(renamed)
	}
	if err != nil {
		return dsr.Request{}, err
	}
	if err := d.SendAgentConfirmation(ctx, req, in.Email, strings.TrimSpace(a.Name), token); err != nil {
		// The request stays unconfirmed and expires; the log names no one.
		d.Log.Warn("api: agent confirmation not sent", "request", req.ID, "err", err)
	}
	return req, nil
}

// HandleVerifyIdentity records that the company's staff verified the
// requester's identity another way than the data points (a call with
// security questions, a visit in store), for a request whose tier is not
// reached: {"channel": "phone", "statement": "...", "declaration": true}.
// It satisfies the tier and is audited with the key and the channel. It
// answers the request's identity.
func (d *Deps) HandleVerifyIdentity() http.Handler {
	type request struct {
		Channel     dsr.VerifyChannel `json:"channel"`
		Statement   string            `json:"statement"`
		Declaration bool              `json:"declaration"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Requests == nil {
			d.fail(w, r, errs.NotFound("request", r.PathValue("id")))
			return
		}
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		idn, err := d.Requests.VerifyIdentityByStaff(r.Context(), r.PathValue("id"), dsr.StaffCheck{Channel: in.Channel,
			Statement: in.Statement, Declaration: in.Declaration})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, viewIdentity(idn))
	})
}
