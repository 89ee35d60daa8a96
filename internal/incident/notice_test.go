package incident_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/receipt"
)

// notices is a fixture whose register sends notices through a working job
// runner, signed by a fresh key, and mails to the in-process SMTP server.
type notices struct {
	*fixture
	signer *receipt.Signer
	runner *jobs.Runner
}

func newNotices(t *testing.T, store *db.DB, adjust ...func(*incident.Config)) *notices {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	queue := &jobs.Deferred{}
	n := &notices{signer: signer}
	n.fixture = newFixture(t, store, true, append([]func(*incident.Config){func(c *incident.Config) {
		c.Notices = incident.Notices{Signer: signer, Jobs: queue, PortalURL: "https://shop.example/", BatchSize: 3, MaxAttempts: 2,
			Officer: incident.Contact{Name: "Privacy Office", Email: "privacy@shop.example"}}
	}}, adjust...)...)
	n.svc = n.fixture.svc
	workers := jobs.NewWorkers()
	if err := jobs.Register(workers, n.svc.NoticeWorker()); err != nil {
		t.Fatal(err)
	}
	n.runner = openRunner(t, store, workers)
	queue.Set(n.runner)
	return n
}

// openRunner works workers' jobs, polling often and retrying fast.
func openRunner(t *testing.T, store *db.DB, workers *jobs.Workers) *jobs.Runner {
	t.Helper()
	r, err := jobs.Open(context.Background(), jobs.Config{DB: store, Workers: workers, PollInterval: 20 * time.Millisecond,
		Retry: jobs.RetryPolicy{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, MaxAttempts: 10}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

// customer stores a customer with an email address (unless address is
// ""), a language (unless lang is "") and financial data.
func (n *notices) customer(t *testing.T, id, address, lang string) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System())
	if address != "" {
		if _, err := n.vault.Put(ctx, id, vaultField("email", "contact", address)); err != nil {
			t.Fatal(err)
		}
	}
	if lang != "" {
		if _, err := n.vault.Put(ctx, id, vaultField("language", "other", lang)); err != nil {
			t.Fatal(err)
		}
	}
	n.put(t, id, "iban", "financial")
}

// assessed opens an incident of financial data, computes its affected set
// and assesses it at high risk.
func (n *notices) assessed(t *testing.T) incident.Incident {
	t.Helper()
	inc := n.open(t, "financial")
	if _, err := n.svc.Compute(n.ctx, inc.ID, incident.Method{Kind: incident.MethodInventory}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Assess(n.ctx, inc.ID, incident.Assessment{Risk: incident.HighRisk, Reasons: []string{"bank details"}}); err != nil {
		t.Fatal(err)
	}
	inc, err := n.svc.Move(n.ctx, inc.ID, incident.Assessed, "")
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// texts are the officer's notice in each language, told apart by their
// first word.
var texts = map[string]incident.NoticeText{
	"en": {Language: "en", Happened: "EN a laptop was stolen.", Meaning: "EN your bank details may be read.", Done: "EN we locked the accounts.",
		CanDo: "EN watch your statements.", Contact: "EN privacy@shop.example"},
	"de": {Language: "de", Happened: "DE Ein Laptop wurde gestohlen.", Meaning: "DE Ihre Bankdaten könnten gelesen werden.",
		Done: "DE Wir haben die Konten gesperrt.", CanDo: "DE Prüfen Sie Ihre Kontoauszüge.", Contact: "DE privacy@shop.example"},
	"fr": {Language: "fr", Happened: "FR Un ordinateur a été volé.", Meaning: "FR Vos coordonnées bancaires pourraient être lues.",
		Done: "FR Nous avons bloqué les comptes.", CanDo: "FR Surveillez vos relevés.", Contact: "FR privacy@shop.example"},
	"es": {Language: "es", Happened: "ES Robaron un portátil.", Meaning: "ES Sus datos bancarios podrían leerse.",
		Done: "ES Bloqueamos las cuentas.", CanDo: "ES Revise sus extractos.", Contact: "ES privacy@shop.example"},
}

// subjects of the mail in each language (notify's catalog).
var noticeSubjects = map[string]string{
	"en": "Important notice from Shop Example Ltd about your data",
	"de": "Wichtige Mitteilung von Shop Example Ltd zu Ihren Daten",
	"fr": "Avis important de Shop Example Ltd concernant vos données",
	"es": "Aviso importante de Shop Example Ltd sobre sus datos",
}

func waitDone(t *testing.T, n *notices, id string) incident.Progress {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := n.svc.NoticeProgress(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Done() {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("notices not done: %+v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNoticesReachEveryCustomer: every affected customer is told once, in
// their language as the portal knows it (en, de, fr, es; a regional tag
// and no language fall back), by an email with no personal data and
// nothing of the breach, and a signed notice that verifies under the
// receipts' JWKS and fails with one byte changed. A customer without an
// address and one whose address is refused count as failed; queuing again
// sends nothing twice; an erasure deletes the customer's notices.
func TestNoticesReachEveryCustomer(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		n := newNotices(t, store)
		customers := []struct{ id, address, lang, want string }{
			{"c1", "c1@customer.example", "en", "en"},
			{"c2", "c2@customer.example", "de", "de"},
			{"c3", "c3@customer.example", "fr", "fr"},
			{"c4", "c4@customer.example", "es", "es"},
			{"c5", "c5@customer.example", "de-AT", "de"},
			{"c6", "c6@customer.example", "", "en"},
			{"c7", "", "fr", ""},                           // no address
			{"c8", "c8@customer.example", "es", "refused"}, // the server refuses it for good
			{"c9", "c9@customer.example", "de", "refused"}, // the server greylists it, every time
		}
		for _, c := range customers {
			n.customer(t, c.id, c.address, c.lang)
		}
		n.mail.RejectRecipient("c8@customer.example", 550)
		n.mail.RejectRecipient("c9@customer.example", 451)
		inc := n.assessed(t)

		if _, err := n.svc.QueueNotices(n.ctx, inc.ID); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("queued without a text: %v", err)
		}
		for _, lang := range []string{"es", "de", "en", "fr"} {
			if _, err := n.svc.SetNoticeText(n.ctx, inc.ID, texts[lang]); err != nil {
				t.Fatal(err)
			}
		}
		q, err := n.svc.QueueNotices(n.ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if q.Notices != 9 || q.Jobs != 3 {
			t.Fatalf("queued %+v, want 9 notices in 3 jobs", q)
		}
		p := waitDone(t, n, inc.ID)
		if p.Sent != 6 || p.Failed != 3 || p.NoAddress != 1 || p.Total != 9 {
			t.Fatalf("progress %+v", p)
		}

		for _, c := range customers {
			if c.want == "" || c.want == "refused" {
				continue
			}
			msg := n.mail.WaitFor(t, c.address)
			if msg.Subject != noticeSubjects[c.want] || msg.Header.Get("Content-Language") != c.want {
				t.Errorf("%s: subject %q (%s), want the %s one", c.id, msg.Subject, msg.Header.Get("Content-Language"), c.want)
			}
			if !strings.Contains(msg.Text, "https://shop.example/privacy") {
				t.Errorf("%s: the email does not send to the portal:\n%s", c.id, msg.Text)
			}
			for _, leak := range []string{c.address, c.id, inc.ID, "laptop", "Laptop", texts[c.want].Happened} {
				if strings.Contains(msg.Text, leak) || strings.Contains(msg.HTML, leak) {
					t.Errorf("%s: the email holds %q", c.id, leak)
				}
			}

			list, err := n.svc.NoticesFor(context.Background(), c.id)
			if err != nil || len(list) != 1 {
				t.Fatalf("%s: notices %v, %v", c.id, list, err)
			}
			got, err := receipt.VerifyNotice(list[0].JWS, n.signer.JWKS())
			if err != nil {
				t.Fatalf("%s: %v", c.id, err)
			}
			want := texts[c.want]
			if got.Language != c.want || got.SubjectID != c.id || got.IncidentID != inc.ID || len(got.Sections) != 5 ||
				got.Sections[0].Text != want.Happened || got.Sections[4].Text != want.Contact || got.Controller != "Shop Example Ltd" {
				t.Errorf("%s: notice %+v", c.id, got)
			}
			tampered := []byte(list[0].JWS)
			tampered[len(tampered)/2] ^= 0x01
			if _, err := receipt.VerifyNotice(string(tampered), n.signer.JWKS()); err == nil {
				t.Errorf("%s: a notice with a changed byte verifies", c.id)
			}
		}
		if got, _ := receipt.VerifyNotice(mustNotice(t, n, "c2"), n.signer.JWKS()); got.Sections[0].Heading != "Was ist passiert" {
			t.Errorf("German heading %q", got.Sections[0].Heading)
		}
		if got := n.mail.Refused("c8@customer.example"); got != 1 {
			t.Errorf("the address refused for good was tried %d times, want once", got)
		}
		if got := n.mail.Refused("c9@customer.example"); got != 2 {
			t.Errorf("the greylisted address was tried %d times, want MaxAttempts (2)", got)
		}
		var reasons []string
		for _, id := range []string{"c7", "c8", "c9"} {
			var reason string
			if err := store.QueryRowContext(context.Background(), `SELECT error FROM incident_notices WHERE subject_id = $1`, id).Scan(&reason); err != nil {
				t.Fatal(err)
			}
			reasons = append(reasons, reason)
		}
		if want := []string{incident.FailNoAddress, incident.FailRejected, incident.FailUndelivered}; !slices.Equal(reasons, want) {
			t.Errorf("failures %v, want %v", reasons, want)
		}

		// Again: nothing new is queued or sent.
		before := len(n.mail.Messages())
		if q, err := n.svc.QueueNotices(n.ctx, inc.ID); err != nil || q.Notices != 0 || q.Jobs != 0 {
			t.Fatalf("queued again: %+v, %v", q, err)
		}
		time.Sleep(200 * time.Millisecond)
		if after := len(n.mail.Messages()); after != before {
			t.Errorf("%d messages after queuing again, %d before", after, before)
		}

		// The erasure's step removes the customer's notices.
		if _, err := n.svc.Forget(context.Background(), "c2"); err != nil {
			t.Fatal(err)
		}
		if list, _ := n.svc.NoticesFor(context.Background(), "c2"); len(list) != 0 {
			t.Errorf("c2's notices after the erasure: %v", list)
		}
		var rows int
		if err := store.QueryRowContext(context.Background(), `SELECT count(*) FROM incident_notices WHERE subject_id = 'c2'`).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("c2's notice rows: %d, %v", rows, err)
		}
		if p, _ := n.svc.NoticeProgress(context.Background(), inc.ID); p.Total != 8 {
			t.Errorf("progress after the erasure: %+v", p)
		}
	})
}

func mustNotice(t *testing.T, n *notices, subject string) string {
	t.Helper()
	list, err := n.svc.NoticesFor(context.Background(), subject)
	if err != nil || len(list) == 0 {
		t.Fatalf("notices of %s: %v, %v", subject, list, err)
	}
	return list[0].JWS
}

// TestNoticeInterruptedIsNotSentAgain: a notice a crashed attempt left
// claimed ("sending") may have gone; the retry marks it failed
// (interrupted) and sends the rest of the batch.
func TestNoticeInterruptedIsNotSentAgain(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		n := newNotices(t, store, func(c *incident.Config) { c.Notices.BatchSize = 100 })
		for _, id := range []string{"c1", "c2"} {
			n.customer(t, id, id+"@customer.example", "en")
		}
		inc := n.assessed(t)
		if _, err := n.svc.SetNoticeText(n.ctx, inc.ID, texts["en"]); err != nil {
			t.Fatal(err)
		}
		// Queue with the runner stopped, then fake the crash.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := n.runner.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.QueueNotices(n.ctx, inc.ID); err != nil {
			t.Fatal(err)
		}
		mustExec(t, store, `UPDATE incident_notices SET status = 'sending' WHERE subject_id = 'c1'`)
		if err := n.svc.SendBatch(context.Background(), inc.ID, 0); err != nil {
			t.Fatal(err)
		}
		p, err := n.svc.NoticeProgress(context.Background(), inc.ID)
		if err != nil || p.Sent != 1 || p.Failed != 1 {
			t.Fatalf("progress %+v, %v", p, err)
		}
		n.mail.WaitFor(t, "c2@customer.example")
		for _, m := range n.mail.Messages() {
			if strings.EqualFold(m.To[0], "c1@customer.example") {
				t.Error("the interrupted notice was sent again")
			}
		}
		// A second run of the batch sends nothing.
		if err := n.svc.SendBatch(context.Background(), inc.ID, 0); err != nil {
			t.Fatal(err)
		}
		if got := len(n.mail.Messages()); got != 1 {
			t.Errorf("%d messages, want 1", got)
		}
	})
}

// TestNoticeRules: who may be told, and when.
func TestNoticeRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		n := newNotices(t, store)
		n.customer(t, "c1", "c1@customer.example", "en")
		open := n.open(t, "financial")
		bad := texts["en"]
		bad.Contact = "  "
		tests := []struct {
			name string
			do   func() error
			want errs.Code
		}{
			{"a text without a contact", func() error { _, err := n.svc.SetNoticeText(n.ctx, open.ID, bad); return err }, errs.CodeInvalid},
			{"a text in another language", func() error {
				t := texts["en"]
				t.Language = "it"
				_, err := n.svc.SetNoticeText(n.ctx, open.ID, t)
				return err
			}, errs.CodeInvalid},
			{"queued before a set", func() error { _, err := n.svc.QueueNotices(n.ctx, open.ID); return err }, errs.CodeConflict},
			{"an unknown incident", func() error { _, err := n.svc.SetNoticeText(n.ctx, "inc_none", texts["en"]); return err }, errs.CodeNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.do(); !errs.Is(err, tt.want) {
					t.Errorf("got %v, want %s", err, tt.want)
				}
			})
		}
		if _, err := n.svc.Compute(n.ctx, open.ID, incident.Method{Kind: incident.MethodInventory}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.SetNoticeText(n.ctx, open.ID, texts["en"]); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.QueueNotices(n.ctx, open.ID); !errs.Is(err, errs.CodeConflict) {
			t.Errorf("an open (unassessed) incident's notices were queued: %v", err)
		}
		off, err := incident.New(incident.Config{DB: store, Audit: n.log})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := off.QueueNotices(n.ctx, open.ID); !errs.Is(err, errs.CodeUnavailable) {
			t.Errorf("queued without mail: %v", err)
		}
	})
}
