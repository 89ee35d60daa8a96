package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
)

// This file reads a store's schema into one shape for both engines; the
// parity test (schema_parity_test.go) compares the two.

type schemaInfo struct {
	tables map[string]*tableInfo
}

type tableInfo struct {
	name    string
	columns []columnInfo
	// rowidAlias is the SQLite INTEGER PRIMARY KEY column, "" otherwise.
	rowidAlias string
	primaryKey []string
	uniques    []string // column lists "a,b" of UNIQUE constraints, sorted
	checks     []string // normalised expressions, sorted
	foreign    map[string]foreignKeyInfo
	indexes    map[string]indexInfo // CREATE INDEX indexes by name
	triggers   []string             // "before update", one per event, sorted
	rows       []string             // the rows a fresh migration leaves, rendered, sorted
}

type columnInfo struct {
	name    string
	typ     string // lowercase: SQLite's declared type, PostgreSQL's format_type
	notNull bool
	dflt    string // normalised expression, "" when there is none
}

type foreignKeyInfo struct {
	columns, refTable, refColumns, onDelete, onUpdate string
}

func (f foreignKeyInfo) String() string {
	return fmt.Sprintf("(%s) REFERENCES %s (%s) ON DELETE %s ON UPDATE %s", f.columns, f.refTable, f.refColumns, f.onDelete, f.onUpdate)
}

type indexInfo struct {
	columns   string // "a,b DESC"
	unique    bool
	predicate string // normalised, "" when not partial
}

func readSchema(t *testing.T, store *db.DB) *schemaInfo {
	t.Helper()
	var s *schemaInfo
	var err error
	switch store.Dialect {
	case db.SQLite:
		s, err = readSQLiteSchema(context.Background(), store)
	case db.Postgres:
		s, err = readPostgresSchema(context.Background(), store)
	default:
		err = fmt.Errorf("unknown dialect %q", store.Dialect)
	}
	if err != nil {
		t.Fatalf("read %s schema: %v", store.Dialect, err)
	}
	return s
}

func queryStrings(ctx context.Context, store *db.DB, query string, args ...any) ([]string, error) {
	return db.QueryAll(ctx, store, query, args, func(scan func(...any) error) (string, error) {
		var s string
		err := scan(&s)
		return s, err
	})
}

func readSQLiteSchema(ctx context.Context, store *db.DB) (*schemaInfo, error) {
	type master struct{ name, sql string }
	tables, err := db.QueryAll(ctx, store, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`, nil,
		func(scan func(...any) error) (master, error) {
			var m master
			err := scan(&m.name, &m.sql)
			return m, err
		})
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	s := &schemaInfo{tables: map[string]*tableInfo{}}
	for _, m := range tables {
		tbl := &tableInfo{name: m.name, foreign: map[string]foreignKeyInfo{}, indexes: map[string]indexInfo{}}
		s.tables[m.name] = tbl
		type col struct {
			columnInfo
			pk   int
			dflt *string
		}
		cols, err := db.QueryAll(ctx, store, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info($1) ORDER BY cid`, []any{m.name},
			func(scan func(...any) error) (col, error) {
				var c col
				err := scan(&c.name, &c.typ, &c.notNull, &c.dflt, &c.pk)
				return c, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s columns: %w", m.name, err)
		}
		pk := map[int]string{}
		for _, c := range cols {
			c.typ = strings.ToLower(c.typ)
			if c.dflt != nil {
				if c.columnInfo.dflt, err = normalizeExpr(*c.dflt); err != nil {
					return nil, fmt.Errorf("%s.%s default: %w", m.name, c.name, err)
				}
			}
			if c.pk > 0 {
				pk[c.pk] = c.name
			}
			tbl.columns = append(tbl.columns, c.columnInfo)
		}
		for i := 1; i <= len(pk); i++ {
			tbl.primaryKey = append(tbl.primaryKey, pk[i])
		}
		withoutRowid := strings.Contains(strings.ToLower(m.sql), "without rowid")
		if len(tbl.primaryKey) == 1 && !withoutRowid {
			for _, c := range tbl.columns {
				if c.name == tbl.primaryKey[0] && c.typ == "integer" {
					tbl.rowidAlias = c.name
				}
			}
		}
		if tbl.checks, err = sqliteChecks(m.sql); err != nil {
			return nil, fmt.Errorf("%s checks: %w", m.name, err)
		}
		sort.Strings(tbl.checks)

		type fkRow struct {
			id                                 int
			refTable, from, onUpdate, onDelete string
			to                                 *string
		}
		fks, err := db.QueryAll(ctx, store, `SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq`, []any{m.name},
			func(scan func(...any) error) (fkRow, error) {
				var r fkRow
				err := scan(&r.id, &r.refTable, &r.from, &r.to, &r.onUpdate, &r.onDelete)
				return r, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s foreign keys: %w", m.name, err)
		}
		byID := map[int]*foreignKeyInfo{}
		var ids []int
		for _, r := range fks {
			f := byID[r.id]
			if f == nil {
				f = &foreignKeyInfo{refTable: r.refTable, onDelete: strings.ToLower(r.onDelete), onUpdate: strings.ToLower(r.onUpdate)}
				byID[r.id] = f
				ids = append(ids, r.id)
			}
			f.columns = joinList(f.columns, r.from)
			to := ""
			if r.to != nil {
				to = *r.to
			}
			f.refColumns = joinList(f.refColumns, to)
		}
		for _, id := range ids {
			f := byID[id]
			if strings.Trim(f.refColumns, ",") == "" {
				// REFERENCES t without columns: t's primary key.
				refPK, err := queryStrings(ctx, store, `SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk`, f.refTable)
				if err != nil {
					return nil, fmt.Errorf("%s foreign key: %w", m.name, err)
				}
				f.refColumns = strings.Join(refPK, ",")
			}
			tbl.foreign[f.columns] = *f
		}

		type idxRow struct {
			name, origin string
			unique       bool
		}
		idxs, err := db.QueryAll(ctx, store, `SELECT name, "unique", origin FROM pragma_index_list($1)`, []any{m.name},
			func(scan func(...any) error) (idxRow, error) {
				var r idxRow
				err := scan(&r.name, &r.unique, &r.origin)
				return r, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s indexes: %w", m.name, err)
		}
		for _, r := range idxs {
			type keyCol struct {
				name *string
				desc bool
			}
			keyCols, err := db.QueryAll(ctx, store, `SELECT name, "desc" FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno`, []any{r.name},
				func(scan func(...any) error) (keyCol, error) {
					var k keyCol
					err := scan(&k.name, &k.desc)
					return k, err
				})
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", r.name, err)
			}
			// An index of a constraint has no SQL of its own; a CREATE
			// INDEX names its expressions there.
			var createIndex *string
			// The key of a WITHOUT ROWID table is the table itself: its
			// index has no row in sqlite_master at all.
			if err := store.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1`, r.name).Scan(&createIndex); err != nil &&
				!(errors.Is(err, sql.ErrNoRows) && r.origin == "pk") {
				return nil, fmt.Errorf("index %s: %w", r.name, err)
			}
			var terms []string
			if createIndex != nil {
				if terms, err = sqliteIndexTerms(*createIndex); err != nil {
					return nil, fmt.Errorf("index %s: %w", r.name, err)
				}
			}
			var columns string
			for i, k := range keyCols {
				var name string
				switch {
				case k.name != nil:
					name = strings.ToLower(*k.name)
				case i < len(terms):
					name = terms[i]
				default:
					return nil, fmt.Errorf("index %s: expression %d not found in its SQL", r.name, i+1)
				}
				if k.desc {
					name += " desc"
				}
				columns = joinList(columns, name)
			}
			switch r.origin {
			case "pk":
				// The primary key, compared as such.
			case "u":
				tbl.uniques = append(tbl.uniques, columns)
			default:
				if createIndex == nil {
					return nil, fmt.Errorf("index %s: no SQL", r.name)
				}
				predicate, err := sqliteIndexPredicate(*createIndex)
				if err != nil {
					return nil, fmt.Errorf("index %s: %w", r.name, err)
				}
				tbl.indexes[r.name] = indexInfo{columns: columns, unique: r.unique, predicate: predicate}
			}
		}
		sort.Strings(tbl.uniques)

		triggers, err := queryStrings(ctx, store, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1`, m.name)
		if err != nil {
			return nil, fmt.Errorf("%s triggers: %w", m.name, err)
		}
		for _, createTrigger := range triggers {
			events, err := sqliteTriggerEvents(createTrigger)
			if err != nil {
				return nil, fmt.Errorf("%s trigger: %w", m.name, err)
			}
			tbl.triggers = append(tbl.triggers, events...)
		}
		sort.Strings(tbl.triggers)
		if tbl.rows, err = readRows(ctx, store, m.name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readRows renders every row of table in one text for both engines: bytes
// as X'..', booleans as 0 and 1. schema_migrations keeps only version and
// name: applied_at is when the test ran.
func readRows(ctx context.Context, store *db.DB, table string) ([]string, error) {
	query := `SELECT * FROM "` + table + `"`
	if table == "schema_migrations" {
		query = `SELECT version, name FROM schema_migrations`
	}
	rows, err := store.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s rows: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("%s rows: %w", table, err)
	}
	var out []string
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s rows: %w", table, err)
		}
		parts := make([]string, len(values))
		for i, v := range values {
			switch v := v.(type) {
			case nil:
				parts[i] = "NULL"
			case []byte:
				parts[i] = fmt.Sprintf("X'%x'", v)
			case string:
				parts[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			case bool:
				parts[i] = map[bool]string{false: "0", true: "1"}[v]
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, "("+strings.Join(parts, ", ")+")")
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s rows: %w", table, err)
	}
	sort.Strings(out)
	return out, nil
}

func joinList(list, item string) string {
	if list == "" {
		return item
	}
	return list + "," + item
}

// pgAction spells pg_constraint's confupdtype/confdeltype as SQLite does.
var pgAction = map[string]string{"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}

func readPostgresSchema(ctx context.Context, store *db.DB) (*schemaInfo, error) {
	type relation struct {
		oid  int64
		name string
	}
	tables, err := db.QueryAll(ctx, store, `SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname`, nil,
		func(scan func(...any) error) (relation, error) {
			var r relation
			err := scan(&r.oid, &r.name)
			return r, err
		})
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	s := &schemaInfo{tables: map[string]*tableInfo{}}
	for _, rel := range tables {
		tbl := &tableInfo{name: rel.name, foreign: map[string]foreignKeyInfo{}, indexes: map[string]indexInfo{}}
		s.tables[rel.name] = tbl
		type col struct {
			columnInfo
			dflt *string
		}
		cols, err := db.QueryAll(ctx, store, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
			FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, []any{rel.oid},
			func(scan func(...any) error) (col, error) {
				var c col
				err := scan(&c.name, &c.typ, &c.notNull, &c.dflt)
				return c, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s columns: %w", rel.name, err)
		}
		for _, c := range cols {
			if c.dflt != nil {
				if c.columnInfo.dflt, err = normalizeExpr(*c.dflt); err != nil {
					return nil, fmt.Errorf("%s.%s default: %w", rel.name, c.name, err)
				}
			}
			tbl.columns = append(tbl.columns, c.columnInfo)
		}

		type constraint struct {
			kind, columns, refColumns, refTable, onUpdate, onDelete, check string
		}
		// Column lists come as "a,b" in key order; names hold no commas.
		cons, err := db.QueryAll(ctx, store, `SELECT c.contype,
				coalesce((SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
					JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum), ''),
				coalesce((SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
					JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum), ''),
				coalesce((SELECT relname FROM pg_class WHERE oid = c.confrelid), ''),
				c.confupdtype, c.confdeltype,
				coalesce(pg_get_expr(c.conbin, c.conrelid), '')
			FROM pg_constraint c WHERE c.conrelid = $1`, []any{rel.oid},
			func(scan func(...any) error) (constraint, error) {
				var r constraint
				err := scan(&r.kind, &r.columns, &r.refColumns, &r.refTable, &r.onUpdate, &r.onDelete, &r.check)
				return r, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s constraints: %w", rel.name, err)
		}
		for _, c := range cons {
			switch c.kind {
			case "p":
				tbl.primaryKey = strings.Split(c.columns, ",")
			case "u":
				tbl.uniques = append(tbl.uniques, c.columns)
			case "f":
				tbl.foreign[c.columns] = foreignKeyInfo{columns: c.columns, refTable: c.refTable, refColumns: c.refColumns,
					onDelete: pgAction[c.onDelete], onUpdate: pgAction[c.onUpdate]}
			case "c":
				expr, err := normalizeExpr(c.check)
				if err != nil {
					return nil, fmt.Errorf("%s check: %w", rel.name, err)
				}
				tbl.checks = append(tbl.checks, expr)
			default:
				tbl.checks = append(tbl.checks, "constraint of kind "+c.kind)
			}
		}
		sort.Strings(tbl.uniques)
		sort.Strings(tbl.checks)

		type idxRow struct {
			name, columns string
			unique        bool
			predicate     *string
		}
		// Indexes that back a constraint (primary key, unique) are compared
		// as that constraint.
		// Key terms come one a line: an expression may hold commas.
		idxs, err := db.QueryAll(ctx, store, `SELECT ci.relname,
				(SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true) || CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' desc' ELSE '' END, chr(10) ORDER BY k)
					FROM generate_series(1, i.indnkeyatts) k),
				i.indisunique, pg_get_expr(i.indpred, i.indrelid)
			FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
			WHERE i.indrelid = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)`, []any{rel.oid},
			func(scan func(...any) error) (idxRow, error) {
				var r idxRow
				err := scan(&r.name, &r.columns, &r.unique, &r.predicate)
				return r, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s indexes: %w", rel.name, err)
		}
		for _, r := range idxs {
			info := indexInfo{unique: r.unique}
			for _, term := range strings.Split(r.columns, "\n") {
				norm, err := normalizeExpr(term)
				if err != nil {
					return nil, fmt.Errorf("index %s: %w", r.name, err)
				}
				info.columns = joinList(info.columns, norm)
			}
			if r.predicate != nil {
				if info.predicate, err = normalizeExpr(*r.predicate); err != nil {
					return nil, fmt.Errorf("index %s: %w", r.name, err)
				}
			}
			tbl.indexes[r.name] = info
		}

		// tgtype bits: 2 BEFORE, 64 INSTEAD OF (else AFTER); 4 INSERT,
		// 8 DELETE, 16 UPDATE, 32 TRUNCATE.
		tgtypes, err := db.QueryAll(ctx, store, `SELECT tgtype FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal`, []any{rel.oid},
			func(scan func(...any) error) (int64, error) {
				var n int64
				err := scan(&n)
				return n, err
			})
		if err != nil {
			return nil, fmt.Errorf("%s triggers: %w", rel.name, err)
		}
		for _, tgtype := range tgtypes {
			timing := "after"
			switch {
			case tgtype&2 != 0:
				timing = "before"
			case tgtype&64 != 0:
				timing = "instead of"
			}
			for bit, event := range map[int64]string{4: "insert", 8: "delete", 16: "update", 32: "truncate"} {
				if tgtype&bit != 0 {
					tbl.triggers = append(tbl.triggers, timing+" "+event)
				}
			}
		}
		sort.Strings(tbl.triggers)
		if tbl.rows, err = readRows(ctx, store, rel.name); err != nil {
			return nil, err
		}
	}
	return s, nil
}
