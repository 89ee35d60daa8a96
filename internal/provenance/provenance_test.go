package provenance_test

import (
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/provenance"
)

// forms is the catalog's one declared form.
type forms struct{}

func (forms) Form(property, id string) (consent.Form, error) {
	if property == "shop" && id == "checkout" {
		return consent.Form{Property: property, ID: id, Name: "Checkout"}, nil
	}
	return consent.Form{}, errs.NotFound("form", property+"/"+id)
}

// TestSentence says every source, every action and a form's name in the
// four languages, with the date as a reader of each writes it.
func TestSentence(t *testing.T) {
	may3 := time.Date(2026, 5, 3, 22, 30, 0, 0, time.UTC)
	may1 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		lang   string
		action consent.Action
		source consent.Source
		at     time.Time
		want   string
	}{
		{"en", consent.ActionGrant, consent.SourceBanner, may3, "Given on 3 May 2026 in the banner"},
		{"en", consent.ActionDeny, consent.FormSource("checkout"), may3, "Refused on 3 May 2026 in form “Checkout”"},
		{"en", consent.ActionWithdraw, consent.SourcePortal, may3, "Withdrawn on 3 May 2026 in our privacy portal"},
		{"en", consent.ActionDeny, consent.SourceGPC, may3, "Refused on 3 May 2026 by your browser's Global Privacy Control signal"},
		{"en", consent.ActionGrant, consent.SourceAPI, may3, "Given on 3 May 2026 through our systems"},
		{"en", consent.ActionGrant, consent.SourceImport, may3, "Given on 3 May 2026 in an earlier system, imported since"},
		{"en", consent.ActionObject, consent.SourcePortal, may3, "Objected to on 3 May 2026 in our privacy portal"},
		{"en", consent.ActionGrant, consent.FormSource("gone"), may3, "Given on 3 May 2026 in form “gone”"},
		{"de", consent.ActionGrant, consent.SourceBanner, may3, "Erteilt am 3. Mai 2026 im Cookie-Banner"},
		{"de", consent.ActionGrant, consent.FormSource("checkout"), may3, "Erteilt am 3. Mai 2026 im Formular „Checkout“"},
		{"de", consent.ActionWithdraw, consent.SourcePortal, may3, "Widerrufen am 3. Mai 2026 in unserem Datenschutzportal"},
		{"de", consent.ActionDeny, consent.SourceGPC, may3, "Abgelehnt am 3. Mai 2026 durch das Global-Privacy-Control-Signal Ihres Browsers"},
		{"fr", consent.ActionGrant, consent.SourceBanner, may1, "Donné le 1er mai 2026 dans la bannière de cookies"},
		{"fr", consent.ActionDeny, consent.FormSource("checkout"), may3, "Refusé le 3 mai 2026 dans le formulaire « Checkout »"},
		{"fr", consent.ActionGrant, consent.SourcePortal, may3, "Donné le 3 mai 2026 dans notre portail de confidentialité"},
		{"fr", consent.ActionDeny, consent.SourceGPC, may3, "Refusé le 3 mai 2026 par le signal Global Privacy Control de votre navigateur"},
		{"es", consent.ActionGrant, consent.SourceBanner, may3, "Dado el 3 de mayo de 2026 en el banner de cookies"},
		{"es", consent.ActionGrant, consent.FormSource("checkout"), may3, "Dado el 3 de mayo de 2026 en el formulario «Checkout»"},
		{"es", consent.ActionWithdraw, consent.SourcePortal, may3, "Retirado el 3 de mayo de 2026 en nuestro portal de privacidad"},
		{"es", consent.ActionDeny, consent.SourceGPC, may3, "Rechazado el 3 de mayo de 2026 por la señal Global Privacy Control de su navegador"},
	}
	for _, c := range cases {
		t.Run(c.lang+"/"+string(c.source)+"/"+string(c.action), func(t *testing.T) {
			e := consent.Event{Property: "shop", Purpose: "marketing", Action: c.action, Source: c.source, At: c.at}
			if got := provenance.Sentence(i18n.Default().Printer(c.lang), forms{}, e); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestChannel says which channels a choice of a topic is of, in the
// reader's language, and nothing for a purpose that is not a topic.
func TestChannel(t *testing.T) {
	cases := []struct {
		lang    string
		topic   bool
		channel consent.Channel
		want    string
	}{
		{"en", true, consent.ChannelEmail, "by email"},
		{"de", true, consent.ChannelSMS, "per SMS"},
		{"fr", true, consent.ChannelPost, "par courrier"},
		{"es", true, "", "por todos los canales"},
		{"en", true, "", "by every channel"},
		{"en", false, "", ""},
	}
	for _, tc := range cases {
		if got := provenance.Channel(i18n.Default().Printer(tc.lang), tc.topic, tc.channel); got != tc.want {
			t.Errorf("%s %v %q: %q, want %q", tc.lang, tc.topic, tc.channel, got, tc.want)
		}
	}
}
