package trainingmail_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/staff/trainingmail"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// passAll passes a module's quiz with every answer right.
func passAll(t *testing.T, s *staff.Service, staffID, key string) {
	t.Helper()
	ctx := context.Background()
	m, err := s.Module(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.DrawQuiz(ctx, staffID, key)
	if err != nil {
		t.Fatal(err)
	}
	answers := make([]int, len(d.Questions))
	for i, q := range d.Questions {
		for _, pooled := range m.Quiz {
			if pooled.Text == q.Text {
				answers[i] = pooled.Answer
			}
		}
	}
	if c, err := s.TakeQuiz(ctx, staffID, key, d.Token, answers); err != nil || !c.Passed {
		t.Fatalf("pass %s: %+v, %v", key, c, err)
	}
}

// TestRemindersOnceEachInTheirLanguage: 14 days and 3 days before a pass
// expires and once it is overdue, each staff member gets one reminder of
// each, in the language they chose (English when they follow the
// browser), through a real SMTP server; running the job again sends
// nothing; a disabled account gets nothing; a renewed pass starts afresh.
func TestRemindersOnceEachInTheirLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_admin"))
		v := vaulttest.Open(t, store)
		box, err := v.SecretBox("staff-totp")
		if err != nil {
			t.Fatal(err)
		}
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{t: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)}
		s, err := staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log, Now: c.now, Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InstallBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		// Only privacy-basics stays on the programme, for a readable count.
		assignments, _ := s.Assignments(ctx)
		for _, a := range assignments {
			if a.Module != "privacy-basics" {
				if err := s.DeleteAssignment(ctx, a.Role, a.Module); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := map[string]string{} // email → language
		for i, p := range []struct {
			lang     string
			role     staff.Role
			disabled bool
		}{{"de", staff.RolePrivacyOfficer, false}, {"fr", staff.RoleSupport, false}, {"", staff.RoleAnalyst, false}, {"es", staff.RoleAdmin, true}} {
			email := fmt.Sprintf("person%d@shop.example", i)
			a, err := s.Create(ctx, audit.System(), staff.NewAccount{Email: email, Name: fmt.Sprintf("Person %d", i), Role: p.role, Password: "correct horse battery staple"})
			if err != nil {
				t.Fatal(err)
			}
			if p.lang != "" {
				if err := s.SetLanguage(ctx, audit.System(), a.ID, p.lang); err != nil {
					t.Fatal(err)
				}
			}
			passAll(t, s, a.ID, "privacy-basics")
			if p.disabled {
				if err := s.Disable(ctx, audit.System(), a.ID); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want[email] = map[string]string{"": "en"}[p.lang]
			if p.lang != "" {
				want[email] = p.lang
			}
		}
		server := mailtest.Start(t, mailtest.Options{TLS: notify.TLSNone})
		sender, err := notify.NewMailer(server.MailConfig("Shop <training@shop.example>"))
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := notify.NewTemplates()
		if err != nil {
			t.Fatal(err)
		}
		brand := notify.Brand{CompanyName: "Shop"}
		m := &trainingmail.Reminders{Staff: s, Sender: sender, Mail: tmpl, Brand: brand, ConsoleURL: "https://steward.shop.example"}
		seen := 0
		// expect runs the job twice and checks that the second sends nothing
		// and the first one message to each person, in their language.
		expect := func(step string, days int) {
			t.Helper()
			for range 2 {
				if err := m.Run(ctx); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			sent := server.Messages()[seen:]
			seen += len(sent)
			if len(sent) != len(want) {
				t.Fatalf("%s: %d messages, want %d (one each, once)", step, len(sent), len(want))
			}
			mod, _ := s.Module(ctx, "privacy-basics")
			for _, msg := range sent {
				lang, ok := want[msg.To[0]]
				if !ok {
					t.Fatalf("%s: a reminder to %s", step, msg.To[0])
				}
				expected, err := tmpl.Render(lang, notify.TemplateTrainingReminder, notify.TrainingReminder{Brand: brand, Module: mod.Localized(lang).Title,
					Due: c.now().Add(time.Duration(days) * 24 * time.Hour), DaysLeft: days, ConsoleURL: "https://steward.shop.example/admin/training/privacy-basics"})
				if err != nil {
					t.Fatal(err)
				}
				if msg.Subject != expected.Subject {
					t.Errorf("%s: to %s (%s): subject %q, want %q", step, msg.To[0], lang, msg.Subject, expected.Subject)
				}
			}
		}
		if err := m.Run(ctx); err != nil || len(server.Messages()) != 0 {
			t.Fatalf("a year ahead: %d messages, %v", len(server.Messages()), err)
		}
		c.add((365 - 14) * 24 * time.Hour)
		expect("14 days before", 14)
		c.add(11 * 24 * time.Hour)
		expect("3 days before", 3)
		c.add(5 * 24 * time.Hour)
		expect("overdue", -2)
		c.add(24 * time.Hour)
		if err := m.Run(ctx); err != nil || len(server.Messages()) != seen {
			t.Fatalf("a day later: %d new messages, %v", len(server.Messages())-seen, err)
		}
		// The German subject is not the English: the language check could fail.
		de, _ := tmpl.Render("de", notify.TemplateTrainingReminder, notify.TrainingReminder{Brand: brand, Module: "x", Due: c.now(), DaysLeft: 3, ConsoleURL: "https://x.example"})
		en, _ := tmpl.Render("en", notify.TemplateTrainingReminder, notify.TrainingReminder{Brand: brand, Module: "x", Due: c.now(), DaysLeft: 3, ConsoleURL: "https://x.example"})
		if de.Subject == en.Subject || !strings.Contains(de.Subject, "Schulung") {
			t.Fatalf("subjects: %q, %q", de.Subject, en.Subject)
		}
	})
}
