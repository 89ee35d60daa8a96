package dsrmail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/dsr/dsrmail"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/staff"
)

type officers []staff.Account

func (o officers) List(context.Context) ([]staff.Account, error) { return o, nil }

// TestRemindersSpeakEachOfficersLanguage: the deadline reminder reaches
// every enabled privacy officer, each in the language they chose for the
// console (English when they follow their browser), and nobody else.
func TestRemindersSpeakEachOfficersLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		f := newMailFixture(t, store, now, nil)
		hash, err := f.vault.BlindIndex(ctx, "email", "kunde@shop.example")
		if err != nil {
			t.Fatal(err)
		}
		req, err := f.requests.File(ctx, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.GDPR, SubjectID: "cust-1", Email: "kunde@shop.example", EmailHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		requests, server, sender, tmpl := f.requests, f.server, f.sender, f.tmpl
		later := req.Deadline().Add(-24 * time.Hour) // at risk
		m := &dsrmail.Reminders{Requests: requests, Sender: sender, Mail: tmpl, Brand: notify.Brand{CompanyName: "Shop"},
			ConsoleURL: "https://steward.shop.example", Now: func() time.Time { return later },
			Staff: officers{
				{Email: "ada@shop.example", Role: staff.RolePrivacyOfficer, Language: "de"},
				{Email: "bea@shop.example", Role: staff.RolePrivacyOfficer, Language: "fr"},
				{Email: "cy@shop.example", Role: staff.RolePrivacyOfficer},
				{Email: "dee@shop.example", Role: staff.RolePrivacyOfficer, Language: "es", Disabled: true},
				{Email: "eve@shop.example", Role: staff.RoleSupport, Language: "de"},
			}}
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"ada@shop.example": "de", "bea@shop.example": "fr", "cy@shop.example": "en"}
		sent := server.Messages()
		if len(sent) != len(want) {
			t.Fatalf("%d reminders, want %d", len(sent), len(want))
		}
		for _, msg := range sent {
			lang, ok := want[msg.To[0]]
			if !ok {
				t.Errorf("a reminder to %s", msg.To[0])
				continue
			}
			expect, err := tmpl.Render(lang, notify.TemplateRequestDeadline, notify.RequestDeadline{Brand: notify.Brand{CompanyName: "Shop"},
				RequestID: req.ID, Type: "access", Deadline: req.Deadline(), DaysLeft: 1, ConsoleURL: "https://steward.shop.example/admin/requests/" + req.ID})
			if err != nil {
				t.Fatal(err)
			}
			if msg.Subject != expect.Subject || !strings.Contains(msg.Text, req.ID) {
				t.Errorf("%s (%s): subject %q, want %q", msg.To[0], lang, msg.Subject, expect.Subject)
			}
		}
		if en, de := subjectOf(t, tmpl, "en", req), subjectOf(t, tmpl, "de", req); en == de {
			t.Fatalf("the reminder's subject is the same in English and German (%q): the check above could not fail", en)
		}
	})
}

func subjectOf(t *testing.T, tmpl *notify.Templates, lang string, req dsr.Request) string {
	t.Helper()
	m, err := tmpl.Render(lang, notify.TemplateRequestDeadline, notify.RequestDeadline{Brand: notify.Brand{CompanyName: "Shop"}, RequestID: req.ID,
		Type: "access", Deadline: req.Deadline(), DaysLeft: 1, ConsoleURL: "https://steward.shop.example/admin/requests/" + req.ID})
	if err != nil {
		t.Fatal(err)
	}
	return m.Subject
}
