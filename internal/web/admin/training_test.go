package admin

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/staff"
)

// TestTrainingProgrammeInTheConsole: a module reads and asks its quiz in
// the reader's language; an administrator edits a built-in's German texts
// (the stored version, audited), assigns and removes modules; the report
// counts people by module and standing and downloads as a CSV whose cells
// cannot run as formulas.
func TestTrainingProgrammeInTheConsole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_admin"))
		s := f.console.Staff
		if err := s.InstallBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		officer, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "olive@shop.example", Name: "Olive Officer", Role: staff.RolePrivacyOfficer, Password: "correct horse battery"})
		analyst, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ann@shop.example", Name: "=HYPERLINK(\"x\")", Role: staff.RoleAnalyst, Password: "correct horse battery"})
		adminAcc, _ := s.Create(ctx, audit.System(), staff.NewAccount{Email: "ada@shop.example", Name: "Ada Admin", Role: staff.RoleAdmin, Password: "correct horse battery"})
		officerSession := &staff.Session{Token: "session-token", Account: officer.Account}
		adminSession := &staff.Session{Token: "session-token", Account: adminAcc.Account}

		// The module and its quiz in German.
		w := serveAs(officerSession, f.console.HandleModule(), "GET", "/admin/training/privacy-basics?lang=de", nil, map[string]string{"key": "privacy-basics"})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Datenschutz-Grundlagen") || !strings.Contains(w.Body.String(), "Neugier ist nie ein Zweck") ||
			!strings.Contains(w.Body.String(), "Dürfen Sie nachsehen?") || strings.Contains(w.Body.String(), "May you look them up?") {
			t.Fatalf("module in German: %d %.1500s", w.Code, w.Body.String())
		}
		// The reader's programme.
		w = serveAs(officerSession, f.console.HandleTraining(), "GET", "/admin/training?lang=en", nil, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Your programme") || !strings.Contains(w.Body.String(), `class="state-due">due<`) ||
			strings.Contains(w.Body.String(), "Assign a module") {
			t.Fatalf("officer's training page: %d %.2000s", w.Code, w.Body.String())
		}

		// The editor, filled in German; saving makes the stored version.
		w = serveAs(adminSession, f.console.HandleEditModule(), "GET", "/admin/training/privacy-basics/edit?text=de", nil, map[string]string{"key": "privacy-basics"})
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, "Datenschutz-Grundlagen") || !strings.Contains(body, "* Nein: Daten werden nur") || !strings.Contains(body, `name="csrf"`) {
			t.Fatalf("editor in German: %d %.1500s", w.Code, body)
		}
		m, _ := s.Module(ctx, "privacy-basics")
		de, _ := m.Text("de")
		form := url.Values{"key": {"privacy-basics"}, "lang": {"de"}, "replace": {"on"}, "title": {"Datenschutz bei uns"}, "content": {de.Content},
			"quiz": {staff.FormatQuiz(m.Localized("de").Quiz)}, "pass_mark": {"80"}, "validity_days": {"365"}, "required": {"on"}}
		if w := serveAs(adminSession, f.console.HandlePutModule(), "POST", "/admin/training", form, nil); w.Code != http.StatusSeeOther {
			t.Fatalf("save German texts: %d %.1500s", w.Code, w.Body.String())
		}
		m, _ = s.Module(ctx, "privacy-basics")
		if m.Origin != staff.OriginEdited || m.Localized("de").Title != "Datenschutz bei uns" || m.Title != "Privacy basics" {
			t.Fatalf("after the edit: origin %s, titles %q / %q", m.Origin, m.Localized("de").Title, m.Title)
		}
		page, err := f.console.Audit.Search(ctx, audit.Query{Action: "training.module_put", Limit: 5})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != audit.Staff(adminAcc.ID) {
			t.Fatalf("audit of the edit: %+v, %v", page.Entries, err)
		}
		// A German answer that differs from the English is refused.
		form.Set("quiz", strings.Replace(form.Get("quiz"), "* Nein:", "- Nein:", 1))
		form.Set("quiz", strings.Replace(form.Get("quiz"), "- Ja, wenn", "* Ja, wenn", 1))
		if w := serveAs(adminSession, f.console.HandlePutModule(), "POST", "/admin/training", form, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "right choice") {
			t.Fatalf("a translation with another answer: %d %.800s", w.Code, w.Body.String())
		}

		// Assignments.
		if w := serveAs(adminSession, f.console.HandlePutAssignment(), "POST", "/admin/training-assignments", url.Values{"role": {"analyst"}, "module": {"threat-response"}, "due_days": {"soon"}}, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "The assignment was not saved.") {
			t.Fatalf("bad days: %d %.500s", w.Code, w.Body.String())
		}
		if w := serveAs(adminSession, f.console.HandlePutAssignment(), "POST", "/admin/training-assignments", url.Values{"role": {"analyst"}, "module": {"threat-response"}, "due_days": {"10"}}, nil); w.Code != http.StatusSeeOther {
			t.Fatalf("assign: %d %.500s", w.Code, w.Body.String())
		}
		if w := serveAs(adminSession, f.console.HandleDeleteAssignment(), "POST", "/admin/training-assignments/delete", url.Values{"role": {"analyst"}, "module": {"incident-reporting"}}, nil); w.Code != http.StatusSeeOther {
			t.Fatalf("remove: %d %.500s", w.Code, w.Body.String())
		}
		assignments, _ := s.Assignments(ctx)
		has := func(role staff.Role, key string) bool {
			return slices.ContainsFunc(assignments, func(a staff.Assignment) bool { return a.Role == role && a.Module == key })
		}
		if !has(staff.RoleAnalyst, "threat-response") || has(staff.RoleAnalyst, "incident-reporting") {
			t.Fatalf("assignments: %+v", assignments)
		}

		// The report: privacy-basics is due for all three; the officer
		// passes it.
		d, err := s.DrawQuiz(ctx, officer.ID, "privacy-basics")
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
		if c, err := s.TakeQuiz(ctx, officer.ID, "privacy-basics", d.Token, answers); err != nil || !c.Passed {
			t.Fatalf("pass: %+v %v", c, err)
		}
		w = serveAs(adminSession, f.console.HandleTrainingReport(), "GET", "/admin/training-report?lang=en", nil, nil)
		body = w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, "<th scope=\"row\">Privacy basics</th><td>1</td><td>0</td><td>2</td><td>0</td>") ||
			!strings.Contains(body, "Olive Officer") || !strings.Contains(body, "Download as CSV") {
			t.Fatalf("report: %d %.3000s", w.Code, body)
		}
		w = serveAs(adminSession, f.console.HandleTrainingReport(), "GET", "/admin/training-report?state=done", nil, nil)
		if w.Code != http.StatusOK || strings.Count(w.Body.String(), `class="state-done"`) != 1 {
			t.Fatalf("report of the done: %d %.3000s", w.Code, w.Body.String())
		}
		if w := serveAs(adminSession, f.console.HandleTrainingReport(), "GET", "/admin/training-report?state=asleep", nil, nil); w.Code != http.StatusBadRequest {
			t.Fatalf("unknown state: %d", w.Code)
		}
		w = serveAs(adminSession, f.console.HandleTrainingReportCSV(), "GET", "/admin/training-report.csv", nil, nil)
		rows, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
		if err != nil || w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %v", w.Code, err)
		}
		programme, _ := s.Programme(ctx)
		if len(rows) != len(programme)+1 || rows[0][0] != "staff_id" {
			t.Fatalf("csv: %d rows for %d standings", len(rows), len(programme))
		}
		passed := 0
		for _, row := range rows[1:] {
			for _, cell := range row {
				if cell != "" && strings.ContainsAny(cell[:1], "=+-@") {
					t.Errorf("cell %q can run as a formula", cell)
				}
			}
			if row[4] == "privacy-basics" && row[6] == "done" && row[9] == "100" {
				passed++
			}
		}
		if passed != 1 {
			t.Fatalf("csv: %d done rows of privacy-basics, want 1:\n%s", passed, w.Body.String())
		}
		_ = analyst
	})
}
