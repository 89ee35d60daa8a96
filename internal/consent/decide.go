package consent

import (
	"errors"
	"fmt"

	"github.com/steward-dev/steward/internal/consentrules"

	"github.com/steward-dev/steward/internal/errs"
)

// Reason explains a decision.
type Reason = consentrules.Reason

// The reasons a decision gives (see consentrules for each).
const (
	ReasonNecessary          = consentrules.ReasonNecessary
	ReasonConsentGranted     = consentrules.ReasonConsentGranted
	ReasonConsentDenied      = consentrules.ReasonConsentDenied
	ReasonConsentWithdrawn   = consentrules.ReasonConsentWithdrawn
	ReasonNoConsentRecorded  = consentrules.ReasonNoConsentRecorded
	ReasonLegitimateInterest = consentrules.ReasonLegitimateInterest
	ReasonGPCOptOut          = consentrules.ReasonGPCOptOut
	ReasonNoticeOutdated     = consentrules.ReasonNoticeOutdated
	ReasonVendorNotDeclared  = consentrules.ReasonVendorNotDeclared
	// ReasonVendorNotAssessed: the vendor has no current passing security
	// assessment covering what it receives (package assurance), so it may
	// receive nothing, whatever the consent.
	ReasonVendorNotAssessed = consentrules.ReasonVendorNotAssessed
	// ReasonRestricted: the subject's processing is restricted (GDPR Art.
	// 18) until staff lift the restriction.
	ReasonRestricted = consentrules.ReasonRestricted
	// ReasonObjected: the subject objected to the purpose (GDPR Art. 21).
	ReasonObjected = consentrules.ReasonObjected
	// ReasonPurposeNotAssessed: the purpose has no approved ethics
	// assessment that holds now and covers its vendors and data categories
	// (package ethics), so no data is used for it, whatever the consent.
	ReasonPurposeNotAssessed = consentrules.ReasonPurposeNotAssessed
)

// Reasons lists every reason, for metrics and documentation.
var Reasons = []Reason{ReasonNecessary, ReasonConsentGranted, ReasonConsentDenied, ReasonConsentWithdrawn,
	ReasonNoConsentRecorded, ReasonLegitimateInterest, ReasonGPCOptOut, ReasonNoticeOutdated, ReasonVendorNotDeclared,
	ReasonVendorNotAssessed, ReasonRestricted, ReasonObjected, ReasonPurposeNotAssessed}

// Question asks whether a subject's or device's data may be used for a
// purpose, optionally by a vendor. Property selects the jurisdiction rules
// (the default rules when empty); Jurisdiction is a code such as "DE" or
// "US-CA" (the property's default when empty). For a communication topic,
// Channel names the channel the company means to use ("may we email them
// about it?"): one the topic does not declare is refused, as the customer
// was never asked about it.
type Question struct {
	Subject      string  `json:"subject,omitempty"`
	Device       string  `json:"device,omitempty"`
	Purpose      string  `json:"purpose"`
	Channel      Channel `json:"channel,omitempty"`
	Vendor       string  `json:"vendor,omitempty"`
	Jurisdiction string  `json:"jurisdiction,omitempty"`
	Property     string  `json:"property,omitempty"`
	GPC          bool    `json:"gpc,omitempty"`
}

// Answer is a decision with its reason and the ledger sequence number of
// the event it rests on (0 when none does).
type Answer struct {
	Allowed bool   `json:"allowed"`
	Reason  Reason `json:"reason"`
	Event   int64  `json:"event"`
}

// rule is consentrules.Rule for a catalog purpose.
func rule(p *Purpose, vendorGiven, vendorDeclared, vendorAssessed, purposeAssessed bool, regime Regime, gpc bool, s state, found bool, h hold, currentNotice uint16) Answer {
	return Answer(consentrules.Rule(purposeRule(p), vendorGiven, vendorDeclared, vendorAssessed, purposeAssessed,
		regime, gpc, s, found, h, currentNotice))
}

// purposeRule is what the rule needs of a purpose.
func purposeRule(p *Purpose) *consentrules.PurposeRule {
	return &consentrules.PurposeRule{LegalBasis: consentrules.LegalBasis(p.LegalBasis), Necessary: p.Necessary,
		SaleOrSharing: p.SaleOrSharing, Communication: p.Kind == KindCommunication}
}

// Decider answers questions from the catalog and the index alone.
type Decider struct {
	catalog *catalogHolder
	index   *Index
	gate    *vendorGate
	// purposes holds the purposes data may be used for.
	purposes *purposeGate
	// nowMicros is the time the gates compare an assessment's end with: a
	// coarse clock in production (see coarseClock).
	nowMicros func() int64
}

// Decide answers one question (consentrules.Decide). gpcHeader is the
// Sec-GPC signal of the request that carries the question. It does not
// allocate for valid input.
func (d *Decider) Decide(q *Question, gpcHeader bool) (Answer, error) {
	cat := d.catalog.load()
	var purposeOpen, vendorOpen []int64
	if snap := d.purposes.snapshot.Load(); snap != nil {
		purposeOpen = snap.byID
	}
	if snap := d.gate.snapshot.Load(); snap != nil {
		vendorOpen = snap.byID
	}
	rq := consentrules.Question{Subject: q.Subject, Device: q.Device, Purpose: q.Purpose, Channel: string(q.Channel), Vendor: q.Vendor,
		Jurisdiction: q.Jurisdiction, Property: q.Property, GPC: q.GPC}
	a, err := consentrules.Decide(cat.rules, purposeOpen, vendorOpen, d.index.Index, &rq, gpcHeader, d.nowMicros())
	if err != nil {
		var fe *consentrules.FieldError
		if errors.As(err, &fe) {
			return Answer{}, errs.Invalid(fe.Field, "%s", fe.Message)
		}
		return Answer{}, err
	}
	return Answer(a), nil
}

// DecideAll answers questions in order into answers (which must be as long),
// naming the question at fault in errors: "questions[3].purpose".
func (d *Decider) DecideAll(questions []Question, gpcHeader bool, answers []Answer) error {
	for i := range questions {
		a, err := d.Decide(&questions[i], gpcHeader)
		if err != nil {
			e, _ := errs.As(err)
			problems := map[string]string{}
			for f, p := range e.Fields {
				problems[fmt.Sprintf("questions[%d].%s", i, f)] = p
			}
			return errs.Fields(problems)
		}
		answers[i] = a
	}
	return nil
}
