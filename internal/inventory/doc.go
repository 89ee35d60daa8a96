// Package inventory is the data map and the record of processing (GDPR
// Art. 30), built from what Steward enforces rather than typed in twice:
// the catalog's data categories, purposes and vendors (internal/consent),
// the connected systems' dataset files (internal/connector and
// internal/connector/httpsystem), the vault's fields by name and category
// (counts, never values), and Steward's own stores (the vault, the consent
// ledger, the access archives).
//
// What cannot be derived, a privacy officer writes down per system: its
// owner, location, description and security measures (Facts, the one table
// this package owns, inventory_systems). Each change is audited
// (inventory.system.update). The table holds no customer data, so erasure
// has nothing to do here.
//
// Build is a pure function of its Inputs; BuildROPA derives the record of
// processing from the Map, and WriteCSV writes it for spreadsheets:
//
//	svc, err := inventory.New(inventory.Config{DB: store, Audit: log, Catalog: consentService, Datasets: sql, HTTP: http})
//	m, err := svc.Map(ctx)
//	r, err := svc.ROPA(ctx)
//	err = inventory.WriteCSV(w, r)
package inventory
