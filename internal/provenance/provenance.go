// Package provenance says where and when a consent choice was given, in the
// reader's language, from the ledger entry that recorded it: its action,
// its source and its time. The portal's consent list and the Article 15
// archive say it per purpose, instead of one sentence for every choice.
//
//	p := i18n.Default().Printer("de")
//	provenance.Sentence(p, consentService, e) // "Erteilt am 3. Mai 2026 im Formular „Kasse“"
package provenance

import (
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/i18n"
)

// Forms names the forms a choice may have been given in; *consent.Service
// is one.
type Forms interface {
	Form(property, id string) (consent.Form, error)
}

var _ Forms = (*consent.Service)(nil)

// Sentence says when and where the choice e was given: "Given on 3 May
// 2026 in the banner", "Refused on 3 May 2026 in form “Checkout”",
// "Withdrawn on 4 May 2026 in our privacy portal", "Refused on 5 May 2026
// by your browser's Global Privacy Control signal". The date is the
// ledger's, in UTC.
func Sentence(p *i18n.Printer, forms Forms, e consent.Event) string {
	return p.T("provenance.sentence", "what", p.T("provenance.action_"+actionKey(e.Action)), "date", p.Date(e.At.In(time.UTC)),
		"where", Where(p, forms, e))
}

// Where says where the choice e was given: "in the banner", "in form
// “Checkout”". A form's name is its declared name, or its id when the
// catalog no longer has it.
func Where(p *i18n.Printer, forms Forms, e consent.Event) string {
	if id, ok := e.Source.FormID(); ok {
		name := id
		if forms != nil {
			if f, err := forms.Form(e.Property, id); err == nil {
				name = f.Name
			}
		}
		return p.T("provenance.source_form", "form", name)
	}
	switch e.Source {
	case consent.SourceBanner, consent.SourcePortal, consent.SourceGPC, consent.SourceAPI, consent.SourceImport, consent.SourcePreferences:
		return p.T("provenance.source_" + string(e.Source))
	}
	return p.T("provenance.source_api")
}

// Channel says which channels a choice about a communication topic is
// of: "by email", or "by every channel" for a choice naming none. It says
// nothing ("") of a purpose that is not a topic.
func Channel(p *i18n.Printer, topic bool, c consent.Channel) string {
	switch {
	case !topic:
		return ""
	case c == "":
		return p.T("provenance.channel_all")
	case slices.Contains(consent.Channels, c):
		return p.T("provenance.channel_" + string(c))
	}
	return string(c)
}

func actionKey(a consent.Action) string {
	switch a {
	case consent.ActionGrant, consent.ActionDeny, consent.ActionWithdraw, consent.ActionObject:
		return string(a)
	}
	return string(consent.ActionDeny)
}
