package client

import (
	"context"
	"net/http"
	"time"
)

// RegulatorReport is the draft of the report to the supervisory authority
// (GDPR Art. 33(3)), computed when asked.
type RegulatorReport struct {
	IncidentID   string             `json:"incident_id"`
	GeneratedAt  time.Time          `json:"generated_at"`
	Nature       ReportNature       `json:"nature"`
	Subjects     ReportSubjects     `json:"subjects"`
	Officer      ReportContact      `json:"officer"`
	Consequences ReportConsequences `json:"consequences"`
	Measures     ReportMeasures     `json:"measures"`
	Deadline     *time.Time         `json:"deadline,omitempty"`
	Late         bool               `json:"late"`
	DelayReason  string             `json:"delay_reason,omitempty"`
	Filings      []IncidentFiling   `json:"filings"`
}

// ReportNature is what happened.
type ReportNature struct {
	Title       string     `json:"title"`
	Kind        string     `json:"kind"`
	Description string     `json:"description"`
	Cause       string     `json:"cause"`
	DetectedAt  *time.Time `json:"detected_at,omitempty"`
	AwareAt     *time.Time `json:"aware_at,omitempty"`
	Systems     []string   `json:"systems"`
}

// ReportSubjects are the categories and approximate numbers of the people
// and records concerned.
type ReportSubjects struct {
	Approximate    int                   `json:"approximate"`
	Computed       bool                  `json:"computed"`
	Unresolved     int                   `json:"unresolved"`
	SetID          string                `json:"set_id,omitempty"`
	Method         string                `json:"method,omitempty"`
	ComputedAt     *time.Time            `json:"computed_at,omitempty"`
	ByJurisdiction map[string]int        `json:"by_jurisdiction"`
	Categories     []ReportCategoryCount `json:"categories"`
	Records        int                   `json:"records"`
}

// ReportCategoryCount is one category of data concerned.
type ReportCategoryCount struct {
	Category string `json:"category"`
	Records  int    `json:"records"`
	Special  bool   `json:"special"`
}

// ReportContact is the privacy officer's contact.
type ReportContact struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone,omitempty"`
	Address string `json:"address,omitempty"`
}

// ReportConsequences are the likely consequences.
type ReportConsequences struct {
	Risk      string   `json:"risk,omitempty"`
	Reasons   []string `json:"reasons"`
	ForPeople string   `json:"for_people,omitempty"`
}

// ReportMeasures are the measures taken or proposed.
type ReportMeasures struct {
	Taken       string           `json:"taken,omitempty"`
	Advised     string           `json:"advised,omitempty"`
	Timeline    []IncidentAction `json:"timeline"`
	Customers   NoticeProgress   `json:"customers"`
	VendorsTold int              `json:"vendors_told"`
}

// NoticeProgress counts an incident's customer notices by status.
type NoticeProgress struct {
	Queued    int `json:"queued"`
	Sending   int `json:"sending"`
	Sent      int `json:"sent"`
	Failed    int `json:"failed"`
	NoAddress int `json:"no_address"`
	Total     int `json:"total"`
}

// IncidentNoticeText is the customers' notice in one language.
type IncidentNoticeText struct {
	Language  string     `json:"language,omitempty"`
	Happened  string     `json:"happened"`
	Meaning   string     `json:"meaning"`
	Done      string     `json:"done"`
	CanDo     string     `json:"can_do"`
	Contact   string     `json:"contact"`
	WrittenBy string     `json:"written_by,omitempty"`
	WrittenAt *time.Time `json:"written_at,omitempty"`
}

// IncidentNotices are an incident's notice texts and the progress of
// sending them.
type IncidentNotices struct {
	Texts    []IncidentNoticeText `json:"texts"`
	Progress NoticeProgress       `json:"progress"`
}

// NoticesQueued tells what queuing the notices did.
type NoticesQueued struct {
	Notices int    `json:"notices"`
	Jobs    int    `json:"jobs"`
	SetID   string `json:"set_id"`
}

// AffectedVendor is a vendor that receives data the incident touched, and
// whether it was told.
type AffectedVendor struct {
	Key        string     `json:"key"`
	Name       string     `json:"name"`
	Categories []string   `json:"categories"`
	NotifiedAt *time.Time `json:"notified_at,omitempty"`
	NotifiedBy string     `json:"notified_by,omitempty"`
	Contacts   int        `json:"contacts"`
}

// IncidentFilingInput records a report to the authority (Kind
// "regulator": Channel required) or a referral to law enforcement (Kind
// "law_enforcement", with an optional evidence window).
type IncidentFilingInput struct {
	Kind         string     `json:"kind"`
	Agency       string     `json:"agency"`
	Reference    string     `json:"reference,omitempty"`
	Channel      string     `json:"channel,omitempty"`
	FiledAt      time.Time  `json:"filed_at"`
	Note         string     `json:"note,omitempty"`
	EvidenceFrom *time.Time `json:"evidence_from,omitempty"`
	EvidenceTo   *time.Time `json:"evidence_to,omitempty"`
}

// IncidentFiling is a recorded report or referral; EvidenceCommand writes
// the audit log's signed bundle for its evidence window.
type IncidentFiling struct {
	ID              string     `json:"id"`
	IncidentID      string     `json:"incident_id"`
	Kind            string     `json:"kind"`
	Agency          string     `json:"agency"`
	Reference       string     `json:"reference,omitempty"`
	Channel         string     `json:"channel,omitempty"`
	FiledAt         time.Time  `json:"filed_at"`
	Note            string     `json:"note,omitempty"`
	EvidenceFrom    *time.Time `json:"evidence_from,omitempty"`
	EvidenceTo      *time.Time `json:"evidence_to,omitempty"`
	RecordedBy      string     `json:"recorded_by"`
	RecordedAt      time.Time  `json:"recorded_at"`
	EvidenceCommand string     `json:"evidence_command,omitempty"`
}

// RegulatorReport drafts the report to the supervisory authority.
func (c *Client) RegulatorReport(ctx context.Context, id string) (*RegulatorReport, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out RegulatorReport
	if err := c.do(ctx, http.MethodGet, path("/v1/incidents/", id, "/regulator-report"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// IncidentNotices returns an incident's notice texts and progress.
func (c *Client) IncidentNotices(ctx context.Context, id string) (*IncidentNotices, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out IncidentNotices
	if err := c.do(ctx, http.MethodGet, path("/v1/incidents/", id, "/notices"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetIncidentNoticeText writes the customers' notice in lang (en, de, fr,
// es).
func (c *Client) SetIncidentNoticeText(ctx context.Context, id, lang string, in IncidentNoticeText) (*IncidentNoticeText, error) {
	if id == "" || lang == "" {
		return nil, errEmpty("id and lang")
	}
	in.Language = ""
	var out IncidentNoticeText
	if err := c.do(ctx, http.MethodPut, path("/v1/incidents/", id, "/notices/texts/", lang), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// QueueIncidentNotices queues a notice to every affected customer not yet
// told; jobs sign and send them.
func (c *Client) QueueIncidentNotices(ctx context.Context, id string) (*NoticesQueued, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out NoticesQueued
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/notices"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// IncidentVendors lists the vendors an incident touches.
func (c *Client) IncidentVendors(ctx context.Context, id string) ([]AffectedVendor, error) {
	return c.vendors(ctx, http.MethodGet, id)
}

// NotifyIncidentVendors tells the affected vendors not yet told and
// returns them.
func (c *Client) NotifyIncidentVendors(ctx context.Context, id string) ([]AffectedVendor, error) {
	return c.vendors(ctx, http.MethodPost, id)
}

func (c *Client) vendors(ctx context.Context, method, id string) ([]AffectedVendor, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out struct {
		Items []AffectedVendor `json:"items"`
	}
	if err := c.do(ctx, method, path("/v1/incidents/", id, "/vendors"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// IncidentFilings lists the reports and referrals recorded on an
// incident.
func (c *Client) IncidentFilings(ctx context.Context, id string) ([]IncidentFiling, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out struct {
		Items []IncidentFiling `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, path("/v1/incidents/", id, "/filings"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RecordIncidentFiling records a report to the authority or a referral to
// law enforcement.
func (c *Client) RecordIncidentFiling(ctx context.Context, id string, in IncidentFilingInput) (*IncidentFiling, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	var out IncidentFiling
	if err := c.do(ctx, http.MethodPost, path("/v1/incidents/", id, "/filings"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// RecordIncidentNotified moves an incident to notified from the recorded
// report and notices.
func (c *Client) RecordIncidentNotified(ctx context.Context, id, note string) (*Incident, error) {
	if id == "" {
		return nil, errEmpty("id")
	}
	return c.incident(ctx, http.MethodPost, path("/v1/incidents/", id, "/notified"), struct {
		Note string `json:"note,omitempty"`
	}{note})
}
