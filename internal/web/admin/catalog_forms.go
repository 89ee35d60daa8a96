package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
)

// The forms' pages (/admin/catalog/properties/{key}/forms; permission
// settings): the company's own forms of a property that ask for consent
// (sign-up, checkout, contact), each with the purposes it asks for. A
// form's id is the source of the choices made in it (form:<id>), so it is
// never deleted or renamed; its name and purposes may change.

var formInputs = []string{"id", "name", "purposes"}

type formForm struct {
	formBase
	Property consent.Property
	Name     string
	Purposes []choice
}

func (f *formForm) title() string {
	if f.Create {
		return "title_form_new"
	}
	return "title_form_edit"
}

// formFormOf lays out fo for the form in lang: every purpose that can be
// asked (not the necessary ones) as a checkbox, those of fo ticked.
func (c *Console) formFormOf(p consent.Property, fo consent.Form, create bool, lang string) *formForm {
	f := &formForm{formBase: formBase{Create: create, Key: fo.ID}, Property: p, Name: fo.Name}
	for _, pu := range c.Consent.Purposes() {
		if !pu.Necessary {
			f.Purposes = append(f.Purposes, choice{pu.Key, textIn(pu.Names, lang), slices.Contains(fo.Purposes, pu.Key)})
		}
	}
	return f
}

// formsPage is the list of a property's forms.
type formsPage struct {
	Property consent.Property
	Forms    []consent.Form
	// Script is the address of the snippet, without the form's id.
	Script string
}

func formsPath(property string) string { return propertiesPath + "/" + property + "/forms" }

// HandleForms lists the forms of a property, with how to embed each.
func (c *Console) HandleForms() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.Consent.Property(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		notice := savedNotice(r, func(id string) bool { _, err := c.Consent.Form(p.Key, id); return err == nil })
		c.render(w, r, http.StatusOK, "catalog_forms", page{Title: "title_forms", Notice: notice,
			Data: formsPage{Property: p, Forms: c.Consent.Forms(p.Key), Script: c.PublicURL + "/form.js?p=" + p.Key + "&f="}})
	})
}

// HandleNewForm shows the form that declares a form of the property.
func (c *Console) HandleNewForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.Consent.Property(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := c.formFormOf(p, consent.Form{}, true, languageOf(r))
		c.render(w, r, http.StatusOK, "catalog_form", page{Title: f.title(), Data: f})
	})
}

// HandleEditForm shows the form of a declared form.
func (c *Console) HandleEditForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.Consent.Property(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		fo, err := c.Consent.Form(p.Key, r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := c.formFormOf(p, fo, false, languageOf(r))
		c.render(w, r, http.StatusOK, "catalog_form", page{Title: f.title(), Data: f})
	})
}

// HandlePutForm declares (POST …/forms) or changes (POST …/forms/{id}) a
// form of a property; the consent service validates and audits it.
func (c *Console) HandlePutForm(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.Consent.Property(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		id := strings.TrimSpace(r.PostFormValue("id"))
		if !create {
			kept, err := c.Consent.Form(p.Key, r.PathValue("id"))
			if err != nil {
				c.fail(w, r, err)
				return
			}
			id = kept.ID
		}
		// PostFormValue parsed the form; PostForm holds the ticked purposes.
		fo := consent.Form{Property: p.Key, ID: id, Name: strings.TrimSpace(r.PostFormValue("name")), Purposes: r.PostForm["purposes"]}
		if _, err = c.Consent.PutForm(r.Context(), fo, create); err == nil {
			saved(w, r, formsPath(p.Key), fo.ID)
			return
		}
		f := c.formFormOf(p, fo, create, languageOf(r))
		if e, ok := errs.As(err); ok && e.Code == errs.CodeConflict {
			// The id is taken: say so on the id input, as catalogFailure
			// does on a key.
			f.setProblems(map[string]string{"id": message(r, e)})
			c.render(w, r, http.StatusConflict, "catalog_form", page{Problem: say(r, "cat_not_saved"), Title: f.title(), Data: f})
			return
		}
		if !c.catalogFailure(w, r, err, "catalog_form", f, formInputs) {
			c.fail(w, r, err)
		}
	})
}
