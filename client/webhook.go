package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/steward-dev/steward/internal/stdwebhooks"
)

// WebhookEvent is a message Steward sends to a webhook endpoint: a type
// and ids, never personal data (fetch that through the API).
type WebhookEvent struct {
	// ID is the webhook-id: retries of one message share it, so a receiver
	// that stores it can drop duplicates.
	ID        string         `json:"-"`
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// WebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, for VerifyWebhook to accept it.
const WebhookTolerance = stdwebhooks.Tolerance

// Why VerifyWebhook refused a request; errors.Is finds them in its error.
// Answer 401 to each: the sender (or someone posing as Steward) is at
// fault. Other errors (a secret that is not whsec_…, a body that is not
// JSON) are the receiver's.
var (
	// ErrWebhookMalformed: the webhook-id, webhook-timestamp or
	// webhook-signature header is missing or malformed.
	ErrWebhookMalformed = stdwebhooks.ErrMalformed
	// ErrWebhookTimestamp: the timestamp is more than WebhookTolerance
	// away from now (a replay, or a clock far off).
	ErrWebhookTimestamp = stdwebhooks.ErrTimestamp
	// ErrWebhookSignature: no signature matches the secret.
	ErrWebhookSignature = stdwebhooks.ErrSignature
)

// maxWebhookBody bounds the body VerifyWebhook reads: Steward's messages
// are thin, ids and types only.
const maxWebhookBody = 1 << 20

// VerifyWebhook checks a webhook request from Steward against the
// endpoint's secret (whsec_…; during a rotation, try each secret) per
// Standard Webhooks 1.0, refuses it when the signature does not match or
// its timestamp is more than WebhookTolerance off, and decodes it:
//
//	http.HandleFunc("/steward", func(w http.ResponseWriter, r *http.Request) {
//		event, err := client.VerifyWebhook(r, secret)
//		if err != nil {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		// event.Type, event.Data["request_id"] ...
//		w.WriteHeader(http.StatusNoContent)
//	})
func VerifyWebhook(r *http.Request, secret string) (WebhookEvent, error) {
	// The headers first: a caller who cannot even claim a signature does
	// not get to send a body.
	if err := stdwebhooks.CheckHeaders(r.Header, time.Now()); err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody))
	if err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: read body: %w", err)
	}
	return VerifyWebhookPayload(r.Header, body, secret, time.Now())
}

// VerifyWebhookPayload is VerifyWebhook for a receiver that has read the
// request itself (another HTTP framework, a queue): header and body are
// the request's, body byte for byte as received, and now is the time to
// check the timestamp against.
func VerifyWebhookPayload(header http.Header, body []byte, secret string, now time.Time) (WebhookEvent, error) {
	if err := stdwebhooks.Verify(secret, header, body, now); err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: %w", err)
	}
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: decode: %w", err)
	}
	e.ID = header.Get(stdwebhooks.HeaderID)
	return e, nil
}

// WebhookEndpoint is a URL Steward sends webhooks to, for the event types
// it subscribed to.
type WebhookEndpoint struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// EventTypes are the types sent ("consent.changed"...); empty for
	// every type.
	EventTypes []string `json:"event_types"`
	Enabled    bool     `json:"enabled"`
	// DisabledReason says why Steward stopped sending (the endpoint
	// answered 410 Gone) or that staff disabled it.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// SecretVersion counts the secret's rotations, from 1.
	SecretVersion int `json:"secret_version"`
	// PreviousSecretUntil is when the secret before the last rotation
	// stops signing next to the current one; nil outside a rotation.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	// Secret is the whsec_ signing secret, only in the answers of
	// CreateWebhookEndpoint and RotateWebhookSecret: the only time the
	// server shows it.
	Secret string `json:"secret,omitempty"`
}

// WebhookEndpointInput creates an endpoint.
type WebhookEndpointInput struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	EventTypes  []string `json:"event_types,omitempty"`
}

// WebhookEndpointUpdate changes the fields of an endpoint that are not nil.
type WebhookEndpointUpdate struct {
	URL         *string   `json:"url,omitempty"`
	Description *string   `json:"description,omitempty"`
	EventTypes  *[]string `json:"event_types,omitempty"`
	// Enabled false stops sending, the pending messages at their next
	// attempt; true takes the endpoint back into service.
	Enabled *bool `json:"enabled,omitempty"`
}

// WebhookMessageState is where a webhook message stands.
type WebhookMessageState string

// The states of a message.
const (
	MessagePending   WebhookMessageState = "pending"
	MessageDelivered WebhookMessageState = "delivered"
	// MessageDead: retries gave up; ReplayWebhookMessage sends it again.
	MessageDead WebhookMessageState = "dead"
)

// WebhookMessage is one message to one endpoint, with its delivery.
type WebhookMessage struct {
	// ID is the message's webhook-id.
	ID         string              `json:"id"`
	EndpointID string              `json:"endpoint_id"`
	EventType  string              `json:"event_type"`
	State      WebhookMessageState `json:"state"`
	CreatedAt  time.Time           `json:"created_at"`
	Attempts   int                 `json:"attempts"`
	// LastStatus is the HTTP status of the last attempt; 0 when none
	// answered.
	LastStatus int    `json:"last_status,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// DeliveredAt is when the endpoint accepted it.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// DeadReason says why retries gave up.
	DeadReason string `json:"dead_reason,omitempty"`
}

// WebhookMessagePage is one page of messages, newest first.
type WebhookMessagePage struct {
	Items []WebhookMessage `json:"items"`
	// Next is the after of the following page; empty on the last.
	Next string `json:"next"`
}

// ListWebhookEndpoints lists the endpoints. It needs an admin key.
func (c *Client) ListWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var out list[WebhookEndpoint]
	err := c.do(ctx, http.MethodGet, "/v1/webhooks/endpoints", nil, nil, &out, nil)
	return out.Items, err
}

// CreateWebhookEndpoint registers an endpoint and returns it with its
// secret, shown this once. It needs an admin key.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, in WebhookEndpointInput) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	if err := c.do(ctx, http.MethodPost, "/v1/webhooks/endpoints", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetWebhookEndpoint returns an endpoint, without its secret. It needs an
// admin key.
func (c *Client) GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	return c.endpoint(ctx, http.MethodGet, id, "", nil)
}

// UpdateWebhookEndpoint changes an endpoint. It needs an admin key.
func (c *Client) UpdateWebhookEndpoint(ctx context.Context, id string, in WebhookEndpointUpdate) (*WebhookEndpoint, error) {
	return c.endpoint(ctx, http.MethodPatch, id, "", in)
}

// RotateWebhookSecret gives an endpoint a new secret, returned this once;
// the previous one keeps signing next to it for a grace period (a day by
// default), so that the receiver can switch. It needs an admin key.
func (c *Client) RotateWebhookSecret(ctx context.Context, id string) (*WebhookEndpoint, error) {
	return c.endpoint(ctx, http.MethodPost, id, "/rotate-secret", nil)
}

func (c *Client) endpoint(ctx context.Context, method, id, suffix string, in any) (*WebhookEndpoint, error) {
	if id == "" {
		return nil, errEmpty("endpoint id")
	}
	var out WebhookEndpoint
	if err := c.do(ctx, method, path("/v1/webhooks/endpoints/", id, suffix), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteWebhookEndpoint deletes an endpoint and its messages. It needs an
// admin key.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if id == "" {
		return errEmpty("endpoint id")
	}
	return c.do(ctx, http.MethodDelete, path("/v1/webhooks/endpoints/", id), nil, nil, nil, nil)
}

// ListWebhookMessages lists an endpoint's messages, newest first; after is
// the Next of the previous page (empty for the first). It needs an admin
// key.
func (c *Client) ListWebhookMessages(ctx context.Context, endpointID, after string) (*WebhookMessagePage, error) {
	if endpointID == "" {
		return nil, errEmpty("endpoint id")
	}
	return c.messages(ctx, path("/v1/webhooks/endpoints/", endpointID, "/messages"), after)
}

// ListDeadLetters lists the messages whose retries gave up, of every
// endpoint. It needs an admin key.
func (c *Client) ListDeadLetters(ctx context.Context, after string) (*WebhookMessagePage, error) {
	return c.messages(ctx, "/v1/webhooks/dead-letters", after)
}

func (c *Client) messages(ctx context.Context, urlPath, after string) (*WebhookMessagePage, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	var out WebhookMessagePage
	if err := c.do(ctx, http.MethodGet, urlPath, q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReplayWebhookMessage sends a message again, as a fresh delivery with the
// same webhook-id. It needs an admin key.
func (c *Client) ReplayWebhookMessage(ctx context.Context, id string) (*WebhookMessage, error) {
	if id == "" {
		return nil, errEmpty("message id")
	}
	var out WebhookMessage
	if err := c.do(ctx, http.MethodPost, path("/v1/webhooks/messages/", id, "/replay"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
