package incident_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/outbox"
)

type vendorList []consent.Vendor

func (v vendorList) Vendors() []consent.Vendor { return v }

// TestVendorsTold: the vendors that receive a category the breach touched
// get the webhook incident.notified (once) and their contacts an email;
// a vendor of other categories is not told.
func TestVendorsTold(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		vendors := vendorList{
			{Key: "payco", Name: "PayCo", DataCategories: []string{"contact", "financial"}},
			{Key: "mailer", Name: "Mailer Inc", DataCategories: []string{"contact"}},
			{Key: "bank", Name: "Bank AG", DataCategories: []string{"financial"}},
		}
		contacts := map[string][]string{"payco": {"security@payco.example"}}
		n := newNotices(t, store, func(c *incident.Config) {
			c.Notices.Vendors = vendors
			c.Notices.VendorContacts = func(_ context.Context, key string) ([]string, error) { return contacts[key], nil }
		})
		secrets, err := n.vault.SecretBox("webhooks")
		if err != nil {
			t.Fatal(err)
		}
		box, err := outbox.New(outbox.Config{DB: store, Secrets: secrets, Audit: n.log, AllowHosts: []string{"127.0.0.1"}, Queue: "webhooks"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { box.Close() })
		// The deliveries' queue is not worked here: the message is what
		// is under test, not its delivery.
		workers := jobs.NewWorkers()
		if err := box.Register(workers); err != nil {
			t.Fatal(err)
		}
		box.UseJobs(openRunner(t, store, workers))
		endpoint, _, err := box.CreateEndpoint(n.ctx, outbox.Endpoint{URL: "http://127.0.0.1:9/hooks", EventTypes: []string{outbox.IncidentNotified}, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		n.customer(t, "c1", "c1@customer.example", "en")
		inc := n.assessed(t)
		if _, err := n.svc.NotifyVendors(n.ctx, inc.ID); !errs.Is(err, errs.CodeUnavailable) {
			t.Errorf("told vendors without webhooks: %v", err)
		}

		affected, err := n.svc.AffectedVendors(n.ctx, inc.ID)
		if err != nil || len(affected) != 2 || affected[0].Key != "payco" || affected[1].Key != "bank" || affected[0].NotifiedAt != nil {
			t.Fatalf("affected vendors %+v, %v", affected, err)
		}
		n.svc = withOutbox(t, n, vendors, box, contacts)
		if _, err := n.svc.NotifyVendors(n.ctx, "inc_none"); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("an unknown incident: %v", err)
		}
		told, err := n.svc.NotifyVendors(n.ctx, inc.ID)
		if err != nil || len(told) != 2 || told[0].Contacts != 1 || told[1].Contacts != 0 {
			t.Fatalf("told %+v, %v", told, err)
		}
		msg := n.mail.WaitFor(t, "security@payco.example")
		if !strings.Contains(msg.Text, inc.ID) || !strings.Contains(msg.Text, "financial") || !strings.Contains(msg.Text, "privacy@shop.example") {
			t.Errorf("vendor email:\n%s", msg.Text)
		}
		page, err := box.Messages(context.Background(), endpoint.ID, outbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 2 {
			t.Fatalf("%d webhook messages, want 2", len(page.Messages))
		}
		seen := map[string]bool{}
		for _, m := range page.Messages {
			var body struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(m.Payload, &body); err != nil {
				t.Fatal(err)
			}
			if body.Type != outbox.IncidentNotified || body.Data["incident_id"] != inc.ID || body.Data["kind"] != "confidentiality" {
				t.Errorf("webhook %s", m.Payload)
			}
			seen[body.Data["vendor"].(string)] = true
		}
		if !seen["payco"] || !seen["bank"] || seen["mailer"] {
			t.Errorf("vendors told: %v", seen)
		}
		// Again: nobody is told twice.
		if told, err := n.svc.NotifyVendors(n.ctx, inc.ID); err != nil || len(told) != 0 {
			t.Errorf("told again: %+v, %v", told, err)
		}
		affected, _ = n.svc.AffectedVendors(n.ctx, inc.ID)
		if affected[0].NotifiedAt == nil || affected[0].NotifiedBy != "staff:officer" {
			t.Errorf("affected after: %+v", affected)
		}
	})
}

// withOutbox returns n's register with vendors, their contacts and box.
func withOutbox(t *testing.T, n *notices, vendors vendorList, box *outbox.Service, contacts map[string][]string) *incident.Service {
	t.Helper()
	cfg := n.config
	cfg.Notices.Vendors, cfg.Notices.Outbox = vendors, box
	cfg.Notices.VendorContacts = func(_ context.Context, key string) ([]string, error) { return contacts[key], nil }
	svc, err := incident.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestRegulatorReport: the draft report holds what Art. 33(3) asks,
// computed from the incident, its latest set and its notice texts; a
// filing with the authority is recorded and sets when it was told.
func TestRegulatorReport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		n := newNotices(t, store)
		for _, id := range []string{"c1", "c2", "c3"} {
			n.customer(t, id, id+"@customer.example", "en")
		}
		n.consentFrom(t, 1, "c1", "DE")
		inc := n.assessed(t)
		if _, err := n.svc.SetNoticeText(n.ctx, inc.ID, texts["en"]); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.AddNote(n.ctx, inc.ID, "Passwords reset"); err != nil {
			t.Fatal(err)
		}
		n.clock.Advance(80 * time.Hour)
		r, err := n.svc.RegulatorReport(n.ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Nature.Title != inc.Title || r.Nature.Kind != incident.Confidentiality || !r.Subjects.Computed || r.Subjects.Approximate != 3 ||
			r.Subjects.Records != 3 || len(r.Subjects.Categories) != 1 || r.Subjects.Categories[0] != (incident.CategoryCount{Category: "financial", Records: 3}) ||
			r.Subjects.ByJurisdiction["DE"] != 1 || r.Subjects.ByJurisdiction["unknown"] != 2 {
			t.Errorf("subjects %+v nature %+v", r.Subjects, r.Nature)
		}
		if r.Officer.Email != "privacy@shop.example" || r.Consequences.Risk != incident.HighRisk || r.Consequences.ForPeople != texts["en"].Meaning ||
			r.Measures.Taken != texts["en"].Done {
			t.Errorf("officer %+v consequences %+v measures %+v", r.Officer, r.Consequences, r.Measures)
		}
		notes := 0
		for _, a := range r.Measures.Timeline {
			if a.Note == "Passwords reset" {
				notes++
			}
		}
		if notes != 1 || !r.Late || r.Deadline == nil || !r.Deadline.Equal(inc.AwareAt.Add(72*time.Hour)) {
			t.Errorf("timeline %+v late %v deadline %v", r.Measures.Timeline, r.Late, r.Deadline)
		}

		filed := n.clock.Now().Add(-time.Hour)
		f, err := n.svc.RecordFiling(n.ctx, inc.ID, incident.Filing{Kind: incident.FilingRegulator, Agency: "BfDI", Channel: "online form",
			Reference: "BfDI-2026-0042", FiledAt: filed})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := n.svc.Get(n.ctx, inc.ID)
		if got.AuthorityNotifiedAt == nil || !got.AuthorityNotifiedAt.Equal(filed) {
			t.Errorf("authority told at %v, want %v", got.AuthorityNotifiedAt, filed)
		}
		r, _ = n.svc.RegulatorReport(n.ctx, inc.ID)
		if r.Late || len(r.Filings) != 1 || r.Filings[0].ID != f.ID || r.Filings[0].Reference != "BfDI-2026-0042" {
			t.Errorf("after the filing: late %v filings %+v", r.Late, r.Filings)
		}
		if _, err := n.svc.RegulatorReport(n.ctx, "inc_none"); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("an unknown incident: %v", err)
		}
	})
}

// TestFilings: referrals to law enforcement with the evidence window and
// its command; what is refused.
func TestFilings(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		inc := f.open(t, "financial")
		now := f.clock.Now()
		from, to := now.Add(-48*time.Hour), now.Add(-24*time.Hour)
		tests := []struct {
			name  string
			in    incident.Filing
			field string
		}{
			{"a referral", incident.Filing{Kind: incident.FilingLawEnforcement, Agency: "LKA Berlin", Reference: "LKA-7", FiledAt: now.Add(-time.Hour),
				Note: "Stolen laptop reported", EvidenceFrom: &from, EvidenceTo: &to}, ""},
			{"a referral without evidence", incident.Filing{Kind: incident.FilingLawEnforcement, Agency: "Police", FiledAt: now}, ""},
			{"no agency", incident.Filing{Kind: incident.FilingLawEnforcement, FiledAt: now}, "agency"},
			{"an unknown kind", incident.Filing{Kind: "press", Agency: "Paper", FiledAt: now}, "kind"},
			{"in the future", incident.Filing{Kind: incident.FilingLawEnforcement, Agency: "Police", FiledAt: now.Add(time.Hour)}, "filed_at"},
			{"half a window", incident.Filing{Kind: incident.FilingLawEnforcement, Agency: "Police", FiledAt: now, EvidenceFrom: &from}, "evidence_to"},
			{"a window backwards", incident.Filing{Kind: incident.FilingLawEnforcement, Agency: "Police", FiledAt: now, EvidenceFrom: &to, EvidenceTo: &from}, "evidence_to"},
			{"a report without channel", incident.Filing{Kind: incident.FilingRegulator, Agency: "CNIL", FiledAt: now}, "channel"},
			{"a two-line agency", incident.Filing{Kind: incident.FilingLawEnforcement, Agency: "A\nB", FiledAt: now}, "agency"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.RecordFiling(f.ctx, inc.ID, tt.in)
				if tt.field == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if e, ok := errs.As(err); !ok || e.Fields[tt.field] == "" {
					t.Errorf("got %v, want a problem with %s", err, tt.field)
				}
			})
		}
		list, err := f.svc.Filings(f.ctx, inc.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("filings %+v, %v", list, err)
		}
		want := "steward audit export --from 2026-02-28T09:00:00Z --to 2026-03-01T09:00:00Z --out " + inc.ID + "-evidence.bundle"
		if cmd := list[0].EvidenceCommand(); cmd != want {
			t.Errorf("command %q, want %q", cmd, want)
		}
		if list[1].EvidenceCommand() != "" {
			t.Errorf("a referral without a window has a command")
		}
		timeline, _ := f.svc.Timeline(f.ctx, inc.ID)
		if last := timeline[len(timeline)-1]; last.Kind != incident.ActFiled || last.Note != "law_enforcement: Police" {
			t.Errorf("timeline's last %+v", last)
		}
	})
}

// TestRecordNotified: the incident becomes notified from what was
// recorded: the report's date and the last notice's email.
func TestRecordNotified(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		n := newNotices(t, store)
		n.customer(t, "c1", "c1@customer.example", "en")
		inc := n.assessed(t) // high risk: the individuals are told too
		if _, err := n.svc.RecordNotified(n.ctx, inc.ID, ""); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("notified with nothing told: %v", err)
		}
		filed := n.clock.Now()
		if _, err := n.svc.RecordFiling(n.ctx, inc.ID, incident.Filing{Kind: incident.FilingRegulator, Agency: "BfDI", Channel: "form", FiledAt: filed}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.RecordNotified(n.ctx, inc.ID, ""); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("notified at high risk without the notices: %v", err)
		}
		if _, err := n.svc.SetNoticeText(n.ctx, inc.ID, texts["en"]); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.QueueNotices(n.ctx, inc.ID); err != nil {
			t.Fatal(err)
		}
		waitDone(t, n, inc.ID)
		got, err := n.svc.RecordNotified(n.ctx, inc.ID, "all told")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != incident.Notified || got.AuthorityNotifiedAt == nil || !got.AuthorityNotifiedAt.Equal(filed) || got.IndividualsNotifiedAt == nil {
			t.Errorf("notified: %+v", got)
		}
	})
}
