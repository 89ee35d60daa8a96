package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
)

// TestAgentConfirm: the customer is asked in their language, with the
// agent's name, the expiry and the link, and the agent's markup is escaped.
func TestAgentConfirm(t *testing.T) {
	tmpl := mustTemplates(t)
	data := notify.AgentConfirm{Brand: brand, AgentName: "Grace <b>Agent</b>", RequestID: "req_1", Type: "erase",
		ExpiresAt: time.Date(2026, 12, 13, 9, 0, 0, 0, time.UTC), ConfirmURL: "https://shop.example/privacy/agent/confirm/req_1?token=t"}
	want := map[string]string{"en": "13 December 2026", "de": "13. Dezember 2026", "fr": "13 décembre 2026", "es": "13 de diciembre de 2026"}
	for _, lang := range notify.Languages() {
		t.Run(lang, func(t *testing.T) {
			msg := mustRender(t, tmpl, lang, notify.TemplateAgentConfirm, data)
			for _, part := range []string{msg.Text, msg.HTML} {
				for _, s := range []string{want[lang], "req_1", "Grace"} {
					if !strings.Contains(part, s) {
						t.Errorf("%s lacks %q", part, s)
					}
				}
			}
			if !strings.Contains(msg.HTML, "https://shop.example/privacy/agent/confirm/req_1?token=t") || strings.Contains(msg.HTML, "<b>Agent") {
				t.Errorf("html: %s", msg.HTML)
			}
			if msg.Headers["Content-Language"] != lang || !strings.Contains(msg.Subject, "Grace") {
				t.Errorf("message: %q", msg.Subject)
			}
		})
	}
	if _, err := tmpl.Render("en", notify.TemplateAgentConfirm, notify.AgentConfirm{Brand: brand, AgentName: "a\nb"}); errs.CodeOf(err) != errs.CodeInvalid {
		t.Fatalf("incomplete data: %v", err)
	}
}
