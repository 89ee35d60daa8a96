package fulfil_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/i18n"
)

// TestExportSaysWhereConsentsWereGiven: the Article 15 information of the
// archive says, per purpose, where and when the latest choice was given
// (a form by its name, the banner on a device linked to the customer),
// from the ledger, in the language of the request, in about.json and in the
// README.
func TestExportSaysWhereConsentsWereGiven(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newFixture(t, store)
		if _, err := fx.svc.PutPurpose(ctx, consent.Purpose{Key: "newsletter", Names: map[string]string{"en": "Newsletter", "de": "Newsletter-Versand"},
			LegalBasis: consent.BasisConsent}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.svc.PutForm(ctx, consent.Form{Property: "shop", ID: "signup", Name: "Sign-up", Purposes: []string{"newsletter"}}, true); err != nil {
			t.Fatal(err)
		}
		// The customer's own choice in the sign-up form, recorded by the
		// back end; then the banner's refusal of analytics on a device the
		// shop linked to them, which is later than the grant the fixture
		// recorded through the API.
		if _, err := fx.svc.LinkDevice(ctx, "1001", "phone"); err != nil {
			t.Fatal(err)
		}
		var at time.Time
		for _, c := range []struct {
			by consent.Author
			e  consent.Event
		}{
			{consent.Author{Kind: consent.AuthorRecordKey}, consent.Event{ID: "e2", Property: "shop", Subject: "1001", Purpose: "newsletter",
				Action: consent.ActionGrant, Source: consent.FormSource("signup")}},
			{consent.Author{Kind: consent.AuthorIngestKey, Property: "shop"}, consent.Event{ID: "e3", Property: "shop", Device: "phone",
				Purpose: "analytics", Action: consent.ActionDeny, Source: consent.SourceBanner}},
		} {
			events := []consent.Event{c.e}
			if err := fx.svc.ValidateEvents(events, c.by); err != nil {
				t.Fatal(err)
			}
			if _, err := fx.svc.Append(ctx, events); err != nil {
				t.Fatal(err)
			}
			at = events[0].At
		}
		cases := []struct {
			lang         string
			form, banner string
		}{
			{"en", "- Newsletter (shop): Given on " + date("en", at) + " in form “Sign-up”.", "- Analytics (shop): Refused on " + date("en", at) + " in the banner."},
			{"de", "- Newsletter-Versand (shop): Erteilt am " + date("de", at) + " im Formular „Sign-up“.", "- Analytics (shop): Abgelehnt am " + date("de", at) + " im Cookie-Banner."},
			{"fr", "- Newsletter (shop): Donné le " + date("fr", at) + " dans le formulaire « Sign-up ».", "- Analytics (shop): Refusé le " + date("fr", at) + " dans la bannière de cookies."},
			{"es", "- Newsletter (shop): Dado el " + date("es", at) + " en el formulario «Sign-up».", "- Analytics (shop): Rechazado el " + date("es", at) + " en el banner de cookies."},
		}
		for _, c := range cases {
			t.Run(c.lang, func(t *testing.T) {
				files := fx.exportIn(t, c.lang)
				for _, want := range []string{c.form, c.banner} {
					if !strings.Contains(files["README.txt"], want) {
						t.Errorf("README lacks %q:\n%s", want, files["README.txt"])
					}
				}
				var about export.About
				if err := json.Unmarshal([]byte(files["about.json"]), &about); err != nil {
					t.Fatal(err)
				}
				if len(about.Consents) != 2 || about.Consents[0].Source != "banner" || about.Consents[0].Action != "deny" ||
					about.Consents[1].Source != "form:signup" || about.Consents[1].Action != "grant" || !strings.Contains(c.form, about.Consents[1].Given) {
					t.Errorf("about.json consents: %+v", about.Consents)
				}
				if !strings.Contains(files["consents.json"], `"device": "phone"`) {
					t.Error("consents.json lacks the choice on the customer's linked device")
				}
			})
		}
	})
}

func date(lang string, at time.Time) string { return i18n.Default().Printer(lang).Date(at) }

// exportIn runs an export request of the fixture's customer filed in lang
// and returns the archive's files.
func (fx *fixture) exportIn(t *testing.T, lang string) map[string]string {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
	hash, _ := fx.v.BlindIndex(ctx, "email", "ada.shop@example.org")
	r, err := fx.req.File(ctx, dsr.NewRequest{Kind: dsr.KindExport, Regime: dsr.GDPR, SubjectID: "1001", Email: "ada.shop@example.org",
		EmailHash: hash, Language: lang})
	if err != nil {
		t.Fatal(err)
	}
	fx.prove(t, r.ID)
	if _, err := fx.req.Verify(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.req.Start(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	info, err := fx.f.Export(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := fx.f.Exports.Open(context.Background(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(plain)
	z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range z.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	return files
}
