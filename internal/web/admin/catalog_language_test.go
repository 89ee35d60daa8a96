package admin

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
)

// TestCatalogPagesSpeakTheLanguage: the catalog's pages, their forms, the
// labels of legal bases, safeguards and regimes, a refused form and the
// notice review are said in the console's language.
func TestCatalogPagesSpeakTheLanguage(t *testing.T) {
	f := newVendorFixture(t)
	c := f.console
	ctx := audit.WithActor(context.Background(), audit.System())
	if _, err := c.Consent.PutNotice(ctx, consent.Notice{Version: "2027-01", Material: true,
		Texts: map[string]string{"en": "We keep your data safe."}}, true, false); err != nil {
		t.Fatal(err)
	}
	get := func(h http.Handler, target string, path map[string]string) func(t *testing.T, lang string) (int, string) {
		return func(t *testing.T, lang string) (int, string) {
			w := f.call(t, h, "GET", target+"?lang="+lang, nil, path)
			return w.Code, w.Body.String()
		}
	}
	pages := []consolePage{
		{name: "catalog", status: http.StatusOK, serve: get(c.HandleCatalog(), "/admin/catalog", nil),
			english: []string{"<title>Catalog ·", "Pick a section", "Third parties that may receive data"}},
		{name: "categories", status: http.StatusOK, serve: get(c.HandleCategories(), "/admin/catalog/categories", nil),
			english: []string{"<title>Data categories ·", "Add a data category", "Special category", "Retention (days)", "Back to the catalog"}},
		{name: "category new", status: http.StatusOK, serve: get(c.HandleNewCategory(), "/admin/catalog/categories/new", nil),
			english: []string{"<title>New data category ·", "Name in each language", "never disclosed to a vendor", "It cannot be changed later", ">Create<",
				"records the change, with your name"}},
		{name: "category refused", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandlePutCategory(true), "POST", "/admin/catalog/categories?lang="+lang,
				url.Values{"key": {"c1"}, "name.en": {"One"}, "position": {"first"}}, nil)
			return w.Code, w.Body.String()
		}, english: []string{"Nothing was saved.", "must be a whole number"}},
		{name: "purposes", status: http.StatusOK, serve: get(c.HandlePurposes(), "/admin/catalog/purposes", nil),
			english: []string{"<title>Purposes ·", "Add a purpose", "Legal basis", ">Consent<"}},
		{name: "purpose new", status: http.StatusOK, serve: get(c.HandleNewPurpose(), "/admin/catalog/purposes/new", nil),
			english: []string{"<title>New purpose ·", "Legitimate interest", "Legal obligation", "Strictly necessary", "Global Privacy Control signal opts out",
				"One cookie name a line"}},
		{name: "purpose refused", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandlePutPurpose(true), "POST", "/admin/catalog/purposes?lang="+lang,
				url.Values{"key": {"p1"}, "name.en": {"One"}, "legal_basis": {"consent"}, "cookies": {"ok\nnot ok"}}, nil)
			return w.Code, w.Body.String()
		}, english: []string{"Nothing was saved.", "Line 2:"}},
		{name: "vendors", status: http.StatusOK, serve: get(c.HandleCatalogVendors(), "/admin/catalog/vendors", nil),
			english: []string{"<title>Vendors in the catalog ·", "Add a vendor", "Vendor assessments", "None recorded"}},
		{name: "vendor edit", status: http.StatusOK, serve: get(c.HandleEditVendor(), "/admin/catalog/vendors/mailer/edit", map[string]string{"key": "mailer"}),
			english: []string{"<title>Edit vendor ·", "Adequacy decision", "Standard contractual clauses", "Binding corporate rules", "Tick at least one.",
				"Contact details", "Save changes"}},
		{name: "properties", status: http.StatusOK, serve: get(c.HandleProperties(), "/admin/catalog/properties", nil),
			english: []string{"<title>Properties ·", "Add a property", "Nothing here yet."}},
		{name: "property new", status: http.StatusOK, serve: get(c.HandleNewProperty(), "/admin/catalog/properties/new", nil),
			english: []string{"<title>New property ·", "Jurisdiction rules", "Opt-in: ask before any use", "Opt-out: allowed until the person objects",
				"Everywhere else", "Default jurisdiction", "One host name a line"}},
		{name: "notices", status: http.StatusOK, serve: get(c.HandleNotices(), "/admin/catalog/notices", nil),
			english: []string{"<title>Privacy notices ·", "Write a new version", "No notice is published yet", ">Draft<", "Review and publish"}},
		{name: "notice edit", status: http.StatusOK, serve: get(c.HandleEditNotice(), "/admin/catalog/notices/2027-01/edit", map[string]string{"version": "2027-01"}),
			english: []string{"<title>Edit draft notice ·", "Text in each language", "asks every opt-in consent again", "Save draft", "Saving does not publish."}},
		{name: "notice review", status: http.StatusOK, serve: get(c.HandleReviewNotice(), "/admin/catalog/notices/2027-01/publish", map[string]string{"version": "2027-01"}),
			english: []string{"<title>Review and publish ·", "Check what draft 2027-01 changes", "this will be the first", "Material change.",
				"the banner asks every visitor again", "(new language)", "Publishing is final", "Publish version 2027-01", "Back to the draft"}},
		{name: "notice not confirmed", status: http.StatusConflict, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandlePublishNotice(), "POST", "/admin/catalog/notices/2027-01/publish?lang="+lang, url.Values{},
				map[string]string{"version": "2027-01"})
			return w.Code, w.Body.String()
		}, english: []string{"Nothing was published", "confirm again"}},
	}
	checkLanguages(t, pages)
}
