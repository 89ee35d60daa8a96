package admin

import (
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/staff"
)

type dashboardData struct {
	Training  []staff.ModuleStatus
	CanReveal error
	// Aggregates: counts, never a person.
	ConsentEvents  int64
	ConsentStates  int
	VaultSubjects  int
	VaultFields    int
	AuditEntries   int64
	Alerts         []audit.Stored
	Names          names // of the staff and keys in Alerts
	ShowAggregates bool
	Backups        *backupView
	// MyActions are the open follow-up actions of incident reviews the
	// staff member owns, the earliest due first (incident_review.go).
	MyActions []incident.ReviewAction
	// Reviews says when the next access review is due (administrators).
	Reviews *accessReviewsData
	Now     time.Time
}

// backupView is where backups stand, and what to do about it.
type backupView struct {
	recovery.Status
	Schedule BackupSchedule
	// BackupLate and DrillLate say the newest success is older than its
	// schedule allows (a backup: twice its interval; a drill: its interval).
	BackupLate, DrillLate bool
}

// HandleDashboard shows what the signed-in staff member needs first: their
// training, whether they may reveal (and why not), aggregates for the
// roles that see them, and alerts for those who handle them.
func (c *Console) HandleDashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		session := sessionOf(r)
		role := session.Account.Role
		var d dashboardData
		var err error
		if d.Training, err = c.Staff.TrainingStatus(ctx, session.Account.ID); err != nil {
			c.fail(w, r, err)
			return
		}
		if role.Can(staff.PermReveal) {
			d.CanReveal = c.Staff.CanReveal(ctx, session.Account)
		}
		if role.Can(staff.PermAggregates) {
			d.ShowAggregates = true
			d.ConsentEvents, d.ConsentStates = c.Consent.Index().MaxSeq(), c.Consent.Index().Len()
			if !c.Vault.Sealed() {
				if d.VaultSubjects, d.VaultFields, err = c.Vault.Counts(ctx); err != nil {
					c.fail(w, r, err)
					return
				}
			}
			if d.AuditEntries, _, err = c.Audit.Head(ctx); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		if role.Can(staff.PermAudit) || role.Can(staff.PermStaff) {
			alerts, err := c.Audit.Search(ctx, audit.Query{Action: reveal.ActionAlert, Since: c.Now().AddDate(0, 0, -7), Limit: 20})
			if err != nil {
				c.fail(w, r, err)
				return
			}
			d.Alerts = alerts.Entries
			if len(d.Alerts) > 0 {
				d.Names = c.names(r)
			}
		}
		if c.Backups != nil && (role.Can(staff.PermAudit) || role.Can(staff.PermStaff)) {
			st, err := c.Backups(ctx)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			now, sch := c.Now(), c.BackupSchedule
			d.Backups = &backupView{Status: st, Schedule: sch,
				BackupLate: sch.Scheduled && (st.LastBackup == nil || now.Sub(st.LastBackup.FinishedAt) > 2*sch.Every),
				DrillLate: (sch.Scheduled || st.LastBackup != nil) && sch.DrillEvery > 0 &&
					(st.LastDrill == nil || now.Sub(st.LastDrill.FinishedAt) > sch.DrillEvery)}
		}
		if c.Incidents != nil {
			if d.MyActions, err = c.Incidents.OwnedActions(ctx, session.Account.ID); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		if c.Reviews != nil && role.Can(staff.PermStaff) {
			sc, err := c.Reviews.Schedule(ctx)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			d.Reviews = &accessReviewsData{Schedule: sc, DueLast: sc.DueBy.Add(-time.Second)}
		}
		d.Now = c.Now()
		notice := ""
		if r.URL.Query().Get("done") == "action" {
			notice = say(r, "rv_done_action_done")
		}
		c.render(w, r, http.StatusOK, "dashboard", page{Title: "title_dashboard", Data: d, Notice: notice})
	})
}
