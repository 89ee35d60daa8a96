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
// (our systems, a form by its name), from the ledger, in the language of
// the request, in about.json and in the README.
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
		events := []consent.Event{{ID: "e2", Property: "shop", Subject: "1001", Purpose: "newsletter", Action: consent.ActionGrant, Source: consent.FormSource("signup")}}
		if err := fx.svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.svc.Append(ctx, events); err != nil {
			t.Fatal(err)
		}
		at := events[0].At
		cases := []struct {
			lang      string
			form, api string
		}{
			{"en", "- Newsletter (shop): Given on " + date("en", at) + " in form “Sign-up”.", "- Analytics (shop): Given on " + date("en", at) + " through our systems."},
			{"de", "- Newsletter-Versand (shop): Erteilt am " + date("de", at) + " im Formular „Sign-up“.", "- Analytics (shop): Erteilt am " + date("de", at) + " über unsere Systeme."},
			{"fr", "- Newsletter (shop): Donné le " + date("fr", at) + " dans le formulaire « Sign-up ».", "- Analytics (shop): Donné le " + date("fr", at) + " par nos systèmes."},
			{"es", "- Newsletter (shop): Dado el " + date("es", at) + " en el formulario «Sign-up».", "- Analytics (shop): Dado el " + date("es", at) + " a través de nuestros sistemas."},
		}
		for _, c := range cases {
			t.Run(c.lang, func(t *testing.T) {
				files := fx.exportIn(t, c.lang)
				for _, want := range []string{c.form, c.api} {
					if !strings.Contains(files["README.txt"], want) {
						t.Errorf("README lacks %q:\n%s", want, files["README.txt"])
					}
				}
				var about export.About
				if err := json.Unmarshal([]byte(files["about.json"]), &about); err != nil {
					t.Fatal(err)
				}
				if len(about.Consents) != 2 || about.Consents[1].Source != "form:signup" || about.Consents[1].Action != "grant" ||
					!strings.Contains(c.form, about.Consents[1].Given) {
					t.Errorf("about.json consents: %+v", about.Consents)
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
