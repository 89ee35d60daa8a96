package notify_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/notify"
)

// everyMessage is one rendering of every message in each of its variants:
// every event of a request update, a correction's own words, a restriction
// lifted for one purpose and for all, and every wording of days left.
func everyMessage() map[string]any {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	portal := "https://shop.example/privacy/requests/dsr_7Hq2"
	out := map[string]any{
		notify.TemplateSigninCode:          signinData(),
		"signin_code_1min":                 notify.SigninCode{Brand: brand, Code: "402113", ValidMinutes: 1, SignInURL: "https://shop.example/privacy/signin?t=x"},
		notify.TemplateDisclosureRequest:   notify.DisclosureRequest{Brand: brand, Vendor: "Acme <Ads>", Purpose: "Marketing", Categories: "email, orders", Reason: "Offers & more", AnswerBy: day, PortalURL: "https://shop.example/privacy/disclosures"},
		notify.TemplateVendorQuestionnaire: notify.VendorQuestionnaire{Brand: brand, Vendor: "Acme", Link: "https://shop.example/q/abc", Expires: day},
		notify.TemplateSignInAddressChanged: notify.SignInAddressChanged{Brand: brand, ChangedAt: time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC),
			ContactEmail: "privacy@shop.example", PortalURL: "https://shop.example/privacy"},
		"signin_address_changed_nocontact": notify.SignInAddressChanged{Brand: brand, ChangedAt: day, PortalURL: "https://shop.example/privacy"},
		notify.TemplateAgentConfirm: notify.AgentConfirm{Brand: brand, AgentName: "Grace <b>Agent</b>", RequestID: "req_1", Type: "export",
			ExpiresAt: day, ConfirmURL: "https://shop.example/privacy/agent/confirm/req_1?token=t"},
		notify.TemplateRestrictionLift: notify.RestrictionLift{Brand: brand, Purpose: "Newsletter", PortalURL: "https://shop.example/privacy/home"},
		"restriction_lift_all":         notify.RestrictionLift{Brand: brand, PortalURL: "https://shop.example/privacy/home"},
		notify.TemplateIncidentAlert: notify.IncidentAlert{Brand: brand, Event: notify.IncidentReported, IncidentID: "inc_7Hq2",
			ConsoleURL: "https://steward.shop.example/admin/incidents/inc_7Hq2"},
		"incident_alert_deadline": notify.IncidentAlert{Brand: brand, Event: notify.IncidentDeadline, IncidentID: "inc_7Hq2",
			Party: "supervisory authority", Citation: "GDPR Art. 33(1)", Deadline: day.Add(9 * time.Hour), HoursLeft: 12,
			ConsoleURL: "https://steward.shop.example/admin/incidents/inc_7Hq2"},
		"incident_alert_action_overdue": notify.IncidentAlert{Brand: brand, Event: notify.IncidentActionOverdue, IncidentID: "inc_7Hq2",
			Deadline: day, ConsoleURL: "https://steward.shop.example/admin"},
		notify.TemplateIncidentNotice: notify.IncidentNotice{Brand: brand, PortalURL: "https://shop.example/privacy"},
		notify.TemplateIncidentVendor: notify.IncidentVendor{Brand: brand, Vendor: "Acme <Ads>", IncidentID: "inc_7Hq2", Categories: "contact, financial",
			ContactEmail: "privacy@shop.example"},
		"incident_vendor_nocontact": notify.IncidentVendor{Brand: brand, Vendor: "Acme", IncidentID: "inc_7Hq2", Categories: "contact"},
		"incident_alert_overdue": notify.IncidentAlert{Brand: brand, Event: notify.IncidentOverdue, IncidentID: "inc_7Hq2",
			Party: "supervisory authority", Citation: "GDPR Art. 33(1)", Deadline: day.Add(9 * time.Hour),
			ConsoleURL: "https://steward.shop.example/admin/incidents/inc_7Hq2"},
	}
	out["access_review_reminder_due"] = notify.AccessReviewReminder{Brand: brand, Quarter: "2027-Q1", Due: day, ConsoleURL: "https://steward.shop.example/admin/access-reviews"}
	out["access_review_reminder_overdue"] = notify.AccessReviewReminder{Brand: brand, Quarter: "2027-Q1", Due: day, Overdue: true,
		ConsoleURL: "https://steward.shop.example/admin/access-reviews"}
	for _, days := range []int{14, 3, -2} {
		out[fmt.Sprintf("training_reminder_%d", days)] = notify.TrainingReminder{Brand: brand, Module: "Privacy <basics>", Due: day, DaysLeft: days,
			ConsoleURL: "https://steward.shop.example/admin/training/privacy-basics"}
	}
	for _, days := range []int{5, 1, 0, -1, -4} {
		out[fmt.Sprintf("request_deadline_%d", days)] = deadlineData(days)
	}
	for _, kind := range []string{"access", "export", "rectify", "erase", "restrict", "object"} {
		out["request_deadline_"+kind] = notify.RequestDeadline{Brand: brand, RequestID: "dsr_7Hq2", Type: kind, Deadline: day, DaysLeft: 2, ConsoleURL: portal}
	}
	for _, event := range []string{notify.UpdateReceived, notify.UpdateQuestion, notify.UpdateCompleted, notify.UpdateRejected, notify.UpdateExportReady} {
		for _, kind := range []string{"access", "rectify"} {
			out["request_update_"+event+"_"+kind] = notify.RequestUpdate{Brand: brand, Event: event, RequestID: "dsr_7Hq2", Type: kind,
				ReceivedAt: day.AddDate(0, -1, 0), Deadline: day, PortalURL: portal}
		}
	}
	return out
}

// TestEveryMessageGolden keeps every message in every variant and language
// in testdata/golden/all: the catalog's words, assembled by one template per
// message, must read exactly as the reviewed texts.
func TestEveryMessageGolden(t *testing.T) {
	tmpl := mustTemplates(t)
	names := map[string]string{
		"signin_code_1min": notify.TemplateSigninCode, "signin_address_changed_nocontact": notify.TemplateSignInAddressChanged,
		"restriction_lift_all":    notify.TemplateRestrictionLift,
		"incident_alert_deadline": notify.TemplateIncidentAlert, "incident_alert_overdue": notify.TemplateIncidentAlert,
		"incident_alert_action_overdue": notify.TemplateIncidentAlert,
		"incident_vendor_nocontact":     notify.TemplateIncidentVendor,
	}
	for _, lang := range notify.Languages() {
		for variant, data := range everyMessage() {
			name := names[variant]
			if name == "" {
				name = variant
				for _, prefix := range []string{notify.TemplateRequestDeadline, notify.TemplateRequestUpdate, notify.TemplateTrainingReminder, notify.TemplateAccessReviewReminder} {
					if len(variant) > len(prefix) && variant[:len(prefix)] == prefix {
						name = prefix
					}
				}
			}
			t.Run(lang+"/"+variant, func(t *testing.T) {
				msg := mustRender(t, tmpl, lang, name, data)
				golden(t, filepath.Join("testdata", "golden", "all", lang, variant+".txt"), "Subject: "+msg.Subject+"\n\n"+msg.Text)
				golden(t, filepath.Join("testdata", "golden", "all", lang, variant+".html"), msg.HTML)
			})
		}
	}
}
