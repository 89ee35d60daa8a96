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
