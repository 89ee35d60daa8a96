package snapshot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/db"
)

// Kind is a column's store-neutral type.
type Kind string

// The kinds a snapshot knows. Steward keeps times as Unix microseconds in
// BIGINT columns on both engines, so they are KindInt; there is no time
// kind to normalise. Booleans are INTEGER 0/1 on SQLite and BOOLEAN on
// PostgreSQL: a SQLite dump says KindInt where a PostgreSQL dump of the
// same table says KindBool, and Load converts either to the target's.
const (
	KindInt   Kind = "int"
	KindReal  Kind = "real"
	KindText  Kind = "text"
	KindBytes Kind = "bytes"
	KindBool  Kind = "bool"
)

// Column is one column of a table in a snapshot.
type Column struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"type"`
	Nullable bool   `json:"null,omitempty"`
}

// tableSchema is what a store says of one table.
type tableSchema struct {
	name       string
	columns    []Column
	primaryKey []string
}

// kindOf maps a declared column type to its neutral kind. A type not
// listed is an error: a value it holds could not be carried exactly.
func kindOf(dialect db.Dialect, declared string) (Kind, error) {
	t := strings.ToLower(strings.TrimSpace(declared))
	switch dialect {
	case db.SQLite:
		switch t {
		case "integer", "bigint", "int":
			return KindInt, nil
		case "text":
			return KindText, nil
		case "blob":
			return KindBytes, nil
		case "real", "double", "double precision":
			return KindReal, nil
		case "boolean":
			return KindBool, nil
		}
	case db.Postgres:
		switch t {
		case "bigint", "integer", "smallint":
			return KindInt, nil
		case "text":
			return KindText, nil
		case "bytea":
			return KindBytes, nil
		case "double precision", "real":
			return KindReal, nil
		case "boolean":
			return KindBool, nil
		}
	}
	return "", fmt.Errorf("column type %q has no store-neutral kind", declared)
}

// liveTables returns the names of the store's tables, sorted.
func liveTables(ctx context.Context, q db.Querier, dialect db.Dialect) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	if dialect == db.Postgres {
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	names, err := db.QueryAll(ctx, q, query, nil, func(scan func(...any) error) (string, error) {
		var name string
		err := scan(&name)
		return name, err
	})
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// readTable reads a table's columns (in their order) and primary key.
func readTable(ctx context.Context, q db.Querier, dialect db.Dialect, table string) (tableSchema, error) {
	ts := tableSchema{name: table}
	if dialect == db.SQLite {
		type col struct {
			name, typ string
			notNull   bool
			pk        int
		}
		// PRAGMA takes no parameters; table names come from tables, never
		// from input.
		cols, err := db.QueryAll(ctx, q, `SELECT name, type, "notnull", pk FROM pragma_table_info(`+quoteString(table)+`)`, nil,
			func(scan func(...any) error) (col, error) {
				var c col
				err := scan(&c.name, &c.typ, &c.notNull, &c.pk)
				return c, err
			})
		if err != nil {
			return ts, fmt.Errorf("read columns of %s: %w", table, err)
		}
		pk := map[int]string{}
		for _, c := range cols {
			kind, err := kindOf(dialect, c.typ)
			if err != nil {
				return ts, fmt.Errorf("%s.%s: %w", table, c.name, err)
			}
			ts.columns = append(ts.columns, Column{Name: c.name, Kind: kind, Nullable: !c.notNull && c.pk == 0})
			if c.pk > 0 {
				pk[c.pk] = c.name
			}
		}
		for i := 1; i <= len(pk); i++ {
			ts.primaryKey = append(ts.primaryKey, pk[i])
		}
	} else {
		type col struct {
			name, typ string
			nullable  bool
		}
		cols, err := db.QueryAll(ctx, q, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
			FROM pg_attribute a
			WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum`, []any{table},
			func(scan func(...any) error) (col, error) {
				var c col
				err := scan(&c.name, &c.typ, &c.nullable)
				return c, err
			})
		if err != nil {
			return ts, fmt.Errorf("read columns of %s: %w", table, err)
		}
		for _, c := range cols {
			kind, err := kindOf(dialect, c.typ)
			if err != nil {
				return ts, fmt.Errorf("%s.%s: %w", table, c.name, err)
			}
			ts.columns = append(ts.columns, Column{Name: c.name, Kind: kind, Nullable: c.nullable})
		}
		ts.primaryKey, err = db.QueryAll(ctx, q, `SELECT a.attname
			FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, []any{table},
			func(scan func(...any) error) (string, error) {
				var name string
				err := scan(&name)
				return name, err
			})
		if err != nil {
			return ts, fmt.Errorf("read primary key of %s: %w", table, err)
		}
	}
	if len(ts.columns) == 0 {
		return ts, fmt.Errorf("table %s: no such table in the store", table)
	}
	return ts, nil
}

// orderBy returns the ORDER BY list that reads a table in primary-key
// order, or by every column when it has none. Text is compared byte by
// byte on both engines (PostgreSQL's "C" collation is SQLite's BINARY), so
// that both list a table's rows in one order.
func orderBy(dialect db.Dialect, ts tableSchema) string {
	keys := ts.primaryKey
	if len(keys) == 0 {
		for _, c := range ts.columns {
			keys = append(keys, c.Name)
		}
	}
	kinds := map[string]Kind{}
	for _, c := range ts.columns {
		kinds[c.Name] = c.Kind
	}
	terms := make([]string, len(keys))
	for i, k := range keys {
		terms[i] = quoteIdent(k)
		if dialect == db.Postgres && kinds[k] == KindText {
			terms[i] += ` COLLATE "C"`
		}
	}
	return strings.Join(terms, ", ")
}

func columnList(cols []Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	return strings.Join(names, ", ")
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
