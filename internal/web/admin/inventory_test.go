package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/staff"
)

// inventoryFixture is the vendor fixture with the data map of one
// database, as a privacy officer sees it.
func inventoryFixture(t *testing.T) *vendorFixture {
	t.Helper()
	f := newVendorFixture(t)
	f.session = &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_olive", Name: "Olive Officer", Role: staff.RolePrivacyOfficer}}
	// The officers' facts live in a store of their own here; the catalog is
	// the fixture's.
	store := dbtest.Open(t, db.SQLite)
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	f.console.Inventory, err = inventory.New(inventory.Config{DB: store, Audit: log, Catalog: f.console.Consent,
		Datasets: []*connector.Dataset{{Name: "shop", Engine: connector.Postgres, Tables: []connector.Table{{Name: "customers",
			Columns: []connector.Column{{Name: "email", Category: "contact", Erase: connector.SetNull}}}}}},
		Controller: inventory.Controller{Name: "Example Shop"}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestInventoryPagesSpeakTheLanguage: the data map, a system's form (also
// when refused) and the record of processing are said in the console's
// language; their forms carry the CSRF token.
func TestInventoryPagesSpeakTheLanguage(t *testing.T) {
	f := inventoryFixture(t)
	c := f.console
	pages := []consolePage{
		{name: "data map", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandleInventory(), "GET", "/admin/inventory?lang="+lang, nil, nil)
			return w.Code, w.Body.String()
		}, english: []string{"<title>Data map ·", "What to add next", "System shop has no owner", "Who receives it", "Where it lives",
			"Company database", "1 table with personal data", "Contact details", "Declared but withheld", "third country",
			"Proof of each consent choice"}},
		{name: "system", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandleInventorySystem(), "GET", "/admin/inventory/systems/shop?lang="+lang, nil, map[string]string{"key": "shop"})
			checkForms(t, w.Body.String(), csrfToken(f.session))
			return w.Code, w.Body.String()
		}, english: []string{"Back to the data map", "Security measures", "A team or role", "After saving you return"}},
		{name: "system refused", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandlePutInventorySystem(), "POST", "/admin/inventory/systems/shop?lang="+lang,
				url.Values{"owner": {"Web\nteam"}, "location": {"Deutschland"}}, map[string]string{"key": "shop"})
			return w.Code, w.Body.String()
		}, english: []string{"Nothing was saved", "Write one line of at most 200 characters.", "Write a two-letter country code"}},
		{name: "record", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandleROPA(), "GET", "/admin/inventory/ropa?lang="+lang, nil, nil)
			return w.Code, w.Body.String()
		}, english: []string{"<title>Record of processing activities ·", "Legal basis", "Data subjects", "Transfers to third countries",
			"Download as CSV", "Systems and security measures", "consent (Art. 6(1)(a))"}},
	}
	checkLanguages(t, pages)
}

// TestInventorySystemUnknown: a system the map does not show has no form,
// and nothing can be written about it.
func TestInventorySystemUnknown(t *testing.T) {
	f := inventoryFixture(t)
	for _, c := range []struct {
		method string
		h      http.Handler
		form   url.Values
	}{{"GET", f.console.HandleInventorySystem(), nil}, {"POST", f.console.HandlePutInventorySystem(), url.Values{"owner": {"x"}}}} {
		w := f.call(t, c.h, c.method, "/admin/inventory/systems/payroll", c.form, map[string]string{"key": "payroll"})
		if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "name=\"owner\"") {
			t.Errorf("%s of an unknown system: %d", c.method, w.Code)
		}
	}
}
