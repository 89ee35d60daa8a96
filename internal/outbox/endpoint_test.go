package outbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
)

func TestEndpointLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("staff-1"))
		svc := newService(t, store)
		ep, secret, err := svc.CreateEndpoint(ctx, outbox.Endpoint{URL: "http://127.0.0.1:9/hooks?token=abc",
			Description: "CRM", EventTypes: []string{outbox.RequestCreated, outbox.ConsentChanged, outbox.ConsentChanged}})
		if err != nil {
			t.Fatal(err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) != 32 {
			t.Errorf("secret %q: want whsec_ and the base64 of 32 bytes", secret)
		}
		if !ep.Enabled || ep.SecretVersion != 1 || !slices.Equal(ep.EventTypes, []string{outbox.ConsentChanged, outbox.RequestCreated}) {
			t.Errorf("created %+v; want enabled, version 1, types sorted without repeats", ep)
		}
		// The secret is stored sealed only.
		var sealed []byte
		if err := store.QueryRowContext(ctx, `SELECT secret_sealed FROM outbox_endpoints WHERE id = $1`, ep.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, key) {
			t.Error("the secret is stored in clear")
		}

		got, err := svc.Endpoint(ctx, ep.ID)
		if err != nil || got.URL != ep.URL || got.Description != "CRM" {
			t.Errorf("get = %+v, %v", got, err)
		}
		newURL, all, off := "http://127.0.0.1:9/v2", []string{}, false
		updated, err := svc.UpdateEndpoint(ctx, ep.ID, outbox.EndpointUpdate{URL: &newURL, EventTypes: &all, Enabled: &off})
		if err != nil {
			t.Fatal(err)
		}
		if updated.URL != newURL || len(updated.EventTypes) != 0 || updated.Enabled || updated.DisabledReason != outbox.DisabledByStaff {
			t.Errorf("updated %+v", updated)
		}
		on := true
		if updated, err = svc.UpdateEndpoint(ctx, ep.ID, outbox.EndpointUpdate{Enabled: &on}); err != nil || !updated.Enabled || updated.DisabledReason != "" {
			t.Errorf("enable again: %+v, %v", updated, err)
		}
		list, err := svc.Endpoints(ctx)
		if err != nil || len(list) != 1 || list[0].ID != ep.ID {
			t.Errorf("list = %+v, %v", list, err)
		}
		if err := svc.DeleteEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Endpoint(ctx, ep.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("get deleted: %v, want not found", err)
		}
		if err := svc.DeleteEndpoint(ctx, ep.ID); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("delete twice: %v, want not found", err)
		}
		want := []string{"webhook.endpoint_create", "webhook.endpoint_update", "webhook.endpoint_update", "webhook.endpoint_delete"}
		if got := auditActions(t, store, ep.ID); !slices.Equal(got, want) {
			t.Errorf("audit = %v, want %v", got, want)
		}
		var details string
		if err := store.QueryRowContext(ctx, `SELECT details FROM audit_entries WHERE target_id = $1 ORDER BY seq LIMIT 1`, ep.ID).Scan(&details); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(details, "token") || strings.Contains(details, "/hooks") {
			t.Errorf("audit details %s hold the URL's path or query", details)
		}
	})
}

func TestEndpointValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := newService(t, store)
		long := strings.Repeat("x", 501)
		cases := []struct {
			name   string
			ep     outbox.Endpoint
			fields []string
		}{
			{"unknown event type", outbox.Endpoint{URL: "http://127.0.0.1/", EventTypes: []string{"consent.exploded"}}, []string{"event_types"}},
			{"empty url", outbox.Endpoint{}, []string{"url"}},
			{"not a url", outbox.Endpoint{URL: "hooks.example.com/x"}, []string{"url"}},
			{"ftp", outbox.Endpoint{URL: "ftp://127.0.0.1/"}, []string{"url"}},
			{"credentials", outbox.Endpoint{URL: "http://user:pw@127.0.0.1/"}, []string{"url"}},
			{"fragment", outbox.Endpoint{URL: "http://127.0.0.1/#x"}, []string{"url"}},
			{"long description", outbox.Endpoint{URL: "http://127.0.0.1/", Description: long}, []string{"description"}},
			{"several at once", outbox.Endpoint{URL: "ftp://x", EventTypes: []string{"nope"}}, []string{"url", "event_types"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := svc.CreateEndpoint(ctx, c.ep)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				for _, f := range c.fields {
					if _, ok := e.Fields[f]; !ok {
						t.Errorf("fields %v lack %s", e.Fields, f)
					}
				}
			})
		}
		list, err := svc.Endpoints(ctx)
		if err != nil || len(list) != 0 {
			t.Errorf("refused endpoints were stored: %v %v", list, err)
		}
		bad := []string{"consent.exploded"}
		if _, err := svc.UpdateEndpoint(ctx, "ep_missing", outbox.EndpointUpdate{EventTypes: &bad}); !errs.Is(err, errs.CodeInvalid) {
			t.Errorf("update with unknown type: %v, want invalid", err)
		}
		if _, err := svc.UpdateEndpoint(ctx, "ep_missing", outbox.EndpointUpdate{}); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("update of a missing endpoint: %v, want not found", err)
		}
	})
}

func TestEventTypesRegistry(t *testing.T) {
	want := []string{"consent.changed", "request.created", "request.completed", "disclosure.requested",
		"disclosure.decided", "subject.erased", "subject.rectified", "vendor.assessment_expired", "audit.checkpoint", "inventory.drift", "incident.notified"}
	got := outbox.EventTypes()
	if !slices.Equal(got, want) {
		t.Errorf("EventTypes = %v, want %v", got, want)
	}
	got[0] = "changed.by.caller"
	if !outbox.KnownEventType("consent.changed") || outbox.KnownEventType("changed.by.caller") {
		t.Error("the registry changed through the returned slice")
	}
}
