package inventory_test

import (
	"fmt"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/inventory"
)

// vocabulary is a small synthetic category vocabulary: payroll is
// in-house, health special, contact kept a year.
func vocabulary() []consent.Category {
	return []consent.Category{
		{Key: "contact", Names: map[string]string{"en": "Contact details", "de": "Kontaktdaten"}, RetentionDays: 365, Position: 10},
		{Key: "identifier", Names: map[string]string{"en": "Identifiers"}, Position: 20},
		{Key: "device", Names: map[string]string{"en": "Device data"}, Position: 25},
		{Key: "financial", Names: map[string]string{"en": "Financial data"}, RetentionDays: 3650, Position: 30},
		{Key: "health", Names: map[string]string{"en": "Health data"}, Special: true, Position: 50},
		{Key: "payroll", Names: map[string]string{"en": "Payroll"}, InHouse: true, RetentionDays: 3650, Position: 60},
	}
}

// catalog is a fixed catalog for the service.
type catalog struct {
	categories []consent.Category
	purposes   []consent.Purpose
	vendors    []consent.Vendor
}

func (c catalog) Categories() []consent.Category { return c.categories }
func (c catalog) Purposes() []consent.Purpose    { return c.purposes }
func (c catalog) Vendors() []consent.Vendor      { return c.vendors }

func purposes() []consent.Purpose {
	return []consent.Purpose{
		{Key: "marketing", Names: map[string]string{"en": "Marketing"}, LegalBasis: consent.BasisConsent, Position: 20},
		{Key: "billing", Names: map[string]string{"en": "Billing"}, LegalBasis: consent.BasisLegalObligation, RetentionDays: 3653, Position: 10},
	}
}

func vendors() []consent.Vendor {
	return []consent.Vendor{
		{Key: "mailer-us", Name: "Mailer Inc", Purposes: []string{"marketing"}, DataCategories: []string{"contact", "device"}, Country: "US"},
		{Key: "bank-de", Name: "Bank AG", Purposes: []string{"billing"}, DataCategories: []string{"financial", "payroll", "contact"}, Country: "DE"},
		{Key: "cloud-ch", Name: "Cloud SA", Purposes: []string{"billing"}, DataCategories: []string{"financial"}, Country: "CH",
			TransferSafeguard: consent.SafeguardAdequacy},
		{Key: "nowhere", Name: "Nowhere Ltd", Purposes: []string{"marketing"}, DataCategories: []string{"identifier"}},
	}
}

func shopDataset() *connector.Dataset {
	return &connector.Dataset{Name: "shop", Engine: connector.Postgres, Tables: []connector.Table{
		{Name: "customers", Columns: []connector.Column{
			{Name: "email", Category: "contact", Erase: connector.HashHMAC},
			{Name: "iban", Category: "financial", Erase: connector.Keep, LegalReason: "Tax law keeps invoices 10 years"},
		}},
		{Name: "tickets", Erase: connector.DeleteRow, Columns: []connector.Column{{Name: "symptoms", Category: "health"}}},
	}}
}

func crmSystem() *httpsystem.Dataset {
	return &httpsystem.Dataset{Name: "crm", Engine: httpsystem.EngineHTTP, Categories: []string{"contact"}, LegalReason: "Open contracts",
		Correctable: []httpsystem.CorrectableField{{Field: "people.shoe", Category: "shoe_size"}}}
}

// bigInputs is a map of systems databases with columns each, spread over
// the vocabulary, with as many vendors as categories.
func bigInputs(systems, columns int) inventory.Inputs {
	in := inventory.Inputs{Categories: vocabulary(), Purposes: purposes(), Vendors: vendors(),
		Vault: []inventory.VaultField{{Name: "iban", Category: "financial", Count: 1000}}, Facts: map[string]inventory.Facts{}}
	for s := range systems {
		ds := &connector.Dataset{Name: fmt.Sprintf("db-%03d", s), Engine: connector.MySQL}
		for t := range columns / 5 {
			table := connector.Table{Name: fmt.Sprintf("t%d", t)}
			for c := range 5 {
				cat := in.Categories[(s+t+c)%len(in.Categories)].Key
				table.Columns = append(table.Columns, connector.Column{Name: fmt.Sprintf("c%d", c), Category: cat, Erase: connector.SetNull})
			}
			ds.Tables = append(ds.Tables, table)
		}
		in.Datasets = append(in.Datasets, ds)
		in.Facts[ds.Name] = inventory.Facts{Owner: "Team " + ds.Name, SecurityMeasures: "Encrypted at rest"}
	}
	return in
}
