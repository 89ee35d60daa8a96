// Package drift finds personal data nobody declared: columns of the
// company's connected SQL databases that look like personal data (an
// email address, a phone number, an IBAN, a national id, a date of birth,
// an IP address, a person's name) but that the system's dataset file does
// not declare, so that access and erasure requests would miss them.
//
// Scan reads a database's catalog (information_schema on PostgreSQL and
// MariaDB/MySQL, the schema tables on SQLite), read-only, and judges each
// undeclared column by its name, in English, German, French and Spanish
// (ClassifyName), and, when asked, by a sample of at most SampleRows of
// its values, read with a timeout (ClassifyValues: email syntax,
// international phone numbers, IBAN checksums, IP addresses, birth dates).
// Values are looked at in memory and never stored, logged or sent: a
// finding records the system, table, column, suggested category, the kind
// of evidence and the share of matching values.
//
//	res, err := drift.Scan(ctx, conn, drift.ScanOptions{Sample: true})
//	rec, err := svc.Record(ctx, res) // new findings announced (inventory.drift)
//	f, err := svc.Declare(ctx, actor, id, "contact", "")
//	f, err = svc.Dismiss(ctx, actor, id, "a product code, not a person's")
//
// A Service keeps the findings (table drift_findings) and the privacy
// officers' decisions: open until declared (with a category; the finding
// closes once the dataset file, the source of truth, declares the column)
// or dismissed (with a reason; later scans leave it dismissed). A finding
// whose column is gone closes itself; one that comes back undeclared
// reopens. PeriodicJobs scans every connected system daily; `steward
// connector check` runs the same scan without recording it.
package drift
