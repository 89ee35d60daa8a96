package admin

import (
	"bytes"
	"cmp"
	"net/http"
	"net/url"
	"slices"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/inventory"
)

// mapNames are the words of a map's keys in the page's language: categories
// and purposes by their names in the catalog, recipients by name.
type mapNames struct {
	Category, Purpose, Recipient map[string]string
}

func namesOf(m inventory.Map, lang string) mapNames {
	n := mapNames{Category: map[string]string{}, Purpose: map[string]string{}, Recipient: map[string]string{}}
	for _, c := range m.Categories {
		n.Category[c.Key] = cmp.Or(textIn(c.Names, lang), c.Names[i18n.English], c.Key)
	}
	for _, p := range m.Purposes {
		n.Purpose[p.Key] = cmp.Or(textIn(p.Names, lang), p.Names[i18n.English], p.Key)
	}
	for _, r := range m.Recipients {
		n.Recipient[r.Key] = r.Name
	}
	return n
}

// gapView is one thing the map lacks, said in the page's language, with
// where to fix it.
type gapView struct {
	Text, Link, Action string
}

func gapViews(r *http.Request, gaps []inventory.Gap, n mapNames) []gapView {
	out := make([]gapView, 0, len(gaps))
	for _, g := range gaps {
		// Categories and vendors by their names; systems by key.
		name := g.Key
		if c, ok := n.Category[g.Key]; ok && (g.Kind == inventory.GapNoRetention || g.Kind == inventory.GapUndeclared) {
			name = c
		} else if v, ok := n.Recipient[g.Key]; ok && (g.Kind == inventory.GapNoCountry || g.Kind == inventory.GapNoSafeguard) {
			name = v
		}
		v := gapView{Text: say(r, "inv_gap_"+string(g.Kind), "key", name)}
		switch g.Kind {
		case inventory.GapNoOwner, inventory.GapNoMeasures:
			v.Link, v.Action = "/admin/inventory/systems/"+g.Key, say(r, "inv_edit_system")
		case inventory.GapNoCountry, inventory.GapNoSafeguard:
			v.Link, v.Action = "/admin/catalog/vendors", say(r, "inv_edit_vendors")
		case inventory.GapNoRetention, inventory.GapUndeclared:
			v.Link, v.Action = "/admin/catalog/categories", say(r, "inv_edit_categories")
		}
		out = append(out, v)
	}
	return out
}

type inventoryData struct {
	Map   inventory.Map
	Names mapNames
	Gaps  []gapView
}

// HandleInventory shows the data map: for each system what it holds, why
// and who receives it; for each category where it lives and who receives
// it; and first, what is missing, with where to add it.
func (c *Console) HandleInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := c.Inventory.Map(r.Context())
		if err != nil {
			c.fail(w, r, err)
			return
		}
		n := namesOf(m, languageOf(r))
		d := inventoryData{Map: m, Names: n, Gaps: gapViews(r, m.Gaps, n)}
		p := page{Title: "title_inventory", Data: d}
		// After a save (see HandlePutInventorySystem); only a system's key
		// is said back.
		if saved := r.URL.Query().Get("saved"); slices.ContainsFunc(m.Systems, func(s inventory.System) bool { return s.Key == saved }) {
			p.Notice = say(r, "inv_saved", "system", saved)
		}
		c.render(w, r, http.StatusOK, "inventory", p)
	})
}

type systemData struct {
	System inventory.System
	Names  mapNames
	// Form is what the officer typed, shown again when it was refused;
	// Errors says what is wrong with each field, in the page's language.
	Form   inventory.Facts
	Errors map[string]string
}

// systemPage renders a system's form, filled with form, or with the
// stored facts when form is nil.
func (c *Console) systemPage(w http.ResponseWriter, r *http.Request, status int, p page, d systemData, form *inventory.Facts) {
	m, err := c.Inventory.Map(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(m.Systems, func(s inventory.System) bool { return s.Key == r.PathValue("key") })
	if i < 0 {
		c.fail(w, r, errs.NotFound("system", r.PathValue("key")))
		return
	}
	d.System, d.Names, d.Form = m.Systems[i], namesOf(m, languageOf(r)), m.Systems[i].Facts
	if form != nil {
		d.Form = *form
	}
	p.Title, p.Data = say(r, "title_inventory_system", "system", d.System.Key), d
	c.render(w, r, status, "inventory_system", p)
}

// HandleInventorySystem shows what a system holds and the form for what
// officers write down about it.
func (c *Console) HandleInventorySystem() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.systemPage(w, r, http.StatusOK, page{}, systemData{}, nil)
	})
}

// HandlePutInventorySystem saves what an officer wrote about a system; a
// refused form is shown again as typed, each problem next to its field.
func (c *Console) HandlePutInventorySystem() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		form := inventory.Facts{Owner: r.PostFormValue("owner"), Location: r.PostFormValue("location"),
			Description: r.PostFormValue("description"), SecurityMeasures: r.PostFormValue("security_measures")}
		_, err := c.Inventory.PutFacts(r.Context(), key, form)
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			problems := map[string]string{}
			for field := range e.Fields {
				problems[field] = say(r, "inv_err_"+field)
			}
			c.systemPage(w, r, http.StatusBadRequest, page{Problem: say(r, "inv_not_saved")}, systemData{Errors: problems}, &form)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/inventory?saved="+url.QueryEscape(key)+"#system-"+key, http.StatusSeeOther)
	})
}

type ropaData struct {
	ROPA  inventory.ROPA
	Names mapNames
	Gaps  []gapView
}

// HandleROPA shows the record of processing, made to be printed, with its
// CSV download.
func (c *Console) HandleROPA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := c.Inventory.Map(r.Context())
		if err != nil {
			c.fail(w, r, err)
			return
		}
		record := c.Inventory.ROPAOf(m)
		n := namesOf(m, languageOf(r))
		c.render(w, r, http.StatusOK, "ropa", page{Title: "title_ropa", Data: ropaData{ROPA: record, Names: n, Gaps: gapViews(r, m.Gaps, n)}})
	})
}

// HandleROPACSV downloads the record of processing as CSV.
func (c *Console) HandleROPACSV() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record, err := c.Inventory.ROPA(r.Context())
		if err != nil {
			c.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := inventory.WriteCSV(&buf, record); err != nil {
			c.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="record-of-processing-`+record.GeneratedAt.Format("2006-01-02")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
}
