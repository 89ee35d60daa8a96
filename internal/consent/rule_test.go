package consent

import (
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/wcag"
)

func TestRule(t *testing.T) {
	consentP := &Purpose{Key: "analytics", LegalBasis: BasisConsent}
	saleP := &Purpose{Key: "sale", LegalBasis: BasisConsent, SaleOrSharing: true}
	necessaryP := &Purpose{Key: "necessary", LegalBasis: BasisContract, Necessary: true}
	liP := &Purpose{Key: "fraud", LegalBasis: BasisLegitimateInterest}
	grant := state{Seq: 7, Action: actionGrant, Notice: 2}
	grantOld := state{Seq: 5, Action: actionGrant, Notice: 1}
	deny := state{Seq: 8, Action: actionDeny}
	withdraw := state{Seq: 9, Action: actionWithdraw}
	cases := []struct {
		name           string
		p              *Purpose
		vendorGiven    bool
		vendorDeclared bool
		regime         Regime
		gpc            bool
		s              state
		found          bool
		want           Answer
	}{
		{"vendor not declared beats everything", necessaryP, true, false, OptIn, false, grant, true, Answer{false, ReasonVendorNotDeclared, 0}},
		{"necessary always allowed", necessaryP, false, false, OptIn, true, deny, true, Answer{true, ReasonNecessary, 0}},
		{"opt-in without record denied", consentP, false, false, OptIn, false, state{}, false, Answer{false, ReasonNoConsentRecorded, 0}},
		{"opt-out without record allowed", consentP, false, false, OptOut, false, state{}, false, Answer{true, ReasonNoConsentRecorded, 0}},
		{"grant under current notice", consentP, true, true, OptIn, false, grant, true, Answer{true, ReasonConsentGranted, 7}},
		{"grant under outdated notice in opt-in", consentP, false, false, OptIn, false, grantOld, true, Answer{false, ReasonNoticeOutdated, 5}},
		{"grant under outdated notice in opt-out", consentP, false, false, OptOut, false, grantOld, true, Answer{true, ReasonConsentGranted, 5}},
		{"deny", consentP, false, false, OptOut, false, deny, true, Answer{false, ReasonConsentDenied, 8}},
		{"withdraw", consentP, false, false, OptIn, false, withdraw, true, Answer{false, ReasonConsentWithdrawn, 9}},
		{"gpc overrides earlier grant for sale", saleP, false, false, OptOut, true, grant, true, Answer{false, ReasonGPCOptOut, 0}},
		{"gpc leaves non-sale purposes alone", consentP, false, false, OptIn, true, grant, true, Answer{true, ReasonConsentGranted, 7}},
		{"opt-out sale without gpc allowed", saleP, false, false, OptOut, false, state{}, false, Answer{true, ReasonNoConsentRecorded, 0}},
		{"legitimate interest allowed", liP, false, false, OptIn, false, state{}, false, Answer{true, ReasonLegitimateInterest, 0}},
		{"legitimate interest objected", liP, false, false, OptIn, false, deny, true, Answer{false, ReasonConsentDenied, 8}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rule(c.p, c.vendorGiven, c.vendorDeclared, true, true, c.regime, c.gpc, c.s, c.found, hold{}, 2)
			if got != c.want {
				t.Fatalf("rule = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestRuleHolds: a restriction stops every purpose but a legal obligation,
// necessary ones included; an objection stops the purpose whatever the
// grant recorded.
func TestRuleHolds(t *testing.T) {
	consentP := &Purpose{Key: "marketing", LegalBasis: BasisConsent}
	necessaryP := &Purpose{Key: "necessary", LegalBasis: BasisContract, Necessary: true}
	legalP := &Purpose{Key: "tax", LegalBasis: BasisLegalObligation}
	liP := &Purpose{Key: "fraud", LegalBasis: BasisLegitimateInterest}
	grant := state{Seq: 7, Action: actionGrant, Notice: 2}
	restricted := hold{Kind: holdRestricted, Seq: 11}
	objected := hold{Kind: holdObjected, Seq: 12}
	cases := []struct {
		name  string
		p     *Purpose
		s     state
		found bool
		h     hold
		want  Answer
	}{
		{"restriction beats a grant", consentP, grant, true, restricted, Answer{false, ReasonRestricted, 11}},
		{"restriction stops a necessary purpose", necessaryP, state{}, false, restricted, Answer{false, ReasonRestricted, 11}},
		{"restriction stops legitimate interest", liP, state{}, false, restricted, Answer{false, ReasonRestricted, 11}},
		{"restriction leaves a legal obligation", legalP, state{}, false, restricted, Answer{true, ReasonNecessary, 0}},
		{"objection beats a later grant", consentP, grant, true, objected, Answer{false, ReasonObjected, 12}},
		{"objection to legitimate interest", liP, state{}, false, objected, Answer{false, ReasonObjected, 12}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rule(c.p, false, false, false, true, OptOut, false, c.s, c.found, c.h, 2)
			if got != c.want {
				t.Fatalf("rule = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestRulePurposeNotAssessed: a purpose without an approved ethics
// assessment is refused whatever the consent or the regime; the vendor's
// own refusals come first.
func TestRulePurposeNotAssessed(t *testing.T) {
	consentP := &Purpose{Key: "analytics", LegalBasis: BasisConsent}
	liP := &Purpose{Key: "fraud", LegalBasis: BasisLegitimateInterest}
	grant := state{Seq: 7, Action: actionGrant, Notice: 2}
	cases := []struct {
		name                         string
		p                            *Purpose
		vendorGiven, vendorDeclared  bool
		vendorAssessed, purposeReady bool
		regime                       Regime
		want                         Answer
	}{
		{"grant refused", consentP, false, false, false, false, OptIn, Answer{false, ReasonPurposeNotAssessed, 0}},
		{"opt-out regime refused", consentP, false, false, false, false, OptOut, Answer{false, ReasonPurposeNotAssessed, 0}},
		{"legitimate interest refused", liP, false, false, false, false, OptOut, Answer{false, ReasonPurposeNotAssessed, 0}},
		{"undeclared vendor said first", consentP, true, false, false, false, OptIn, Answer{false, ReasonVendorNotDeclared, 0}},
		{"unassessed vendor said first", consentP, true, true, false, false, OptIn, Answer{false, ReasonVendorNotAssessed, 0}},
		{"assessed purpose allowed", consentP, true, true, true, true, OptIn, Answer{true, ReasonConsentGranted, 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rule(c.p, c.vendorGiven, c.vendorDeclared, c.vendorAssessed, c.purposeReady, c.regime, false, grant, true, hold{}, 2)
			if got != c.want {
				t.Fatalf("rule = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestJurisdictionRules(t *testing.T) {
	rules := JurisdictionRules{OptIn: []string{"EU", "UK", "US-CA"}, OptOut: []string{"US", "FR"}, Default: OptOut}.compile()
	cases := map[string]Regime{
		"DE": OptIn, "FR": OptOut, "GB": OptIn, "US": OptOut, "US-TX": OptOut, "US-CA": OptIn, "JP": OptOut, "": OptOut, "DE-BY": OptIn,
	}
	for j, want := range cases {
		if got := rules.Regime(j); got != want {
			t.Errorf("regime(%q) = %s, want %s", j, got, want)
		}
	}
	def := DefaultRules().compile()
	for j, want := range map[string]Regime{"NO": OptIn, "GB": OptIn, "US-CA": OptOut, "BR": OptIn} {
		if got := def.Regime(j); got != want {
			t.Errorf("default regime(%q) = %s, want %s", j, got, want)
		}
	}
	if p := (JurisdictionRules{OptIn: []string{"de", "EU"}, OptOut: []string{"EU"}, Default: "x"}).Validate("r"); len(p) != 3 {
		t.Errorf("Validate found %v, want 3 problems", p)
	}
}

func TestIndexLatestWinsInAnyOrder(t *testing.T) {
	x := NewIndex()
	at := func(sec int64) indexedEvent {
		return indexedEvent{Seq: sec, Ident: x.key("d1"), Purpose: "analytics", At: unixSeconds(timeAt(sec)), Action: actionGrant}
	}
	a, b := at(100), at(200)
	b.Action = actionWithdraw
	for _, order := range [][]indexedEvent{{a, b}, {b, a}, {a, b, a, b}} {
		x := newIndexKeyed(x.hashKey)
		x.apply(order)
		s, ok, _ := x.latest("", "d1", x.PurposeID("analytics"), 0, 0)
		if !ok || s.Action != actionWithdraw || s.Seq != 200 {
			t.Fatalf("order %v: latest = %+v, %v; want the withdrawal", order, s, ok)
		}
	}
}

func TestValidators(t *testing.T) {
	for s, want := range map[string]bool{"DE": true, "US-CA": true, "GB-ENG": true, "FR-75": true, "de": false, "D": false,
		"DEU": false, "US-": false, "US-CALIF": false, "US_CA": false, "": false, "US-ca": false} {
		if got := ValidJurisdiction(s); got != want {
			t.Errorf("ValidJurisdiction(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]bool{"analytics": true, "sale_of_data": true, "a.b-c": true, "9x": true, "": false,
		"_x": false, "Analytics": false, "a b": false, string(make([]byte, 65)): false} {
		if got := ValidKey(s); got != want {
			t.Errorf("ValidKey(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]bool{"3f0c2a4e-1d7b-4c55-9a0e-6b1f2d3c4e5f": true, "cust:42@shop+x=y": true, "A": true,
		"": false, "-x": false, "a b": false, "a/b": false, "ä": false} {
		if got := ValidID(s); got != want {
			t.Errorf("ValidID(%q) = %v", s, got)
		}
	}
}

func TestUnderGDPR(t *testing.T) {
	for _, c := range []struct {
		j    string
		r    Regime
		want bool
	}{{"DE", OptOut, true}, {"NO", OptIn, true}, {"GB", OptIn, true}, {"CH", OptIn, false}, {"US-CA", OptIn, false}, {"", OptIn, true}, {"", OptOut, false}, {"FR-75", OptIn, true}} {
		if got := UnderGDPR(c.j, c.r); got != c.want {
			t.Errorf("UnderGDPR(%q, %s) = %v", c.j, c.r, got)
		}
	}
}

func TestThemeContrast(t *testing.T) {
	if r := wcag.Contrast("#ffffff", "#0b57d0"); r < wcag.AA {
		t.Fatalf("the default accent fails: %.2f", r)
	}
	b := BannerSettings{Theme: Theme{Text: "#999999", Background: "#ffffff"}}.withDefaults()
	problems := errs.Problems{}
	b.validate(problems, nil)
	if !problems.Has("banner.theme.text") {
		t.Fatalf("grey on white accepted: %v", problems)
	}
}

// TestIndexOrdersByLedgerNotTime replays the forged grant of issue 11 in
// the index: a grant carrying a time 290 s ahead, on a device linked to the
// subject, then the subject's withdrawal received after it. Ledger order
// decides, for the subject's own states and across subject and device.
func TestIndexOrdersByLedgerNotTime(t *testing.T) {
	base := timeAt(100_000_000)
	x := NewIndex()
	x.applyLinks([]Link{{Device: "phone", Subject: "cust", Seq: 1}})
	forgedDevice := indexedEvent{Seq: 2, Ident: x.key("phone"), Purpose: "marketing", Action: actionGrant, At: unixSeconds(base.Add(290 * time.Second))}
	forgedSubject := indexedEvent{Seq: 3, Ident: x.key("cust"), IsSubject: true, Purpose: "analytics", Action: actionGrant, At: unixSeconds(base.Add(290 * time.Second))}
	withdraw := func(seq int64, purpose string) indexedEvent {
		return indexedEvent{Seq: seq, Ident: x.key("cust"), IsSubject: true, Purpose: purpose, Action: actionWithdraw, At: unixSeconds(base.Add(5 * time.Second))}
	}
	x.apply([]indexedEvent{forgedDevice, forgedSubject, withdraw(4, "analytics"), withdraw(5, "marketing")})
	for _, q := range []struct{ subject, device, purpose string }{
		{"cust", "", "analytics"}, {"cust", "", "marketing"}, {"", "phone", "marketing"},
	} {
		s, ok, _ := x.latest(q.subject, q.device, x.PurposeID(q.purpose), 0, 0)
		if !ok || s.Action != actionWithdraw {
			t.Errorf("%+v: latest = %+v, want the withdrawal", q, s)
		}
	}
}

// TestStateNewer: ledger order, except that an import does not replace a
// later state.
func TestStateNewer(t *testing.T) {
	cases := []struct {
		name string
		s, o state
		want bool
	}{
		{"later seq, earlier time", state{Seq: 2, At: 100}, state{Seq: 1, At: 500}, true},
		{"earlier seq, later time", state{Seq: 1, At: 500}, state{Seq: 2, At: 100}, false},
		{"same event", state{Seq: 1, At: 100}, state{Seq: 1, At: 100}, false},
		{"import older than the state it meets", state{Seq: 2, At: 100, Imported: true}, state{Seq: 1, At: 200}, false},
		{"import newer than the state it meets", state{Seq: 2, At: 300, Imported: true}, state{Seq: 1, At: 200}, true},
		{"state met by an older import", state{Seq: 1, At: 200}, state{Seq: 2, At: 100, Imported: true}, true},
		{"choice after an import", state{Seq: 3, At: 100}, state{Seq: 2, At: 300, Imported: true}, true},
	}
	for _, c := range cases {
		if got := c.s.Newer(c.o); got != c.want {
			t.Errorf("%s: newer = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestEventSupersedes: the portal's "latest choice" follows the index's rule.
func TestEventSupersedes(t *testing.T) {
	live := Event{Seq: 1, At: timeAt(1000), Source: SourceAPI}
	oldImport := Event{Seq: 2, At: timeAt(10), Source: SourceImport}
	later := Event{Seq: 3, At: timeAt(5), Source: SourceBanner}
	for _, c := range []struct {
		name     string
		e, other *Event
		want     bool
	}{
		{"an older import", &oldImport, &live, false},
		{"the state it did not replace", &live, &oldImport, true},
		{"a later choice, whatever its time", &later, &live, true},
		{"an earlier choice", &live, &later, false},
	} {
		if got := c.e.Supersedes(c.other); got != c.want {
			t.Errorf("%s: Supersedes = %v, want %v", c.name, got, c.want)
		}
	}
}
