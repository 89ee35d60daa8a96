package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/wcag"
)

// The templates, one per message, said in every language of the catalog.
const (
	// TemplateSigninCode is the customer's one-time sign-in code; its data
	// is a SigninCode.
	TemplateSigninCode = "signin_code"
	// TemplateRequestDeadline reminds staff of a request's deadline; its
	// data is a RequestDeadline.
	TemplateRequestDeadline = "request_deadline"
	// TemplateDisclosureRequest asks a customer whether a third party may
	// receive their data; its data is a DisclosureRequest.
	TemplateDisclosureRequest = "disclosure_request"
	// TemplateVendorQuestionnaire sends a vendor contact the link of a
	// security questionnaire; its data is a VendorQuestionnaire.
	TemplateVendorQuestionnaire = "vendor_questionnaire"
	// TemplateSignInAddressChanged tells a customer, at their previous
	// address, that the address they sign in with was changed; its data is
	// a SignInAddressChanged.
	TemplateSignInAddressChanged = "signin_address_changed"
	// TemplateRequestUpdate tells a customer where their request stands:
	// received, a question waits for them, completed, rejected, or their
	// data is ready to download; its data is a RequestUpdate.
	TemplateRequestUpdate = "request_update"
	// TemplateAgentConfirm asks a customer to confirm, by a link, a request
	// an authorised agent filed for them; its data is an AgentConfirm.
	TemplateAgentConfirm = "agent_confirm"
	// TemplateRestrictionLift tells a customer, before it happens, that
	// the restriction of their data's processing is being lifted (GDPR
	// Art. 18(3)); its data is a RestrictionLift.
	TemplateRestrictionLift = "restriction_lift"
	// TemplateTrainingReminder reminds a staff member that a training
	// module assigned to them is due soon or overdue; its data is a
	// TrainingReminder.
	TemplateTrainingReminder = "training_reminder"
	// TemplateIncidentAlert tells the security officers of an incident: a
	// suspected one reported, or a deadline near or passed; its data is an
	// IncidentAlert.
	TemplateIncidentAlert = "incident_alert"
	// TemplateIncidentNotice tells a customer affected by a breach that an
	// important notice waits for them in the privacy portal; its data is
	// an IncidentNotice.
	TemplateIncidentNotice = "incident_notice"
	// TemplateIncidentVendor tells a vendor's contact of a breach that may
	// touch the data the company shares with them; its data is an
	// IncidentVendor.
	TemplateIncidentVendor = "incident_vendor"
	// TemplateAccessReviewReminder tells an administrator that a quarter's
	// access review is due soon or overdue; its data is an
	// AccessReviewReminder.
	TemplateAccessReviewReminder = "access_review_reminder"
)

// The events of TemplateIncidentAlert.
const (
	IncidentReported = "reported"
	IncidentDeadline = "deadline"
	IncidentOverdue  = "overdue"
	// IncidentActionOverdue tells the owner of a post-incident review's
	// follow-up action that its due day has passed (Deadline is the day).
	IncidentActionOverdue = "action_overdue"
)

// The events of TemplateRequestUpdate.
const (
	UpdateReceived    = "received"
	UpdateQuestion    = "question"
	UpdateCompleted   = "completed"
	UpdateRejected    = "rejected"
	UpdateExportReady = "export_ready"
)

// RequestUpdate is the data of TemplateRequestUpdate. It holds no personal
// data and nothing staff typed (a question, a reason, which may hold some):
// the message says what happened and links to the portal, where the
// customer signs in to read the rest.
type RequestUpdate struct {
	Brand
	// Event is UpdateReceived, UpdateQuestion, UpdateCompleted,
	// UpdateRejected or UpdateExportReady.
	Event     string
	RequestID string
	// Type is access, export, rectify, erase, restrict or object.
	Type       string
	ReceivedAt time.Time
	// Deadline is when the answer is due (shown on receipt).
	Deadline time.Time
	// PortalURL opens the request in the privacy center.
	PortalURL string
}

func (u RequestUpdate) check() map[string]string {
	problems := RequestDeadline{Brand: u.Brand, RequestID: u.RequestID, Type: u.Type, Deadline: u.Deadline, ConsoleURL: u.PortalURL}.check()
	if msg, ok := problems["console_url"]; ok {
		delete(problems, "console_url")
		problems["portal_url"] = msg
	}
	switch u.Event {
	case UpdateReceived, UpdateQuestion, UpdateCompleted, UpdateRejected, UpdateExportReady:
	default:
		problems["event"] = "must be received, question, completed, rejected or export_ready"
	}
	if u.Event == UpdateReceived && u.ReceivedAt.IsZero() {
		problems["received_at"] = "is required"
	}
	return problems
}

// DefaultLanguage is the language of a reader whose languages are all
// unsupported.
const DefaultLanguage = i18n.English

// Languages returns the languages messages are written in: those of the
// catalog (internal/i18n), English first.
func Languages() []string { return i18n.Default().Languages() }

// Brand is how the company appears in a message. Every template's data
// embeds it.
type Brand struct {
	CompanyName string
	// LogoURL is an absolute http(s) URL of the logo, shown 40 pixels
	// high; empty shows the company name instead.
	LogoURL string
	// Colour is the brand colour, "#1d4ed8" or "#15c": the top border and
	// the button. Button text is black or white, whichever contrasts more;
	// links use the colour only where it is readable on white.
	Colour string
}

func (b Brand) brand() Brand { return b }

func (b Brand) check() map[string]string {
	problems := map[string]string{}
	switch {
	case strings.TrimSpace(b.CompanyName) == "":
		problems["company_name"] = "is required"
	case len(b.CompanyName) > 200 || strings.ContainsFunc(b.CompanyName, unicode.IsControl):
		problems["company_name"] = "must be one line of at most 200 bytes"
	}
	if b.LogoURL != "" && !absoluteHTTP(b.LogoURL) {
		problems["logo_url"] = "must be an absolute http or https URL"
	}
	if b.Colour != "" && !hexColour.MatchString(b.Colour) {
		problems["colour"] = `must be a hex colour such as "#1d4ed8"`
	}
	return problems
}

// SigninCode is the data of TemplateSigninCode.
type SigninCode struct {
	Brand
	// Code is the six-digit one-time code.
	Code string
	// ValidMinutes is how long the code works.
	ValidMinutes int
	// SignInURL opens a page where the customer presses a button to sign
	// in. Opening it alone must not sign in: mail scanners open links.
	SignInURL string
}

func (s SigninCode) check() map[string]string {
	problems := s.Brand.check()
	if !sixDigits.MatchString(s.Code) {
		problems["code"] = "must be six digits"
	}
	if s.ValidMinutes < 1 {
		problems["valid_minutes"] = "must be at least 1"
	}
	if !absoluteHTTP(s.SignInURL) {
		problems["signin_url"] = "must be an absolute http or https URL"
	}
	return problems
}

// RequestDeadline is the data of TemplateRequestDeadline.
type RequestDeadline struct {
	Brand
	RequestID string
	// Type is access, export, rectify, erase, restrict or object.
	Type string
	// Deadline is shown as a date in its own time zone.
	Deadline time.Time
	// DaysLeft is the number of days until Deadline: 0 on the day itself,
	// negative once it has passed. The caller counts it with its clock.
	DaysLeft   int
	ConsoleURL string
}

func (r RequestDeadline) check() map[string]string {
	problems := r.Brand.check()
	if r.RequestID == "" || len(r.RequestID) > 100 || strings.ContainsFunc(r.RequestID, unicode.IsControl) {
		problems["request_id"] = "is required, one line of at most 100 bytes"
	}
	switch r.Type {
	case "access", "export", "rectify", "erase", "restrict", "object":
	default:
		problems["type"] = "must be access, export, rectify, erase, restrict or object"
	}
	if r.Deadline.IsZero() {
		problems["deadline"] = "is required"
	}
	if !absoluteHTTP(r.ConsoleURL) {
		problems["console_url"] = "must be an absolute http or https URL"
	}
	return problems
}

var (
	hexColour = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	sixDigits = regexp.MustCompile(`^[0-9]{6}$`)
)

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		!strings.ContainsFunc(raw, unicode.IsSpace)
}

// branded is data that embeds Brand, which the HTML layout shows.
type branded interface{ brand() Brand }

// checker is data that can tell what is wrong with it.
// DisclosureRequest is the data of TemplateDisclosureRequest: who would
// receive which data, why, until when the customer may answer, and the
// portal page where they answer after signing in.
type DisclosureRequest struct {
	Brand
	Vendor     string
	Purpose    string
	Categories string
	Reason     string
	AnswerBy   time.Time
	PortalURL  string
}

func (d DisclosureRequest) check() map[string]string {
	problems := d.Brand.check()
	for field, v := range map[string]string{"vendor": d.Vendor, "purpose": d.Purpose, "categories": d.Categories, "reason": d.Reason} {
		if v == "" || len(v) > 500 || strings.ContainsAny(v, "\r\n") {
			problems[field] = "is required, one line of at most 500 characters"
		}
	}
	if !strings.HasPrefix(d.PortalURL, "https://") && !strings.HasPrefix(d.PortalURL, "http://") {
		problems["portal_url"] = "must be an http(s) URL"
	}
	return problems
}

// VendorQuestionnaire is the data of TemplateVendorQuestionnaire.
type VendorQuestionnaire struct {
	Brand
	Vendor  string
	Link    string
	Expires time.Time
}

func (v VendorQuestionnaire) check() map[string]string {
	problems := v.Brand.check()
	if v.Vendor == "" || len(v.Vendor) > 200 || strings.ContainsAny(v.Vendor, "\r\n") {
		problems["vendor"] = "is required, one line of at most 200 characters"
	}
	if !strings.HasPrefix(v.Link, "https://") && !strings.HasPrefix(v.Link, "http://") {
		problems["link"] = "must be an http(s) URL"
	}
	return problems
}

// SignInAddressChanged is the data of TemplateSignInAddressChanged. It
// holds neither address: the message goes to the previous one and says
// only that it was changed, when, whom to tell if it was not the customer,
// and where the privacy center is.
type SignInAddressChanged struct {
	Brand
	ChangedAt time.Time
	// ContactEmail is the company's privacy contact; without it the
	// message names the company.
	ContactEmail string
	PortalURL    string
}

func (c SignInAddressChanged) check() map[string]string {
	problems := c.Brand.check()
	if c.ChangedAt.IsZero() {
		problems["changed_at"] = "is required"
	}
	if len(c.ContactEmail) > 200 || strings.ContainsFunc(c.ContactEmail, unicode.IsSpace) {
		problems["contact_email"] = "must be an address without spaces"
	}
	if !absoluteHTTP(c.PortalURL) {
		problems["portal_url"] = "must be an absolute http or https URL"
	}
	return problems
}

// AgentConfirm is the data of TemplateAgentConfirm. It names the agent
// (so that the customer knows who claims to act for them) but neither
// address nor the mandate's text.
type AgentConfirm struct {
	Brand
	AgentName string
	RequestID string
	// Type is access, export, rectify, erase, restrict or object.
	Type      string
	ExpiresAt time.Time
	// ConfirmURL opens a page with a button that confirms: opening it
	// alone confirms nothing (mail scanners open links).
	ConfirmURL string
}

func (a AgentConfirm) check() map[string]string {
	problems := RequestDeadline{Brand: a.Brand, RequestID: a.RequestID, Type: a.Type, Deadline: a.ExpiresAt, ConsoleURL: a.ConfirmURL}.check()
	if msg, ok := problems["console_url"]; ok {
		delete(problems, "console_url")
		problems["confirm_url"] = msg
	}
	if msg, ok := problems["deadline"]; ok {
		delete(problems, "deadline")
		problems["expires_at"] = msg
	}
	if strings.TrimSpace(a.AgentName) == "" || len(a.AgentName) > 200 || strings.ContainsFunc(a.AgentName, unicode.IsControl) {
		problems["agent_name"] = "is required, one line of at most 200 bytes"
	}
	return problems
}

// RestrictionLift is the data of TemplateRestrictionLift. It holds no
// personal data: which purpose (none: every purpose) and where the privacy
// center is.
type RestrictionLift struct {
	Brand
	// Purpose is the name of the one purpose whose restriction is lifted,
	// in the message's language; empty when every restriction is.
	Purpose   string
	PortalURL string
}

func (l RestrictionLift) check() map[string]string {
	problems := l.Brand.check()
	if len(l.Purpose) > 200 || strings.ContainsFunc(l.Purpose, unicode.IsControl) {
		problems["purpose"] = "must be one line of at most 200 bytes"
	}
	if !absoluteHTTP(l.PortalURL) {
		problems["portal_url"] = "must be an absolute http or https URL"
	}
	return problems
}

// IncidentAlert is the data of TemplateIncidentAlert. It names the
// incident by its id only: its title and description are staff's words,
// read in the console.
type IncidentAlert struct {
	Brand
	Event      string
	IncidentID string
	// Party is who must be told by Deadline (the deadline events): "the
	// supervisory authority", a state's regulator...; Citation its law.
	Party    string
	Citation string
	Deadline time.Time
	// HoursLeft is 24, 12 or 2 before a deadline, 0 once it passed.
	HoursLeft  int
	ConsoleURL string
}

func (a IncidentAlert) check() map[string]string {
	problems := a.Brand.check()
	switch a.Event {
	case IncidentReported:
	case IncidentActionOverdue:
		if a.Deadline.IsZero() {
			problems["deadline"] = "is required"
		}
	case IncidentDeadline, IncidentOverdue:
		if a.Deadline.IsZero() {
			problems["deadline"] = "is required"
		}
		if a.Party == "" || strings.ContainsFunc(a.Party+a.Citation, unicode.IsControl) {
			problems["party"] = "is required, one line"
		}
	default:
		problems["event"] = "must be reported, deadline, overdue or action_overdue"
	}
	if a.IncidentID == "" || len(a.IncidentID) > 100 || strings.ContainsFunc(a.IncidentID, unicode.IsControl) {
		problems["incident_id"] = "is required, one line of at most 100 bytes"
	}
	if !absoluteHTTP(a.ConsoleURL) {
		problems["console_url"] = "must be an absolute http or https URL"
	}
	return problems
}

// IncidentNotice is the data of TemplateIncidentNotice. It holds no
// personal data and nothing of the breach: the customer signs in to the
// portal to read the notice, where it is signed and shown to them alone.
type IncidentNotice struct {
	Brand
	PortalURL string
}

func (n IncidentNotice) check() map[string]string {
	problems := n.Brand.check()
	if !absoluteHTTP(n.PortalURL) {
		problems["portal_url"] = "must be an absolute http or https URL"
	}
	return problems
}

// IncidentVendor is the data of TemplateIncidentVendor: the incident's id
// as the reference, the data categories shared with the vendor that the
// breach touched, and the privacy contact to reply to.
type IncidentVendor struct {
	Brand
	Vendor       string
	IncidentID   string
	Categories   string
	ContactEmail string
}

func (v IncidentVendor) check() map[string]string {
	problems := v.Brand.check()
	for field, value := range map[string]string{"vendor": v.Vendor, "incident_id": v.IncidentID, "categories": v.Categories} {
		if value == "" || len(value) > 500 || strings.ContainsFunc(value, unicode.IsControl) {
			problems[field] = "is required, one line of at most 500 bytes"
		}
	}
	if strings.ContainsFunc(v.ContactEmail, unicode.IsControl) || len(v.ContactEmail) > 254 {
		problems["contact_email"] = "must be one address"
	}
	return problems
}

// TrainingReminder is the data of TemplateTrainingReminder. It names the
// module, in the reader's language, and when it is due; nothing about the
// reader but what the address already says.
type TrainingReminder struct {
	Brand
	Module string
	// Due is when the module must be (re)done: the pass's expiry, or the
	// first due date.
	Due time.Time
	// DaysLeft is the number of days until Due: negative once overdue.
	DaysLeft   int
	ConsoleURL string
}

func (r TrainingReminder) check() map[string]string {
	problems := r.Brand.check()
	if strings.TrimSpace(r.Module) == "" || len(r.Module) > 200 || strings.ContainsFunc(r.Module, unicode.IsControl) {
		problems["module"] = "is required, one line of at most 200 bytes"
	}
	if r.Due.IsZero() {
		problems["due"] = "is required"
	}
	if !absoluteHTTP(r.ConsoleURL) {
		problems["console_url"] = "must be an absolute http or https URL"
	}
	return problems
}

// AccessReviewReminder is the data of TemplateAccessReviewReminder: the
// quarter ("2027-Q1"), when its review is due (the quarter's end), and
// whether that has passed.
type AccessReviewReminder struct {
	Brand
	Quarter    string
	Due        time.Time
	Overdue    bool
	ConsoleURL string
}

func (r AccessReviewReminder) check() map[string]string {
	problems := r.Brand.check()
	if len(r.Quarter) != len("2027-Q1") || strings.ContainsFunc(r.Quarter, unicode.IsControl) {
		problems["quarter"] = "must be a quarter such as 2027-Q1"
	}
	if r.Due.IsZero() {
		problems["due"] = "is required"
	}
	if !absoluteHTTP(r.ConsoleURL) {
		problems["console_url"] = "must be an absolute http or https URL"
	}
	return problems
}

type checker interface{ check() map[string]string }

//go:embed templates
var templateFiles embed.FS

// Templates holds every message in every language of the catalog, parsed
// once: one template per message, its words from the catalog's mail.* keys.
type Templates struct {
	text map[string]*texttemplate.Template // by "lang/name"
	html map[string]*htmltemplate.Template
}

// NewTemplates parses the embedded templates for every language of the
// catalog (internal/i18n). It fails if a message lacks a part, so a broken
// template stops Steward at start rather than when the message is due; the
// catalog's own tests make sure every language has every word.
func NewTemplates() (*Templates, error) {
	fsys, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return parseTemplates(fsys, i18n.Default())
}

func parseTemplates(fsys fs.FS, catalog *i18n.Catalog) (*Templates, error) {
	names, err := templateNames(fsys)
	if err != nil {
		return nil, err
	}
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, lang := range catalog.Languages() {
		p := catalog.Printer(lang)
		textFuncs, htmlFuncs := templateFuncs(p, false), templateFuncs(p, true)
		for _, name := range names {
			key := lang + "/" + name
			text, err := texttemplate.New(name).Funcs(textFuncs).Option("missingkey=error").
				ParseFS(fsys, "shared.tmpl", name+".txt")
			if err != nil {
				return nil, fmt.Errorf("templates %s: %w", key, err)
			}
			html, err := htmltemplate.New(name).Funcs(htmlFuncs).Option("missingkey=error").
				ParseFS(fsys, "layout.html", "shared.tmpl", name+".html")
			if err != nil {
				return nil, fmt.Errorf("templates %s: %w", key, err)
			}
			for _, part := range []string{"subject", "text"} {
				if text.Lookup(part) == nil {
					return nil, fmt.Errorf("templates %s.txt: no %q", name, part)
				}
			}
			if html.Lookup("content") == nil || html.Lookup("layout") == nil {
				return nil, fmt.Errorf(`templates %s.html: no "content"`, name)
			}
			t.text[key], t.html[key] = text, html
		}
	}
	return t, nil
}

// templateNames lists the messages: the .txt files, each of which needs an
// .html twin.
func templateNames(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".txt"); ok {
			if _, err := fs.Stat(fsys, name+".html"); err != nil {
				return nil, fmt.Errorf("templates %s: no HTML part: %w", name, err)
			}
			names = append(names, name)
		}
	}
	return names, nil
}

// page is what the HTML layout is executed with; Data is the caller's data,
// which "content" and "footer" are executed with.
type page struct {
	Lang    string
	Subject string
	Brand   Brand
	Data    any
}

// Render fills template name in the language that best matches lang, a
// language tag ("de-AT") or an Accept-Language header, falling back to
// English. data is the template's type (SigninCode, RequestDeadline), or
// any struct that embeds Brand; it is checked first, so the errors name its
// fields. The message has every part but To.
func (t *Templates) Render(lang, name string, data any) (Message, error) {
	lang = MatchLanguage(lang)
	key := lang + "/" + name
	text, html := t.text[key], t.html[key]
	if text == nil || html == nil {
		return Message{}, errs.NotFound("mail template", name)
	}
	b, ok := data.(branded)
	if !ok {
		return Message{}, fmt.Errorf("render %s: data %T does not embed notify.Brand", name, data)
	}
	if c, ok := data.(checker); ok {
		if problems := c.check(); len(problems) > 0 {
			return Message{}, errs.Fields(problems)
		}
	}
	var buf bytes.Buffer
	if err := text.ExecuteTemplate(&buf, "subject", data); err != nil {
		return Message{}, fmt.Errorf("render %s subject: %w", key, err)
	}
	// A subject is one line whatever the template's layout. Only ASCII
	// white space collapses: French puts a no-break space before a colon.
	subject := strings.Join(strings.FieldsFunc(buf.String(), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}), " ")
	buf.Reset()
	if err := text.ExecuteTemplate(&buf, "text", data); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", key, err)
	}
	body := tidyText(buf.String())
	buf.Reset()
	if err := html.ExecuteTemplate(&buf, "layout", page{Lang: lang, Subject: subject, Brand: b.brand(), Data: data}); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", key, err)
	}
	return Message{
		Subject: subject,
		Text:    body,
		HTML:    buf.String(),
		Headers: map[string]string{
			// RFC 3834: no vacation replies to a machine; Exchange reads
			// the second.
			"Auto-Submitted":           "auto-generated",
			"X-Auto-Response-Suppress": "All",
			"Content-Language":         lang,
		},
	}, nil
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText lets text templates be laid out for their readers: trailing
// spaces go, runs of blank lines become one, and the text ends in one
// line break.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}

// MatchLanguage returns the catalog's language that best fits accept: a
// language tag ("de-AT", "de_AT", "DE") or an Accept-Language header
// ("fr-CH, fr;q=0.9, en;q=0.8"). Only the primary subtag counts. It returns
// DefaultLanguage when nothing fits.
func MatchLanguage(accept string) string { return i18n.Default().Match(accept) }

const (
	defaultColour = "#1d4ed8"
	darkText      = "#111827"
)

// templateFuncs are the functions the templates of p's language may call;
// html says whether for the HTML part, whose words are escaped.
func templateFuncs(p *i18n.Printer, html bool) map[string]any {
	var t any = p.T
	if html {
		t = p.HTML
	}
	return map[string]any{
		// t says a catalog key with its placeholders: {{t "mail.footer"
		// "company_name" .CompanyName}}.
		"t":    t,
		"date": func(d time.Time) string { return formatDate(p, d) },
		// datetime is a date and its time of day in UTC, for deadlines
		// counted in hours.
		"datetime": func(d time.Time) string { return formatDate(p, d) + " " + d.UTC().Format("15:04") + " UTC" },
		// requesttype names a kind of request; an unknown kind is said as
		// it is.
		"requesttype": func(kind string) string {
			if !p.Has("mail.type." + kind) {
				return kind
			}
			return p.T("mail.type." + kind)
		},
		"daysleft": func(days int) string {
			switch {
			case days > 0:
				return p.T("mail.days_left", "n", days)
			case days == 0:
				return p.T("mail.due_today")
			default:
				return p.T("mail.overdue", "n", -days)
			}
		},
		// mailto links an address, in the brand's readable colour.
		"mailto": func(addr, colour string) (htmltemplate.HTML, error) {
			var b strings.Builder
			err := mailtoLink.Execute(&b, struct {
				Addr string
				Ink  htmltemplate.CSS
			}{addr, htmltemplate.CSS(ink(brandColour(colour)))})
			return htmltemplate.HTML(b.String()), err
		},
		// The colours are validated hex, so they are safe in a style
		// attribute; html/template would otherwise refuse them.
		"colour": func(c string) htmltemplate.CSS { return htmltemplate.CSS(brandColour(c)) },
		"textOn": func(c string) htmltemplate.CSS { return htmltemplate.CSS(textOn(brandColour(c))) },
		"ink":    func(c string) htmltemplate.CSS { return htmltemplate.CSS(ink(brandColour(c))) },
	}
}

var mailtoLink = htmltemplate.Must(htmltemplate.New("mailto").Parse(`<a href="mailto:{{.Addr}}" style="color:{{.Ink}};">{{.Addr}}</a>`))

// formatDate writes a date as a reader of p's language expects it in a
// letter (the catalog's mail.date and mail.months): 2 December 2026,
// 2. Dezember 2026, 1er décembre 2026, 2 de diciembre de 2026.
func formatDate(p *i18n.Printer, t time.Time) string { return p.Date(t) }

// brandColour returns c as six lowercase hex digits, or the default.
func brandColour(c string) string {
	if !hexColour.MatchString(c) {
		return defaultColour
	}
	c = strings.ToLower(c)
	if len(c) == 4 {
		c = string([]byte{'#', c[1], c[1], c[2], c[2], c[3], c[3]})
	}
	return c
}

// textOn returns white or near-black, whichever contrasts more with the
// background colour bg (WCAG 2 contrast ratio).
func textOn(bg string) string {
	if wcag.Contrast(bg, "#ffffff") >= wcag.Contrast(bg, darkText) {
		return "#ffffff"
	}
	return darkText
}

// ink returns colour c for text on white if it reaches WCAG AA's 4.5:1, and
// dark text otherwise: a pale brand colour would make links unreadable.
func ink(c string) string {
	if wcag.Contrast(c, "#ffffff") >= wcag.AA {
		return c
	}
	return darkText
}
