package admin

// The catalog pages (/admin/catalog/…): properties, purposes, vendors,
// data categories and privacy notices, listed, created and edited with the
// consent service's own validation, each write audited by that service
// under the signed-in staff member (Require puts them in the context).
// This file holds what the pages share: the index, the mapping of the
// service's field names to the form's inputs, and number parsing.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/staff"
)

// catalogSection is one entry of the catalog's index page.
type catalogSection struct {
	Path, Title, Intro string
	Count              int
}

// HandleCatalog lists the catalog's sections the staff member's role may
// manage, each with what it holds and how many entries it has.
func (c *Console) HandleCatalog() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := sessionOf(r).Account.Role
		var sections []catalogSection
		add := func(perm staff.Permission, path, title, intro string, count func() (int, error)) error {
			if !role.Can(perm) {
				return nil
			}
			n, err := count()
			sections = append(sections, catalogSection{Path: path, Title: title, Intro: intro, Count: n})
			return err
		}
		cs := c.Consent
		for _, err := range []error{
			add(staff.PermSettings, "/admin/catalog/properties", "cat_properties", "cat_properties_intro", func() (int, error) { return len(cs.Properties()), nil }),
			add(staff.PermSettings, "/admin/catalog/purposes", "cat_purposes", "cat_purposes_intro", func() (int, error) { return len(cs.Purposes()), nil }),
			add(staff.PermEthics, "/admin/catalog/assessments", "cat_assessments", "cat_assessments_intro", func() (int, error) { return len(cs.Purposes()), nil }),
			add(staff.PermVendors, "/admin/catalog/vendors", "cat_vendors", "cat_vendors_intro", func() (int, error) { return len(cs.Vendors()), nil }),
			add(staff.PermInventory, "/admin/catalog/categories", "cat_categories", "cat_categories_intro", func() (int, error) { return len(cs.Categories()), nil }),
			add(staff.PermNotices, "/admin/catalog/notices", "cat_notices", "cat_notices_intro", func() (int, error) {
				list, err := cs.Notices(r.Context())
				return len(list), err
			}),
		} {
			if err != nil {
				c.fail(w, r, err)
				return
			}
		}
		c.render(w, r, http.StatusOK, "catalog", page{Title: "title_catalog", Data: sections})
	})
}

// catalogLangs are the languages a catalog form offers a text in: those of
// the console's message catalog. Texts in other languages (the API takes
// any tag) are kept as they are when a form is saved.
func catalogLangs() []string { return i18n.Default().Languages() }

// langText is one language's input of a text field.
type langText struct{ Lang, Name, Value string }

// langTexts lays out texts for a form, one input per catalog language.
func langTexts(texts map[string]string) []langText {
	out := []langText{}
	for _, lang := range catalogLangs() {
		out = append(out, langText{Lang: lang, Name: words(lang)["lang_name"], Value: texts[lang]})
	}
	return out
}

// postedTexts reads the per-language inputs field.LANG over kept, the texts
// already stored: a language the form offers is set or, left empty,
// removed; others stay. Line breaks are stored as "\n", as the API's
// callers send them, not as the "\r\n" browsers post.
func postedTexts(r *http.Request, field string, kept map[string]string) map[string]string {
	out := map[string]string{}
	for lang, text := range kept {
		out[lang] = text
	}
	for _, lang := range catalogLangs() {
		if v := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue(field+"."+lang), "\r\n", "\n")); v != "" {
			out[lang] = v
		} else {
			delete(out, lang)
		}
	}
	return out
}

// lines splits a textarea into its non-empty lines, trimmed.
func lines(v string) []string {
	out := []string{}
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// number parses a whole-number input; empty is 0. A problem is put under
// field in problems.
func number(r *http.Request, field, value string, problems map[string]string) int {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		problems[field] = say(r, "cat_whole_number")
	}
	return n
}

// formProblems places the service's field problems (errs.Fields names, as
// the API reports them: "name.de", "domains[2]"; said by fieldMessages) on
// the form's inputs: a
// list entry "domains[2]" goes to the input "domains", said as its line.
// Problems no input of the form holds are returned apart, for the page's
// problem box.
func formProblems(r *http.Request, fields map[string]string, inputs ...string) (inline, other map[string]string) {
	inline, other = map[string]string{}, map[string]string{}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	slices.Sort(names)
	for _, f := range names {
		msg, input := fields[f], f
		if open := strings.LastIndexByte(f, '['); open > 0 && strings.HasSuffix(f, "]") {
			if i, err := strconv.Atoi(f[open+1 : len(f)-1]); err == nil {
				input, msg = f[:open], say(r, "cat_line", "n", i+1)+": "+msg
			}
		}
		if !slices.Contains(inputs, input) {
			other[f] = msg
			continue
		}
		if prev, ok := inline[input]; ok {
			msg = prev + "; " + msg
		}
		inline[input] = msg
	}
	return inline, other
}

// catalogFailure shows a refused catalog write on its form: the fields at
// fault next to their inputs, nothing typed lost (the form data d holds
// what was posted). It reports whether err was such a refusal; other
// errors (conflict, not found, the audit log unwritable) are shown as the
// console's error page by the caller.
func (c *Console) catalogFailure(w http.ResponseWriter, r *http.Request, err error, name string, d catalogFormData, inputs []string) bool {
	e, ok := errs.As(err)
	if !ok {
		return false
	}
	switch e.Code {
	case errs.CodeInvalid:
		inline, other := formProblems(r, fieldMessages(r, e), inputs...)
		d.setProblems(inline)
		p := page{Problem: say(r, "cat_not_saved"), Title: d.title(), Data: d}
		if len(other) > 0 {
			p.Fields = other
		}
		c.render(w, r, http.StatusBadRequest, name, p)
		return true
	case errs.CodeConflict:
		// An existing key: say so on the key input, keeping the form.
		d.setProblems(map[string]string{"key": message(r, e)})
		c.render(w, r, http.StatusConflict, name, page{Problem: say(r, "cat_not_saved"), Title: d.title(), Data: d})
		return true
	}
	return false
}

// catalogFormData is what the catalog's edit forms share.
type catalogFormData interface {
	setProblems(map[string]string)
	title() string
}

// formBase is the part of a catalog form every kind has.
type formBase struct {
	// Create is true for a new entry (its key is typed), false for an edit.
	Create bool
	Key    string
	// Problems are the service's problems by input name.
	Problems map[string]string
}

func (f *formBase) setProblems(p map[string]string) { f.Problems = p }

// saved redirects to a catalog list after a write, which then says what
// was saved.
func saved(w http.ResponseWriter, r *http.Request, list, key string) {
	http.Redirect(w, r, fmt.Sprintf("%s?saved=%s", list, url.QueryEscape(key)), http.StatusSeeOther)
}

// savedNotice is the list page's notice after a write: only for an entry
// that exists, so that a link cannot make the page say something untrue.
func savedNotice(r *http.Request, exists func(string) bool) string {
	key := r.URL.Query().Get("saved")
	if key == "" || !exists(key) {
		return ""
	}
	return say(r, "cat_saved", "key", key)
}

// fieldsErr is the problems a form found before the service was asked, as
// the service's kind of error; nil without any.
func fieldsErr(problems map[string]string) error {
	if len(problems) == 0 {
		return nil
	}
	return errs.Fields(problems)
}

func itoa(n int) string { return strconv.Itoa(n) }
