package notify_test

import (
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func mustTemplates(tb testing.TB) *notify.Templates {
	tb.Helper()
	tmpl, err := notify.NewTemplates()
	if err != nil {
		tb.Fatal(err)
	}
	return tmpl
}

func mustRender(tb testing.TB, tmpl *notify.Templates, lang, name string, data any) notify.Message {
	tb.Helper()
	msg, err := tmpl.Render(lang, name, data)
	if err != nil {
		tb.Fatalf("Render(%s, %s): %v", lang, name, err)
	}
	return msg
}

var brand = notify.Brand{CompanyName: "Beispiel & Söhne GmbH", LogoURL: "https://shop.example/logo.png", Colour: "#0b6e4f"}

func signinData() notify.SigninCode {
	return notify.SigninCode{Brand: brand, Code: "402113", ValidMinutes: 10,
		SignInURL: "https://shop.example/privacy/signin?t=Zm9vYmFy&next=%2Frequests"}
}

func deadlineData(daysLeft int) notify.RequestDeadline {
	return notify.RequestDeadline{Brand: brand, RequestID: "dsr_7Hq2", Type: "erase",
		Deadline: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), DaysLeft: daysLeft,
		ConsoleURL: "https://steward.shop.example/admin/requests/dsr_7Hq2"}
}

// TestGolden keeps every rendered message in testdata/golden, where a
// reviewer reads the texts as customers will; go test -update rewrites them.
func TestGolden(t *testing.T) {
	tmpl := mustTemplates(t)
	data := map[string]any{notify.TemplateSigninCode: signinData(), notify.TemplateRequestDeadline: deadlineData(3)}
	for _, lang := range notify.Languages() {
		for name, d := range data {
			t.Run(lang+"/"+name, func(t *testing.T) {
				msg := mustRender(t, tmpl, lang, name, d)
				golden(t, filepath.Join("testdata", "golden", lang, name+".txt"), "Subject: "+msg.Subject+"\n\n"+msg.Text)
				golden(t, filepath.Join("testdata", "golden", lang, name+".html"), msg.HTML)
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered message (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestRenderSpeaksTheLanguage(t *testing.T) {
	tmpl := mustTemplates(t)
	cases := []struct {
		accept, lang                   string
		signinSubject, deadlineSubject string
		body                           []string // phrases of the sign-in text
	}{
		{"en-GB", "en", "Your sign-in code for Beispiel & Söhne GmbH", "Request dsr_7Hq2: 3 days left",
			[]string{"valid for 10 minutes", "press the button on that page", "did not ask for this code", "1 December 2026"}},
		{"de-AT", "de", "Ihr Anmeldecode für Beispiel & Söhne GmbH", "Anfrage dsr_7Hq2: noch 3 Tage",
			[]string{"10 Minuten lang gültig", "Klicken Sie dort auf die Schaltfläche", "nicht angefordert", "1. Dezember 2026"}},
		{"fr-CH, fr;q=0.9", "fr", "Votre code de connexion pour Beispiel & Söhne GmbH", "Demande dsr_7Hq2\u00a0: 3 jours restants",
			[]string{"valable 10 minutes", "cliquer sur le bouton de cette page", "pas demandé ce code", "1er décembre 2026"}},
		{"es-419", "es", "Su código de acceso para Beispiel & Söhne GmbH", "Solicitud dsr_7Hq2: quedan 3 días",
			[]string{"válido durante 10 minutos", "pulsar el botón de esa página", "no ha solicitado este código", "1 de diciembre de 2026"}},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			signin := mustRender(t, tmpl, c.accept, notify.TemplateSigninCode, signinData())
			deadline := mustRender(t, tmpl, c.accept, notify.TemplateRequestDeadline, deadlineData(3))
			if signin.Subject != c.signinSubject {
				t.Errorf("sign-in subject %q, want %q", signin.Subject, c.signinSubject)
			}
			if deadline.Subject != c.deadlineSubject {
				t.Errorf("deadline subject %q, want %q", deadline.Subject, c.deadlineSubject)
			}
			for _, phrase := range c.body[:3] {
				if !strings.Contains(signin.Text, phrase) || !strings.Contains(signin.HTML, phrase) {
					t.Errorf("sign-in message lacks %q", phrase)
				}
			}
			if date := c.body[3]; !strings.Contains(deadline.Text, date) || !strings.Contains(deadline.HTML, date) {
				t.Errorf("deadline message lacks the date %q:\n%s", date, deadline.Text)
			}
			for _, part := range []string{signin.Text, signin.HTML} {
				if !strings.Contains(part, "402113") || !strings.Contains(part, "https://shop.example/privacy/signin?t=Zm9vYmFy") {
					t.Errorf("a part lacks the code or the link:\n%s", part)
				}
			}
			if !strings.Contains(signin.HTML, `<html lang="`+c.lang+`"`) {
				t.Errorf("HTML is not marked lang=%q", c.lang)
			}
			if got := signin.Headers["Content-Language"]; got != c.lang {
				t.Errorf("Content-Language %q", got)
			}
			if signin.Headers["Auto-Submitted"] != "auto-generated" {
				t.Errorf("headers %v lack Auto-Submitted", signin.Headers)
			}
		})
	}
}

func TestMatchLanguage(t *testing.T) {
	cases := []struct{ accept, want string }{
		{"", "en"},
		{"de", "de"},
		{"de-AT", "de"},
		{"de_CH", "de"},
		{"FR-be", "fr"},
		{"es-419", "es"},
		{"it-IT", "en"},
		{"*", "en"},
		{"it, de;q=0.5, fr;q=0.8", "fr"},
		{"fr;q=0, de;q=0.1", "de"},
		{"de;q=nonsense, es", "es"},
		{"en-US,en;q=0.9,de;q=0.8", "en"},
		{"pt-BR, es;q=0.7, de;q=0.7", "es"},
	}
	for _, c := range cases {
		if got := notify.MatchLanguage(c.accept); got != c.want {
			t.Errorf("MatchLanguage(%q) = %q, want %q", c.accept, got, c.want)
		}
	}
}

func TestDaysLeftWording(t *testing.T) {
	tmpl := mustTemplates(t)
	cases := []struct {
		lang string
		days int
		want string
	}{
		{"en", 1, "Request dsr_7Hq2: 1 day left"},
		{"en", 0, "Request dsr_7Hq2: due today"},
		{"en", -1, "Request dsr_7Hq2: overdue by 1 day"},
		{"en", -4, "Request dsr_7Hq2: overdue by 4 days"},
		{"de", 1, "Anfrage dsr_7Hq2: noch 1 Tag"},
		{"de", 0, "Anfrage dsr_7Hq2: Frist endet heute"},
		{"de", -2, "Anfrage dsr_7Hq2: Frist seit 2 Tagen überschritten"},
		{"fr", -1, "Demande dsr_7Hq2\u00a0: en retard de 1 jour"},
		{"es", -3, "Solicitud dsr_7Hq2: vencida hace 3 días"},
	}
	for _, c := range cases {
		msg := mustRender(t, tmpl, c.lang, notify.TemplateRequestDeadline, deadlineData(c.days))
		if msg.Subject != c.want {
			t.Errorf("%s, %d days: subject %q, want %q", c.lang, c.days, msg.Subject, c.want)
		}
		overdue := map[string]string{"en": "passed its legal deadline", "de": "ist abgelaufen", "fr": "est dépassé", "es": "ha vencido"}[c.lang]
		if strings.Contains(msg.Text, overdue) != (c.days < 0) {
			t.Errorf("%s, %d days: overdue wording (%q) wrong in\n%s", c.lang, c.days, overdue, msg.Text)
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	tmpl := mustTemplates(t)
	data := signinData()
	data.CompanyName = `Evil <script>alert("x")</script> & Co`
	data.SignInURL = `https://shop.example/signin?a=1&b="><script>alert(1)</script>`
	for _, lang := range notify.Languages() {
		msg := mustRender(t, tmpl, lang, notify.TemplateSigninCode, data)
		if strings.Contains(msg.HTML, "<script") {
			t.Fatalf("%s: HTML carries a script element:\n%s", lang, msg.HTML)
		}
		if !strings.Contains(msg.HTML, "Evil &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co") {
			t.Errorf("%s: company name not escaped as text:\n%s", lang, msg.HTML)
		}
		// The plain-text part shows the name as it is: nothing interprets it.
		if !strings.Contains(msg.Text, data.CompanyName) {
			t.Errorf("%s: text part altered the company name", lang)
		}
		wellFormed(t, msg.HTML)
	}
}

func TestHTMLIsWellFormedAndAccessible(t *testing.T) {
	tmpl := mustTemplates(t)
	noLogo := signinData()
	noLogo.LogoURL = ""
	for _, lang := range notify.Languages() {
		for name, data := range map[string]any{
			notify.TemplateSigninCode: signinData(), "signin_code without logo": noLogo,
			notify.TemplateRequestDeadline: deadlineData(-2),
		} {
			template := strings.TrimSuffix(name, " without logo")
			msg := mustRender(t, tmpl, lang, template, data)
			doc := wellFormed(t, msg.HTML)
			if doc.lang != lang {
				t.Errorf("%s %s: <html lang=%q>", lang, name, doc.lang)
			}
			if doc.title != msg.Subject {
				t.Errorf("%s %s: <title> %q, want the subject %q", lang, name, doc.title, msg.Subject)
			}
			if doc.images > 0 && doc.imagesWithAlt != doc.images {
				t.Errorf("%s %s: %d of %d images have alt text", lang, name, doc.imagesWithAlt, doc.images)
			}
			if wantImages := map[bool]int{true: 0, false: 1}[strings.HasSuffix(name, "without logo")]; doc.images != wantImages {
				t.Errorf("%s %s: %d images, want %d", lang, name, doc.images, wantImages)
			}
			if doc.h1 == "" {
				t.Errorf("%s %s: no heading", lang, name)
			}
		}
	}
}

type htmlFacts struct {
	lang, title, h1       string
	images, imagesWithAlt int
}

// wellFormed parses the HTML as XML, which fails on unclosed or crossed
// elements and bare ampersands, and gathers what accessibility needs.
func wellFormed(t *testing.T, html string) htmlFacts {
	t.Helper()
	var facts htmlFacts
	dec := xml.NewDecoder(strings.NewReader(html))
	dec.Strict = true
	var open []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("HTML is not well formed: %v\n%s", err, html)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			open = append(open, tok.Name.Local)
			for _, a := range tok.Attr {
				switch {
				case tok.Name.Local == "html" && a.Name.Local == "lang":
					facts.lang = a.Value
				case tok.Name.Local == "img" && a.Name.Local == "alt" && strings.TrimSpace(a.Value) != "":
					facts.imagesWithAlt++
				}
			}
			if tok.Name.Local == "img" {
				facts.images++
			}
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) == 0 {
				continue
			}
			switch open[len(open)-1] {
			case "title":
				facts.title += string(tok)
			case "h1":
				facts.h1 += string(tok)
			}
		}
	}
	return facts
}

func TestButtonTextContrasts(t *testing.T) {
	tmpl := mustTemplates(t)
	cases := []struct {
		colour, buttonText, link string
	}{
		{"#0b6e4f", "color:#ffffff", "color:#0b6e4f"},
		{"#FFEB3B", "color:#111827", "color:#111827"}, // yellow: dark text, and links not yellow on white
		{"#15c", "color:#ffffff", "color:#1155cc"},
		{"", "color:#ffffff", "color:#1d4ed8"},
	}
	for _, c := range cases {
		data := signinData()
		data.Colour = c.colour
		msg := mustRender(t, tmpl, "en", notify.TemplateSigninCode, data)
		if !strings.Contains(msg.HTML, c.buttonText+";font-weight:bold") {
			t.Errorf("colour %q: button text is not %s", c.colour, c.buttonText)
		}
		if !strings.Contains(msg.HTML, c.link+";word-break") {
			t.Errorf("colour %q: link is not %s", c.colour, c.link)
		}
	}
}

func TestRenderChecksData(t *testing.T) {
	tmpl := mustTemplates(t)
	bad := func(change func(*notify.SigninCode)) notify.SigninCode {
		d := signinData()
		change(&d)
		return d
	}
	cases := []struct {
		name  string
		data  any
		field string
	}{
		{"short code", bad(func(d *notify.SigninCode) { d.Code = "12345" }), "code"},
		{"code with letters", bad(func(d *notify.SigninCode) { d.Code = "12345a" }), "code"},
		{"no validity", bad(func(d *notify.SigninCode) { d.ValidMinutes = 0 }), "valid_minutes"},
		{"relative link", bad(func(d *notify.SigninCode) { d.SignInURL = "/privacy/signin" }), "signin_url"},
		{"script link", bad(func(d *notify.SigninCode) { d.SignInURL = "javascript:alert(1)" }), "signin_url"},
		{"no company", bad(func(d *notify.SigninCode) { d.CompanyName = "" }), "company_name"},
		// A line break would break out of the Subject header.
		{"company on two lines", bad(func(d *notify.SigninCode) { d.CompanyName = "Shop\r\nBcc: x@evil.example" }), "company_name"},
		{"script logo", bad(func(d *notify.SigninCode) { d.LogoURL = "javascript:alert(1)" }), "logo_url"},
		{"colour that is CSS", bad(func(d *notify.SigninCode) { d.Colour = "red;background:url(x)" }), "colour"},
		{"unknown request type", func() any { d := deadlineData(3); d.Type = "delete"; return d }(), "type"},
		{"no deadline", func() any { d := deadlineData(3); d.Deadline = time.Time{}; return d }(), "deadline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := notify.TemplateSigninCode
			if _, ok := c.data.(notify.RequestDeadline); ok {
				name = notify.TemplateRequestDeadline
			}
			_, err := tmpl.Render("en", name, c.data)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
				t.Fatalf("Render error %v, want invalid %s", err, c.field)
			}
		})
	}
	if _, err := tmpl.Render("en", "no_such_template", signinData()); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("unknown template: %v", err)
	}
	if _, err := tmpl.Render("en", notify.TemplateSigninCode, struct{ Code string }{"402113"}); err == nil {
		t.Error("data without a Brand rendered")
	}
}

func TestEveryLanguageHasEveryTemplate(t *testing.T) {
	tmpl := mustTemplates(t)
	for _, lang := range notify.Languages() {
		for _, name := range []string{notify.TemplateSigninCode, notify.TemplateRequestDeadline} {
			var data any = signinData()
			if name == notify.TemplateRequestDeadline {
				data = deadlineData(1)
			}
			msg := mustRender(t, tmpl, lang, name, data)
			if msg.Headers["Content-Language"] != lang {
				t.Errorf("%s/%s rendered in %q", lang, name, msg.Headers["Content-Language"])
			}
			if strings.Contains(msg.Text, "{{") || strings.Contains(msg.HTML, "{{") || strings.Contains(msg.Text, "<no value>") {
				t.Errorf("%s/%s has a template leftover", lang, name)
			}
		}
	}
}

// TestRectificationUpdateWording: a correction's completion and refusal
// are told in a correction's words in every language (not "your request is
// complete"), with the link and no detail of the values.
func TestRectificationUpdateWording(t *testing.T) {
	tmpl := mustTemplates(t)
	want := map[string][2][]string{
		"en": {{"Your correction has been made", "in all our systems"}, {"We could not make your correction", "Your data stays as it was"}},
		"de": {{"Ihre Berichtigung wurde vorgenommen", "in allen unseren Systemen"}, {"Wir konnten Ihre Berichtigung nicht vornehmen", "Ihre Daten bleiben unverändert"}},
		"fr": {{"Votre rectification a été effectuée", "dans tous nos systèmes"}, {"Nous n’avons pas pu effectuer votre rectification", "Vos données restent inchangées"}},
		"es": {{"Su rectificación se ha realizado", "en todos nuestros sistemas"}, {"No hemos podido realizar su rectificación", "Sus datos no cambian"}},
	}
	for _, lang := range notify.Languages() {
		for i, event := range []string{notify.UpdateCompleted, notify.UpdateRejected} {
			msg, err := tmpl.Render(lang, notify.TemplateRequestUpdate, notify.RequestUpdate{Brand: notify.Brand{CompanyName: "Shop"},
				Event: event, RequestID: "req_7Hq2", Type: "rectify", Deadline: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
				PortalURL: "https://shop.example/privacy/requests/req_7Hq2?lang=" + lang})
			if err != nil {
				t.Fatal(err)
			}
			phrases := want[lang][i]
			if msg.Subject != phrases[0] || !strings.Contains(msg.Text, phrases[1]) || !strings.Contains(msg.HTML, phrases[1]) ||
				!strings.Contains(msg.HTML, "<h1") || !strings.Contains(msg.Text, "req_7Hq2?lang="+lang) {
				t.Errorf("%s %s: %q\n%s", lang, event, msg.Subject, msg.Text)
			}
			// Another kind keeps the general words.
			other, _ := tmpl.Render(lang, notify.TemplateRequestUpdate, notify.RequestUpdate{Brand: notify.Brand{CompanyName: "Shop"},
				Event: event, RequestID: "req_7Hq2", Type: "erase", Deadline: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
				PortalURL: "https://shop.example/privacy/requests/req_7Hq2"})
			if other.Subject == phrases[0] || strings.Contains(other.Text, phrases[1]) {
				t.Errorf("%s %s: an erasure is told of a correction", lang, event)
			}
		}
	}
}

// TestRestrictionLiftNotice: the notice before a restriction is lifted
// (GDPR Art. 18(3)) speaks every language, names the purpose when one is
// given, and links to the privacy center.
func TestRestrictionLiftNotice(t *testing.T) {
	tmpl := mustTemplates(t)
	want := map[string][2]string{
		"en": {"We are lifting the restriction", "for Newsletter"},
		"de": {"Wir heben die Einschränkung", "für Newsletter"},
		"fr": {"Nous levons la limitation", "pour Newsletter"},
		"es": {"Vamos a levantar la limitación", "para Newsletter"},
	}
	for _, lang := range notify.Languages() {
		for _, purpose := range []string{"Newsletter", ""} {
			msg, err := tmpl.Render(lang, notify.TemplateRestrictionLift, notify.RestrictionLift{Brand: notify.Brand{CompanyName: "Shop"},
				Purpose: purpose, PortalURL: "https://shop.example/privacy/home?lang=" + lang})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(msg.Subject, want[lang][0]) || strings.Contains(msg.Text, want[lang][1]) != (purpose != "") ||
				!strings.Contains(msg.Text, "https://shop.example/privacy/home?lang="+lang) || !strings.Contains(msg.HTML, "<h1") ||
				strings.Contains(msg.Text, "<no value>") || msg.Headers["Content-Language"] != lang {
				t.Errorf("%s %q: %q\n%s", lang, purpose, msg.Subject, msg.Text)
			}
		}
	}
	if _, err := tmpl.Render("en", notify.TemplateRestrictionLift, notify.RestrictionLift{Brand: notify.Brand{CompanyName: "Shop"}, PortalURL: "/privacy"}); errs.CodeOf(err) != errs.CodeInvalid {
		t.Errorf("a relative link: %v", err)
	}
}
