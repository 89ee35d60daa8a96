package assurance

import (
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
)

// Kind is the kind of answer a question takes.
type Kind string

// The kinds of question.
const (
	KindYesNo  Kind = "yes_no" // "yes" or "no"
	KindChoice Kind = "choice" // one of the question's options
	KindText   Kind = "text"   // free text
	// KindFileReference asks for a URL (https) or a document id the vendor
	// gives: a certificate, a report, a list of sub-processors. Steward
	// takes no uploads, so a vendor's files never become Steward's to keep.
	KindFileReference Kind = "file_reference"
)

// Kinds lists every kind of question.
var Kinds = []Kind{KindYesNo, KindChoice, KindText, KindFileReference}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// closed reports whether answers of kind k are picked from a list, and so
// have passing answers; text and file references pass when not empty.
func (k Kind) closed() bool { return k == KindYesNo || k == KindChoice }

// The answers of a yes/no question.
const (
	Yes = "yes"
	No  = "no"
)

// Question is one question of a template.
type Question struct {
	// ID names the question in answers; unique in its template.
	ID string `json:"id"`
	// Topic groups questions on the form ("Encryption").
	Topic string `json:"topic,omitempty"`
	Text  string `json:"text"`
	// Help explains the question to the vendor.
	Help string `json:"help,omitempty"`
	Kind Kind   `json:"kind"`
	// Options are the answers of a choice question; empty for other kinds.
	Options []string `json:"options,omitempty"`
	// Weight is what the question counts for in the score: 1 to 100.
	Weight int `json:"weight"`
	// Pass are the answers that pass a yes/no or choice question (the
	// required answer); empty for text and file references, which pass
	// when they are not empty.
	Pass []string `json:"pass,omitempty"`
	// MustPass makes the question decide on its own: failing it fails the
	// assessment whatever the score.
	MustPass bool `json:"must_pass,omitempty"`
}

// Choices returns the answers a question offers: yes and no, the options
// of a choice, none for text and file references.
func (q Question) Choices() []string {
	switch q.Kind {
	case KindYesNo:
		return []string{Yes, No}
	case KindChoice:
		return slices.Clone(q.Options)
	}
	return nil
}

// Passes reports whether answer meets the question's requirement.
func (q Question) Passes(answer string) bool {
	answer = strings.TrimSpace(answer)
	if q.Kind.closed() {
		return answer != "" && slices.Contains(q.Pass, answer)
	}
	return answer != ""
}

// Template is a version of a questionnaire: its questions with their
// weights and required answers, and the pass mark.
type Template struct {
	// Key names the template; Version counts its versions from 1. An
	// assessment names the version it was sent with, which never changes.
	Key         string `json:"key"`
	Version     int    `json:"version"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// PassMark is the score, in percent of the total weight, an
	// assessment needs to pass (1 to 100).
	PassMark  int        `json:"pass_mark"`
	Questions []Question `json:"questions"`
	// Builtin marks a template shipped with Steward (BuiltinTemplates);
	// it is kept by EnsureBuiltins and cannot be changed by PutTemplate.
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at"`
}

// Question returns the question with id.
func (t Template) Question(id string) (Question, bool) {
	for _, q := range t.Questions {
		if q.ID == id {
			return q, true
		}
	}
	return Question{}, false
}

// Score is the result of a questionnaire's answers against its template.
type Score struct {
	// Earned is the weight of the questions that got a passing answer;
	// Possible the total weight of the template.
	Earned   int `json:"earned"`
	Possible int `json:"possible"`
	// Percent is Earned of Possible, rounded down; PassMark the template's.
	Percent  int `json:"percent"`
	PassMark int `json:"pass_mark"`
	// Passed is whether the score reaches the pass mark and no must-pass
	// question failed.
	Passed bool `json:"passed"`
	// Failed lists the questions without a passing answer, in template
	// order; MustPassFailed those of them that are must-pass.
	Failed         []string `json:"failed"`
	MustPassFailed []string `json:"must_pass_failed"`
}

// State is where an assessment stands.
type State string

// The states. Sent is open: the vendor may save and submit answers.
const (
	StateSent      State = "sent"      // the link is out; the vendor answers
	StateSubmitted State = "submitted" // answered and scored, awaiting review
	StateApproved  State = "approved"  // signed off: the vendor may receive data until ValidUntil
	StateRejected  State = "rejected"  // signed off as not acceptable
	StateRevoked   State = "revoked"   // the link was withdrawn before submission
)

// States lists every state.
var States = []State{StateSent, StateSubmitted, StateApproved, StateRejected, StateRevoked}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// TargetVendor is the audit target kind of the acts of this package: the
// vendor concerned, by its catalog key.
const TargetVendor = "vendor"

// ActorVendorLink is the audit actor kind of whoever holds an assessment's
// link (its id is the assessment's): Steward cannot know which person at
// the vendor answered.
const ActorVendorLink = "vendor_link"

func target(vendorKey string) audit.Target { return audit.Target{Kind: TargetVendor, ID: vendorKey} }

// Scope is what an assessment covers: the vendor's purposes and data
// categories when it was sent, sorted.
type Scope struct {
	Purposes       []string `json:"purposes"`
	DataCategories []string `json:"data_categories"`
}

// Assessment is one questionnaire sent to a vendor, without its sealed
// contact address (Contact opens it) and its answers (Detail, Answers).
type Assessment struct {
	ID              string `json:"id"`
	VendorKey       string `json:"vendor"`
	TemplateKey     string `json:"template"`
	TemplateVersion int    `json:"template_version"`
	State           State  `json:"state"`
	Scope           Scope  `json:"scope"`
	// PassMark is the template's when it was sent.
	PassMark int         `json:"pass_mark"`
	SentAt   time.Time   `json:"sent_at"`
	SentBy   audit.Actor `json:"sent_by"`
	// LinkExpiresAt is when the vendor's link stops working.
	LinkExpiresAt time.Time `json:"link_expires_at"`
	// AnswersVersion is the number of the latest saved answers, 0 before
	// the first save.
	AnswersVersion int        `json:"answers_version"`
	LastSavedAt    *time.Time `json:"last_saved_at,omitempty"`
	SubmittedAt    *time.Time `json:"submitted_at,omitempty"`
	// Score is set once the answers were submitted.
	Score          *Score      `json:"score,omitempty"`
	ReviewedAt     *time.Time  `json:"reviewed_at,omitempty"`
	ReviewedBy     audit.Actor `json:"reviewed_by"`
	ReviewComments string      `json:"review_comments,omitempty"`
	// ValidUntil is when an approval ends; the vendor must be assessed
	// again by then.
	ValidUntil   *time.Time `json:"valid_until,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// Version counts the changes to the assessment, 1 when sent.
	Version int64 `json:"version"`
}

// Passed reports whether the submitted answers passed.
func (a Assessment) Passed() bool { return a.Score != nil && a.Score.Passed }

// Current reports whether the assessment lets the vendor receive data at
// now: approved, passed and not past its validity. The scope is checked by
// Service.Assurance, which knows the vendor's current purposes.
func (a Assessment) Current(now time.Time) bool {
	return a.State == StateApproved && a.Passed() && a.ValidUntil != nil && now.Before(*a.ValidUntil)
}

// LinkOpen reports whether the vendor's link works at now.
func (a Assessment) LinkOpen(now time.Time) bool {
	return a.State == StateSent && now.Before(a.LinkExpiresAt)
}

// Answers is one saved version of an assessment's answers.
type Answers struct {
	AssessmentID string    `json:"assessment"`
	Version      int       `json:"version"`
	SavedAt      time.Time `json:"saved_at"`
	// Values maps question ids to answers; a question without an entry
	// was not answered.
	Values map[string]string `json:"answers"`
	// Submitted marks the version that was submitted (and scored).
	Submitted bool `json:"submitted"`
}

// Prompt is a question as the vendor sees it: without its weight, its
// passing answers or whether it must pass, so that the form does not teach
// the vendor what to answer.
type Prompt struct {
	ID      string   `json:"id"`
	Topic   string   `json:"topic,omitempty"`
	Text    string   `json:"text"`
	Help    string   `json:"help,omitempty"`
	Kind    Kind     `json:"kind"`
	Choices []string `json:"choices,omitempty"`
}

// Questionnaire is what the holder of a link sees: their vendor's name, the
// questions and their latest saved answers. It names no other vendor and
// no contact.
type Questionnaire struct {
	AssessmentID   string            `json:"assessment"`
	VendorKey      string            `json:"vendor"`
	VendorName     string            `json:"vendor_name"`
	TemplateName   string            `json:"template_name"`
	Description    string            `json:"description,omitempty"`
	Prompts        []Prompt          `json:"questions"`
	Answers        map[string]string `json:"answers"`
	AnswersVersion int               `json:"answers_version"`
	LastSavedAt    *time.Time        `json:"last_saved_at,omitempty"`
	LinkExpiresAt  time.Time         `json:"link_expires_at"`
	// Submitted is set by SaveAnswers when it submitted the answers.
	Submitted bool `json:"submitted"`
}

// Answered counts the questions with an answer.
func (q Questionnaire) Answered() int {
	n := 0
	for _, p := range q.Prompts {
		if strings.TrimSpace(q.Answers[p.ID]) != "" {
			n++
		}
	}
	return n
}

// Result is one question of a submitted assessment, for review.
type Result struct {
	Question Question `json:"question"`
	Answer   string   `json:"answer"`
	Passed   bool     `json:"passed"`
}

// Detail is an assessment with what its review needs: the template version
// it was sent with, the latest answers and each question's result.
type Detail struct {
	Assessment Assessment `json:"assessment"`
	Template   Template   `json:"template"`
	// Answers is the latest saved version; its Version is 0 when nothing
	// was saved.
	Answers Answers  `json:"answers"`
	Results []Result `json:"results"`
}

// Status names why a vendor may or may not receive data.
type Status string

// The statuses of Assurance. Only StatusCurrent lets data flow.
const (
	StatusCurrent        Status = "current"         // approved, passed, valid, scope covers the vendor
	StatusUnknownVendor  Status = "unknown_vendor"  // not in the catalog
	StatusNone           Status = "none"            // never assessed
	StatusPending        Status = "pending"         // sent, not yet submitted
	StatusAwaitingReview Status = "awaiting_review" // submitted, not yet signed off
	StatusRejected       Status = "rejected"        // the latest review rejected it
	StatusExpired        Status = "expired"         // the approval ran out
	StatusPurposesGrew   Status = "purposes_grew"   // the vendor has purposes the assessment did not cover
	StatusCategoriesGrew Status = "categories_grew" // the vendor receives data categories the assessment did not cover
	StatusLinkExpired    Status = "link_expired"    // sent, the link expired unanswered
	StatusRevoked        Status = "revoked"         // the latest questionnaire was withdrawn
)

// Assurance is whether a vendor may receive data now, and why. Disclosures
// ask for it before data leaves: without Passing, a disclosure is blocked
// with Reason.
type Assurance struct {
	VendorKey string `json:"vendor"`
	Passing   bool   `json:"passing"`
	Status    Status `json:"status"`
	// Reason says why in words for staff and for the disclosure's record:
	// "no assessment", "assessment vas_… expired on 2027-03-02",
	// "purposes grew since the assessment: marketing".
	Reason string `json:"reason"`
	// AssessmentID is the assessment the answer rests on, if any: the
	// latest approved one, else the latest one.
	AssessmentID string     `json:"assessment,omitempty"`
	ValidUntil   *time.Time `json:"valid_until,omitempty"`
	// Grown lists the purposes or categories the assessment did not cover.
	Grown []string `json:"grown,omitempty"`
}

// Contact is a person to reach at a vendor. Name and Email are personal
// data: Contacts leaves them empty, RevealContacts fills them in.
type Contact struct {
	ID        string    `json:"id"`
	VendorKey string    `json:"vendor"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// Sent is a questionnaire just sent: the assessment, and the token of its
// link, which Steward keeps only as a hash. Show or send it now; it cannot
// be read again.
type Sent struct {
	Assessment Assessment
	Token      string
}

// Path is the vendor's link, relative to Steward's public URL.
func (s Sent) Path() string { return LinkPath(s.Token) }

// LinkPath returns the path of the questionnaire page of a token.
func LinkPath(token string) string { return "/assess/" + token }
