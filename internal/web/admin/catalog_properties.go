package admin

import (
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
)

// The properties' pages (/admin/catalog/properties; permission settings):
// the company's websites and apps, their domains and which consent regime
// applies where. Banner settings stay as the API set them.

const propertiesPath = "/admin/catalog/properties"

var propertyInputs = []string{"key", "name", "domains", "jurisdiction_rules.opt_in", "jurisdiction_rules.opt_out",
	"jurisdiction_rules.default", "default_jurisdiction", "policy_url"}

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
		Default: string(p.JurisdictionRules.Default), Regimes: regimes, DefaultJurisdiction: p.DefaultJurisdiction, PolicyURL: p.PolicyURL}
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
// (POST …/{key}) a property, keeping its banner settings.
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
		f := propertyFormOf(p, create)
		// Keep the text as typed, not as split.
		f.Domains, f.OptIn, f.OptOut = r.PostFormValue("domains"), r.PostFormValue("opt_in"), r.PostFormValue("opt_out")
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
