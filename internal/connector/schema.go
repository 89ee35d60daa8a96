package connector

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// LiveColumn is a column of a base table of the connected database, as the
// engine's catalog lists it: declared in the dataset or not.
type LiveColumn struct {
	Table  string
	Column string
	Type   string // as the catalog spells it
	// Text is a character column (or a SQLite column without a type):
	// the only kind SampleColumn reads.
	Text bool
	// Boolean is a true/false column, which holds a flag about a value
	// (email_verified), never the value.
	Boolean bool
}

// Columns lists every column of every base table the connection sees: on
// PostgreSQL the current schema (the first of search_path), on MySQL and
// MariaDB the connection's database, on SQLite the main database. It reads
// the catalog only, never a row.
func (c *Conn) Columns(ctx context.Context) ([]LiveColumn, error) {
	var query string
	switch c.ds.Engine {
	case Postgres:
		query = `SELECT c.table_name, c.column_name, c.data_type, c.udt_name
			FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
			ORDER BY c.table_name, c.ordinal_position`
	case MySQL:
		query = `SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE
			FROM information_schema.COLUMNS c
			JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
			WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
			ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`
	case SQLite:
		query = `SELECT m.name, p.name, p.type, p.type
			FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
			ORDER BY m.name, p.cid`
	default:
		return nil, fmt.Errorf("connector %s: unknown engine %q", c.ds.Name, c.ds.Engine)
	}
	var out []LiveColumn
	err := c.readOnly(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var col LiveColumn
			var dataType, fullType string
			if err := rows.Scan(&col.Table, &col.Column, &dataType, &fullType); err != nil {
				return err
			}
			var class typeClass
			col.Type, class = classify(c.ds.Engine, dataType, fullType)
			col.Text = holdsText(class)
			col.Boolean = isBoolean(c.ds.Engine, dataType, fullType)
			out = append(out, col)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("connector %s: list columns: %w", c.ds.Name, err)
	}
	return out, nil
}

func isBoolean(engine Engine, dataType, fullType string) bool {
	lower := strings.ToLower(dataType)
	switch engine {
	case Postgres:
		return lower == "boolean"
	case MySQL:
		full := strings.ToLower(fullType)
		return (lower == "bit" && full == "bit(1)") || full == "tinyint(1)"
	}
	return strings.Contains(strings.ToUpper(dataType), "BOOL")
}

// SampleColumn reads at most limit non-NULL values of a text column, in a
// read-only transaction whose statement the server stops after timeout
// (PostgreSQL's statement_timeout, MariaDB's max_statement_time, MySQL's
// MAX_EXECUTION_TIME; SQLite by the context's deadline). The
// values are the company's customers' personal data: the caller looks at
// them in memory and keeps nothing of them. Table and column are quoted,
// as they come from the database's catalog, not from a validated file.
func (c *Conn) SampleColumn(ctx context.Context, table, column string, limit int, timeout time.Duration) ([]string, error) {
	// The server stops the statement at timeout; the context, a little
	// later, stops a server that does not (SQLite, a lost connection).
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	e := c.ds.Engine
	stmt := "SELECT " + quote(e, column) + " FROM " + quote(e, table) + " WHERE " + quote(e, column) + " IS NOT NULL LIMIT " + fmt.Sprint(max(limit, 0))
	var out []string
	err := c.readOnly(ctx, func(q querier) error {
		stmt := stmt
		switch e {
		case Postgres:
			// SET LOCAL ends with the transaction; milliseconds, at least one.
			if _, err := q.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", max(timeout.Milliseconds(), 1))); err != nil {
				return err
			}
		case MySQL:
			// The server's limit for this statement alone (a session
			// setting would stay on the pooled connection): MariaDB's SET
			// STATEMENT, or MySQL's optimizer hint, which MariaDB reads
			// as a comment.
			var version string
			if err := q.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
				return err
			}
			if strings.Contains(strings.ToLower(version), "mariadb") {
				stmt = fmt.Sprintf("SET STATEMENT max_statement_time = %.3f FOR %s", max(timeout.Seconds(), 0.001), stmt)
			} else {
				stmt = fmt.Sprintf("SELECT /*+ MAX_EXECUTION_TIME(%d) */ %s", max(timeout.Milliseconds(), 1), strings.TrimPrefix(stmt, "SELECT "))
			}
		}
		rows, err := q.QueryContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v sql.NullString
			if err := rows.Scan(&v); err != nil {
				return err
			}
			if v.Valid {
				out = append(out, v.String)
			}
		}
		return rows.Err()
	})
	if err != nil {
		// The error names the table and column, never a value: drivers
		// report statements, not rows.
		return nil, fmt.Errorf("connector %s: sample %s.%s: %w", c.ds.Name, table, column, err)
	}
	return out, nil
}
