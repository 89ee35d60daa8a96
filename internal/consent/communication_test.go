package consent_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// newsletter is a communication topic sent by email and SMS.
func newsletter() consent.Purpose {
	return consent.Purpose{Key: "newsletter", Names: map[string]string{"en": "Newsletter"}, LegalBasis: consent.BasisConsent,
		Kind: consent.KindCommunication, Channels: []consent.Channel{consent.ChannelEmail, consent.ChannelSMS}, Frequency: consent.FrequencyMonthly, Position: 5}
}

func TestCommunicationTopicValidation(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	svc := openService(t, store, newSigner(t))
	seed(t, svc)
	tests := []struct {
		name   string
		edit   func(p *consent.Purpose)
		fields map[string]string // field → problem key
	}{
		{"unknown kind", func(p *consent.Purpose) { p.Kind = "letters" }, map[string]string{"kind": "purpose_kind"}},
		{"no channel", func(p *consent.Purpose) { p.Channels = nil }, map[string]string{"channels": "communication_channels"}},
		{"unknown channel", func(p *consent.Purpose) { p.Channels = []consent.Channel{"fax"} }, map[string]string{"channels[0]": "channel"}},
		{"channel twice", func(p *consent.Purpose) { p.Channels = []consent.Channel{"email", "email"} }, map[string]string{"channels[1]": "channel_twice"}},
		{"no frequency", func(p *consent.Purpose) { p.Frequency = "" }, map[string]string{"frequency": "frequency"}},
		{"necessary", func(p *consent.Purpose) { p.Necessary = true }, map[string]string{"necessary": "communication_not_necessary"}},
		{"not consent", func(p *consent.Purpose) { p.LegalBasis = consent.BasisLegitimateInterest }, map[string]string{"legal_basis": "communication_consent"}},
		{"processing with channels", func(p *consent.Purpose) { p.Kind = consent.KindProcessing },
			map[string]string{"channels": "communication_only", "frequency": "communication_only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newsletter()
			tt.edit(&p)
			_, err := svc.PutPurpose(context.Background(), p, true)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid {
				t.Fatalf("PutPurpose = %v, want invalid", err)
			}
			for field, key := range tt.fields {
				if got := e.FieldKeys[field].Key; got != key {
					t.Errorf("%s: problem %q, want %q (all: %v)", field, got, key, e.Fields)
				}
			}
			if len(e.FieldKeys) != len(tt.fields) {
				t.Errorf("problems %v, want only %v", e.Fields, tt.fields)
			}
		})
	}
}

func TestCommunicationDecisions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		// An opt-out jurisdiction: a processing purpose is allowed until
		// refused there, a topic never before the subject opts in.
		if _, err := svc.PutProperty(ctx, consent.Property{Key: "us", Name: "US shop", DefaultJurisdiction: "US-TX"}, true); err != nil {
			t.Fatal(err)
		}
		stored, err := svc.PutPurpose(ctx, newsletter(), true)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Kind != consent.KindCommunication || !slices.Equal(stored.Channels, []consent.Channel{"email", "sms"}) || stored.Frequency != consent.FrequencyMonthly {
			t.Fatalf("stored topic = %+v", stored)
		}
		if p, _ := svc.Purpose("analytics"); p.Kind != consent.KindProcessing || p.Channels == nil {
			t.Fatalf("a purpose without a kind = %+v, want processing with no channels", p)
		}
		ev := func(id, purpose string, action consent.Action) consent.Event {
			return consent.Event{ID: id, Property: "shop", Subject: "cust-n", Purpose: purpose, Action: action, Source: consent.SourcePreferences, NoticeVersion: "v1"}
		}
		email := consent.Question{Subject: "cust-n", Purpose: "newsletter", Channel: consent.ChannelEmail}
		sms := consent.Question{Subject: "cust-n", Purpose: "newsletter", Channel: consent.ChannelSMS}
		topic := consent.Question{Subject: "cust-n", Purpose: "newsletter"}
		check := func(when string, want map[*consent.Question]consent.Reason) {
			t.Helper()
			for q, reason := range want {
				got := decide(t, svc, *q)
				if got.Reason != reason || got.Allowed != (reason == consent.ReasonConsentGranted) {
					t.Errorf("%s: %s/%s = %+v, want %s", when, q.Purpose, q.Channel, got, reason)
				}
			}
		}
		if got := decide(t, svc, consent.Question{Subject: "cust-n", Purpose: "analytics", Property: "us"}); !got.Allowed {
			t.Fatalf("analytics in an opt-out jurisdiction = %+v, want allowed", got)
		}
		check("before any choice", map[*consent.Question]consent.Reason{&email: consent.ReasonNoConsentRecorded, &topic: consent.ReasonNoConsentRecorded})
		us := email
		us.Property = "us"
		check("opt-out jurisdiction", map[*consent.Question]consent.Reason{&us: consent.ReasonNoConsentRecorded})

		appendOK(t, svc, ev("n1", "newsletter", consent.ActionGrant))
		check("topic granted", map[*consent.Question]consent.Reason{&email: consent.ReasonConsentGranted, &sms: consent.ReasonConsentGranted, &topic: consent.ReasonConsentGranted, &us: consent.ReasonConsentGranted})

		appendOK(t, svc, ev("n2", "newsletter", consent.ActionWithdraw))
		check("topic withdrawn", map[*consent.Question]consent.Reason{&email: consent.ReasonConsentWithdrawn, &sms: consent.ReasonConsentWithdrawn, &topic: consent.ReasonConsentWithdrawn})

		appendOK(t, svc, ev("n3", "newsletter", consent.ActionGrant))
		// The index rebuilt from the ledger says the same.
		again := openService(t, store, signer)
		for q, want := range map[*consent.Question]bool{&email: true, &sms: true} {
			if got, _ := again.Decider().Decide(q, false); got.Allowed != want {
				t.Errorf("after a restart %s = %+v", q.Channel, got)
			}
		}
		for _, q := range []consent.Question{
			{Subject: "cust-n", Purpose: "newsletter", Channel: consent.ChannelPost},
			{Subject: "cust-n", Purpose: "newsletter", Channel: "fax"},
			{Subject: "cust-n", Purpose: "analytics", Channel: consent.ChannelEmail},
		} {
			if _, err := svc.Decider().Decide(&q, false); !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("Decide(%s/%s) = %v, want invalid channel", q.Purpose, q.Channel, err)
			}
		}
	})
}

func TestCommunicationEventAuthors(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	svc := openService(t, store, newSigner(t))
	seed(t, svc)
	if _, err := svc.PutPurpose(context.Background(), newsletter(), true); err != nil {
		t.Fatal(err)
	}
	subject := func(purpose string, action consent.Action, source consent.Source) consent.Event {
		return consent.Event{ID: "x", Property: "shop", Subject: "cust-a", Purpose: purpose, Action: action, Source: source}
	}
	device := event("x", "dev-a", "newsletter", consent.ActionGrant)
	tests := []struct {
		name  string
		event consent.Event
		by    consent.Author
		field string // "" when allowed
	}{
		{"preference link, topic", subject("newsletter", consent.ActionGrant, consent.SourcePreferences), consent.Author{Kind: consent.AuthorPreferenceLink}, ""},
		{"preference link, withdrawal", subject("newsletter", consent.ActionWithdraw, consent.SourcePreferences), consent.Author{Kind: consent.AuthorPreferenceLink}, ""},
		{"record key", subject("newsletter", consent.ActionGrant, consent.SourceAPI), consent.Author{Kind: consent.AuthorRecordKey}, ""},
		{"portal, topic", subject("newsletter", consent.ActionGrant, consent.SourcePortal), consent.Author{Kind: consent.AuthorPortal}, ""},
		{"preference link, processing purpose", subject("analytics", consent.ActionGrant, consent.SourcePreferences), consent.Author{Kind: consent.AuthorPreferenceLink}, "purpose"},
		{"preference link, other source", subject("newsletter", consent.ActionGrant, consent.SourcePortal), consent.Author{Kind: consent.AuthorPreferenceLink}, "source"},
		{"preference link, device", consent.Event{ID: "x", Property: "shop", Device: "dev-a", Purpose: "newsletter", Action: consent.ActionGrant, Source: consent.SourcePreferences},
			consent.Author{Kind: consent.AuthorPreferenceLink}, "device"},
		{"banner device", device, consent.Author{Kind: consent.AuthorIngestKey, Property: "shop"}, "device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := []consent.Event{tt.event}
			err := svc.ValidateEvents(events, tt.by)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("ValidateEvents = %v, want allowed", err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Fields["events[0]."+tt.field] == "" {
				t.Fatalf("ValidateEvents = %v, want a problem with events[0].%s", err, tt.field)
			}
		})
	}
}

// TestCommunicationDecisionAllocations: asking about a channel keeps the
// decision free of allocations.
func TestCommunicationDecisionAllocations(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	svc := openService(t, store, newSigner(t))
	seed(t, svc)
	if _, err := svc.PutPurpose(context.Background(), newsletter(), true); err != nil {
		t.Fatal(err)
	}
	appendOK(t, svc, consent.Event{ID: "g", Property: "shop", Subject: "cust-z", Purpose: "newsletter", Action: consent.ActionGrant, Source: consent.SourceAPI, NoticeVersion: "v1"})
	d := svc.Decider()
	q := consent.Question{Subject: "cust-z", Purpose: "newsletter", Channel: consent.ChannelSMS, Jurisdiction: "DE"}
	if n := testing.AllocsPerRun(1000, func() {
		if a, err := d.Decide(&q, false); err != nil || !a.Allowed {
			t.Fatalf("%+v %v", a, err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per decision, want 0", n)
	}
}

// TestChannelDecisions: choices by one channel decide questions about that
// channel; a question without a channel asks about every channel the
// topic declares; events naming a channel are checked.
func TestChannelDecisions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		if _, err := svc.PutPurpose(ctx, newsletter(), true); err != nil {
			t.Fatal(err)
		}
		n := 0
		ev := func(channel consent.Channel, action consent.Action) consent.Event {
			n++
			return consent.Event{ID: fmt.Sprintf("ch%d", n), Property: "shop", Subject: "cust-ch", Purpose: "newsletter", Channel: channel,
				Action: action, Source: consent.SourcePreferences, NoticeVersion: "v1"}
		}
		q := func(channel consent.Channel) consent.Question {
			return consent.Question{Subject: "cust-ch", Purpose: "newsletter", Channel: channel}
		}
		steps := []struct {
			name  string
			event consent.Event
			want  map[consent.Channel]consent.Reason // "" is the question without a channel
		}{
			{"email granted", ev(consent.ChannelEmail, consent.ActionGrant), map[consent.Channel]consent.Reason{
				consent.ChannelEmail: consent.ReasonConsentGranted, consent.ChannelSMS: consent.ReasonNoConsentRecorded, "": consent.ReasonNoConsentRecorded}},
			{"sms granted", ev(consent.ChannelSMS, consent.ActionGrant), map[consent.Channel]consent.Reason{
				consent.ChannelEmail: consent.ReasonConsentGranted, consent.ChannelSMS: consent.ReasonConsentGranted, "": consent.ReasonConsentGranted}},
			{"sms withdrawn", ev(consent.ChannelSMS, consent.ActionWithdraw), map[consent.Channel]consent.Reason{
				consent.ChannelEmail: consent.ReasonConsentGranted, consent.ChannelSMS: consent.ReasonConsentWithdrawn, "": consent.ReasonConsentWithdrawn}},
			{"all withdrawn", ev("", consent.ActionWithdraw), map[consent.Channel]consent.Reason{
				consent.ChannelEmail: consent.ReasonConsentWithdrawn, consent.ChannelSMS: consent.ReasonConsentWithdrawn, "": consent.ReasonConsentWithdrawn}},
			{"email granted again", ev(consent.ChannelEmail, consent.ActionGrant), map[consent.Channel]consent.Reason{
				consent.ChannelEmail: consent.ReasonConsentGranted, consent.ChannelSMS: consent.ReasonConsentWithdrawn, "": consent.ReasonConsentWithdrawn}},
		}
		for _, step := range steps {
			appendOK(t, svc, step.event)
			for _, d := range []*consent.Service{svc, openService(t, store, signer)} { // live, and rebuilt from the ledger
				for channel, reason := range step.want {
					question := q(channel)
					got, err := d.Decider().Decide(&question, false)
					if err != nil || got.Reason != reason || got.Allowed != (reason == consent.ReasonConsentGranted) {
						t.Errorf("%s: %q = %+v %v, want %s", step.name, channel, got, err, reason)
					}
				}
			}
		}
		for _, tt := range []struct {
			name  string
			event consent.Event
			key   string
		}{
			{"unknown channel", consent.Event{Channel: "fax"}, "channel"},
			{"channel not declared", consent.Event{Channel: consent.ChannelPost}, "channel_not_declared"},
			{"channel with a vendor", consent.Event{Channel: consent.ChannelEmail, Vendor: "metrics-co"}, "channel_with_vendor"},
			{"objection by channel", consent.Event{Channel: consent.ChannelEmail, Action: consent.ActionObject}, "channel_with_objection"},
		} {
			e := ev(tt.event.Channel, consent.ActionGrant)
			e.Source = consent.SourceAPI
			if tt.event.Vendor != "" {
				e.Vendor = tt.event.Vendor
			}
			if tt.event.Action != "" {
				e.Action = tt.event.Action
			}
			err := svc.ValidateEvents([]consent.Event{e}, consent.Author{Kind: consent.AuthorRecordKey})
			ex, ok := errs.As(err)
			if !ok || ex.FieldKeys["events[0].channel"].Key != tt.key {
				t.Errorf("%s: ValidateEvents = %v, want problem %s on events[0].channel", tt.name, err, tt.key)
			}
		}
	})
}
