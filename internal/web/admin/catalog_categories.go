package admin

import (
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
)

// The data categories' pages (/admin/catalog/categories; permission
// inventory): the vocabulary the data map, the vault and vendors use.

const categoriesPath = "/admin/catalog/categories"

// categoryInputs are the inputs of the category form, by the service's
// field names.
var categoryInputs = []string{"key", "name", "name.en", "name.de", "name.fr", "name.es",
	"description", "description.en", "description.de", "description.fr", "description.es", "retention_days", "position"}

type categoryForm struct {
	formBase
	Names, Descriptions     []langText
	Special, InHouse        bool
	RetentionDays, Position string
}

func (f *categoryForm) title() string {
	if f.Create {
		return "title_category_new"
	}
	return "title_category_edit"
}

func categoryFormOf(c consent.Category, create bool) *categoryForm {
	return &categoryForm{formBase: formBase{Create: create, Key: c.Key}, Names: langTexts(c.Names), Descriptions: langTexts(c.Descriptions),
		Special: c.Special, InHouse: c.InHouse, RetentionDays: itoa(c.RetentionDays), Position: itoa(c.Position)}
}

// HandleCategories lists the data categories.
func (c *Console) HandleCategories() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := savedNotice(r, func(k string) bool { _, err := c.Consent.Category(k); return err == nil })
		c.render(w, r, http.StatusOK, "catalog_categories", page{Title: "title_categories", Notice: notice, Data: c.Consent.Categories()})
	})
}

// HandleNewCategory shows the form of a new data category.
func (c *Console) HandleNewCategory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := categoryFormOf(consent.Category{}, true)
		c.render(w, r, http.StatusOK, "catalog_category", page{Title: f.title(), Data: f})
	})
}

// HandleEditCategory shows the form of an existing data category.
func (c *Console) HandleEditCategory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cat, err := c.Consent.Category(r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f := categoryFormOf(cat, false)
		c.render(w, r, http.StatusOK, "catalog_category", page{Title: f.title(), Data: f})
	})
}

// HandlePutCategory creates (POST /admin/catalog/categories) or replaces
// (POST …/{key}) a data category.
func (c *Console) HandlePutCategory(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var kept consent.Category
		key := strings.TrimSpace(r.PostFormValue("key"))
		if !create {
			var err error
			if kept, err = c.Consent.Category(r.PathValue("key")); err != nil {
				c.fail(w, r, err)
				return
			}
			key = kept.Key
		}
		cat := consent.Category{Key: key, Names: postedTexts(r, "name", kept.Names), Descriptions: postedTexts(r, "description", kept.Descriptions),
			Special: r.PostFormValue("special") == "on", InHouse: r.PostFormValue("in_house") == "on"}
		f := categoryFormOf(cat, create)
		f.RetentionDays, f.Position = r.PostFormValue("retention_days"), r.PostFormValue("position")
		local := map[string]string{}
		cat.RetentionDays = number(r, "retention_days", f.RetentionDays, local)
		cat.Position = number(r, "position", f.Position, local)
		err := fieldsErr(local)
		if err == nil {
			_, err = c.Consent.PutCategory(r.Context(), cat, create)
		}
		if err == nil {
			saved(w, r, categoriesPath, cat.Key)
			return
		}
		if !c.catalogFailure(w, r, err, "catalog_category", f, categoryInputs) {
			c.fail(w, r, err)
		}
	})
}
