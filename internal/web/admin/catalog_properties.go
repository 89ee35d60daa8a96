package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
)

// The properties' pages (/admin/catalog/properties; permission settings):
// the company's websites and apps, their domains, which consent regime
// applies where, and the IAB Global Privacy Platform for US visitors. The
// other banner settings stay as the API set them.

const propertiesPath = "/admin/catalog/properties"

var propertyInputs = []string{"key", "name", "domains", "jurisdiction_rules.opt_in", "jurisdiction_rules.opt_out",
	"jurisdiction_rules.default", "default_jurisdiction", "policy_url", "banner.gpp.sections", "banner.gpp.cmp_id",
	"banner.gpp.sale_purposes", "banner.gpp.sharing_purposes", "banner.gpp.targeted_advertising_purposes", "banner.gpp.mspa_mode"}

// mspaModes are the MSPA modes a property may choose ("" for none); their
// labels are the catalog's cat_gpp_mspa_mode_* words.
var mspaModes = []string{"", consent.MspaOptOutOption, consent.MspaServiceProvider}

// regimes are the regimes a property's rules may default to; their labels
// are the catalog's regime_* words.
var regimes = []consent.Regime{consent.OptIn, consent.OptOut}

type propertyForm struct {
	formBase
	Name, Domains, OptIn, OptOut string
	Default                      string
	Regimes                      []consent.Regime
	DefaultJurisdiction          string
	PolicyURL                    string
	GPP                          gppForm
}

// gppForm is the GPP fieldset of the property form: lists of purpose keys
// as typed, the CMP id as typed.
type gppForm struct {
	Enabled                          bool
	CmpID                            string
	Sections, AllSections            []string
	Sale, Sharing, TargetedAdvertise string
	MspaCovered                      bool
	MspaMode                         string
	MspaModes                        []string
}

// Has reports whether section is ticked.
func (g gppForm) Has(section string) bool { return slices.Contains(g.Sections, section) }

func gppFormOf(g consent.GPPSettings) gppForm {
	return gppForm{Enabled: g.Enabled, CmpID: strconv.Itoa(g.CmpID), Sections: g.Sections, AllSections: consent.GPPSections,
		Sale: strings.Join(g.SalePurposes, ", "), Sharing: strings.Join(g.SharingPurposes, ", "),
		TargetedAdvertise: strings.Join(g.TargetedAdvertisingPurposes, ", "),
		MspaCovered:       g.MspaCoveredTransaction, MspaMode: g.MspaMode, MspaModes: mspaModes}
}

// gppSettingsOf reads the GPP fieldset. A CMP id that is no number is
// refused as out of range by the service, naming its input.
func gppSettingsOf(r *http.Request) consent.GPPSettings {
	cmpID, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("gpp_cmp_id")))
	if err != nil && strings.TrimSpace(r.PostFormValue("gpp_cmp_id")) != "" {
		cmpID = -1
	}
	return consent.GPPSettings{Enabled: r.PostFormValue("gpp_enabled") == "on", CmpID: cmpID, Sections: r.PostForm["gpp_sections"],
		SalePurposes: codes(r.PostFormValue("gpp_sale")), SharingPurposes: codes(r.PostFormValue("gpp_sharing")),
		TargetedAdvertisingPurposes: codes(r.PostFormValue("gpp_targeted")),
		MspaCoveredTransaction:      r.PostFormValue("gpp_mspa_covered") == "on", MspaMode: r.PostFormValue("gpp_mspa_mode")}
}

func (f *propertyForm) title() string {
	if f.Create {
		return "title_property_new"
	}
	return "title_property_edit"
}

func propertyFormOf(p consent.Property, create bool) *propertyForm {
	return &propertyForm{formBase: formBase{Create: create, Key: p.Key}, Name: p.Name, Domains: strings.Join(p.Domains, "\n"),
		OptIn: strings.Join(p.JurisdictionRules.OptIn, "\n"), OptOut: strings.Join(p.JurisdictionRules.OptOut, "\n"),
		Default: string(p.JurisdictionRules.Default), Regimes: regimes, DefaultJurisdiction: p.DefaultJurisdiction, PolicyURL: p.PolicyURL,
		GPP: gppFormOf(p.Banner.GPP)}
}

// HandleProperties lists the properties.
func (c *Console) HandleProperties() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := savedNotice(r, func(k string) bool { _, err := c.Consent.Property(k); return err == nil })
		c.render(w, r, http.StatusOK, "catalog_properties", page{Title: "title_properties", Notice: notice, Data: c.Consent.Properties()})
	})
}

// HandleNewProperty shows the form of a new property, with the default
// jurisdiction rules filled in.
func (c *Console) HandleNewProperty() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := propertyFormOf(consent.Property{JurisdictionRules: consent.DefaultRules()}, true)
		c.render(w, r, http.StatusOK, "catalog_property", page{Title: f.title(), Data: f})
	})
}

// HandleEditProperty shows the form of an existing property.
func (c *Console) HandleEditProperty() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.Consent.Property(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := propertyFormOf(p, false)
		c.render(w, r, http.StatusOK, "catalog_property", page{Title: f.title(), Data: f})
	})
}

// HandlePutProperty creates (POST /admin/catalog/properties) or replaces
// (POST …/{key}) a property, keeping its banner settings but for GPP,
// which the form sets.
func (c *Console) HandlePutProperty(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var kept consent.Property
		key := strings.TrimSpace(r.PostFormValue("key"))
		if !create {
			var err error
			if kept, err = c.Consent.Property(r.PathValue("key")); err != nil {
				c.fail(w, r, err)
				return
			}
			key = kept.Key
		}
		p := consent.Property{Key: key, Name: strings.TrimSpace(r.PostFormValue("name")), Domains: lines(r.PostFormValue("domains")),
			JurisdictionRules: consent.JurisdictionRules{OptIn: codes(r.PostFormValue("opt_in")), OptOut: codes(r.PostFormValue("opt_out")),
				Default: consent.Regime(r.PostFormValue("default_regime"))},
			DefaultJurisdiction: strings.TrimSpace(r.PostFormValue("default_jurisdiction")), PolicyURL: strings.TrimSpace(r.PostFormValue("policy_url")),
			Banner: kept.Banner}
		p.Banner.GPP = gppSettingsOf(r)
		f := propertyFormOf(p, create)
		// Keep the text as typed, not as split.
		f.Domains, f.OptIn, f.OptOut = r.PostFormValue("domains"), r.PostFormValue("opt_in"), r.PostFormValue("opt_out")
		f.GPP.CmpID, f.GPP.Sale, f.GPP.Sharing = r.PostFormValue("gpp_cmp_id"), r.PostFormValue("gpp_sale"), r.PostFormValue("gpp_sharing")
		f.GPP.TargetedAdvertise = r.PostFormValue("gpp_targeted")
		_, err := c.Consent.PutProperty(r.Context(), p, create)
		if err == nil {
			saved(w, r, propertiesPath, p.Key)
			return
		}
		if !c.catalogFailure(w, r, err, "catalog_property", f, propertyInputs) {
			c.fail(w, r, err)
		}
	})
}

// codes splits a list of jurisdiction codes typed one a line or separated
// by commas or spaces.
func codes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}
