package connector

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// querier is what statements run on: a transaction, or (SQLite) a pinned
// connection inside one.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ querier = (*sql.Tx)(nil)
	_ querier = (*sql.Conn)(nil)
)

// quote returns name as a quoted identifier of engine. Names come only
// from a validated dataset (see sqlName); quoting is the second fence.
func quote(engine Engine, name string) string {
	if engine == MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// builder writes one statement, numbering its parameters as engine wants.
type builder struct {
	engine Engine
	sql    strings.Builder
	args   []any
}

func (b *builder) write(parts ...string) *builder {
	for _, p := range parts {
		b.sql.WriteString(p)
	}
	return b
}

// name writes a quoted identifier.
func (b *builder) name(name string) *builder {
	b.sql.WriteString(quote(b.engine, name))
	return b
}

// column writes a quoted table-qualified column.
func (b *builder) column(table, column string) *builder {
	return b.name(table).write(".").name(column)
}

// param writes a placeholder bound to value. Parameters must be written
// in the order they appear, which MySQL's "?" needs.
func (b *builder) param(value any) *builder {
	b.args = append(b.args, value)
	if b.engine == Postgres {
		b.sql.WriteString("$" + strconv.Itoa(len(b.args)))
	} else {
		b.sql.WriteString("?")
	}
	return b
}

func (b *builder) String() string { return b.sql.String() }

// typeClass is what a column's SQL type means for the strategies.
type typeClass int

const (
	classOther typeClass = iota
	classText
	classInteger
	classBinary
	// classAny is a SQLite column declared without a type: it takes
	// anything.
	classAny
)

// columnInfo is a live column as the engine's catalog describes it.
type columnInfo struct {
	Name     string
	Type     string // as the catalog spells it, for messages
	Class    typeClass
	Nullable bool
	// MaxChars is the declared length of a character column, 0 when the
	// engine does not enforce one.
	MaxChars int64
	// Collation is a MySQL character column's collation ("" elsewhere).
	Collation string
}

// tableInfo is a live table: its columns by name and, on MySQL, its storage
// engine.
type tableInfo struct {
	Columns map[string]columnInfo
	Storage string
}

// describe returns table as the database sees it, or nil when there is no
// such table.
func describe(ctx context.Context, q querier, engine Engine, table string) (*tableInfo, error) {
	var query string
	switch engine {
	case Postgres:
		// to_regclass resolves the name through search_path exactly as the
		// statements will; information_schema then describes that table.
		query = `SELECT c.column_name, c.data_type, c.udt_name, c.is_nullable = 'YES',
			COALESCE(c.character_maximum_length, 0), ''
			FROM information_schema.columns c
			WHERE c.table_name = $1 AND c.table_schema = (
				SELECT n.nspname FROM pg_catalog.pg_class r
				JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
				WHERE r.oid = to_regclass(quote_ident($1)))
			ORDER BY c.ordinal_position`
	case MySQL:
		query = `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE = 'YES',
			COALESCE(CHARACTER_MAXIMUM_LENGTH, 0), COALESCE(COLLATION_NAME, '')
			FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
			ORDER BY ORDINAL_POSITION`
	case SQLite:
		// The primary key of a rowid table reads as nullable but never is.
		query = `SELECT name, type, type, "notnull" = 0 AND pk = 0, 0, '' FROM pragma_table_info(?)`
	default:
		return nil, fmt.Errorf("unknown engine %q", engine)
	}
	rows, err := q.QueryContext(ctx, query, table)
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	defer rows.Close()
	info := &tableInfo{Columns: map[string]columnInfo{}}
	for rows.Next() {
		var c columnInfo
		var dataType, fullType string
		if err := rows.Scan(&c.Name, &dataType, &fullType, &c.Nullable, &c.MaxChars, &c.Collation); err != nil {
			return nil, fmt.Errorf("describe table %s: %w", table, err)
		}
		c.Type, c.Class = classify(engine, dataType, fullType)
		info.Columns[c.Name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	if len(info.Columns) == 0 {
		return nil, nil
	}
	if engine == MySQL {
		err := q.QueryRowContext(ctx, `SELECT COALESCE(ENGINE, '') FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table).Scan(&info.Storage)
		if err != nil {
			return nil, fmt.Errorf("describe table %s: storage engine: %w", table, err)
		}
	}
	return info, nil
}

// classify names a column's type class from its catalog entry: data_type
// and udt_name (PostgreSQL), DATA_TYPE and COLUMN_TYPE (MySQL), or the
// declared type twice (SQLite).
func classify(engine Engine, dataType, fullType string) (string, typeClass) {
	lower := strings.ToLower(dataType)
	switch engine {
	case Postgres:
		if lower == "user-defined" || lower == "array" {
			lower = strings.ToLower(fullType)
		}
		switch lower {
		case "text", "character varying", "character", "citext", "varchar", "bpchar":
			return dataType, classText
		case "smallint", "integer", "bigint":
			return dataType, classInteger
		case "bytea":
			return dataType, classBinary
		}
		return lower, classOther
	case MySQL:
		switch lower {
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
			return fullType, classText
		case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
			return fullType, classInteger
		case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
			return fullType, classBinary
		}
		return fullType, classOther
	default:
		// SQLite's column affinity rules, in their order of precedence
		// (https://sqlite.org/datatype3.html#determination_of_column_affinity).
		upper := strings.ToUpper(dataType)
		switch {
		case strings.Contains(upper, "INT"):
			return dataType, classInteger
		case strings.Contains(upper, "CHAR"), strings.Contains(upper, "CLOB"), strings.Contains(upper, "TEXT"):
			return dataType, classText
		case strings.Contains(upper, "BLOB"):
			return dataType, classBinary
		case upper == "":
			return "(no type)", classAny
		}
		return dataType, classOther
	}
}

// caseInsensitive reports whether a MySQL or MariaDB collation compares
// without regard to case: their names say so (utf8mb4_general_ci,
// utf8mb4_0900_ai_ci, utf8mb4_uca1400_ai_ci).
func caseInsensitive(collation string) bool {
	return strings.HasSuffix(strings.ToLower(collation), "_ci")
}

// transactional reports whether a MySQL storage engine can roll back. An
// erasure, and the rolled-back dry run, depend on it.
func transactional(storage string) bool {
	switch strings.ToLower(storage) {
	case "", "innodb", "rocksdb", "tokudb":
		return true // "" is a view
	}
	return false
}
