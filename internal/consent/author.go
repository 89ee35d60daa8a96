// Who may assert which consent events (the trust table of ARCHITECTURE.md),
// and the validation of events before they are appended.

package consent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/gpp"
	"github.com/steward-dev/steward/internal/tcf"
)

// AuthorKind is the kind of credential that asserts consent events.
type AuthorKind uint8

// The authors of consent events (the trust table of ARCHITECTURE.md). The
// zero kind may assert nothing.
const (
	_ AuthorKind = iota // the zero kind: no author, may assert nothing
	// AuthorIngestKey is a property's public ingest key, readable in every
	// page of the property: device events of that property from the banner,
	// GPC or one of its declared forms (form:<id>), nothing else.
	AuthorIngestKey
	// AuthorRecordKey is a back end's record key (never public): events of
	// subjects or devices with source api, or a declared form's source.
	AuthorRecordKey
	// AuthorAdminKey may do what a record key does, and import historical
	// consents (source import) with their original times.
	AuthorAdminKey
	// AuthorPortal is the customer's portal, in process, in the customer's
	// own session: the subject's events with source portal. No API
	// credential is this author.
	AuthorPortal
	// AuthorPreferenceLink is the preference centre, in process, acting
	// on a signed link of one subject (package preference): that
	// subject's choices of communication topics, source preferences.
	AuthorPreferenceLink
)

// Author is who asserts a batch of consent events; ValidateEvents refuses
// what the author may not say.
type Author struct {
	Kind AuthorKind
	// Property is the one property an ingest key records events for.
	Property string
}

// sources returns the sources the author may record, for ValidateEvents and
// its problems.
func (a Author) sources() []Source {
	switch a.Kind {
	case AuthorIngestKey:
		return []Source{SourceBanner, SourceGPC}
	case AuthorRecordKey:
		return []Source{SourceAPI}
	case AuthorAdminKey:
		return []Source{SourceAPI, SourceImport}
	case AuthorPortal:
		return []Source{SourcePortal}
	case AuthorPreferenceLink:
		return []Source{SourcePreferences}
	}
	return nil
}

// recordsForms reports whether the author may record the choices made in
// a declared form (source form:<id>): a page's form through the public key
// (device events only, like the banner), or the back end after the form
// was posted. The portal is not a form.
func (a Author) recordsForms() bool {
	switch a.Kind {
	case AuthorIngestKey, AuthorRecordKey, AuthorAdminKey:
		return true
	}
	return false
}

func (a Author) String() string {
	switch a.Kind {
	case AuthorIngestKey:
		return "a public ingest key"
	case AuthorRecordKey:
		return "a record key"
	case AuthorAdminKey:
		return "an admin key"
	case AuthorPortal:
		return "the privacy portal"
	case AuthorPreferenceLink:
		return "the preference centre"
	}
	return "nobody"
}

// ValidateEvents checks events against the catalog and against what their
// author may assert, and fills defaults (the property's default
// jurisdiction). The order of choices is the server's: every event but an
// import gets the server's time as its time, whatever time the client gave
// (which is still checked); an import keeps its original time, which must
// not lie in the future. Problems are named by path: "events[2].purpose".
func (s *Service) ValidateEvents(events []Event, by Author) error {
	if len(events) == 0 {
		return errs.Invalid("events", "send at least one event")
	}
	if len(events) > MaxBatch {
		return errs.Invalid("events", "at most %d events per request", MaxBatch)
	}
	allowed := by.sources()
	if len(allowed) == 0 {
		return errs.New(errs.CodeForbidden, "nobody may record consent events here")
	}
	cat := s.catalog.load()
	now := s.now()
	problems := map[string]string{}
	lastTC := "" // a banner's batch carries one TC string many times: decode it once
	lastGPP := ""
	// keyed are the problems said in the reader's language (FieldKeys); the
	// others stay English only.
	keyed := errs.Problems{}
	for i := range events {
		e := &events[i]
		bad := func(field, format string, args ...any) {
			problems[fmt.Sprintf("events[%d].%s", i, field)] = fmt.Sprintf(format, args...)
		}
		if !ValidID(e.ID) {
			bad("id", "must be 1 to 128 letters, digits or ._:@+=- (a UUID is best)")
		}
		prop, ok := cat.properties[e.Property]
		switch {
		case !ok:
			bad("property", "unknown property %q", e.Property)
		case by.Kind == AuthorIngestKey && e.Property != by.Property:
			bad("property", "this key may only record events for property %q", by.Property)
		}
		switch {
		case (e.Subject == "") == (e.Device == ""):
			bad("subject", "give exactly one of subject and device")
		case e.Subject != "" && by.Kind == AuthorIngestKey:
			bad("subject", "a public ingest key records device events only; record a subject's consent from your back end with a record key")
		case e.Device != "" && by.Kind == AuthorPortal:
			bad("device", "the portal records the signed-in customer's own consent only")
		case e.Device != "" && by.Kind == AuthorPreferenceLink:
			bad("device", "the preference centre records the choices of its link's subject only")
		case e.Subject != "" && !ValidID(e.Subject):
			bad("subject", "must be 1 to 128 letters, digits or ._:@+=-")
		case e.Device != "" && !ValidID(e.Device):
			bad("device", "must be 1 to 128 letters, digits or ._:@+=-")
		}
		purpose, purposeOK := cat.purposes[e.Purpose]
		switch {
		case !purposeOK:
			bad("purpose", "unknown purpose %q", e.Purpose)
		case purpose.Communication() && e.Device != "":
			// A device's choice would reach the subject it is linked to:
			// only a subject opts in to being written to.
			bad("device", "a communication topic is chosen by a subject, never a device")
		case !purpose.Communication() && by.Kind == AuthorPreferenceLink:
			bad("purpose", "the preference centre records communication topics only")
		}
		if e.Vendor != "" {
			if v, ok := cat.vendors[e.Vendor]; !ok {
				bad("vendor", "unknown vendor %q", e.Vendor)
			} else if _, declared := v.purposes[e.Purpose]; !declared {
				bad("vendor", "vendor %q is not declared for purpose %q", e.Vendor, e.Purpose)
			}
		}
		if e.Channel != "" {
			// A choice by one channel is of a topic that declares it, and
			// of the topic itself, not of one vendor's use of it.
			field := fmt.Sprintf("events[%d].channel", i)
			switch {
			case channelIndex(e.Channel) < 0:
				keyed.Add(field, "channel")
			case purposeOK && !slices.Contains(purpose.Channels, e.Channel):
				keyed.Add(field, "channel_not_declared", "channel", string(e.Channel), "purpose", strconv.Quote(e.Purpose))
			case e.Vendor != "":
				keyed.Add(field, "channel_with_vendor")
			case e.Action == ActionObject:
				// An objection (Art. 21) is to the purpose, by any means.
				keyed.Add(field, "channel_with_objection")
			}
		}
		switch {
		case actionCode(e.Action) == actionNone:
			bad("action", "must be grant, deny, withdraw or object")
		case e.Action != ActionObject:
		case e.Subject == "":
			bad("action", "only a subject objects; an objection names the subject, not a device")
		case e.Vendor != "":
			bad("vendor", "an objection is to a purpose, whatever the vendor")
		case purposeOK && (purpose.Necessary || (purpose.LegalBasis != BasisLegitimateInterest && purpose.LegalBasis != BasisConsent)):
			bad("purpose", "an objection is to a legitimate-interest or marketing purpose; %q rests on %s", e.Purpose, purpose.LegalBasis)
		}
		sourceOK := slices.Contains(allowed, e.Source)
		if formID, isForm := e.Source.FormID(); isForm && by.recordsForms() {
			// A form's choice: only a form declared for the event's
			// property, and only for a purpose the form asks for, so that
			// a public key cannot make up a source to look like another.
			field := fmt.Sprintf("events[%d].source", i)
			if f, declared := cat.forms[e.Property][formID]; !declared {
				keyed.Add(field, "form_not_declared", "form", strconv.Quote(formID), "property", strconv.Quote(e.Property))
			} else if !slices.Contains(f.Purposes, e.Purpose) {
				keyed.Add(field, "form_purpose_not_asked", "form", strconv.Quote(formID), "purpose", strconv.Quote(e.Purpose))
			} else {
				sourceOK = true
			}
		} else if !sourceOK {
			names := make([]string, len(allowed))
			for i, src := range allowed {
				names[i] = string(src)
			}
			if by.recordsForms() {
				names = append(names, formSourcePrefix+"<id of a declared form>")
			}
			bad("source", "%s may record only source %s", by, strings.Join(names, " or "))
		}
		if e.NoticeVersion != "" {
			if _, ok := cat.notices[e.NoticeVersion]; !ok {
				bad("notice_version", "no published notice %q", e.NoticeVersion)
			}
		}
		if e.Jurisdiction == "" && ok {
			e.Jurisdiction = prop.DefaultJurisdiction
		}
		if e.Jurisdiction != "" && !ValidJurisdiction(e.Jurisdiction) {
			bad("jurisdiction", "must be a country (DE) or subdivision (US-CA) code")
		}
		switch {
		case len(e.TCString) > 10000:
			bad("tc_string", "at most 10000 characters")
		case e.TCString != "" && e.TCString != lastTC:
			// The codec the banner's TC strings are checked against; it
			// accepts what IAB's own libraries write.
			if _, err := tcf.Decode(e.TCString); err != nil {
				bad("tc_string", "not a TC string: %s", strings.TrimPrefix(err.Error(), "tcf: "))
			} else {
				lastTC = e.TCString
			}
		}
		gppField := fmt.Sprintf("events[%d].gpp_string", i)
		switch {
		case len(e.GPPString) > maxGPPString:
			keyed.Add(gppField, "at_most_characters", "max", maxGPPString)
		case e.GPPString != "" && e.GPPString != lastGPP:
			// The codec of "steward gpp decode": it reads what IAB's
			// iabgpp-es writes, and what the banner writes.
			if _, err := gpp.Decode(e.GPPString); err != nil {
				keyed.Add(gppField, "gpp_string", "reason", strings.TrimPrefix(err.Error(), "gpp: "))
			} else {
				lastGPP = e.GPPString
			}
		}
		if e.Source == SourceImport && sourceOK {
			switch {
			case e.At.IsZero():
				bad("at", "an import needs the time of the original consent")
			case e.At.After(now):
				bad("at", "lies in the future; an import records a consent already given")
			case e.At.Before(earliestEventTime):
				bad("at", "lies before 2000")
			}
		} else {
			// A time the client gave is checked but orders nothing: the
			// ledger's order is the order of choices.
			switch {
			case e.At.IsZero():
			case e.At.After(now.Add(s.skew)):
				bad("at", "lies in the future (more than %s ahead of the server clock)", s.skew)
			case e.At.Before(earliestEventTime):
				bad("at", "lies before 2000")
			}
			e.At = now
		}
		e.At = e.At.UTC().Truncate(time.Microsecond)
	}
	if len(keyed) > 0 {
		for field, p := range keyed {
			problems[field] = p.English()
		}
		e := errs.Fields(problems)
		e.FieldKeys = keyed
		return e
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

// maxGPPString bounds a GPP string at ingest: a header and the US sections
// take well under a hundred characters; a TCF EU section with many vendors
// takes a few thousand.
const maxGPPString = 10000
