package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/connector/webhook"
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

// VerifyWebhook checks a webhook request from Steward against the
// endpoint's secret (whsec_…; during a rotation, try each secret) per
// Standard Webhooks 1.0, refuses it when the signature does not match or
// its timestamp is more than five minutes off, and decodes it:
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
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: read body: %w", err)
	}
	if err := webhook.Verify(secret, r.Header, body, time.Now()); err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: %w", err)
	}
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return WebhookEvent{}, fmt.Errorf("steward webhook: decode: %w", err)
	}
	e.ID = r.Header.Get("webhook-id")
	return e, nil
}
