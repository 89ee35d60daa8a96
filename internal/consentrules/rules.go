// Package consentrules is the one implementation of Steward's decision
// rules, shared by the server (package consent) and the Go SDK's local
// Decider (package client): the rule itself (Rule), the regimes of
// jurisdictions, the in-memory index of the latest consent state per
// identity, purpose and vendor (Index), the decision-relevant part of the
// catalog (Catalog, built from a RulesDocument) and the decision that ties
// them (Decide).
//
// It imports the standard library only: the SDK carries it into the
// integrator's program, which must not carry Steward's server with it. It
// lives under internal/ because the SDK, in the same module, may import
// it, while nobody outside the module may: its types change with the
// server's index and promise nothing; the SDK exposes its own.
//
//	x := consentrules.NewIndex(consentrules.RefKey)
//	cat := doc.Compile(x)
//	x.Apply(entries)
//	a, err := consentrules.Decide(cat, x, &q, gpc, nowMicros)
package consentrules

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
	ReasonVendorNotAssessed  Reason = "vendor_not_assessed"
	ReasonRestricted         Reason = "restricted"
	ReasonObjected           Reason = "objected"
	ReasonPurposeNotAssessed Reason = "purpose_not_assessed"
)

// Regime is how a jurisdiction treats consent purposes.
type Regime string

// The regimes: opt-in needs a grant before use; opt-out allows use until
// the person objects.
const (
	OptIn  Regime = "opt_in"
	OptOut Regime = "opt_out"
)

// LegalBasis is the GDPR Article 6 basis of a purpose.
type LegalBasis string

// The legal bases.
const (
	BasisConsent            LegalBasis = "consent"
	BasisLegitimateInterest LegalBasis = "legitimate_interest"
	BasisContract           LegalBasis = "contract"
	BasisLegalObligation    LegalBasis = "legal_obligation"
)

// The actions a state records, as codes.
const (
	ActionNone uint8 = iota
	ActionGrant
	ActionDeny
	ActionWithdraw
	ActionObject
)

// ActionCode returns the code of an action's name ("grant"...), or
// ActionNone.
func ActionCode(a string) uint8 {
	switch a {
	case "grant":
		return ActionGrant
	case "deny":
		return ActionDeny
	case "withdraw":
		return ActionWithdraw
	case "object":
		return ActionObject
	}
	return ActionNone
}

// ActionName is the name of an action code ("" for ActionNone).
func ActionName(code uint8) string {
	switch code {
	case ActionGrant:
		return "grant"
	case ActionDeny:
		return "deny"
	case ActionWithdraw:
		return "withdraw"
	case ActionObject:
		return "object"
	}
	return ""
}

// ChannelIndex returns a channel's place in the list email, sms, post, or
// -1. It is a switch, not a search, because decisions call it.
func ChannelIndex(c string) int {
	switch c {
	case "email":
		return 0
	case "sms":
		return 1
	case "post":
		return 2
	}
	return -1
}

// PurposeRule is what the rule needs of a purpose.
type PurposeRule struct {
	LegalBasis    LegalBasis
	Necessary     bool
	SaleOrSharing bool
	// Communication marks a communication topic: opt-in wherever it is
	// asked about (nobody is written to before they ask to be).
	Communication bool
}

// State is the latest decision of one identity for one (purpose, vendor).
// It is kept to 16 bytes: the index holds one per recorded combination.
type State struct {
	Seq      uint64
	At       uint32 // Unix seconds: the server's receive time, or an import's original time
	Notice   uint16 // ordinal of the notice the decision was made under
	Action   uint8
	Imported bool // source import: a historical consent with its original time
}

// Newer reports whether s is later than other. The order of choices is
// the ledger's (the order the server received them), never a time a client
// supplied: of two events, the one with the higher sequence number wins,
// except that an import (a historical consent with its original time) does
// not replace a state whose time is later than its own. So an import never
// overrides a choice recorded after it arrived, nor one made after the
// consent it imports. Events are applied in ledger order, live and when the
// index is rebuilt, and re-applying one is harmless.
func (s State) Newer(other State) bool {
	switch {
	case s.Seq > other.Seq:
		return !s.Imported || s.At >= other.At
	case s.Seq < other.Seq:
		return other.Imported && other.At < s.At
	}
	return false
}

// Hold is what stops a subject's processing whatever their consents say.
type Hold struct {
	Kind uint8
	Seq  uint64 // the restriction's or the objection's sequence number
}

// The kinds of hold.
const (
	HoldNone uint8 = iota
	HoldRestricted
	HoldObjected
)

// Answer is a decision with its reason and the ledger sequence number of
// the event it rests on (0 when none does).
type Answer struct {
	Allowed bool
	Reason  Reason
	Event   int64
}

// Rule is the decision itself: a pure function of the purpose, whether the
// vendor is declared for it and assessed (a current passing security
// assessment: without one, nothing flows to it, necessary purposes
// included), whether the purpose is assessed (an approved ethics
// assessment, or no need of one), the regime, the GPC signal, the latest
// recorded state and what holds the subject's processing (a restriction or
// an objection). A restriction stops every purpose but those the law
// obliges (Art. 18(2) keeps storage and legal claims); an objection stops
// the purpose it names, whatever was granted since by anyone but the
// subject. A communication topic is opt-in whatever the regime.
func Rule(p *PurposeRule, vendorGiven, vendorDeclared, vendorAssessed, purposeAssessed bool, regime Regime, gpc bool, s State, found bool, h Hold, currentNotice uint16) Answer {
	var event int64
	if found {
		event = int64(s.Seq)
	}
	if p.Communication {
		regime = OptIn
	}
	switch {
	case vendorGiven && !vendorDeclared:
		return Answer{Allowed: false, Reason: ReasonVendorNotDeclared}
	case vendorGiven && !vendorAssessed:
		return Answer{Allowed: false, Reason: ReasonVendorNotAssessed}
	case !purposeAssessed:
		return Answer{Allowed: false, Reason: ReasonPurposeNotAssessed}
	case h.Kind == HoldRestricted && p.LegalBasis != BasisLegalObligation:
		return Answer{Allowed: false, Reason: ReasonRestricted, Event: int64(h.Seq)}
	case p.Necessary || p.LegalBasis == BasisContract || p.LegalBasis == BasisLegalObligation:
		return Answer{Allowed: true, Reason: ReasonNecessary}
	case h.Kind == HoldObjected:
		return Answer{Allowed: false, Reason: ReasonObjected, Event: int64(h.Seq)}
	case gpc && p.SaleOrSharing:
		// The signal wins over any grant recorded before it.
		return Answer{Allowed: false, Reason: ReasonGPCOptOut}
	case found && s.Action == ActionDeny:
		return Answer{Allowed: false, Reason: ReasonConsentDenied, Event: event}
	case found && s.Action == ActionWithdraw:
		return Answer{Allowed: false, Reason: ReasonConsentWithdrawn, Event: event}
	case p.LegalBasis == BasisLegitimateInterest:
		return Answer{Allowed: true, Reason: ReasonLegitimateInterest, Event: event}
	case found && s.Action == ActionGrant:
		if regime == OptIn && s.Notice < currentNotice {
			return Answer{Allowed: false, Reason: ReasonNoticeOutdated, Event: event}
		}
		return Answer{Allowed: true, Reason: ReasonConsentGranted, Event: event}
	case regime == OptOut:
		return Answer{Allowed: true, Reason: ReasonNoConsentRecorded}
	default:
		return Answer{Allowed: false, Reason: ReasonNoConsentRecorded}
	}
}
