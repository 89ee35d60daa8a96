package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
)

// TestWebhooks: an endpoint made through the API receives the events of
// requests, signed so that the Go client verifies them, with ids only;
// a receiver answering 410 is disabled and its message dead-lettered,
// then replayed with the same webhook-id.
func TestWebhooks(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	app := f.srv.App
	var secret string // set before the first event
	got := make(chan client.WebhookEvent, 10)
	var gone atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := client.VerifyWebhook(r, secret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
			return
		}
		got <- e
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	c := caller{t, f.srv.URL}
	code, body, _ := c.do("POST", "/v1/webhooks/endpoints", f.srv.Keys.Admin, `{"url":"`+receiver.URL+`/steward","event_types":["request.created","request.completed"]}`)
	if code != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", code, body)
	}
	var endpoint struct{ ID, Secret string }
	json.Unmarshal([]byte(body), &endpoint)
	secret = endpoint.Secret
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	if code, body, _ := c.do("POST", "/v1/webhooks/endpoints", f.srv.Keys.Admin, `{"url":"http://169.254.169.254/latest"}`); code != http.StatusBadRequest {
		t.Fatalf("a metadata address: %d %s", code, body)
	}

	hash, _ := app.Vault.BlindIndex(ctx, "email", "ada.portal@example.org")
	req, err := app.Requests.File(ctx, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.GDPR, SubjectID: "cust-1", Email: "ada.portal@example.org", EmailHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Type != "request.created" || e.Data["request_id"] != req.ID || e.ID == "" {
			t.Fatalf("event %+v", e)
		}
		raw, _ := json.Marshal(e.Data)
		if strings.Contains(string(raw), "ada.portal") {
			t.Fatal("the event holds personal data")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no request.created arrived")
	}

	// A 410 disables the endpoint and dead-letters the message; a replay
	// keeps the webhook-id.
	gone.Store(true)
	for _, step := range []func(context.Context, string) (dsr.Request, error){app.Requests.Verify, app.Requests.Start} {
		if _, err := step(ctx, req.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.Requests.Complete(ctx, req.ID, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var dead struct {
		Items []struct{ ID, State string } `json:"items"`
	}
	for {
		_, body, _ := c.do("GET", "/v1/webhooks/dead-letters", f.srv.Keys.Admin, "")
		json.Unmarshal([]byte(body), &dead)
		if len(dead.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, body, _ = c.do("GET", "/v1/webhooks/endpoints/"+endpoint.ID, f.srv.Keys.Admin, "")
	if !strings.Contains(body, `"enabled":false`) || !strings.Contains(body, `"disabled_reason":"gone"`) {
		t.Fatalf("endpoint after 410: %s", body)
	}
	gone.Store(false)
	enabled := true
	payload, _ := json.Marshal(map[string]any{"enabled": enabled})
	if code, body, _ := c.do("PATCH", "/v1/webhooks/endpoints/"+endpoint.ID, f.srv.Keys.Admin, string(payload)); code != 200 {
		t.Fatalf("enable: %d %s", code, body)
	}
	if code, body, _ := c.do("POST", "/v1/webhooks/messages/"+dead.Items[0].ID+"/replay", f.srv.Keys.Admin, ""); code != http.StatusAccepted {
		t.Fatalf("replay: %d %s", code, body)
	}
	select {
	case e := <-got:
		if e.ID != dead.Items[0].ID {
			t.Fatalf("replayed with webhook-id %q, want %q", e.ID, dead.Items[0].ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the replay did not arrive")
	}
}

// TestConsentChangedWebhook: a consent recorded after the endpoint exists
// is announced once, with ids only.
func TestConsentChangedWebhook(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	var secret atomic.Value
	got := make(chan client.WebhookEvent, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := client.VerifyWebhook(r, secret.Load().(string))
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got <- e
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	c := caller{t, f.srv.URL}
	code, body, _ := c.do("POST", "/v1/webhooks/endpoints", f.srv.Keys.Admin, `{"url":"`+receiver.URL+`","event_types":["consent.changed"]}`)
	if code != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", code, body)
	}
	var endpoint struct{ Secret string }
	json.Unmarshal([]byte(body), &endpoint)
	secret.Store(endpoint.Secret)
	if code, body, _ := c.do("POST", "/v1/consent/events", f.srv.Keys.Admin, `{"events":[{"id":"wh-1","property":"demo","subject":"cust-1","purpose":"marketing","action":"grant","source":"api","notice_version":"2026-11"}]}`); code != 200 {
		t.Fatalf("append: %d %s", code, body)
	}
	// Entries the feed had not reached when the endpoint was made come
	// first; wh-1 comes once.
	deadline := time.After(20 * time.Second)
	for seen := false; !seen; {
		select {
		case e := <-got:
			if e.Type != "consent.changed" {
				t.Fatalf("event %+v", e)
			}
			if e.Data["event_id"] == "wh-1" {
				if e.Data["subject_id"] != "cust-1" || e.Data["action"] != "grant" {
					t.Fatalf("event %+v", e)
				}
				seen = true
			}
		case <-deadline:
			t.Fatal("no consent.changed for wh-1 arrived")
		}
	}
	// Deliveries run side by side, in no set order: wh-1 must not come again.
	for quiet := time.After(3 * time.Second); ; {
		select {
		case e := <-got:
			if e.Data["event_id"] == "wh-1" {
				t.Fatalf("wh-1 announced twice: %+v", e)
			}
			continue
		case <-quiet:
		}
		break
	}
}
