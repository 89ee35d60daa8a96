package admin

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
)

// consolePage is a console page rendered in a language, and English
// phrases it says in English only.
type consolePage struct {
	name string
	// serve renders the page with ?lang=lang and returns the response.
	serve   func(t *testing.T, lang string) (int, string)
	status  int
	english []string
}

// TestConsolePagesSpeakTheLanguage (issue 13): every converted console
// page says its words in German, French and Spanish, none of the English
// phrases of the page remaining, and in English by default. The English
// render proves each phrase is really on the page, so the check of the
// other languages can fail.
func TestConsolePagesSpeakTheLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		restriction := f.file(t, dsr.KindRestriction, dsr.GDPR)
		if _, err := f.requests.AskCustomer(ctx, restriction.ID, "Which account do you mean?"); err != nil {
			t.Fatal(err)
		}
		erasure := f.file(t, dsr.KindErasure, dsr.GDPR)
		pages := []consolePage{
			{name: "request", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequest(), "GET", "/admin/requests/"+restriction.ID+"?lang="+lang, nil, map[string]string{"id": restriction.ID})
				return w.Code, w.Body.String()
			}, english: []string{"Request " + restriction.ID + " ·", "Identity", "the email code", "Needed:", "Reached:",
				"Next steps", "Customer answered", "Show the requester's address",
				"History", "clock stands still", ">Channel<", ">Customer<"}},
			{name: "request refused", status: http.StatusConflict, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequestAction(), "POST", "/admin/requests/"+erasure.ID+"/complete?lang="+lang, url.Values{},
					map[string]string{"id": erasure.ID, "action": "complete"})
				return w.Code, w.Body.String()
			}, english: []string{"not changed", "“Complete” was not done", "What you can do now", "Verify identity", "Back to request", "The queue"}},
			{name: "request not changed", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequestAction(), "POST", "/admin/requests/"+erasure.ID+"/reject?lang="+lang, url.Values{"note": {" "}},
					map[string]string{"id": erasure.ID, "action": "reject"})
				return w.Code, w.Body.String()
			}, english: []string{"The request was not changed", "Reject, because", "Acknowledge receipt"}},
		}
		for _, p := range pages {
			for _, lang := range []string{"en", "de", "fr", "es"} {
				status, body := p.serve(t, lang)
				text := html.UnescapeString(body)
				if status != p.status || !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s in %s: %d, want %d\n%.500s", p.name, lang, status, p.status, body)
					continue
				}
				for _, phrase := range p.english {
					if got := strings.Contains(text, phrase); got != (lang == "en") {
						t.Errorf("%s in %s: has %q: %v", p.name, lang, phrase, got)
					}
				}
			}
		}
	})
}
