package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/staff"
)

// TestDashboardBackups: the dashboard says where backups stand and what to
// do: unscheduled, late, a drill missing or failed; the figures of the
// last drill; only for roles that watch the audit log or staff, in each
// language.
func TestDashboardBackups(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := context.Background()
		now := f.console.Now()
		f.console.Backups = func(ctx context.Context) (recovery.Status, error) { return recovery.CurrentStatus(ctx, store) }
		officer := &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_sec", Name: "Sec Officer", Role: staff.RoleSecurityOfficer}}
		dashboard := func(lang string) (int, string) {
			w := serveAs(officer, f.console.HandleDashboard(), "GET", "/admin?lang="+lang, nil, nil)
			return w.Code, w.Body.String()
		}

		checkLanguages(t, []consolePage{{name: "no backups", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) { return dashboard(lang) },
			english: []string{">Backups<", "Last backup", "none yet", "Backups are not scheduled"}}})

		f.console.BackupSchedule = BackupSchedule{Scheduled: true, Every: 24 * time.Hour, DrillEvery: 7 * 24 * time.Hour}
		for _, run := range []recovery.Run{
			{Kind: recovery.KindBackup, BackupID: "20261201T000000Z-aaaaaa", StartedAt: now.Add(-72 * time.Hour), FinishedAt: now.Add(-72 * time.Hour), OK: true, StoredBytes: 3 << 20},
			{Kind: recovery.KindDrill, BackupID: "20261201T000000Z-aaaaaa", StartedAt: now.Add(-70 * time.Hour), FinishedAt: now.Add(-70 * time.Hour), OK: true,
				RTO: 42 * time.Second, RPO: 2 * time.Hour},
			{Kind: recovery.KindBackup, StartedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Hour), Message: "put chunk 3: no space left on device"},
		} {
			if err := recovery.Record(ctx, store, run); err != nil {
				t.Fatal(err)
			}
		}
		code, body := dashboard("en")
		for _, want := range []string{"20261201T000000Z-aaaaaa", "3.0 MiB", "restored and checked in 42s; the data was 2h0m0s old",
			"older than twice its interval", "The last backup failed on", "no space left on device"} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %q (%d)", want, code)
			}
		}
		if strings.Contains(body, "No restore drill passed") {
			t.Error("a drill within its interval is reported late")
		}
		support := &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_sam", Name: "Sam Support", Role: staff.RoleSupport}}
		if w := serveAs(support, f.console.HandleDashboard(), "GET", "/admin", nil, nil); strings.Contains(w.Body.String(), "Last backup") {
			t.Error("support sees the backups")
		}
	})
}
