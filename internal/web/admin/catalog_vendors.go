package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
)

// The vendors' catalog pages (/admin/catalog/vendors; permission vendors):
// who may receive data, for which purposes, which categories of it, where
// and under which transfer safeguard. Their assessments live on
// /admin/vendors.

const vendorsPath = "/admin/catalog/vendors"

var vendorInputs = []string{"key", "name", "purposes", "data_categories", "country", "privacy_url", "transfer_safeguard"}

// safeguards are the transfer safeguards the form offers, none first; their
// labels are the catalog's safeguard_* words.
var safeguards = []consent.TransferSafeguard{consent.SafeguardNone, consent.SafeguardAdequacy, consent.SafeguardSCC, consent.SafeguardBCR}

// choice is one checkbox of a list.
type choice struct {
	Value, Label string
	Checked      bool
}

type vendorForm struct {
	formBase
	Name, Country, PrivacyURL string
	Safeguard                 string
	Safeguards                []consent.TransferSafeguard
	Purposes, Categories      []choice
}

func (f *vendorForm) title() string {
	if f.Create {
		return "title_vendor_new"
	}
	return "title_vendor_edit"
}

// vendorFormOf lays out v for the form in lang: every purpose and data
// category of the catalog as a checkbox, those of v checked.
func (c *Console) vendorFormOf(v consent.Vendor, create bool, lang string) *vendorForm {
	f := &vendorForm{formBase: formBase{Create: create, Key: v.Key}, Name: v.Name, Country: v.Country, PrivacyURL: v.PrivacyURL,
		Safeguard: string(v.TransferSafeguard), Safeguards: safeguards}
	for _, p := range c.Consent.Purposes() {
		f.Purposes = append(f.Purposes, choice{p.Key, textIn(p.Names, lang), slices.Contains(v.Purposes, p.Key)})
	}
	for _, cat := range c.Consent.Categories() {
		f.Categories = append(f.Categories, choice{cat.Key, textIn(cat.Names, lang), slices.Contains(v.DataCategories, cat.Key)})
	}
	return f
}

// textIn is a catalog text in lang, else in English, else empty.
func textIn(texts map[string]string, lang string) string {
	if t, ok := texts[lang]; ok {
		return t
	}
	return texts["en"]
}

// HandleCatalogVendors lists the vendors of the catalog.
func (c *Console) HandleCatalogVendors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := savedNotice(r, func(k string) bool { _, err := c.Consent.Vendor(k); return err == nil })
		c.render(w, r, http.StatusOK, "catalog_vendors", page{Title: "title_catalog_vendors", Notice: notice, Data: c.Consent.Vendors()})
	})
}

// HandleNewVendor shows the form of a new vendor.
func (c *Console) HandleNewVendor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := c.vendorFormOf(consent.Vendor{}, true, languageOf(r))
		c.render(w, r, http.StatusOK, "catalog_vendor", page{Title: f.title(), Data: f})
	})
}

// HandleEditVendor shows the form of an existing vendor.
func (c *Console) HandleEditVendor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := c.Consent.Vendor(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := c.vendorFormOf(v, false, languageOf(r))
		c.render(w, r, http.StatusOK, "catalog_vendor", page{Title: f.title(), Data: f})
	})
}

// HandlePutVendor creates (POST /admin/catalog/vendors) or replaces (POST
// …/{key}) a vendor.
func (c *Console) HandlePutVendor(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimSpace(r.PostFormValue("key"))
		if !create {
			kept, err := c.Consent.Vendor(r.PathValue("key"))
			if err != nil {
				c.fail(w, r, err)
				return
			}
			key = kept.Key
		}
		// PostFormValue parsed the form; PostForm holds the ticked lists.
		v := consent.Vendor{Key: key, Name: strings.TrimSpace(r.PostFormValue("name")), Purposes: r.PostForm["purposes"],
			DataCategories: r.PostForm["data_categories"], Country: strings.TrimSpace(r.PostFormValue("country")),
			PrivacyURL: strings.TrimSpace(r.PostFormValue("privacy_url")), TransferSafeguard: consent.TransferSafeguard(r.PostFormValue("transfer_safeguard"))}
		_, err := c.Consent.PutVendor(r.Context(), v, create)
		if err == nil {
			saved(w, r, vendorsPath, v.Key)
			return
		}
		if !c.catalogFailure(w, r, err, "catalog_vendor", c.vendorFormOf(v, create, languageOf(r)), vendorInputs) {
			c.fail(w, r, err)
		}
	})
}
