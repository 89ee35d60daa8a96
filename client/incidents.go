package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Incident is a breach of personal data security in Steward's register,
// with its clocks (deadlines) as of the answer.
type Incident struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Kind is confidentiality, integrity or availability.
	Kind string `json:"kind,omitempty"`
	// Status is draft, open, assessed, contained, notified or closed.
	Status     string     `json:"status"`
	DetectedAt *time.Time `json:"detected_at,omitempty"`
	// AwareAt is when the company became aware: it starts the clocks.
	AwareAt    *time.Time `json:"aware_at,omitempty"`
	Cause      string     `json:"cause"`
	Systems    []string   `json:"systems"`
	Categories []string   `json:"categories"`
	// Risk is none, risk or high; empty until assessed.
	Risk                  string          `json:"risk,omitempty"`
	RiskReasons           []string        `json:"risk_reasons"`
	DelayReason           string          `json:"delay_reason,omitempty"`
	AuthorityNotifiedAt   *time.Time      `json:"authority_notified_at,omitempty"`
	IndividualsNotifiedAt *time.Time      `json:"individuals_notified_at,omitempty"`
	ReportedBy            string          `json:"reported_by"`
	CreatedAt             time.Time       `json:"created_at"`
	UpdatedAt             time.Time       `json:"updated_at"`
	Clocks                []IncidentClock `json:"clocks"`
}

// IncidentClock is one deadline of an incident: whom to tell, under which
// law, by when, and where it stands (pending, due_soon, overdue, met,
// not_required).
type IncidentClock struct {
	Key          string     `json:"key"`
	Party        string     `json:"party"`
	Citation     string     `json:"citation"`
	Jurisdiction string     `json:"jurisdiction,omitempty"`
	Due          *time.Time `json:"due,omitempty"`
	Met          *time.Time `json:"met,omitempty"`
	State        string     `json:"state"`
	Residents    int        `json:"residents,omitempty"`
	Why          string     `json:"why"`
}

// IncidentInput records or changes an incident: on creation Title and
// Kind are required; on change only the fields set change.
type IncidentInput struct {
	Title       *string    `json:"title,omitempty"`
	Description *string    `json:"description,omitempty"`
	Kind        *string    `json:"kind,omitempty"`
	DetectedAt  *time.Time `json:"detected_at,omitempty"`
	AwareAt     *time.Time `json:"aware_at,omitempty"`
	Cause       *string    `json:"cause,omitempty"`
	Systems     *[]string  `json:"systems,omitempty"`
	Categories  *[]string  `json:"categories,omitempty"`
	DelayReason *string    `json:"delay_reason,omitempty"`
}

// IncidentMove moves an incident to Status (open, assessed, contained,
// closed), with a note on its timeline.
type IncidentMove struct {
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

// IncidentAssessment is the assessed risk (none, risk, high) with its
// reasons.
type IncidentAssessment struct {
	Risk    string   `json:"risk"`
	Reasons []string `json:"reasons"`
}

// IncidentNote is an action to add to an incident's timeline.
type IncidentNote struct {
	Note string `json:"note"`
}

// IncidentAction is one entry of an incident's timeline.
type IncidentAction struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	Note  string    `json:"note,omitempty"`
}

// AffectedSetInput is how to compute the affected customers: Method
// inventory (Categories, Systems), audit (Actor, From, To) or upload
// (ExternalIDs).
type AffectedSetInput struct {
	Method      string     `json:"method"`
	Categories  []string   `json:"categories,omitempty"`
	Systems     []string   `json:"systems,omitempty"`
	Actor       string     `json:"actor,omitempty"`
	From        *time.Time `json:"from,omitempty"`
	To          *time.Time `json:"to,omitempty"`
	ExternalIDs []string   `json:"external_ids,omitempty"`
}

// AffectedSet is one stored computation of the affected customers: counts
// and the hash of the sorted members, never the members.
type AffectedSet struct {
	ID             string         `json:"id"`
	IncidentID     string         `json:"incident_id"`
	Method         string         `json:"method"`
	Parameters     map[string]any `json:"parameters"`
	Members        int            `json:"members"`
	MembersSHA256  string         `json:"members_sha256"`
	ByCategory     map[string]int `json:"by_category"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
	Unresolved     int            `json:"unresolved"`
	Erased         int            `json:"erased"`
	ComputedBy     string         `json:"computed_by"`
	ComputedAt     time.Time      `json:"computed_at"`
}

// ListIncidents lists the register, newest first; status ("" for all)
// narrows it. It needs an admin key.
func (c *Client) ListIncidents(ctx context.Context, status string) ([]Incident, error) {
	var q url.Values
	if status != "" {
		q = url.Values{"status": {status}}
	}
	var out struct {
		Items []Incident `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/incidents", q, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// CreateIncident records an incident. It needs an admin key.
func (c *Client) CreateIncident(ctx context.Context, in IncidentInput) (*Incident, error) {
	return c.incident(ctx, http.MethodPost, "/v1/incidents", in)
}

// GetIncident returns an incident with its clocks.
func (c *Client) GetIncident(ctx context.Context, id string) (*Incident, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incident(ctx, http.MethodGet, path("/v1/incidents/", id), nil)
}

// UpdateIncident changes the fields in sets.
func (c *Client) UpdateIncident(ctx context.Context, id string, in IncidentInput) (*Incident, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incident(ctx, http.MethodPatch, path("/v1/incidents/", id), in)
}

// MoveIncident moves an incident to another status; a move not allowed is
// an *Error of status 409 naming what it lacks.
func (c *Client) MoveIncident(ctx context.Context, id string, in IncidentMove) (*Incident, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incident(ctx, http.MethodPost, path("/v1/incidents/", id, "/status"), in)
}

// AssessIncident records the risk assessment.
func (c *Client) AssessIncident(ctx context.Context, id string, in IncidentAssessment) (*Incident, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incident(ctx, http.MethodPost, path("/v1/incidents/", id, "/assessment"), in)
}

func (c *Client) incident(ctx context.Context, method, urlPath string, in any) (*Incident, error) {
	var out Incident
	if err := c.do(ctx, method, urlPath, nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// IncidentTimeline lists an incident's actions, oldest first.
func (c *Client) IncidentTimeline(ctx context.Context, id string) ([]IncidentAction, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out struct {
		Items []IncidentAction `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, path("/v1/incidents/", id, "/timeline"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// AddIncidentNote adds an action to an incident's timeline.
func (c *Client) AddIncidentNote(ctx context.Context, id string, in IncidentNote) (*IncidentAction, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out IncidentAction
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/timeline"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// AffectedSets lists an incident's affected sets, newest first.
func (c *Client) AffectedSets(ctx context.Context, id string) ([]AffectedSet, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out struct {
		Items []AffectedSet `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, path("/v1/incidents/", id, "/affected"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// ComputeAffectedSet computes and stores who an incident affected.
func (c *Client) ComputeAffectedSet(ctx context.Context, id string, in AffectedSetInput) (*AffectedSet, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out AffectedSet
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/affected"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
