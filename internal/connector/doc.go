// Package connector reaches into the company's own databases to answer data
// subject requests: it finds a subject's rows, streams them out for access
// and export, and erases them, as a dataset file declares.
//
// A dataset file (YAML; README.md in this directory describes it, and
// testdata/shop.yaml is a full example) names one database: its engine
// (PostgreSQL, MySQL or MariaDB, SQLite), the environment variable that
// holds its connection string, and each table that holds personal data:
// how a subject's rows are found (a column holding the subject's external
// id or email, directly or at the end of a join path), the data category
// of each column and what erasure does to it.
//
//	ds, err := connector.ParseFile("shop.yaml") // every problem, with its line
//	conn, err := connector.Open(ctx, ds, getenv) // DSN and HMAC key from the environment
//	defer conn.Close()
//	mismatches, err := conn.Check(ctx)           // the file against the live schema
//	err = conn.Access(ctx, subject, sink)        // streamed, read-only
//	report, err := conn.Erase(ctx, subject, dryRun)
//	steps, err := conn.Retain(ctx, connector.RetainOptions{Now: now, Held: held}) // tables' retention sections
//
// Table and column names come only from the validated dataset and are
// quoted in every statement; a subject's identifiers are always bound
// parameters. Access runs in a read-only transaction and streams rows to a
// Sink one at a time, so memory does not grow with the rows. Erase runs in
// one transaction, a table before the tables on its join path, and is
// idempotent; its dry run is the same transaction rolled back. Retain
// walks each table with a retention section in short keyset batches, each
// statement its own transaction, excluding held subjects in SQL.
package connector
