package consent

import (
	"fmt"

	"github.com/steward-dev/steward/internal/errs"
)

// Reason explains a decision.
type Reason string

// The reasons a decision gives.
const (
	ReasonNecessary          Reason = "necessary"
	ReasonConsentGranted     Reason = "consent_granted"
	ReasonConsentDenied      Reason = "consent_denied"
	ReasonConsentWithdrawn   Reason = "consent_withdrawn"
	ReasonNoConsentRecorded  Reason = "no_consent_recorded"
	ReasonLegitimateInterest Reason = "legitimate_interest"
	ReasonGPCOptOut          Reason = "gpc_opt_out"
	ReasonNoticeOutdated     Reason = "notice_outdated"
	ReasonVendorNotDeclared  Reason = "vendor_not_declared"
	// ReasonVendorNotAssessed: the vendor has no current passing security
	// assessment covering what it receives (package assurance), so it may
	// receive nothing, whatever the consent.
	ReasonVendorNotAssessed Reason = "vendor_not_assessed"
	// ReasonRestricted: the subject's processing is restricted (GDPR Art.
	// 18) until staff lift the restriction.
	ReasonRestricted Reason = "restricted"
	// ReasonObjected: the subject objected to the purpose (GDPR Art. 21).
	ReasonObjected Reason = "objected"
	// ReasonPurposeNotAssessed: the purpose has no approved ethics
	// assessment that holds now and covers its vendors and data categories
	// (package ethics), so no data is used for it, whatever the consent.
	ReasonPurposeNotAssessed Reason = "purpose_not_assessed"
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

// rule is the decision itself: a pure function of the purpose, whether the
// vendor is declared for it and assessed (a current passing security
// assessment: without one, nothing flows to it, necessary purposes
// included), whether the purpose is assessed (an approved ethics
// assessment, or no need of one: see Purpose.NeedsAssessment), the regime, the GPC signal, the latest
// recorded state and what holds the subject's processing (a restriction or
// an objection). A restriction stops every purpose but those the law
// obliges (Art. 18(2) keeps storage and legal claims); an objection stops
// the purpose it names, whatever was granted since by anyone but the
// subject.
func rule(p *Purpose, vendorGiven, vendorDeclared, vendorAssessed, purposeAssessed bool, regime Regime, gpc bool, s state, found bool, h hold, currentNotice uint16) Answer {
	var event int64
	if found {
		event = int64(s.seq)
	}
	switch {
	case vendorGiven && !vendorDeclared:
		return Answer{Allowed: false, Reason: ReasonVendorNotDeclared}
	case vendorGiven && !vendorAssessed:
		return Answer{Allowed: false, Reason: ReasonVendorNotAssessed}
	case !purposeAssessed:
		return Answer{Allowed: false, Reason: ReasonPurposeNotAssessed}
	case h.kind == holdRestricted && p.LegalBasis != BasisLegalObligation:
		return Answer{Allowed: false, Reason: ReasonRestricted, Event: int64(h.seq)}
	case p.Necessary || p.LegalBasis == BasisContract || p.LegalBasis == BasisLegalObligation:
		return Answer{Allowed: true, Reason: ReasonNecessary}
	case h.kind == holdObjected:
		return Answer{Allowed: false, Reason: ReasonObjected, Event: int64(h.seq)}
	case gpc && p.SaleOrSharing:
		// The signal wins over any grant recorded before it.
		return Answer{Allowed: false, Reason: ReasonGPCOptOut}
	case found && s.action == actionDeny:
		return Answer{Allowed: false, Reason: ReasonConsentDenied, Event: event}
	case found && s.action == actionWithdraw:
		return Answer{Allowed: false, Reason: ReasonConsentWithdrawn, Event: event}
	case p.LegalBasis == BasisLegitimateInterest:
		return Answer{Allowed: true, Reason: ReasonLegitimateInterest, Event: event}
	case found && s.action == actionGrant:
		if regime == OptIn && s.notice < currentNotice {
			return Answer{Allowed: false, Reason: ReasonNoticeOutdated, Event: event}
		}
		return Answer{Allowed: true, Reason: ReasonConsentGranted, Event: event}
	case regime == OptOut:
		return Answer{Allowed: true, Reason: ReasonNoConsentRecorded}
	default:
		return Answer{Allowed: false, Reason: ReasonNoConsentRecorded}
	}
}

// latestChoice is the rule between a choice of a communication topic by
// every channel (all) and one by the channel asked about (byChannel):
// whichever is later in ledger order decides (state.newer: the ledger's
// order, an import not replacing a later state). So a withdrawal for every
// channel beats earlier grants by one channel, and a grant by one channel
// after it allows that channel again, and no other.
func latestChoice(all state, allFound bool, byChannel state, channelFound bool) (state, bool) {
	if channelFound && (!allFound || byChannel.newer(all)) {
		return byChannel, true
	}
	return all, allFound
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

// Decide answers one question. gpcHeader is the Sec-GPC signal of the
// request that carries the question. It does not allocate for valid input.
func (d *Decider) Decide(q *Question, gpcHeader bool) (Answer, error) {
	cat := d.catalog.load()
	p, ok := cat.purposes[q.Purpose]
	if !ok {
		return Answer{}, errs.Invalid("purpose", "unknown purpose %q", q.Purpose)
	}
	if (q.Subject == "") == (q.Device == "") {
		return Answer{}, errs.Invalid("subject", "give exactly one of subject and device")
	}
	if q.Channel != "" {
		if i := channelIndex(q.Channel); i < 0 || !p.channels[i] {
			return Answer{}, errs.Invalid("channel", "purpose %q is not sent by channel %q", q.Purpose, q.Channel)
		}
	}
	now := d.nowMicros()
	purposeAssessed := d.purposes.openID(p.id, now)
	var vendor uint16
	vendorDeclared, vendorAssessed := false, false
	if q.Vendor != "" {
		v, ok := cat.vendors[q.Vendor]
		if !ok {
			return Answer{}, errs.Invalid("vendor", "unknown vendor %q", q.Vendor)
		}
		vendor = v.id
		vendorDeclared = p.declares(v.id)
		vendorAssessed = d.gate.openID(v.id, now)
	}
	rules := &cat.defaultRules
	jurisdiction := q.Jurisdiction
	if q.Property != "" {
		prop, ok := cat.properties[q.Property]
		if !ok {
			return Answer{}, errs.Invalid("property", "unknown property %q", q.Property)
		}
		rules = &prop.rules
		if jurisdiction == "" {
			jurisdiction = prop.DefaultJurisdiction
		}
	}
	if jurisdiction != "" && !ValidJurisdiction(jurisdiction) {
		return Answer{}, errs.Invalid("jurisdiction", "%q is not a country (DE) or subdivision (US-CA) code", jurisdiction)
	}
	regime := rules.regime(jurisdiction)
	if p.Kind == KindCommunication {
		regime = OptIn // nobody is written to before they ask to be
	}
	gpc := gpcHeader || q.GPC
	if q.Channel == "" && p.Kind == KindCommunication {
		// Asked about no channel, the question is whether the subject
		// may be written to by every channel the topic declares: the
		// first channel refused answers.
		var first Answer
		d.index.mu.RLock()
		for i, declared := range p.channels {
			if !declared {
				continue
			}
			s, found, h := d.index.latest(q.Subject, q.Device, p.id, vendor, uint16(i+1))
			a := rule(&p.Purpose, q.Vendor != "", vendorDeclared, vendorAssessed, purposeAssessed, regime, gpc, s, found, h, cat.currentNotice)
			if first.Reason == "" || first.Allowed && !a.Allowed {
				first = a
			}
		}
		d.index.mu.RUnlock()
		if first.Reason != "" {
			return first, nil
		}
	}
	d.index.mu.RLock()
	s, found, h := d.index.latest(q.Subject, q.Device, p.id, vendor, channelCode(q.Channel))
	d.index.mu.RUnlock()
	return rule(&p.Purpose, q.Vendor != "", vendorDeclared, vendorAssessed, purposeAssessed, regime, gpc, s, found, h, cat.currentNotice), nil
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
