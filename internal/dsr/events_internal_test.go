package dsr

import (
	"testing"

	"github.com/steward-dev/steward/internal/outbox"
)

// TestWebhookOf: a filing is request.created and a completion
// request.completed, with ids, kind and state only; every other transition
// (a rejection too, as before the mapping moved here) has no webhook.
func TestWebhookOf(t *testing.T) {
	r := Request{ID: "req_1", SubjectID: "sub_1", Kind: KindErasure, State: StateInProgress}
	for _, tc := range []struct {
		name string
		e    Event
		want string
	}{
		{"file", Event{Action: "file", To: StateReceived}, outbox.RequestCreated},
		{"complete", Event{Action: "complete", To: StateCompleted}, outbox.RequestCompleted},
		{"start", Event{Action: "start", To: StateInProgress}, ""},
		{"reject", Event{Action: "reject", To: StateRejected}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := webhookOf(r, tc.e)
			if got := map[bool]string{true: ev.Type}[ok]; got != tc.want {
				t.Fatalf("webhook of %s: %q (ok %v), want %q", tc.name, ev.Type, ok, tc.want)
			}
			if !ok {
				return
			}
			if ev.SubjectID != "sub_1" || ev.Data["request_id"] != "req_1" || ev.Data["kind"] != string(KindErasure) || len(ev.Data) != 3 {
				t.Fatalf("webhook of %s: %+v", tc.name, ev)
			}
		})
	}
}
