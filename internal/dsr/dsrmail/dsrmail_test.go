package dsrmail_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/dsr/dsrmail"
	"github.com/steward-dev/steward/internal/notify"
)

// TestCustomerIsToldInTheirLanguage replays issue 12: the customer heard
// nothing when their request was received, asked about, completed,
// rejected, or their data was ready. Each event now sends one message,
// through an SMTP server, in the request's language, with a link to the
// request in the portal and no personal data: not their address in the
// body, not the question or reason staff typed, not their details.
func TestCustomerIsToldInTheirLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_ada"))
		var mu sync.Mutex
		var queued []dsrmail.Args
		insert := func(_ context.Context, _ *sql.Tx, a dsrmail.Args) error {
			mu.Lock()
			defer mu.Unlock()
			queued = append(queued, a)
			return nil
		}
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		f := newMailFixture(t, store, now, func(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event) error {
			return dsrmail.Enqueue(ctx, tx, r, e, insert)
		})
		v, requests, server, sender, tmpl := f.vault, f.requests, f.server, f.sender, f.tmpl
		m := &dsrmail.Mailer{Requests: requests, Sender: sender, Mail: tmpl, Brand: notify.Brand{CompanyName: "Shop"}, PortalURL: "https://shop.example"}

		const secret = "Nightingale Lane 12"
		// The completed request is a rectification: told in a correction's
		// words.
		subjects := map[string]map[string]string{
			"en": {"received": "We received your request", "question": "We have a question", "completed": "Your correction has been made", "rejected": "could not carry out", "export_ready": "ready to download"},
			"de": {"received": "Wir haben Ihre Anfrage erhalten", "question": "Frage zu Ihrer Anfrage", "completed": "Ihre Berichtigung wurde vorgenommen", "rejected": "nicht ausführen", "export_ready": "Herunterladen bereit"},
			"fr": {"received": "Nous avons reçu", "question": "une question", "completed": "Votre rectification a été effectuée", "rejected": "pas pu donner suite", "export_ready": "prêtes à être téléchargées"},
			"es": {"received": "Hemos recibido", "question": "una pregunta", "completed": "Su rectificación se ha realizado", "rejected": "No hemos podido", "export_ready": "listos para descargar"},
		}
		for _, lang := range dsr.Languages {
			email := "customer-" + lang + "@shop.example"
			hash, err := v.BlindIndex(ctx, "email", email)
			if err != nil {
				t.Fatal(err)
			}
			file := func(kind dsr.Kind, details string) dsr.Request {
				r, err := requests.File(ctx, dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, Email: email, EmailHash: hash, Details: details, Language: lang})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			queued = nil
			a := file(dsr.KindRectification, "My street is "+secret)
			must(t)(requests.AskCustomer(ctx, a.ID, "Is it "+secret+"?"))
			must(t)(requests.CustomerReplied(ctx, a.ID))
			must(t)(requests.Verify(ctx, a.ID))
			must(t)(requests.Start(ctx, a.ID))
			must(t)(requests.Complete(ctx, a.ID, ""))
			b := file(dsr.KindErasure, "")
			must(t)(requests.Reject(ctx, b.ID, "You live at "+secret))
			c := file(dsr.KindExport, "")
			must(t)(requests.Verify(ctx, c.ID))
			must(t)(requests.Start(ctx, c.ID))
			must(t)(requests.Complete(ctx, c.ID, "exp_1"))
			var events []string
			for _, q := range queued {
				events = append(events, q.Event)
			}
			want := "received question completed received rejected received export_ready"
			if strings.Join(events, " ") != want {
				t.Fatalf("%s: queued %v, want %s", lang, events, want)
			}
			before := len(server.Messages())
			for _, q := range queued {
				if err := m.Send(ctx, q); err != nil {
					t.Fatalf("%s %s: %v", lang, q.Event, err)
				}
			}
			sent := server.Messages()[before:]
			if len(sent) != len(queued) {
				t.Fatalf("%s: %d messages sent, want %d", lang, len(sent), len(queued))
			}
			for i, msg := range sent {
				event := queued[i].Event
				if len(msg.To) != 1 || msg.To[0] != email {
					t.Errorf("%s %s: to %v", lang, event, msg.To)
				}
				if !strings.Contains(msg.Subject, subjects[lang][event]) {
					t.Errorf("%s %s: subject %q lacks %q", lang, event, msg.Subject, subjects[lang][event])
				}
				link := "https://shop.example/privacy/requests/" + queued[i].RequestID + "?lang=" + lang
				for _, part := range []string{msg.Text, msg.HTML} {
					if strings.Contains(part, secret) || strings.Contains(part, email) || strings.Contains(part, "@") {
						t.Errorf("%s %s: body holds personal data:\n%s", lang, event, part)
					}
					if !strings.Contains(part, link) {
						t.Errorf("%s %s: body lacks the portal link %s", lang, event, link)
					}
				}
				if lang != "en" && strings.Contains(msg.Text, "We ") {
					t.Errorf("%s %s: English in the body: %q", lang, event, msg.Text)
				}
			}
		}
		// The queue holds ids only.
		for _, q := range queued {
			if strings.Contains(q.RequestID+q.Event, "@") {
				t.Fatalf("job args hold an address: %+v", q)
			}
		}
	})
}

func must(t *testing.T) func(dsr.Request, error) {
	return func(_ dsr.Request, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestEventOf: only access and export are "ready to download" when they
// complete; an erasure's or a rectification's report is no download (the
// erasure's customer was told "your data is ready to download").
func TestEventOf(t *testing.T) {
	done := dsr.Event{From: dsr.StateInProgress, To: dsr.StateCompleted}
	cases := []struct {
		kind   dsr.Kind
		result string
		want   string
	}{
		{dsr.KindExport, "exp_1", notify.UpdateExportReady},
		{dsr.KindAccess, "exp_1", notify.UpdateExportReady},
		{dsr.KindErasure, "erasure-report", notify.UpdateCompleted},
		{dsr.KindRectification, "rectification-report", notify.UpdateCompleted},
		{dsr.KindRestriction, "", notify.UpdateCompleted},
	}
	for _, c := range cases {
		if got := dsrmail.EventOf(dsr.Request{Kind: c.kind, ResultRef: c.result}, done); got != c.want {
			t.Errorf("%s completed with %q: %q, want %q", c.kind, c.result, got, c.want)
		}
	}
	if got := dsrmail.EventOf(dsr.Request{Kind: dsr.KindRectification}, dsr.Event{From: dsr.StateReceived, To: dsr.StateRejected}); got != notify.UpdateRejected {
		t.Errorf("rejected: %q", got)
	}
}
