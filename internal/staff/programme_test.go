package staff_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/staff"
)

// TestBuiltinModulesInEveryLanguage: every built-in module is written in
// every language of the catalog, with real content (not a copy of the
// English), a quiz of at least five questions whose right answers are the
// same in every language, and a pass mark.
func TestBuiltinModulesInEveryLanguage(t *testing.T) {
	builtins, err := staff.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, b := range builtins {
		keys = append(keys, b.Module.Key)
	}
	for _, want := range []string{"incident-reporting", "privacy-basics", "secure-development", "security-tools", "threat-response"} {
		if !slices.Contains(keys, want) {
			t.Errorf("no built-in module %q (have %v)", want, keys)
		}
	}
	for _, b := range builtins {
		m := b.Module
		t.Run(m.Key, func(t *testing.T) {
			if got := m.Languages(); !slices.Equal(got, []string{"en", "de", "es", "fr"}) {
				t.Errorf("languages %v", got)
			}
			if len(m.Quiz) < 5 || m.PassMark < 50 || m.PassMark > 100 || len(b.Assign) == 0 {
				t.Errorf("%d questions, pass mark %d, %d assignments", len(m.Quiz), m.PassMark, len(b.Assign))
			}
			for _, lang := range i18n.Default().Languages() {
				text, ok := m.Text(lang)
				if !ok {
					t.Fatalf("%s: not written", lang)
				}
				if words := len(strings.Fields(text.Content)); words < 250 {
					t.Errorf("%s: %d words of content, want a few hundred", lang, words)
				}
				if lang != i18n.English && (text.Title == m.Title || text.Content == m.Content || text.Quiz[0].Text == m.Quiz[0].Text) {
					t.Errorf("%s: a text is the English one", lang)
				}
				for i, q := range text.Quiz {
					if q.Answer != m.Quiz[i].Answer || len(q.Choices) != len(m.Quiz[i].Choices) {
						t.Errorf("%s question %d: answer %d of %d choices, English %d of %d", lang, i+1, q.Answer, len(q.Choices), m.Quiz[i].Answer, len(m.Quiz[i].Choices))
					}
				}
			}
		})
	}
}

// TestInstallBuiltins: the built-ins are installed once, with their
// default assignments and an audit entry each; an administrator's edit
// makes the stored version, which a later install leaves alone.
func TestInstallBuiltins(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_admin"))
		s, _ := newService(t, store)
		for range 2 {
			if err := s.InstallBuiltins(ctx); err != nil {
				t.Fatal(err)
			}
		}
		modules, err := s.Modules(ctx)
		if err != nil || len(modules) != 5 {
			t.Fatalf("%d modules, %v", len(modules), err)
		}
		installs := auditCount(t, store, "training.module_install")
		if installs != 5 {
			t.Fatalf("%d install entries, want 5 (the second install changes nothing)", installs)
		}
		m, _ := s.Module(ctx, "privacy-basics")
		if m.Origin != staff.OriginBuiltin || !m.Required || m.Localized("de").Title != "Datenschutz-Grundlagen" {
			t.Fatalf("privacy-basics: origin %s, required %v, German title %q", m.Origin, m.Required, m.Localized("de").Title)
		}
		assignments, _ := s.Assignments(ctx)
		has := func(role staff.Role, key string) bool {
			return slices.ContainsFunc(assignments, func(a staff.Assignment) bool { return a.Role == role && a.Module == key })
		}
		for _, role := range staff.Roles {
			if !has(role, "privacy-basics") {
				t.Errorf("privacy-basics is not assigned to %s", role)
			}
		}
		if !has(staff.RoleSecurityOfficer, "threat-response") || !has(staff.RoleAdmin, "secure-development") || has(staff.RoleSupport, "secure-development") {
			t.Errorf("default assignments: %+v", assignments)
		}
		// An edit (in German) makes the stored version.
		m.Translations["de"] = staff.ModuleText{Title: "Datenschutz für uns", Content: m.Translations["de"].Content, Quiz: m.Translations["de"].Quiz}
		if _, err := s.PutModule(ctx, m, false); err != nil {
			t.Fatal(err)
		}
		if err := s.InstallBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		m, _ = s.Module(ctx, "privacy-basics")
		if m.Origin != staff.OriginEdited || m.Localized("de").Title != "Datenschutz für uns" {
			t.Fatalf("after an edit and an install: origin %s, German title %q", m.Origin, m.Localized("de").Title)
		}
		if auditCount(t, store, "training.module_put") != 1 {
			t.Fatal("the edit is not audited")
		}
		// A translation whose right answer differs from the English is refused.
		bad := m
		bad.Translations = map[string]staff.ModuleText{"fr": m.Translations["fr"]}
		quiz := slices.Clone(bad.Translations["fr"].Quiz)
		quiz[0].Answer = (quiz[0].Answer + 1) % len(quiz[0].Choices)
		bad.Translations["fr"] = staff.ModuleText{Title: "x", Content: "y", Quiz: quiz}
		if _, err := s.PutModule(ctx, bad, false); !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "translations.fr.quiz[0].answer") {
			t.Fatalf("a translation with another answer: %v", err)
		}
	})
}

func auditCount(t *testing.T, store *db.DB, action string) int {
	t.Helper()
	var n int
	if err := store.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_entries WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// pass takes a module's quiz in lang with every answer right (right=true)
// or every answer wrong.
func pass(t *testing.T, s *staff.Service, staffID, key, lang string, right bool) staff.Completion {
	t.Helper()
	ctx := context.Background()
	m, err := s.Module(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.DrawQuizIn(ctx, staffID, key, lang)
	if err != nil {
		t.Fatal(err)
	}
	local := m.Localized(lang)
	n := 0
	if right {
		n = len(d.Questions)
	}
	c, err := s.TakeQuiz(ctx, staffID, key, d.Token, answer(local, d, n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestProgrammeStanding walks one person through their programme: due,
// a failed attempt (still due, recorded with its score and audited), a
// pass in German (done, and the reveal gate opens), expiring, overdue;
// the counts of the report follow, and match the audit log.
func TestProgrammeStanding(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_admin"))
		s, c := newService(t, store)
		if err := s.InstallBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		officer, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "olive@shop.example", Name: "Olive", Role: staff.RolePrivacyOfficer, Password: password})
		analyst, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ann@shop.example", Name: "Ann", Role: staff.RoleAnalyst, Password: password})
		state := func(a staff.Account, key string) staff.Standing {
			t.Helper()
			list, err := s.StandingOf(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range list {
				if st.Module.Key == key {
					return st
				}
			}
			t.Fatalf("%s has no %s in %+v", a.Name, key, list)
			return staff.Standing{}
		}
		if st := state(officer.Account, "privacy-basics"); st.State != staff.StandingDue || !st.Due.Equal(c.now().AddDate(0, 0, 30)) {
			t.Fatalf("new officer: %+v", st)
		}
		if err := s.CanReveal(ctx, officer.Account); !errs.Is(err, errs.CodeForbidden) {
			t.Fatalf("the gate before any pass: %v", err)
		}
		if got := pass(t, s, officer.ID, "privacy-basics", "de", false); got.Passed || got.Score != 0 {
			t.Fatalf("all wrong: %+v", got)
		}
		if err := s.CanReveal(ctx, officer.Account); !errs.Is(err, errs.CodeForbidden) {
			t.Fatalf("the gate after a failure: %v", err)
		}
		c.add(time.Minute)
		got := pass(t, s, officer.ID, "privacy-basics", "de", true)
		if !got.Passed || got.Score != 100 || !got.ExpiresAt.Equal(got.CompletedAt.AddDate(0, 0, 365)) {
			t.Fatalf("all right in German: %+v", got)
		}
		if err := s.CanReveal(ctx, officer.Account); err != nil {
			t.Fatalf("the gate after a pass: %v", err)
		}
		if st := state(officer.Account, "privacy-basics"); st.State != staff.StandingDone || st.Last == nil || st.Last.Score != 100 {
			t.Fatalf("after the pass: %+v", st)
		}
		c.add(340 * 24 * time.Hour)
		if st := state(officer.Account, "privacy-basics"); st.State != staff.StandingExpiring {
			t.Fatalf("25 days before expiry: %+v", st)
		}
		counts := staff.Count(mustProgramme(t, s))
		pb := counts[slices.IndexFunc(counts, func(mc staff.ModuleCounts) bool { return mc.Module.Key == "privacy-basics" })]
		if pb.Expiring != 1 || pb.Overdue != 1 || pb.Done != 0 || pb.Due != 0 {
			t.Fatalf("privacy-basics counts: %+v", pb)
		}
		if auditCount(t, store, "training.attempt") != 2 {
			t.Fatal("the two attempts are not both in the audit log")
		}
		c.add(30 * 24 * time.Hour)
		if st := state(officer.Account, "privacy-basics"); st.State != staff.StandingOverdue {
			t.Fatalf("after expiry: %+v", st)
		}
		if st := state(analyst.Account, "privacy-basics"); st.State != staff.StandingOverdue {
			t.Fatalf("an analyst who never took it: %+v", st)
		}
		// The programme is what the assignments say.
		if err := s.DeleteAssignment(ctx, staff.RoleAnalyst, "privacy-basics"); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.StandingOf(ctx, analyst.Account); slices.ContainsFunc(list, func(st staff.Standing) bool { return st.Module.Key == "privacy-basics" }) {
			t.Fatal("privacy-basics stays on the analyst's programme after its assignment was deleted")
		}
		if err := s.PutAssignment(ctx, staff.RoleAnalyst, "threat-response", 10); err != nil {
			t.Fatal(err)
		}
		if st := state(analyst.Account, "threat-response"); st.State != staff.StandingDue || !st.Due.Equal(c.now().AddDate(0, 0, 10)) {
			t.Fatalf("newly assigned: %+v", st)
		}
		for name, err := range map[string]error{
			"unknown role":   s.PutAssignment(ctx, "intern", "threat-response", 10),
			"no days":        s.PutAssignment(ctx, staff.RoleAnalyst, "threat-response", 0),
			"unknown module": s.PutAssignment(ctx, staff.RoleAnalyst, "nothing", 10),
		} {
			if err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

func mustProgramme(t *testing.T, s *staff.Service) []staff.Standing {
	t.Helper()
	p, err := s.Programme(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
