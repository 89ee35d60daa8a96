package consent_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// TestPutForm declares forms and refuses bad ones with keyed problems that
// name the field at fault.
func TestPutForm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		checkout := consent.Form{Property: "shop", ID: "checkout", Name: "Checkout", Purposes: []string{"marketing", "analytics"}}
		got, err := svc.PutForm(ctx, checkout, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Checkout" || len(got.Purposes) != 2 || got.Purposes[0] != "marketing" || got.CreatedAt.IsZero() {
			t.Fatalf("declared %+v", got)
		}
		if _, err := svc.PutForm(ctx, checkout, true); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("declared twice: %v, want conflict", err)
		}
		checkout.Name, checkout.Purposes = "Checkout page", []string{"marketing"}
		if got, err = svc.PutForm(ctx, checkout, false); err != nil || got.Name != "Checkout page" || len(got.Purposes) != 1 {
			t.Fatalf("changed: %+v, %v", got, err)
		}
		if list := svc.Forms("shop"); len(list) != 1 || list[0].ID != "checkout" {
			t.Fatalf("forms of shop: %+v", list)
		}
		if _, err := svc.PutForm(ctx, consent.Form{Property: "shop", ID: "missing", Name: "M", Purposes: []string{"marketing"}}, false); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("changing an undeclared form: %v, want not found", err)
		}
		cases := []struct {
			name  string
			form  consent.Form
			field string
			key   string
		}{
			{"unknown property", consent.Form{Property: "nope", ID: "a", Name: "A", Purposes: []string{"marketing"}}, "property", "unknown_property"},
			{"bad id", consent.Form{Property: "shop", ID: "Sign Up", Name: "A", Purposes: []string{"marketing"}}, "id", "catalog_key"},
			{"no name", consent.Form{Property: "shop", ID: "a", Purposes: []string{"marketing"}}, "name", "required"},
			{"two lines", consent.Form{Property: "shop", ID: "a", Name: "A\nB", Purposes: []string{"marketing"}}, "name", "one_line"},
			{"no purpose", consent.Form{Property: "shop", ID: "a", Name: "A"}, "purposes", "name_a_purpose"},
			{"unknown purpose", consent.Form{Property: "shop", ID: "a", Name: "A", Purposes: []string{"marketing", "nope"}}, "purposes[1]", "unknown_purpose"},
			{"necessary purpose", consent.Form{Property: "shop", ID: "a", Name: "A", Purposes: []string{"necessary"}}, "purposes[0]", "form_necessary_purpose"},
			{"purpose twice", consent.Form{Property: "shop", ID: "a", Name: "A", Purposes: []string{"marketing", "marketing"}}, "purposes[1]", "form_purpose_twice"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := svc.PutForm(ctx, c.form, true)
				e, ok := errs.As(err)
				if !ok || e.FieldKeys[c.field].Key != c.key {
					t.Fatalf("error %v, want %s on %s", err, c.key, c.field)
				}
			})
		}
	})
}

// TestFormSources: a form's source is accepted only for a form declared
// for the event's property and a purpose it asks for; the public key still
// records device events only, and the portal is no form.
func TestFormSources(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		if _, err := svc.PutForm(ctx, consent.Form{Property: "shop", ID: "signup", Name: "Sign-up", Purposes: []string{"marketing"}}, true); err != nil {
			t.Fatal(err)
		}
		form := consent.FormSource("signup")
		cases := []struct {
			name    string
			by      consent.Author
			subject bool
			source  consent.Source
			purpose string
			field   string // "" means accepted
			key     string // the catalog key of the problem, when keyed
		}{
			{"ingest: device, declared form", ingestShop, false, form, "marketing", "", ""},
			{"ingest: undeclared form", ingestShop, false, consent.FormSource("newsletter"), "marketing", "events[0].source", "form_not_declared"},
			{"ingest: purpose the form does not ask", ingestShop, false, form, "analytics", "events[0].source", "form_purpose_not_asked"},
			{"ingest: subject with a form source", ingestShop, true, form, "marketing", "events[0].subject", ""},
			{"ingest: empty form id", ingestShop, false, "form:", "marketing", "events[0].source", ""},
			{"record: subject, declared form", recordKey, true, form, "marketing", "", ""},
			{"record: undeclared form", recordKey, true, consent.FormSource("other"), "marketing", "events[0].source", "form_not_declared"},
			{"admin: subject, declared form", adminKey, true, form, "marketing", "", ""},
			{"portal: a form source", portal, true, form, "marketing", "events[0].source", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := event("x", "dev", c.purpose, consent.ActionGrant)
				e.Source = c.source
				if c.subject {
					e.Device, e.Subject = "", "cust-42"
				}
				err := svc.ValidateEvents([]consent.Event{e}, c.by)
				if c.field == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				ee, ok := errs.As(err)
				if !ok || ee.Fields[c.field] == "" {
					t.Fatalf("error %v does not name %s", err, c.field)
				}
				if c.key != "" && ee.FieldKeys[c.field].Key != c.key {
					t.Fatalf("problem %+v, want key %s", ee.FieldKeys[c.field], c.key)
				}
			})
		}
		// An accepted form choice is appended with its source, and its
		// receipt names it as the collection method.
		e := event("form-1", "dev", "marketing", consent.ActionGrant)
		e.Source = form
		batch := []consent.Event{e}
		if err := svc.ValidateEvents(batch, ingestShop); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Append(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := svc.Event(ctx, "shop", "form-1")
		if err != nil || stored.Source != form || stored.Receipt == "" || stored.Receipt != res[0].Event.Receipt {
			t.Fatalf("stored %+v, %v", stored, err)
		}
		if id, ok := stored.Source.FormID(); !ok || id != "signup" {
			t.Fatalf("FormID of %q: %q %v", stored.Source, id, ok)
		}
	})
}

// TestEventsOfLinkedDevices: with LinkedDevices, a subject's events come
// with those of the devices linked to them, in ledger order, and no other
// device's; LinkedTo says which device is whose.
func TestEventsOfLinkedDevices(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		if _, err := svc.LinkDevice(ctx, "cust-42", "phone"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LinkDevice(ctx, "cust-7", "laptop"); err != nil {
			t.Fatal(err)
		}
		own := event("own", "", "analytics", consent.ActionGrant)
		own.Device, own.Subject, own.Source = "", "cust-42", consent.SourceAPI
		batch := []consent.Event{event("on-phone", "phone", "marketing", consent.ActionGrant), own,
			event("on-laptop", "laptop", "marketing", consent.ActionDeny), event("anonymous", "tablet", "marketing", consent.ActionDeny)}
		for i := range batch {
			batch[i].Source = consent.SourceAPI
		}
		if err := svc.ValidateEvents(batch, recordKey); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		ids := func(f consent.EventFilter) []string {
			t.Helper()
			events, err := svc.Events(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range events {
				out = append(out, e.ID)
			}
			return out
		}
		if got := ids(consent.EventFilter{Subject: "cust-42"}); len(got) != 1 || got[0] != "own" {
			t.Errorf("the subject's own events: %v", got)
		}
		if got := ids(consent.EventFilter{Subject: "cust-42", LinkedDevices: true}); len(got) != 2 || got[0] != "on-phone" || got[1] != "own" {
			t.Errorf("with the linked devices: %v, want on-phone, own", got)
		}
		for _, c := range []struct {
			device, subject string
			want            bool
		}{{"phone", "cust-42", true}, {"laptop", "cust-42", false}, {"tablet", "cust-42", false}, {"", "cust-42", false}} {
			if got, err := svc.LinkedTo(ctx, c.device, c.subject); err != nil || got != c.want {
				t.Errorf("LinkedTo(%q, %q) = %v, %v", c.device, c.subject, got, err)
			}
		}
	})
}
