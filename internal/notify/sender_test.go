package notify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/notify"
)

func TestDemoDrop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d := &notify.DemoDrop{Dir: dir}
	if err := d.Send(context.Background(), notify.Message{To: "ada@example.org", Subject: "Your code", Text: "Code: 123456"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "To: ada@example.org") || !strings.Contains(string(b), "123456") {
		t.Fatalf("file: %q", b)
	}
}

func TestDisclosureRequestTemplate(t *testing.T) {
	tpl, err := notify.NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	data := notify.DisclosureRequest{Brand: notify.Brand{CompanyName: "Shop <b>", Colour: "#0b57d0"}, Vendor: "AdNet", Purpose: "Marketing",
		Categories: "contact, behavioural", Reason: "to show you offers", AnswerBy: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
		PortalURL: "https://shop.example/privacy/home#third-parties"}
	for _, lang := range notify.Languages() {
		msg, err := tpl.Render(lang, notify.TemplateDisclosureRequest, data)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		for _, part := range []string{msg.Text, msg.HTML} {
			if !strings.Contains(part, "AdNet") || !strings.Contains(part, "2026-12-05") || !strings.Contains(part, "https://shop.example/privacy/home#third-parties") {
				t.Errorf("%s: message lacks the facts: %q", lang, part)
			}
		}
		if strings.Contains(msg.HTML, "Shop <b>") {
			t.Errorf("%s: the company name is not escaped in HTML", lang)
		}
	}
	bad := data
	bad.Reason = "line\nbreak"
	if _, err := tpl.Render("en", notify.TemplateDisclosureRequest, bad); err == nil {
		t.Error("a reason with a line break was rendered")
	}
}
