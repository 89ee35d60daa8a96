package client

import (
	"context"
	"net/http"
	"time"
)

// PurposeAssessment is a purpose's ethics assessment: a purpose that
// needs one is refused by decisions (ReasonPurposeNotAssessed) and left out
// of the banner until a privacy officer approves it in the console.
type PurposeAssessment struct {
	Purpose    string     `json:"purpose"`
	LegalBasis LegalBasis `json:"legal_basis"`
	// Required is false for a necessary purpose (or one on a contract or a
	// legal obligation).
	Required bool `json:"required"`
	// Status is not_required, approved, grace, missing, expired or
	// scope_changed; decisions allow the purpose in the first three.
	Status string `json:"status"`
	// DueBy is the end of an upgrade's grace period, while it runs.
	DueBy          *time.Time `json:"due_by"`
	NeedsBalancing bool       `json:"needs_balancing"`
	NeedsDPIA      bool       `json:"needs_dpia"`
	// Scope is what an approval would cover now.
	Scope AssessmentScope `json:"scope"`
	// Facts are what Steward knows now; FromSteward the questions it
	// answers from them (customer_knows, opt_out, storage_safe).
	Facts       AssessmentFacts     `json:"facts"`
	FromSteward []string            `json:"from_steward"`
	Answers     AssessmentAnswers   `json:"answers"`
	SavedAt     *time.Time          `json:"saved_at"`
	SavedBy     string              `json:"saved_by"`
	Approval    *AssessmentApproval `json:"approval"`
}

// AssessmentAnswers are the draft of an assessment. A nil yes/no is not
// answered.
type AssessmentAnswers struct {
	CustomerKnows    string `json:"customer_knows"`
	OptOut           *bool  `json:"opt_out"`
	OptOutReason     string `json:"opt_out_reason"`
	StorageSafe      *bool  `json:"storage_safe"`
	Storage          string `json:"storage"`
	Typical          *bool  `json:"typical"`
	Advantage        string `json:"advantage"`
	CustomerKnowsWhy *bool  `json:"customer_knows_why"`
	Balancing        struct {
		Purpose   string `json:"purpose"`
		Necessity string `json:"necessity"`
		Balance   string `json:"balance"`
	} `json:"balancing"`
	// HighRisk: special_categories, profiling, automated_decisions.
	HighRisk []string `json:"high_risk"`
	DPIA     struct {
		Description string `json:"description"`
		Risks       string `json:"risks"`
		Measures    string `json:"measures"`
	} `json:"dpia"`
}

// AssessmentFacts are what Steward knows of a purpose.
type AssessmentFacts struct {
	Notice             string   `json:"notice"`
	NoticeNamesPurpose bool     `json:"notice_names_purpose"`
	NoticeMissing      []string `json:"notice_missing_categories"`
	// OptOut is "banner", "objection" or "" (unknown).
	OptOut  string `json:"opt_out"`
	Systems []struct {
		Key      string `json:"key"`
		Kind     string `json:"kind"`
		Location string `json:"location"`
		Measures bool   `json:"measures"`
	} `json:"systems"`
	Unplaced []string `json:"unplaced_categories"`
	Special  []string `json:"special_categories"`
}

// AssessmentScope is what an approval covers: a new vendor or category,
// or another legal basis, needs a new approval.
type AssessmentScope struct {
	LegalBasis LegalBasis `json:"legal_basis"`
	Vendors    []string   `json:"vendors"`
	Categories []string   `json:"categories"`
}

// AssessmentApproval is an approval in force, as approved.
type AssessmentApproval struct {
	ApprovedAt  time.Time         `json:"approved_at"`
	ApprovedBy  string            `json:"approved_by"`
	ValidUntil  time.Time         `json:"valid_until"`
	Scope       AssessmentScope   `json:"scope"`
	Answers     AssessmentAnswers `json:"answers"`
	Facts       AssessmentFacts   `json:"facts"`
	FromSteward []string          `json:"from_steward"`
}

// GetPurposeAssessment returns a purpose's ethics assessment.
func (c *Client) GetPurposeAssessment(ctx context.Context, key string) (*PurposeAssessment, error) {
	if key == "" {
		return nil, errEmpty("purpose key")
	}
	var out PurposeAssessment
	if err := c.do(ctx, http.MethodGet, path("/v1/purposes/", key, "/assessment"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// SavePurposeAssessment replaces a purpose's draft. Approving it is a
// privacy officer's act, in the console: the API refuses it to every key.
func (c *Client) SavePurposeAssessment(ctx context.Context, key string, in AssessmentAnswers) (*PurposeAssessment, error) {
	if key == "" {
		return nil, errEmpty("purpose key")
	}
	var out PurposeAssessment
	if err := c.do(ctx, http.MethodPut, path("/v1/purposes/", key, "/assessment"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
