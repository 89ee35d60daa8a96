package client

import (
	"context"
	"net/http"
	"time"
)

// Scope is what an API key may do. Admin may do what every other scope
// may, except reveal.
type Scope string

// The scopes.
const (
	// ScopeIngest records consent events for one property; it is public,
	// embedded in the property's web pages.
	ScopeIngest Scope = "ingest"
	// ScopeRecord records consent events of subjects and devices with
	// source api, from the company's back ends; it is never public.
	ScopeRecord Scope = "record"
	// ScopeDecide asks decisions.
	ScopeDecide Scope = "decide"
	// ScopeAdmin manages the catalog, the keys and reads the ledger.
	ScopeAdmin Scope = "admin"
	// ScopeReveal reads plaintext from the vault (RevealField, Detokenize),
	// each read audited first and rate-limited. An admin key cannot make
	// one: an operator does, with the master key or in the console after a
	// fresh sign-in.
	ScopeReveal Scope = "reveal"
	// ScopeDisclose asks to share subjects' data with vendors
	// (AskDisclosure, GetDisclosure).
	ScopeDisclose Scope = "disclose"
)

// APIKey is a stored API key, without its secret.
type APIKey struct {
	ID    string `json:"id"`
	Scope Scope  `json:"scope"`
	// Property is the property of an ingest key.
	Property  string    `json:"property,omitempty"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is nil for a key in use.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyInput makes an API key. An ingest key names its property; other
// scopes name none.
type APIKeyInput struct {
	Scope    Scope  `json:"scope"`
	Property string `json:"property,omitempty"`
	Label    string `json:"label,omitempty"`
}

// NewAPIKey is a key just made, with its secret: the only time the server
// shows it.
type NewAPIKey struct {
	APIKey
	Secret string `json:"secret"`
}

// CreateAPIKey makes an API key. It needs an admin key.
func (c *Client) CreateAPIKey(ctx context.Context, in APIKeyInput) (*NewAPIKey, error) {
	var out NewAPIKey
	if err := c.do(ctx, http.MethodPost, "/v1/api-keys", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAPIKeys lists every key, revoked ones included, newest first. It needs
// an admin key.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out list[APIKey]
	err := c.do(ctx, http.MethodGet, "/v1/api-keys", nil, nil, &out, nil)
	return out.Items, err
}

// RevokeAPIKey revokes a key by id. Other server replicas may accept it
// for up to 30 seconds more. It needs an admin key.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	if id == "" {
		return errEmpty("key id")
	}
	return c.do(ctx, http.MethodDelete, path("/v1/api-keys/", id), nil, nil, nil, nil)
}
