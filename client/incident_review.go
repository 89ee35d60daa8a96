package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// IncidentReview is the post-incident review of an incident: what failed,
// which controls, and the follow-up actions. A confirmed incident is not
// closed without one, nor while one of its actions is open.
type IncidentReview struct {
	IncidentID string `json:"incident_id"`
	WhatFailed string `json:"what_failed"`
	Controls   string `json:"controls"`
	// Areas are the control areas concerned (the ReviewArea… values),
	// sorted.
	Areas     []string  `json:"areas"`
	WrittenBy string    `json:"written_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Actions are the follow-up actions, oldest first.
	Actions []IncidentReviewAction `json:"actions"`
}

// Input returns the writable fields of r, for a read-modify-write change:
// WriteIncidentReview replaces the whole review.
func (r *IncidentReview) Input() IncidentReviewInput {
	return IncidentReviewInput{WhatFailed: r.WhatFailed, Controls: r.Controls, Areas: r.Areas}
}

// The control areas a review can name.
const (
	ReviewAreaAccessControl = "access_control"
	ReviewAreaLogging       = "logging"
	ReviewAreaEncryption    = "encryption"
	ReviewAreaVendor        = "vendor"
	ReviewAreaTraining      = "training"
	ReviewAreaPatching      = "patching"
	ReviewAreaBackup        = "backup"
	ReviewAreaConfiguration = "configuration"
	ReviewAreaPhysical      = "physical"
)

// IncidentReviewInput writes a review. The review is replaced as a whole:
// a field left empty is cleared. Texts are about the breach, never about a
// person (an email address is refused).
type IncidentReviewInput struct {
	// WhatFailed is required.
	WhatFailed string `json:"what_failed"`
	Controls   string `json:"controls,omitempty"`
	// Areas are ReviewArea… values.
	Areas []string `json:"areas,omitempty"`
}

// The states of a review's follow-up action.
const (
	ReviewActionOpen = "open"
	ReviewActionDone = "done"
)

// IncidentReviewAction is a follow-up action of a review.
type IncidentReviewAction struct {
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	Title      string `json:"title"`
	// Owner is the staff account id of who carries it out.
	Owner string `json:"owner"`
	// Due is the UTC midnight of the due day; the action is overdue from
	// the day after, when its owner is emailed once.
	Due time.Time `json:"due"`
	// State is ReviewActionOpen or ReviewActionDone.
	State     string     `json:"state"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	DoneBy    string     `json:"done_by,omitempty"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
}

// IncidentReviewActionInput adds a follow-up action; every field is
// required.
type IncidentReviewActionInput struct {
	Title string `json:"title"`
	// Owner is an enabled staff account's id.
	Owner string `json:"owner"`
	// Due is the due day, YYYY-MM-DD (time.DateOnly), today or later.
	Due string `json:"due"`
}

// IncidentAccountText is a public account in one language. Title, Happened
// and Done are required for English, and for any other language written;
// Outcome is what the review concluded and changed.
type IncidentAccountText struct {
	Title    string `json:"title"`
	Happened string `json:"happened"`
	Done     string `json:"done"`
	Outcome  string `json:"outcome,omitempty"`
}

// IncidentAccountInput is the public account to publish, by language (en,
// de, fr, es). English is required; a language left out is shown in
// English with a note. No personal data: an email address is refused.
type IncidentAccountInput struct {
	Texts map[string]IncidentAccountText `json:"texts"`
}

// IncidentAccount is one version of an incident's public account: its
// texts and the counts of the affected set it was published from, frozen.
type IncidentAccount struct {
	IncidentID string                         `json:"incident_id"`
	Version    int                            `json:"version"`
	Texts      map[string]IncidentAccountText `json:"texts"`
	// SetID is the affected set the counts were copied from.
	SetID          string         `json:"set_id"`
	Affected       int            `json:"affected"`
	ByCategory     map[string]int `json:"by_category"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
	PublishedBy    string         `json:"published_by"`
	PublishedAt    time.Time      `json:"published_at"`
	WithdrawnBy    string         `json:"withdrawn_by,omitempty"`
	WithdrawnAt    *time.Time     `json:"withdrawn_at,omitempty"`
	// FirstPublishedAt is when the incident's first version was published.
	FirstPublishedAt time.Time `json:"first_published_at"`
}

// PublishedIncident is an incident's latest published account in the
// public transparency feed: its texts and counts, nothing else of the
// incident.
type PublishedIncident struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	// URL is the path of the account's HTML page on the Steward server,
	// such as "/transparency/incidents/inc_…".
	URL              string    `json:"url"`
	PublishedAt      time.Time `json:"published_at"`
	FirstPublishedAt time.Time `json:"first_published_at"`
	// Texts are the languages written; English always.
	Texts    map[string]IncidentAccountText `json:"texts"`
	Affected PublishedCounts                `json:"affected"`
}

// PublishedCounts are the counts of the affected set a public account was
// published from.
type PublishedCounts struct {
	Total          int            `json:"total"`
	ByCategory     map[string]int `json:"by_category"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
}

// GetIncidentReview returns an incident's review with its follow-up
// actions; an *Error of status 404 until one is written. It needs an admin
// key.
func (c *Client) GetIncidentReview(ctx context.Context, id string) (*IncidentReview, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incidentReview(ctx, http.MethodGet, id, nil)
}

// WriteIncidentReview writes an incident's review, or replaces it; a
// suspected (draft) or closed incident is an *Error of status 409. It
// needs an admin key.
func (c *Client) WriteIncidentReview(ctx context.Context, id string, in IncidentReviewInput) (*IncidentReview, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incidentReview(ctx, http.MethodPut, id, in)
}

func (c *Client) incidentReview(ctx context.Context, method, id string, in any) (*IncidentReview, error) {
	var out IncidentReview
	if err := c.do(ctx, method, path("/v1/incidents/", id, "/review"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddIncidentReviewAction adds a follow-up action to an incident's review,
// which is written first (an *Error of status 409 otherwise). It needs an
// admin key.
func (c *Client) AddIncidentReviewAction(ctx context.Context, id string, in IncidentReviewActionInput) (*IncidentReviewAction, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out IncidentReviewAction
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/review/actions"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompleteIncidentReviewAction marks a follow-up action done, by the key;
// an action done already is an *Error of status 409. It needs an admin
// key.
func (c *Client) CompleteIncidentReviewAction(ctx context.Context, id, actionID string) (*IncidentReviewAction, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	if actionID == "" {
		return nil, errEmpty("action id")
	}
	var out IncidentReviewAction
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/review/actions/", actionID, "/done"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// IncidentAccounts lists every version of an incident's public account,
// newest first. It needs an admin key.
func (c *Client) IncidentAccounts(ctx context.Context, id string) ([]IncidentAccount, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out list[IncidentAccount]
	if err := c.do(ctx, http.MethodGet, path("/v1/incidents/", id, "/account"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// PreviewIncidentAccount returns the account PublishIncidentAccount would
// publish now, publishing nothing. It needs an admin key.
func (c *Client) PreviewIncidentAccount(ctx context.Context, id string, in IncidentAccountInput) (*IncidentAccount, error) {
	return c.incidentAccount(ctx, id, "", url.Values{"preview": {"true"}}, in)
}

// PublishIncidentAccount publishes a new version of an incident's public
// account on the transparency pages, with the counts of its latest
// affected set. Before a set is computed, or for a suspected (draft)
// incident, it is an *Error of status 409. It needs an admin key.
func (c *Client) PublishIncidentAccount(ctx context.Context, id string, in IncidentAccountInput) (*IncidentAccount, error) {
	return c.incidentAccount(ctx, id, "", nil, in)
}

// WithdrawIncidentAccount takes an incident's public account off the
// transparency pages (its versions are kept); with none published it is
// an *Error of status 409. It needs an admin key.
func (c *Client) WithdrawIncidentAccount(ctx context.Context, id string) (*IncidentAccount, error) {
	return c.incidentAccount(ctx, id, "/withdraw", nil, nil)
}

func (c *Client) incidentAccount(ctx context.Context, id, suffix string, query url.Values, in any) (*IncidentAccount, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out IncidentAccount
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/account"+suffix), query, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// PublishedIncidents returns the public transparency feed: each incident's
// latest published account not withdrawn, the latest first. The feed is
// public (it needs no key; a Client made with an empty key reads it), for
// a company that mirrors it on its own site; the server lets it be cached
// for five minutes.
func (c *Client) PublishedIncidents(ctx context.Context) ([]PublishedIncident, error) {
	var out struct {
		Incidents []PublishedIncident `json:"incidents"`
	}
	if err := c.do(ctx, http.MethodGet, "/transparency/incidents.json", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Incidents, nil
}
