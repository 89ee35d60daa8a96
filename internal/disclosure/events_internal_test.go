package disclosure

import (
	"testing"

	"github.com/steward-dev/steward/internal/outbox"
)

// TestWebhookOf: a pending disclosure is disclosure.requested, every
// other state disclosure.decided; the reason never leaves in a webhook.
func TestWebhookOf(t *testing.T) {
	for _, tc := range []struct {
		state State
		want  string
	}{
		{Pending, outbox.DisclosureRequested},
		{Allowed, outbox.DisclosureDecided},
		{Blocked, outbox.DisclosureDecided},
		{Approved, outbox.DisclosureDecided},
		{Declined, outbox.DisclosureDecided},
		{Expired, outbox.DisclosureDecided},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			d := Disclosure{ID: "dis_1", Subject: "sub_1", Vendor: "acme", Purpose: "analytics", State: tc.state, Reason: "a secret reason"}
			ev := webhookOf(d)
			if ev.Type != tc.want || ev.SubjectID != "sub_1" || ev.Data["state"] != string(tc.state) || ev.Data["disclosure_id"] != "dis_1" {
				t.Fatalf("webhook: %+v, want type %s", ev, tc.want)
			}
			for k, v := range ev.Data {
				if v == d.Reason {
					t.Fatalf("the reason leaves in %q", k)
				}
			}
		})
	}
}
