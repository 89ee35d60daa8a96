package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
)

// The SDK's types must keep step with the server's: a field the server
// sends that the client's type lacks is data an integrator cannot read,
// and a read-modify-write through such a type silently resets it. These
// tests drive every operation of the API through the client against a
// real server, compare each answer's JSON keys with the client's types,
// and compare the OpenAPI document's schemas with them too (which sees the
// fields a live answer leaves out when empty).

// tap passes requests to the network and keeps each answer's body, for
// the test to read what the client decoded from.
type tap struct {
	mu   sync.Mutex
	last []byte
	seen map[string]bool // "METHOD /path" of each answered request
}

func (tp *tap) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.last = body
	if resp.StatusCode < 300 {
		tp.seen[req.Method+" "+req.URL.EscapedPath()] = true
	}
	return resp, nil
}

func (tp *tap) body() []byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.last
}

// items, results... are the envelopes the client unwraps.
type (
	items[T any] struct {
		Items []T `json:"items"`
	}
	results struct {
		Results []client.EventResult `json:"results"`
	}
	answers struct {
		Answers []client.Answer `json:"answers"`
	}
	token struct {
		Token string `json:"token"`
	}
	published struct {
		Incidents []client.PublishedIncident `json:"incidents"`
	}
)

// jsonFields returns the JSON names of a struct type's fields and their
// types, with the fields of embedded structs promoted as encoding/json
// does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				maps.Copy(out, jsonFields(ft))
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// unknownKeys lists the paths of the keys in value (decoded JSON) that the
// type t has no field for, recursively.
func unknownKeys(at string, value any, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := value.(type) {
	case map[string]any:
		switch {
		case t.Kind() == reflect.Map:
			var out []string
			for k, item := range v {
				out = append(out, unknownKeys(at+"."+k, item, t.Elem())...)
			}
			return out
		case t.Kind() == reflect.Struct && t != timeType:
			fields := jsonFields(t)
			var out []string
			for k, item := range v {
				ft, ok := fields[k]
				if !ok {
					out = append(out, at+"."+k)
					continue
				}
				out = append(out, unknownKeys(at+"."+k, item, ft)...)
			}
			return out
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			var out []string
			for _, item := range v {
				for _, key := range unknownKeys(at+"[]", item, t.Elem()) {
					if !slices.Contains(out, key) { // once per list, not per item
						out = append(out, key)
					}
				}
			}
			return out
		}
	}
	return nil // a scalar, or a free-form value (map[string]any, any)
}

// checker drives one server through one client.
type checker struct {
	t   *testing.T
	tap *tap
}

// check fails the test when err is set, or when the last answer holds a
// key that wire, the type the client decodes it into, lacks.
func (c *checker) check(what string, wire reflect.Type, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	var value any
	if err := json.Unmarshal(c.tap.body(), &value); err != nil {
		c.t.Fatalf("%s: the answer is not JSON: %v", what, err)
	}
	for _, key := range unknownKeys("", value, wire) {
		c.t.Errorf("%s: the server sends %s, which the client's types lack (answer read as %v)", what, key, wire)
	}
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

func TestRoundTripEveryResource(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			roundTrip(t, dialect)
		})
	}
}

func roundTrip(t *testing.T, dialect db.Dialect) {
	ctx := context.Background()
	mail := mailtest.Start(t, mailtest.Options{})
	srv := apptest.StartWith(t, dialect, apptest.Options{SMTP: mail.Addr()})
	tp := &tap{seen: map[string]bool{}}
	hc := &http.Client{Transport: tp, Timeout: 30 * time.Second}
	c := client.New(srv.URL, srv.Keys.Admin, client.WithHTTPClient(hc))
	ck := &checker{t: t, tap: tp}

	ready, err := c.Ready(ctx)
	ck.check("Ready", typeOf[client.Readiness](), err)
	if ready.Status == "" {
		t.Errorf("Ready = %+v", ready)
	}
	if _, err := c.JWKS(ctx); err != nil {
		t.Fatalf("JWKS: %v", err)
	}

	// The catalog, with a read-modify-write of each kind that must keep
	// what the input does not spell out.
	prop, err := c.CreateProperty(ctx, client.PropertyInput{Key: "rt-shop", Name: "Round trip", Domains: []string{"shop.example"},
		Banner: &client.BannerSettings{Languages: []string{"de", "en"}, HonourDNT: true, CookieName: "rt_consent",
			Theme: client.BannerTheme{Accent: "#0b57d0", Position: "center"},
			GPP:   client.GPPSettings{Enabled: true, CmpID: 300, Sections: []string{"usnat", "usca"}, MspaCoveredTransaction: true, MspaMode: "service_provider"}}})
	ck.check("CreateProperty", typeOf[client.Property](), err)
	prop.Name = "Round trip, renamed"
	updated, err := c.UpdateProperty(ctx, prop.Input())
	ck.check("UpdateProperty", typeOf[client.Property](), err)
	if !reflect.DeepEqual(updated.Banner, prop.Banner) || !updated.Banner.HonourDNT || updated.Banner.CookieName != "rt_consent" ||
		!updated.Banner.GPP.Enabled || updated.Banner.GPP.MspaMode != "service_provider" || len(updated.Banner.GPP.Sections) != 2 {
		t.Errorf("UpdateProperty(p.Input()) changed the banner: %+v, was %+v", updated.Banner, prop.Banner)
	}
	_, err = c.GetProperty(ctx, "rt-shop")
	ck.check("GetProperty", typeOf[client.Property](), err)
	_, err = c.ListProperties(ctx)
	ck.check("ListProperties", typeOf[items[client.Property]](), err)

	purpose, err := c.CreatePurpose(ctx, client.PurposeInput{Key: "rt-ads", Name: map[string]string{"en": "Ads"},
		LegalBasis: client.BasisConsent, Cookies: []string{"_rt", "_rt_*"}})
	ck.check("CreatePurpose", typeOf[client.Purpose](), err)
	purpose.Position = 7
	updatedPurpose, err := c.UpdatePurpose(ctx, purpose.Input())
	ck.check("UpdatePurpose", typeOf[client.Purpose](), err)
	if !slices.Equal(updatedPurpose.Cookies, []string{"_rt", "_rt_*"}) || updatedPurpose.Position != 7 {
		t.Errorf("UpdatePurpose(p.Input()) = %+v, want the cookies kept", updatedPurpose)
	}
	_, err = c.GetPurpose(ctx, "rt-ads")
	ck.check("GetPurpose", typeOf[client.Purpose](), err)
	_, err = c.ListPurposes(ctx)
	ck.check("ListPurposes", typeOf[items[client.Purpose]](), err)
	yes := true
	draft, err := c.SavePurposeAssessment(ctx, "rt-ads", client.AssessmentAnswers{CustomerKnows: "The banner says so.", Typical: &yes})
	ck.check("SavePurposeAssessment", typeOf[client.PurposeAssessment](), err)
	if draft.Status != "missing" || draft.Answers.Typical == nil || !*draft.Answers.Typical || draft.SavedBy == "" {
		t.Errorf("SavePurposeAssessment = %+v", draft)
	}
	_, err = c.GetPurposeAssessment(ctx, "rt-ads")
	ck.check("GetPurposeAssessment", typeOf[client.PurposeAssessment](), err)
	approved, err := c.GetPurposeAssessment(ctx, "analytics") // the demo's come approved
	ck.check("GetPurposeAssessment", typeOf[client.PurposeAssessment](), err)
	if approved.Status != "approved" || approved.Approval == nil || approved.Approval.ValidUntil.IsZero() {
		t.Errorf("GetPurposeAssessment(analytics) = %+v", approved)
	}

	form, err := c.CreateForm(ctx, "rt-shop", client.FormInput{ID: "rt-checkout", Name: "Checkout", Purposes: []string{"rt-ads"}})
	ck.check("CreateForm", typeOf[client.Form](), err)
	form.Name = "Checkout page"
	updatedForm, err := c.UpdateForm(ctx, "rt-shop", form.Input())
	ck.check("UpdateForm", typeOf[client.Form](), err)
	if updatedForm.Name != "Checkout page" || !slices.Equal(updatedForm.Purposes, []string{"rt-ads"}) {
		t.Errorf("UpdateForm(f.Input()) = %+v", updatedForm)
	}
	_, err = c.GetForm(ctx, "rt-shop", "rt-checkout")
	ck.check("GetForm", typeOf[client.Form](), err)
	_, err = c.ListForms(ctx, "rt-shop")
	ck.check("ListForms", typeOf[items[client.Form]](), err)

	vendor, err := c.CreateVendor(ctx, client.VendorInput{Key: "rt-vendor", Name: "RT Vendor", Purposes: []string{"rt-ads"}, DataCategories: []string{"contact"}, Country: "DE"})
	ck.check("CreateVendor", typeOf[client.Vendor](), err)
	_, err = c.UpdateVendor(ctx, vendor.Input())
	ck.check("UpdateVendor", typeOf[client.Vendor](), err)
	_, err = c.GetVendor(ctx, "rt-vendor")
	ck.check("GetVendor", typeOf[client.Vendor](), err)
	_, err = c.ListVendors(ctx)
	ck.check("ListVendors", typeOf[items[client.Vendor]](), err)

	category, err := c.CreateCategory(ctx, client.CategoryInput{Key: "rt-loyalty", Name: map[string]string{"en": "Loyalty points", "de": "Treuepunkte"},
		Description: map[string]string{"en": "Points earned"}, InHouse: true, RetentionDays: 365, Position: 5})
	ck.check("CreateCategory", typeOf[client.Category](), err)
	category.Special = true
	updatedCategory, err := c.UpdateCategory(ctx, category.Input())
	ck.check("UpdateCategory", typeOf[client.Category](), err)
	if !updatedCategory.Special || !updatedCategory.InHouse || updatedCategory.RetentionDays != 365 || updatedCategory.Name["de"] != "Treuepunkte" {
		t.Errorf("UpdateCategory(c.Input()) = %+v, want the fields kept", updatedCategory)
	}
	_, err = c.GetCategory(ctx, "rt-loyalty")
	ck.check("GetCategory", typeOf[client.Category](), err)
	_, err = c.ListCategories(ctx)
	ck.check("ListCategories", typeOf[items[client.Category]](), err)

	_, err = c.CreateNotice(ctx, client.NoticeInput{Version: "rt-1", Text: map[string]string{"en": "Draft"}})
	ck.check("CreateNotice", typeOf[client.Notice](), err)
	_, err = c.UpdateNotice(ctx, client.NoticeInput{Version: "rt-1", Text: map[string]string{"en": "Final"}})
	ck.check("UpdateNotice", typeOf[client.Notice](), err)
	_, err = c.PublishNotice(ctx, "rt-1")
	ck.check("PublishNotice", typeOf[client.Notice](), err)
	_, err = c.GetNotice(ctx, "rt-1")
	ck.check("GetNotice", typeOf[client.Notice](), err)
	_, err = c.ListNotices(ctx)
	ck.check("ListNotices", typeOf[items[client.Notice]](), err)

	key, err := c.CreateAPIKey(ctx, client.APIKeyInput{Scope: client.ScopeDecide, Label: "round trip"})
	ck.check("CreateAPIKey", typeOf[client.NewAPIKey](), err)
	if err := c.RevokeAPIKey(ctx, key.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	_, err = c.ListAPIKeys(ctx)
	ck.check("ListAPIKeys", typeOf[items[client.APIKey]](), err)

	// The ledger and decisions.
	_, err = c.AppendEvents(ctx, []client.EventInput{
		{ID: "rt-1", Property: "demo", Subject: "rt-cust", Purpose: "marketing", Vendor: "adnet", Action: client.ActionGrant,
			Source: client.SourceAPI, NoticeVersion: "rt-1", Jurisdiction: "DE"},
		{ID: "rt-2", Property: "demo", Device: "rt-device", Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceAPI},
	})
	ck.check("AppendEvents", typeOf[results](), err)
	_, err = c.ListEvents(ctx, client.EventFilter{})
	ck.check("ListEvents", typeOf[client.EventPage](), err)
	_, err = c.GetEvent(ctx, "demo", "rt-1")
	ck.check("GetEvent", typeOf[client.Event](), err)
	_, err = c.Decide(ctx, []client.Question{{Subject: "rt-cust", Purpose: "marketing", Vendor: "adnet", Property: "demo"}})
	ck.check("Decide", typeOf[answers](), err)
	_, err = c.LinkDevice(ctx, "rt-cust", "rt-device")
	ck.check("LinkDevice", typeOf[client.Link](), err)
	_, err = c.PreferenceLinks(ctx, "rt-cust", client.PreferenceLinksInput{Property: "demo", Topics: []string{"newsletter"}, Language: "de"})
	ck.check("PreferenceLinks", typeOf[client.PreferenceLinks](), err)
	_, err = c.Decide(ctx, []client.Question{{Subject: "rt-cust", Purpose: "newsletter", Channel: client.TopicEmail}})
	ck.check("Decide (a topic's channel)", typeOf[answers](), err)
	_, err = c.DecisionRules(ctx)
	ck.check("DecisionRules", typeOf[client.DecisionRules](), err)
	page, err := c.DecisionEntries(ctx, 0, 0, 0)
	ck.check("DecisionEntries", typeOf[client.StreamPage](), err)
	if len(page.Entries) == 0 || page.Next != page.Head {
		t.Errorf("DecisionEntries = %+v, want the ledger up to its head", page)
	}

	// The vault, with a reveal key (which no admin key can make).
	revealSecret, _, err := srv.App.Keys.Create(ctx, apikey.ScopeReveal, "", "round trip")
	if err != nil {
		t.Fatal(err)
	}
	reveal := client.New(srv.URL, revealSecret, client.WithHTTPClient(hc))
	why := client.StatedPurpose{Purpose: "the customer asked for a refund", Ticket: "RT-1"}
	_, err = c.PutField(ctx, "rt-cust", "email", client.FieldInput{Category: "contact", Value: "rt.customer@example.org"})
	ck.check("PutField", typeOf[client.Field](), err)
	_, err = c.PutField(ctx, "rt-cust", "iban", client.FieldInput{Category: "financial", Value: "DE89370400440532013000",
		ExpiresAt: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)})
	ck.check("PutField", typeOf[client.Field](), err)
	field, err := c.GetField(ctx, "rt-cust", "iban")
	ck.check("GetField", typeOf[client.Field](), err)
	if field.ExpiresAt.IsZero() || !strings.HasSuffix(field.Masked, "3000") || strings.Contains(field.Masked, "DE89") {
		t.Errorf("GetField = %+v", field)
	}
	_, err = c.ListFields(ctx, "rt-cust")
	ck.check("ListFields", typeOf[items[client.Field]](), err)
	revealed, err := reveal.RevealField(ctx, "rt-cust", "iban", why)
	ck.check("RevealField", typeOf[client.Revealed](), err)
	if revealed.Value != "DE89370400440532013000" || revealed.AuditSeq == 0 {
		t.Errorf("RevealField = %+v", revealed)
	}
	tok, err := c.TokenizeField(ctx, "rt-cust", "iban")
	ck.check("TokenizeField", typeOf[token](), err)
	_, err = reveal.Detokenize(ctx, tok, why)
	ck.check("Detokenize", typeOf[client.Revealed](), err)
	accesses, err := c.ListAccesses(ctx, "rt-cust", 0)
	ck.check("ListAccesses", typeOf[client.AccessPage](), err)
	if len(accesses.Items) == 0 || accesses.Items[0].Details == nil {
		t.Errorf("ListAccesses = %+v", accesses)
	}
	if err := c.DeleteField(ctx, "rt-cust", "iban"); err != nil {
		t.Fatalf("DeleteField: %v", err)
	}
	_, err = c.PutField(ctx, "rt-gone", "phone", client.FieldInput{Category: "contact", Value: "+49 30 1234567"})
	ck.check("PutField", typeOf[client.Field](), err)
	_, err = c.EraseSubject(ctx, "rt-gone")
	ck.check("EraseSubject", typeOf[client.Erasure](), err)

	// Restrictions.
	_, err = c.PlaceRestriction(ctx, "rt-cust", client.RestrictionInput{Purpose: "analytics"})
	ck.check("PlaceRestriction", typeOf[client.Restrictions](), err)
	_, err = c.ListRestrictions(ctx, "rt-cust")
	ck.check("ListRestrictions", typeOf[client.Restrictions](), err)
	_, err = c.LiftRestriction(ctx, "rt-cust", "analytics")
	ck.check("LiftRestriction", typeOf[client.Restrictions](), err)

	// Legal holds.
	_, err = c.PlaceLegalHold(ctx, "rt-cust", client.LegalHoldInput{Reason: "Claim 2026-17"})
	ck.check("PlaceLegalHold", typeOf[client.LegalHold](), err)
	_, err = c.LiftLegalHold(ctx, "rt-cust")
	ck.check("LiftLegalHold", typeOf[client.LegalHold](), err)
	_, err = c.ListLegalHolds(ctx, "rt-cust")
	ck.check("ListLegalHolds", typeOf[client.LegalHolds](), err)

	// Webhooks: a receiver that verifies with the SDK and answers 410 Gone,
	// so that the endpoint is disabled and its message dead-lettered.
	var secret atomic.Value
	secret.Store("")
	var verified atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.VerifyWebhook(r, secret.Load().(string)); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		verified.Add(1)
		w.WriteHeader(http.StatusGone)
	}))
	t.Cleanup(receiver.Close)
	endpoint, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: receiver.URL + "/steward",
		Description: "round trip", EventTypes: []string{"request.created"}})
	ck.check("CreateWebhookEndpoint", typeOf[client.WebhookEndpoint](), err)
	secret.Store(endpoint.Secret)

	// Requests: filing one sends request.created.
	filed, err := c.FileRequest(ctx, client.RequestInput{Kind: client.KindAccess, Channel: client.ChannelPhone,
		Email: "rt.caller@example.org", Language: "de"})
	ck.check("FileRequest", typeOf[client.Request](), err)
	_, err = c.ListRequests(ctx, client.RequestFilter{States: []client.RequestState{client.StateReceived}, Kinds: []client.RequestKind{client.KindAccess}})
	ck.check("ListRequests", typeOf[client.RequestPage](), err)
	detail, err := c.GetRequest(ctx, filed.ID)
	ck.check("GetRequest", typeOf[client.RequestDetail](), err)
	if len(detail.History) == 0 || detail.History[0].Actor.Kind == "" || detail.Request.Deadline().IsZero() {
		t.Errorf("GetRequest = %+v", detail)
	}
	// An agent's CCPA request for the categories needs two data points;
	// the company's staff verified the customer by phone instead.
	agents, err := c.FileRequest(ctx, client.RequestInput{Kind: client.KindAccess, Regime: client.RegimeCCPA, Scope: client.ScopeCategories,
		Channel: client.ChannelEmail, Email: "rt.customer@example.org", Agent: &client.AgentInput{Name: "RT Agency",
			Email: "rt.agent@example.org", Mandate: "Written permission of the customer, on file"}})
	ck.check("FileRequest", typeOf[client.Request](), err)
	identity, err := c.VerifyRequestIdentity(ctx, agents.ID, client.IdentityCheck{Channel: client.VerifyPhone,
		Statement: "Called the number on file; both security questions answered."})
	ck.check("VerifyRequestIdentity", typeOf[client.RequestIdentity](), err)
	if !identity.Satisfied || identity.Tier != client.TierPoints2 || identity.StaffVerification == nil {
		t.Errorf("VerifyRequestIdentity = %+v", identity)
	}
	agentDetail, err := c.GetRequest(ctx, agents.ID)
	ck.check("GetRequest", typeOf[client.RequestDetail](), err)
	if agentDetail.Agent == nil || agentDetail.Agent.Confirmed || !agentDetail.Identity.Satisfied {
		t.Errorf("GetRequest of the agent's request = %+v", agentDetail)
	}

	var dead *client.WebhookMessagePage
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		dead, err = c.ListDeadLetters(ctx, "")
		ck.check("ListDeadLetters", typeOf[client.WebhookMessagePage](), err)
		if len(dead.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter after 30 s")
		}
	}
	if verified.Load() == 0 {
		t.Error("VerifyWebhook accepted no delivery")
	}
	gotEndpoint, err := c.GetWebhookEndpoint(ctx, endpoint.ID)
	ck.check("GetWebhookEndpoint", typeOf[client.WebhookEndpoint](), err)
	if gotEndpoint.Enabled || gotEndpoint.DisabledReason == "" || gotEndpoint.Secret != "" {
		t.Errorf("endpoint after 410 = %+v", gotEndpoint)
	}
	enabled := true
	_, err = c.UpdateWebhookEndpoint(ctx, endpoint.ID, client.WebhookEndpointUpdate{Enabled: &enabled})
	ck.check("UpdateWebhookEndpoint", typeOf[client.WebhookEndpoint](), err)
	rotated, err := c.RotateWebhookSecret(ctx, endpoint.ID)
	ck.check("RotateWebhookSecret", typeOf[client.WebhookEndpoint](), err)
	if rotated.PreviousSecretUntil == nil || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Errorf("RotateWebhookSecret = %+v", rotated)
	}
	_, err = c.ListWebhookMessages(ctx, endpoint.ID, "")
	ck.check("ListWebhookMessages", typeOf[client.WebhookMessagePage](), err)
	_, err = c.ReplayWebhookMessage(ctx, dead.Items[0].ID)
	ck.check("ReplayWebhookMessage", typeOf[client.WebhookMessage](), err)
	_, err = c.ListWebhookEndpoints(ctx)
	ck.check("ListWebhookEndpoints", typeOf[items[client.WebhookEndpoint]](), err)
	if err := c.DeleteWebhookEndpoint(ctx, endpoint.ID); err != nil {
		t.Fatalf("DeleteWebhookEndpoint: %v", err)
	}

	// Disclosures: an unassessed vendor is blocked, with the reason (the
	// demo's vendors come assessed; rt-vendor was never assessed).
	disclosure, err := c.AskDisclosure(ctx, client.DisclosureInput{Subject: "rt-cust", Vendor: "rt-vendor", Purpose: "rt-ads",
		Categories: []string{"contact"}, Reason: "to show you offers from our partner"})
	ck.check("AskDisclosure", typeOf[client.Disclosure](), err)
	if disclosure.State != client.DisclosureBlocked || disclosure.BlockedReason != client.DisclosureBlockedVendorNotAssessed || disclosure.BlockedDetail == "" {
		t.Errorf("AskDisclosure = %+v, want blocked with a reason", disclosure)
	}
	_, err = c.GetDisclosure(ctx, disclosure.ID)
	ck.check("GetDisclosure", typeOf[client.Disclosure](), err)
	_, err = c.VendorDisclosures(ctx, "adnet")
	ck.check("VendorDisclosures", typeOf[items[client.Disclosure]](), err)

	// The data map and the record of processing.
	_, err = c.Inventory(ctx)
	ck.check("Inventory", typeOf[client.InventoryMap](), err)
	record, err := c.ROPA(ctx)
	ck.check("ROPA", typeOf[client.ROPA](), err)
	if record == nil || len(record.Activities) == 0 || len(record.Systems) < 3 {
		t.Errorf("ROPA = %+v", record)
	}
	if csv, err := c.ROPACSV(ctx); err != nil || !bytes.HasPrefix(csv, []byte("section,key,name,legal_basis")) {
		t.Errorf("ROPACSV = %.100q, %v", csv, err)
	}

	// The incident register: record, change, assess, move, note, compute.
	title, kind, cats := "Round-trip breach", "confidentiality", []string{"contact"}
	inc, err := c.CreateIncident(ctx, client.IncidentInput{Title: &title, Kind: &kind, Categories: &cats})
	ck.check("CreateIncident", typeOf[client.Incident](), err)
	cause := "a misconfigured bucket"
	_, err = c.UpdateIncident(ctx, inc.ID, client.IncidentInput{Cause: &cause})
	ck.check("UpdateIncident", typeOf[client.Incident](), err)
	_, err = c.AssessIncident(ctx, inc.ID, client.IncidentAssessment{Risk: "risk", Reasons: []string{"contact data exposed"}})
	ck.check("AssessIncident", typeOf[client.Incident](), err)
	moved, err := c.MoveIncident(ctx, inc.ID, client.IncidentMove{Status: "assessed", Note: "assessed"})
	ck.check("MoveIncident", typeOf[client.Incident](), err)
	if moved == nil || moved.Status != "assessed" || len(moved.Clocks) == 0 {
		t.Errorf("MoveIncident = %+v", moved)
	}
	_, err = c.GetIncident(ctx, inc.ID)
	ck.check("GetIncident", typeOf[client.Incident](), err)
	_, err = c.ListIncidents(ctx, "")
	ck.check("ListIncidents", typeOf[items[client.Incident]](), err)
	_, err = c.AddIncidentNote(ctx, inc.ID, client.IncidentNote{Note: "bucket closed"})
	ck.check("AddIncidentNote", typeOf[client.IncidentAction](), err)
	_, err = c.IncidentTimeline(ctx, inc.ID)
	ck.check("IncidentTimeline", typeOf[items[client.IncidentAction]](), err)
	set, err := c.ComputeAffectedSet(ctx, inc.ID, client.AffectedSetInput{Method: "upload", ExternalIDs: []string{"rt-cust", "rt-nobody"}})
	ck.check("ComputeAffectedSet", typeOf[client.AffectedSet](), err)
	_, err = c.AffectedSets(ctx, inc.ID)
	ck.check("AffectedSets", typeOf[items[client.AffectedSet]](), err)

	// The post-incident review: none yet, written, an action added and
	// done, then changed by a read-modify-write that keeps the areas.
	var apiErr *client.Error
	if _, err := c.GetIncidentReview(ctx, inc.ID); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("GetIncidentReview before one is written: %v, want a 404", err)
	}
	review, err := c.WriteIncidentReview(ctx, inc.ID, client.IncidentReviewInput{WhatFailed: "a bucket was left public",
		Controls: "no review of bucket policies", Areas: []string{client.ReviewAreaConfiguration, client.ReviewAreaAccessControl}})
	ck.check("WriteIncidentReview", typeOf[client.IncidentReview](), err)
	if review.IncidentID != inc.ID || !slices.Equal(review.Areas, []string{"access_control", "configuration"}) || review.WrittenBy == "" || review.Actions == nil {
		t.Errorf("WriteIncidentReview = %+v", review)
	}
	owner, err := srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "rt.owner@shop.example", Name: "Round Trip Owner",
		Role: staff.RoleAdmin, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatalf("create the action's owner: %v", err)
	}
	due := time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	action, err := c.AddIncidentReviewAction(ctx, inc.ID, client.IncidentReviewActionInput{Title: "Audit bucket policies", Owner: owner.ID, Due: due})
	ck.check("AddIncidentReviewAction", typeOf[client.IncidentReviewAction](), err)
	if action.ID == "" || action.State != client.ReviewActionOpen || action.Owner != owner.ID || action.Due.Format(time.DateOnly) != due || action.DoneAt != nil {
		t.Errorf("AddIncidentReviewAction = %+v", action)
	}
	done, err := c.CompleteIncidentReviewAction(ctx, inc.ID, action.ID)
	ck.check("CompleteIncidentReviewAction", typeOf[client.IncidentReviewAction](), err)
	if done.State != client.ReviewActionDone || done.DoneAt == nil || done.DoneBy == "" {
		t.Errorf("CompleteIncidentReviewAction = %+v", done)
	}
	if _, err := c.CompleteIncidentReviewAction(ctx, inc.ID, action.ID); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("CompleteIncidentReviewAction twice: %v, want a 409", err)
	}
	review, err = c.GetIncidentReview(ctx, inc.ID)
	ck.check("GetIncidentReview", typeOf[client.IncidentReview](), err)
	if len(review.Actions) != 1 || review.Actions[0].State != client.ReviewActionDone {
		t.Errorf("GetIncidentReview actions = %+v", review.Actions)
	}
	change := review.Input()
	change.Controls = "bucket policies were never reviewed"
	review, err = c.WriteIncidentReview(ctx, inc.ID, change)
	ck.check("WriteIncidentReview (change)", typeOf[client.IncidentReview](), err)
	if review.Controls != change.Controls || len(review.Areas) != 2 || review.WhatFailed != "a bucket was left public" {
		t.Errorf("WriteIncidentReview after a read-modify-write = %+v", review)
	}

	// The public account: previewed (nothing published), published (the
	// public feed, read without a key, shows it with the set's counts),
	// withdrawn (the feed is empty again, the version kept).
	public := client.New(srv.URL, "", client.WithHTTPClient(hc))
	account := client.IncidentAccountInput{Texts: map[string]client.IncidentAccountText{
		"en": {Title: "Contact details exposed", Happened: "A storage bucket was public for two days.", Done: "The bucket was closed.",
			Outcome: "Bucket policies are reviewed monthly."},
		"de": {Title: "Kontaktdaten offengelegt", Happened: "Ein Speicher war zwei Tage lang öffentlich.", Done: "Der Speicher wurde geschlossen."},
	}}
	preview, err := c.PreviewIncidentAccount(ctx, inc.ID, account)
	ck.check("PreviewIncidentAccount", typeOf[client.IncidentAccount](), err)
	if preview.Version != 1 || preview.SetID != set.ID || preview.Affected != set.Members || preview.Texts["de"].Title != account.Texts["de"].Title {
		t.Errorf("PreviewIncidentAccount = %+v, want version 1 of set %s (%d members)", preview, set.ID, set.Members)
	}
	feed, err := public.PublishedIncidents(ctx)
	ck.check("PublishedIncidents (after the preview)", typeOf[published](), err)
	if len(feed) != 0 {
		t.Errorf("PublishedIncidents after a preview = %+v, want none", feed)
	}
	account1, err := c.PublishIncidentAccount(ctx, inc.ID, account)
	ck.check("PublishIncidentAccount", typeOf[client.IncidentAccount](), err)
	if account1.Version != 1 || account1.PublishedBy == "" || account1.WithdrawnAt != nil {
		t.Errorf("PublishIncidentAccount = %+v", account1)
	}
	feed, err = public.PublishedIncidents(ctx)
	ck.check("PublishedIncidents", typeOf[published](), err)
	if len(feed) != 1 || feed[0].ID != inc.ID || feed[0].Version != 1 || feed[0].Affected.Total != set.Members ||
		!strings.HasSuffix(feed[0].URL, "/"+inc.ID) || feed[0].Texts["en"].Outcome != account.Texts["en"].Outcome {
		t.Errorf("PublishedIncidents = %+v", feed)
	}
	withdrawn, err := c.WithdrawIncidentAccount(ctx, inc.ID)
	ck.check("WithdrawIncidentAccount", typeOf[client.IncidentAccount](), err)
	if withdrawn.Version != 1 || withdrawn.WithdrawnAt == nil || withdrawn.WithdrawnBy == "" {
		t.Errorf("WithdrawIncidentAccount = %+v", withdrawn)
	}
	accounts, err := c.IncidentAccounts(ctx, inc.ID)
	ck.check("IncidentAccounts", typeOf[items[client.IncidentAccount]](), err)
	if len(accounts) != 1 || accounts[0].WithdrawnAt == nil {
		t.Errorf("IncidentAccounts = %+v, want the one version, withdrawn", accounts)
	}
	if feed, err = public.PublishedIncidents(ctx); err != nil || len(feed) != 0 {
		t.Errorf("PublishedIncidents after the withdrawal = %+v, %v, want none", feed, err)
	}
	// Telling the parties: a report filed, the incident notified, then the
	// customers' notice written and queued, the vendors told.
	_, err = c.RegulatorReport(ctx, inc.ID)
	ck.check("RegulatorReport", typeOf[client.RegulatorReport](), err)
	_, err = c.RecordIncidentFiling(ctx, inc.ID, client.IncidentFilingInput{Kind: "regulator", Agency: "CNIL", Channel: "online form",
		Reference: "CNIL-1", FiledAt: time.Now().Add(-time.Hour)})
	ck.check("RecordIncidentFiling", typeOf[client.IncidentFiling](), err)
	from, to := time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	_, err = c.RecordIncidentFiling(ctx, inc.ID, client.IncidentFilingInput{Kind: "law_enforcement", Agency: "Police",
		FiledAt: time.Now().Add(-time.Minute), EvidenceFrom: &from, EvidenceTo: &to})
	ck.check("RecordIncidentFiling", typeOf[client.IncidentFiling](), err)
	_, err = c.IncidentFilings(ctx, inc.ID)
	ck.check("IncidentFilings", typeOf[items[client.IncidentFiling]](), err)
	notified, err := c.RecordIncidentNotified(ctx, inc.ID, "authority told")
	ck.check("RecordIncidentNotified", typeOf[client.Incident](), err)
	if notified.Status != "notified" || notified.AuthorityNotifiedAt == nil {
		t.Errorf("RecordIncidentNotified = %+v", notified)
	}
	_, err = c.SetIncidentNoticeText(ctx, inc.ID, "fr", client.IncidentNoticeText{Happened: "Un export a fuité.", Meaning: "Vos coordonnées.",
		Done: "Nous avons fermé l'accès.", CanDo: "Méfiez-vous des e-mails.", Contact: "privacy@shop.example"})
	ck.check("SetIncidentNoticeText", typeOf[client.IncidentNoticeText](), err)
	_, err = c.QueueIncidentNotices(ctx, inc.ID)
	ck.check("QueueIncidentNotices", typeOf[client.NoticesQueued](), err)
	_, err = c.IncidentNotices(ctx, inc.ID)
	ck.check("IncidentNotices", typeOf[client.IncidentNotices](), err)
	_, err = c.NotifyIncidentVendors(ctx, inc.ID)
	ck.check("NotifyIncidentVendors", typeOf[items[client.AffectedVendor]](), err)
	_, err = c.IncidentVendors(ctx, inc.ID)
	ck.check("IncidentVendors", typeOf[items[client.AffectedVendor]](), err)
	_, err = c.RegulatorReport(ctx, inc.ID)
	ck.check("RegulatorReport", typeOf[client.RegulatorReport](), err)

	checkCoverage(t, tp)
}

// notForTheSDK are the operations of the API the client has no method for,
// and why.
var notForTheSDK = map[string]string{
	"OPTIONS /v1/consent/events":                 "the browser's CORS preflight of the banner",
	"POST /v1/connectors/{name}/callback/{call}": "called by the company's HTTP systems, which sign it with the connector's secret",
	"GET /livez":                                 "for the orchestrator",
	"GET /metrics":                               "for Prometheus",
	"GET /openapi.json":                          "the document itself",
	"GET /.well-known/gpc.json":                  "for browsers",
	"GET /banner.js":                             "for web pages",
	"GET /banner-tcf.js":                         "for web pages",
	"GET /banner-gpp.js":                         "for web pages",
	"GET /form.js":                               "for web pages",
	"GET /tcf/vendor-list.json":                  "for the banner",
	"GET /demo":                                  "a page",
	"GET /transparency.json":                     "public and signed: readers keep it, steward receipt verify or any JOSE library checks it",
	"POST /v1/purposes/{key}/assessment/approve": "a privacy officer approves in the console: the route refuses every API key",
}

// checkCoverage fails when the round trip left an operation of the OpenAPI
// document unexercised that the SDK should have a method for.
func checkCoverage(t *testing.T, tp *tap) {
	t.Helper()
	doc := loadOpenAPI(t)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for pattern, ops := range doc.Paths {
		for method := range ops {
			op := strings.ToUpper(method) + " " + pattern
			if method == "parameters" || notForTheSDK[op] != "" {
				continue
			}
			matched := false
			for seen := range tp.seen {
				if matchOperation(op, seen) {
					matched = true
					break
				}
			}
			if !matched {
				t.Errorf("%s: no client method was called for it (or it failed); add one, or list it in notForTheSDK", op)
			}
		}
	}
}

// matchOperation reports whether a request ("GET /v1/x/abc") is of an
// operation ("GET /v1/x/{id}").
func matchOperation(op, request string) bool {
	opParts, reqParts := strings.Split(op, "/"), strings.Split(request, "/")
	if len(opParts) != len(reqParts) {
		return false
	}
	for i, p := range opParts {
		if p != reqParts[i] && !(strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")) {
			return false
		}
	}
	return true
}

type openAPI struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]schema `json:"schemas"`
	} `json:"components"`
}

type schema struct {
	Properties map[string]schema `json:"properties"`
	Items      *schema           `json:"items"`
	Ref        string            `json:"$ref"`
	AllOf      []schema          `json:"allOf"`
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	raw, err := os.ReadFile("../internal/web/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// schemaTypes maps each schema of the OpenAPI document to the client type
// that reads or writes it.
var schemaTypes = map[string]reflect.Type{
	"Request": typeOf[client.Request](), "QueuedRequest": typeOf[client.QueuedRequest](),
	"RequestPage": typeOf[client.RequestPage](), "RequestEvent": typeOf[client.RequestEvent](),
	"RequestDetail":   typeOf[client.RequestDetail](),
	"RequestIdentity": typeOf[client.RequestIdentity](), "StaffVerification": typeOf[client.StaffVerification](),
	"RequestAgent":      typeOf[client.RequestAgent](),
	"JurisdictionRules": typeOf[client.JurisdictionRules](),
	"Property":          typeOf[client.Property](), "PropertyInput": typeOf[client.PropertyInput](),
	"Purpose": typeOf[client.Purpose](), "PurposeInput": typeOf[client.PurposeInput](),
	"PurposeAssessment": typeOf[client.PurposeAssessment](), "AssessmentAnswers": typeOf[client.AssessmentAnswers](),
	"AssessmentFacts": typeOf[client.AssessmentFacts](), "AssessmentScope": typeOf[client.AssessmentScope](),
	"Vendor": typeOf[client.Vendor](), "VendorInput": typeOf[client.VendorInput](),
	"Category": typeOf[client.Category](), "CategoryInput": typeOf[client.CategoryInput](),
	"Notice": typeOf[client.Notice](), "NoticeInput": typeOf[client.NoticeInput](),
	"EventInput": typeOf[client.EventInput](), "Event": typeOf[client.Event](),
	"AppendEventsRequest": typeOf[struct {
		Events []client.EventInput `json:"events"`
	}](),
	"EventResult": typeOf[client.EventResult](), "AppendEventsResponse": typeOf[results](),
	"EventPage": typeOf[client.EventPage](), "Question": typeOf[client.Question](),
	"DecideRequest": typeOf[struct {
		Questions []client.Question `json:"questions"`
	}](),
	"Answer": typeOf[client.Answer](), "DecideResponse": typeOf[answers](),
	"LinkDeviceRequest": typeOf[struct {
		Device string `json:"device"`
	}](),
	"PreferenceLinksRequest": typeOf[client.PreferenceLinksInput](), "PreferenceLinks": typeOf[client.PreferenceLinks](),
	"Link": typeOf[client.Link](), "APIKey": typeOf[client.APIKey](), "APIKeyInput": typeOf[client.APIKeyInput](),
	"Form": typeOf[client.Form](), "FormInput": typeOf[client.FormInput](), "FormList": typeOf[items[client.Form]](),
	"PropertyList": typeOf[items[client.Property]](), "PurposeList": typeOf[items[client.Purpose]](),
	"VendorList": typeOf[items[client.Vendor]](), "NoticeList": typeOf[items[client.Notice]](),
	"CategoryList": typeOf[items[client.Category]](),
	"APIKeyList":   typeOf[items[client.APIKey]](), "Readiness": typeOf[client.Readiness](),
	"BannerSettings": typeOf[client.BannerSettings](),
	"VaultField":     typeOf[client.Field](), "VaultFieldList": typeOf[items[client.Field]](),
	"VaultFieldInput": typeOf[client.FieldInput](), "StatedPurpose": typeOf[client.StatedPurpose](),
	"DetokenizeRequest": typeOf[struct {
		Token string `json:"token"`
		client.StatedPurpose
	}](),
	"Revealed": typeOf[client.Revealed](), "Token": typeOf[token](),
	"Access": typeOf[client.Access](), "AccessPage": typeOf[client.AccessPage](), "Erasure": typeOf[client.Erasure](),
	"Disclosure": typeOf[client.Disclosure](), "DisclosureList": typeOf[items[client.Disclosure]](),
	"WebhookEndpoint": typeOf[client.WebhookEndpoint](), "WebhookEndpointList": typeOf[items[client.WebhookEndpoint]](),
	"WebhookMessage": typeOf[client.WebhookMessage](), "WebhookMessagePage": typeOf[client.WebhookMessagePage](),
	"Restriction": typeOf[client.Restriction](), "RestrictionList": typeOf[client.Restrictions](), "PendingLift": typeOf[client.PendingLift](),
	"PlaceRestrictionRequest": typeOf[client.RestrictionInput](),
	"LegalHold":               typeOf[client.LegalHold](), "LegalHoldList": typeOf[client.LegalHolds](),
	"PlaceLegalHoldRequest": typeOf[client.LegalHoldInput](),
	"InventoryMap":          typeOf[client.InventoryMap](), "InventorySystem": typeOf[client.InventorySystem](),
	"InventoryTable": typeOf[client.InventoryTable](), "InventoryColumn": typeOf[client.InventoryColumn](),
	"InventoryVaultField": typeOf[client.InventoryVaultField](), "SystemFacts": typeOf[client.SystemFacts](),
	"InventoryCategory": typeOf[client.InventoryCategory](), "InventoryPurpose": typeOf[client.InventoryPurpose](),
	"InventoryRecipient": typeOf[client.InventoryRecipient](), "InventoryGap": typeOf[client.InventoryGap](),
	"ROPA": typeOf[client.ROPA](), "ROPAController": typeOf[client.ROPAController](), "ROPAActivity": typeOf[client.ROPAActivity](),
	"ROPADataCategory": typeOf[client.ROPADataCategory](), "ROPARecipient": typeOf[client.ROPARecipient](),
	"ROPATransfer": typeOf[client.ROPATransfer](), "ROPASystem": typeOf[client.ROPASystem](),
	"Incident": typeOf[client.Incident](), "IncidentInput": typeOf[client.IncidentInput](), "IncidentClock": typeOf[client.IncidentClock](),
	"IncidentList": typeOf[items[client.Incident]](), "IncidentMove": typeOf[client.IncidentMove](),
	"IncidentAssessment": typeOf[client.IncidentAssessment](), "IncidentNote": typeOf[client.IncidentNote](),
	"IncidentAction": typeOf[client.IncidentAction](), "IncidentActionList": typeOf[items[client.IncidentAction]](),
	"AffectedSetInput": typeOf[client.AffectedSetInput](), "AffectedSet": typeOf[client.AffectedSet](),
	"AffectedSetList": typeOf[items[client.AffectedSet]](),
	"IncidentReview":  typeOf[client.IncidentReview](), "IncidentReviewInput": typeOf[client.IncidentReviewInput](),
	"IncidentReviewAction": typeOf[client.IncidentReviewAction](), "IncidentReviewActionInput": typeOf[client.IncidentReviewActionInput](),
	"IncidentAccount": typeOf[client.IncidentAccount](), "IncidentAccountInput": typeOf[client.IncidentAccountInput](),
	"IncidentAccountText": typeOf[client.IncidentAccountText](), "IncidentAccountList": typeOf[items[client.IncidentAccount]](),
	"PublishedIncidents": typeOf[published](),
	"RegulatorReport":    typeOf[client.RegulatorReport](),
	"NoticeProgress":     typeOf[client.NoticeProgress](), "IncidentNoticeText": typeOf[client.IncidentNoticeText](),
	"IncidentNotices": typeOf[client.IncidentNotices](), "NoticesQueued": typeOf[client.NoticesQueued](),
	"AffectedVendor": typeOf[client.AffectedVendor](), "AffectedVendorList": typeOf[items[client.AffectedVendor]](),
	"IncidentFilingInput": typeOf[client.IncidentFilingInput](), "IncidentFiling": typeOf[client.IncidentFiling](),
	"IncidentFilingList": typeOf[items[client.IncidentFiling]](),
	"DecisionRules":      typeOf[client.DecisionRules](), "PropertyRules": typeOf[client.PropertyRules](),
	"PurposeRules": typeOf[client.PurposeRules](), "VendorRules": typeOf[client.VendorRules](),
	"StreamPage": typeOf[client.StreamPage](), "StreamEntry": typeOf[client.StreamEntry](),
}

// schemasNotForTheSDK are the schemas no client type mirrors, and why.
var schemasNotForTheSDK = map[string]string{
	"Problem":          "read into *client.Error",
	"FieldProblem":     "read into client.Error.Fields",
	"Liveness":         "GET /livez is for the orchestrator",
	"GPCSupport":       "GET /.well-known/gpc.json is for browsers",
	"JWKS":             "client.JWKS returns the key set as sent, for a JOSE library",
	"Receipt":          "a compact JWS, a string",
	"EventWithReceipt": "allOf Event and a receipt: client.Event",
	"NewAPIKey":        "allOf APIKey and a secret: client.NewAPIKey",
	// The public transparency page is for readers and any JOSE library;
	// steward receipt verify checks a saved copy.
	"SignedTransparencyDocument": "GET /transparency.json is public, not an integration API",
}

// TestTypesCoverTheOpenAPISchemas fails when a schema of the OpenAPI
// document has a property the client's type lacks, including the ones a
// live answer leaves out when empty, or when a new schema has no client
// type.
func TestTypesCoverTheOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, s := range doc.Components.Schemas {
		if schemasNotForTheSDK[name] != "" {
			continue
		}
		ct, ok := schemaTypes[name]
		if !ok {
			t.Errorf("schema %s has no client type: add one (and a method that returns it), or list it in schemasNotForTheSDK", name)
			continue
		}
		for _, missing := range missingProperties(name, s, ct) {
			t.Errorf("schema %s: property %s is missing from client.%s", name, missing, ct.Name())
		}
	}
	for name := range schemaTypes {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("schemaTypes names %s, which the OpenAPI document does not have", name)
		}
	}
}

// missingProperties lists the properties of s, recursively through inline
// objects and arrays (not $ref, which name schemas checked on their own),
// that t has no field for.
func missingProperties(at string, s schema, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if s.Items != nil {
		return missingProperties(at+"[]", *s.Items, t)
	}
	if len(s.Properties) == 0 || t.Kind() != reflect.Struct || t == timeType {
		return nil
	}
	fields := jsonFields(t)
	var out []string
	for name, ps := range s.Properties {
		ft, ok := fields[name]
		if !ok {
			out = append(out, at+"."+name)
			continue
		}
		if ps.Ref == "" {
			out = append(out, missingProperties(at+"."+name, ps, ft)...)
		}
	}
	return out
}

// TestUnknownKeysFindsAMissingField proves the round trip's check can fail:
// a key the type lacks is reported, at any depth.
func TestUnknownKeysFindsAMissingField(t *testing.T) {
	var value any
	if err := json.Unmarshal([]byte(`{"items":[{"key":"shop","banner":{"theme":{"accent":"#000000","glow":true}},"shiny":1},{"key":"kiosk","shiny":2}]}`), &value); err != nil {
		t.Fatal(err)
	}
	got := unknownKeys("", value, typeOf[items[client.Property]]())
	slices.Sort(got)
	want := []string{".items[].banner.theme.glow", ".items[].shiny"}
	if !slices.Equal(got, want) {
		t.Fatalf("unknownKeys = %q, want %q", got, want)
	}
}
