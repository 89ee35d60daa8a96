package ethics

import (
	"time"

	"github.com/steward-dev/steward/internal/consent"
)

// GracePeriod is how long migration 0042 leaves a purpose that existed
// before it open without an approval.
const GracePeriod = 90 * 24 * time.Hour

// The questions, by the name of their answer's field: what Approve checks
// and what Steward may answer.
const (
	QuestionCustomerKnows = "customer_knows"
	QuestionOptOut        = "opt_out"
	QuestionStorage       = "storage_safe"
	QuestionTypical       = "typical"
	QuestionBalancing     = "balancing"
	QuestionDPIA          = "dpia"
)

// The high-risk processing that calls for a DPIA (GDPR Art. 35(3)).
const (
	RiskSpecialCategories  = "special_categories"
	RiskProfiling          = "profiling"
	RiskAutomatedDecisions = "automated_decisions"
)

// HighRisks lists the kinds of high-risk processing, in the order forms
// offer them.
var HighRisks = []string{RiskSpecialCategories, RiskProfiling, RiskAutomatedDecisions}

// Answers are what a privacy officer writes: the four questions, the
// balancing test of a legitimate interest and the DPIA of a high-risk
// purpose. A nil yes/no is not answered.
type Answers struct {
	// CustomerKnows: what the customer knows about what is collected, how
	// it is used and how it is stored.
	CustomerKnows string `json:"customer_knows"`
	// OptOut: whether the customer can opt out; OptOutReason says why not.
	OptOut       *bool  `json:"opt_out"`
	OptOutReason string `json:"opt_out_reason"`
	// StorageSafe: whether the place the data is stored is safe; Storage
	// says where and what makes it so.
	StorageSafe *bool  `json:"storage_safe"`
	Storage     string `json:"storage"`
	// Typical: whether the use is typical of the industry; if not,
	// Advantage says what it brings and CustomerKnowsWhy whether the
	// customer knows why it is done.
	Typical          *bool  `json:"typical"`
	Advantage        string `json:"advantage"`
	CustomerKnowsWhy *bool  `json:"customer_knows_why"`
	// Balancing is the legitimate-interest balancing test.
	Balancing Balancing `json:"balancing"`
	// HighRisk are the kinds of high-risk processing the officer declares
	// (HighRisks); a special category among the purpose's counts without.
	HighRisk []string `json:"high_risk"`
	DPIA     DPIA     `json:"dpia"`
}

// Balancing is the three-part test of a legitimate interest.
type Balancing struct {
	// Purpose: the interest pursued.
	Purpose string `json:"purpose"`
	// Necessity: why the processing is needed for it.
	Necessity string `json:"necessity"`
	// Balance: why the customer's interests do not override it.
	Balance string `json:"balance"`
}

// DPIA is the data protection impact assessment of a high-risk purpose.
type DPIA struct {
	Description string `json:"description"`
	Risks       string `json:"risks"`
	Measures    string `json:"measures"`
}

// Facts are what Steward knows of a purpose, computed afresh at every
// reading: they answer some questions (Facts.Answered).
type Facts struct {
	// Notice is the version of the published notice in force ("" for
	// none); NoticeNamesPurpose whether it names the purpose, by its key
	// or its name, in one of its languages; NoticeMissing the purpose's
	// data categories it names nowhere.
	Notice             string   `json:"notice"`
	NoticeNamesPurpose bool     `json:"notice_names_purpose"`
	NoticeMissing      []string `json:"notice_missing_categories"`
	// OptOut is how the customer opts out: "banner" (a consent purpose:
	// the banner asks, and the banner and the portal withdraw), "objection"
	// (legitimate interest: the portal takes an objection), "" unknown.
	OptOut string `json:"opt_out"`
	// Systems hold the purpose's data categories, as the data map knows
	// them; Unplaced are the categories no known system holds.
	Systems  []SystemFact `json:"systems"`
	Unplaced []string     `json:"unplaced_categories"`
	// Special are the purpose's special categories of data (Art. 9).
	Special []string `json:"special_categories"`
}

// SystemFact is a system holding some of a purpose's data.
type SystemFact struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
	// Location is the country its data is stored in ("" unknown);
	// Measures whether its security measures are written down.
	Location string `json:"location"`
	Measures bool   `json:"measures"`
}

// The ways Steward knows a customer opts out.
const (
	OptOutBanner    = "banner"
	OptOutObjection = "objection"
)

// Answered lists the questions Steward answers from f, in question order.
func (f Facts) Answered() []string {
	out := []string{}
	if f.Notice != "" && f.NoticeNamesPurpose && len(f.NoticeMissing) == 0 {
		out = append(out, QuestionCustomerKnows)
	}
	if f.OptOut != "" {
		out = append(out, QuestionOptOut)
	}
	if f.storageKnown() {
		out = append(out, QuestionStorage)
	}
	return out
}

// storageKnown: every category of the purpose lives in a known system,
// each with its security measures written down.
func (f Facts) storageKnown() bool {
	if len(f.Systems) == 0 || len(f.Unplaced) > 0 {
		return false
	}
	for _, s := range f.Systems {
		if !s.Measures {
			return false
		}
	}
	return true
}

// Scope is what an approval covers.
type Scope struct {
	LegalBasis consent.LegalBasis `json:"legal_basis"`
	Vendors    []string           `json:"vendors"`
	Categories []string           `json:"categories"`
}

// Approval is an approved assessment, frozen as it was approved.
type Approval struct {
	ApprovedAt time.Time `json:"approved_at"`
	// ApprovedBy is the audit actor who approved ("staff:…").
	ApprovedBy string    `json:"approved_by"`
	ValidUntil time.Time `json:"valid_until"`
	Scope      Scope     `json:"scope"`
	Answers    Answers   `json:"answers"`
	Facts      Facts     `json:"facts"`
	// FromSteward are the questions Steward answered (Facts.Answered).
	FromSteward []string `json:"from_steward"`
}

// Status is where a purpose's assessment stands.
type Status string

// The statuses.
const (
	// StatusNotRequired: a necessary purpose needs no assessment.
	StatusNotRequired Status = "not_required"
	// StatusApproved: the approval holds and covers the purpose's scope.
	StatusApproved Status = "approved"
	// StatusGrace: not yet approved, in the grace period of an upgrade.
	StatusGrace Status = "grace"
	// StatusMissing: never approved (or the grace ended): refused.
	StatusMissing Status = "missing"
	// StatusExpired: the approval ran out: refused.
	StatusExpired Status = "expired"
	// StatusScopeChanged: the basis changed, or vendors or categories grew
	// beyond the approval: refused.
	StatusScopeChanged Status = "scope_changed"
)

// Open reports whether data may be used for the purpose in this status.
func (s Status) Open() bool {
	return s == StatusNotRequired || s == StatusApproved || s == StatusGrace
}

// View is a purpose's assessment as staff see it.
type View struct {
	Purpose    string             `json:"purpose"`
	LegalBasis consent.LegalBasis `json:"legal_basis"`
	Required   bool               `json:"required"`
	Status     Status             `json:"status"`
	// DueBy is the end of the upgrade's grace period, while it runs.
	DueBy *time.Time `json:"due_by"`
	// NeedsBalancing and NeedsDPIA say which parts the purpose needs now.
	NeedsBalancing bool `json:"needs_balancing"`
	NeedsDPIA      bool `json:"needs_dpia"`
	// Scope is what an approval would cover now.
	Scope Scope `json:"scope"`
	// Facts and FromSteward are Steward's answers now.
	Facts       Facts    `json:"facts"`
	FromSteward []string `json:"from_steward"`
	// Answers is the draft; SavedAt and SavedBy say who saved it last.
	Answers  Answers    `json:"answers"`
	SavedAt  *time.Time `json:"saved_at"`
	SavedBy  string     `json:"saved_by"`
	Approval *Approval  `json:"approval"`
}

// FromStewardHas reports whether Steward answers question now.
func (v View) FromStewardHas(question string) bool {
	for _, q := range v.FromSteward {
		if q == question {
			return true
		}
	}
	return false
}
