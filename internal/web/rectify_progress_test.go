package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// TestConsoleRectificationProgress: the request page of a rectification
// shows its work place by place (the vault, the recipients told), as an
// erasure's does; before, it showed the job's state only.
func TestConsoleRectificationProgress(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			srv := apptest.StartWith(t, dialect, apptest.Options{CorrectableFields: map[string]bool{"phone": true}})
			app := srv.App
			if _, err := app.Vault.Put(ctx, "cust-7", vault.Field{Name: "phone", Category: "contact", Value: []byte("+44 1")}); err != nil {
				t.Fatal(err)
			}
			customerCtx := audit.WithActor(ctx, audit.Actor{Kind: audit.KindSubject, ID: "cust-7"})
			hash, _ := app.Vault.BlindIndex(ctx, "email", "seven@shop.example")
			req, started, err := app.Fulfil.FileRectification(customerCtx, dsr.NewRequest{Kind: dsr.KindRectification, Regime: dsr.GDPR,
				SubjectID: "cust-7", Email: "seven@shop.example", EmailHash: hash, Proposal: map[string]string{"vault:phone": "+44 2"}})
			if err != nil || !started {
				t.Fatalf("file: %+v, started %v, %v", req, started, err)
			}
			b, _ := (&consoleFixture{srv: srv}).browserFor(t, staff.RolePrivacyOfficer)
			row := func(body, place, state string) bool {
				return regexp.MustCompile(`<tr><td>` + place + `</td><td>(<strong[^>]*>)?` + state).MatchString(body)
			}
			page := b.do("GET", "/admin/requests/"+req.ID, nil)
			if !strings.Contains(page.body, "Progress of the work") || !row(page.body, "vault", "") || !row(page.body, "recipients", "queued") {
				t.Fatalf("progress before the work: %.5000s", page.body)
			}
			if _, err := app.Fulfil.Rectify(ctx, req.ID); err != nil {
				t.Fatal(err)
			}
			page = b.do("GET", "/admin/requests/"+req.ID, nil)
			if !strings.Contains(page.body, "What the work did") || !row(page.body, "vault", "done") || !row(page.body, "recipients", "done") {
				t.Fatalf("progress after the work: %.5000s", page.body)
			}
			if strings.Contains(page.body, "+44 2") {
				t.Fatal("the progress shows the new value")
			}
		})
	}
}
