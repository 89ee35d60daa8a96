package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
)

// TestIngestKeyCannotForgeConsent replays the attack of issue 11 against a
// running server, on both stores. The ingest key, read from banner.js,
// turned a customer's refusal into consent_granted (a subject event with
// source portal) and, dating a grant 290 s ahead, beat the customer's
// withdrawal made after it; a blocked disclosure became allowed. Now the
// first is refused naming the fields, and the second orders nothing: the
// decision and the disclosure check stay refused. The source of a form the
// property declared does not let the key name the customer either.
func TestIngestKeyCannotForgeConsent(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := apptest.Start(t, dialect)
			c := caller{t, srv.URL}
			record, _, err := srv.App.Keys.Create(ctx, apikey.ScopeRecord, "", "crm")
			if err != nil {
				t.Fatal(err)
			}
			disclose, _, err := srv.App.Keys.Create(ctx, apikey.ScopeDisclose, "", "crm")
			if err != nil {
				t.Fatal(err)
			}
			assessVendor(t, srv, "adnet")
			ahead := time.Now().Add(290 * time.Second).UTC().Format(time.RFC3339)
			post := func(key, event string) (int, string) {
				t.Helper()
				code, body, _ := c.do("POST", "/v1/consent/events", key, `{"events":[`+event+`]}`)
				return code, body
			}
			choice := func(id, who, action, source string) string {
				return fmt.Sprintf(`{"id":%q,"property":"demo",%s,"purpose":"marketing","vendor":"adnet","action":%q,"source":%q,"notice_version":"2026-11","at":%q}`,
					id, who, action, source, ahead)
			}
			refused := func(step string) {
				t.Helper()
				code, body, _ := c.do("POST", "/v1/decisions", srv.Keys.Decide, `{"questions":[{"subject":"cust-f","purpose":"marketing","vendor":"adnet","property":"demo"}]}`)
				if code != 200 || !strings.Contains(body, `"allowed":false`) {
					t.Errorf("%s: decision %d %s, want refused", step, code, body)
				}
				code, body, _ = c.do("POST", "/v1/disclosures", disclose, `{"subject":"cust-f","vendor":"adnet","purpose":"marketing","categories":["contact"],"reason":"to show you offers from our partner"}`)
				if code != 200 || !strings.Contains(body, `"state":"blocked"`) {
					t.Errorf("%s: disclosure %d %s, want blocked", step, code, body)
				}
			}
			// The customer refused, through the company's back end.
			if code, body := post(record, choice("refusal", `"subject":"cust-f"`, "deny", "api")); code != 200 {
				t.Fatalf("refusal: %d %s", code, body)
			}
			refused("after the refusal")

			// Attack 1: the public key asserts the customer's own grant.
			code, body := post(srv.Keys.Ingest, choice("forged-1", `"subject":"cust-f"`, "grant", "portal"))
			if code != 400 || !strings.Contains(body, `"field":"events[0].subject"`) || !strings.Contains(body, `"field":"events[0].source"`) {
				t.Fatalf("ingest key asserting a subject's portal grant: %d %s", code, body)
			}
			refused("after the forged subject grant")

			// Attack 1, with the source of a form the property declared:
			// the public key may record a form's choices for devices only.
			if _, err := srv.App.Consent.PutForm(ctx, consent.Form{Property: "demo", ID: "checkout", Name: "Checkout", Purposes: []string{"marketing"}}, true); err != nil {
				t.Fatal(err)
			}
			code, body = post(srv.Keys.Ingest, choice("forged-form", `"subject":"cust-f"`, "grant", "form:checkout"))
			if code != 400 || !strings.Contains(body, `"field":"events[0].subject"`) {
				t.Fatalf("ingest key asserting a subject's grant in a form: %d %s", code, body)
			}
			refused("after the forged subject grant in a form")

			// Attack 2: a grant dated 290 s ahead on the customer's device,
			// then the customer's real withdrawal: the withdrawal is later in
			// the ledger, so it wins, whatever time the grant claimed.
			if code, body, _ := c.do("POST", "/v1/subjects/cust-f/devices", srv.Keys.Admin, `{"device":"dev-f"}`); code != 200 {
				t.Fatalf("link: %d %s", code, body)
			}
			if code, body := post(srv.Keys.Ingest, choice("forged-2", `"device":"dev-f"`, "grant", "banner")); code != 200 {
				t.Fatalf("device grant: %d %s", code, body)
			}
			if code, body := post(record, choice("withdrawal", `"subject":"cust-f"`, "withdraw", "api")); code != 200 {
				t.Fatalf("withdrawal: %d %s", code, body)
			}
			refused("after the withdrawal that followed a grant dated ahead")

			// The ledger holds the server's time, not the claimed one.
			code, body, _ = c.do("GET", "/v1/consent/events/demo/forged-2", srv.Keys.Admin, "")
			var stored struct{ At time.Time }
			if code != 200 || json.Unmarshal([]byte(body), &stored) != nil || stored.At.After(time.Now().Add(time.Minute)) {
				t.Fatalf("stored event %d %s: want the server's receive time", code, body)
			}
		})
	}
}
