package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// A freshly migrated store costs 0.6–1.1 s on PostgreSQL (a schema and
// every migration's DDL: catalog work that is slow on PostgreSQL, most so
// on a loaded machine) and about 50 ms on SQLite; the test suite opens
// hundreds. So the migrations run once per migration set, and tests reuse
// their result:
//
//   - PostgreSQL: a pool of migrated schemas in the test database, named
//     steward_pool_<hash>_<random>, shared by every test binary and run on
//     the server. A test claims a free one with a session-level advisory
//     lock held until it ends, and empties it first: every table's rows
//     deleted and the rows the migrations insert (the heads) copied back
//     from the template schema steward_tmpl_<hash>, sequences set back as
//     the template has them, all in one transaction with triggers off (the
//     audit log's append-only trigger would refuse). A schema whose
//     structure is not the template's (a test added River's tables, or
//     dropped a column) is dropped instead and a new one migrated, as is
//     one created when every pooled schema is in use. Creating the
//     template takes a lock too, so that binaries starting together build
//     it once. In steady state a test's store costs a few statements, no
//     DDL at all.
//   - SQLite: a migrated file in the temporary directory, written by
//     VACUUM INTO and renamed into place; each test copies it.
//
// The hash covers every migration's number, name and SQL, so a changed or
// added migration gets a new template and pool; worktrees with different
// migrations use different pools side by side. Schemas of other migration
// sets are dropped a day after they were built, when not in use.

const (
	templatePrefix = "steward_tmpl_"
	poolPrefix     = "steward_pool_"
	// lockClass is the first key of the two-key advisory locks (the
	// second is hashtext of a schema name) that guard pooled schemas and
	// the building of a template.
	lockClass = 0x57e3a6d // "steward" in the first key's space
	// staleSchema is how old another migration set's schema must be
	// before it is dropped: old enough that no run still uses it.
	staleSchema = 24 * time.Hour
)

func migrationHash(dialect db.Dialect) (string, error) {
	ms, err := db.Migrations(dialect)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d\x00%s\x00%d\x00%s\x00", m.Version, m.Name, len(m.SQL), m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// Flavour is extra setup that a template, and so every pooled schema of
// it, has after Steward's migrations: River's tables for a test that
// starts the whole application, say. Name tells flavours apart and must
// change when Setup's result does (include a dependency's version).
type Flavour struct {
	Name  string
	Setup func(ctx context.Context, store *db.DB) error
}

// pgTemplateInfo is what a test binary learns once about a template schema.
type pgTemplateInfo struct {
	flavour     Flavour
	hash        string
	schema      string
	fingerprint string
	seeded      []seededTable // tables the migrations put rows in
	sequences   []sequenceState
}

type seededTable struct {
	name    string
	columns string // quoted, comma-separated, without generated columns
}

type sequenceState struct {
	name      string
	value     int64
	called    bool
	hasCalled bool // last_value is not null
}

var (
	pgTemplatesMu sync.Mutex
	pgTemplates   = map[string]*pgTemplateOnce{}
)

type pgTemplateOnce struct {
	once sync.Once
	t    *pgTemplateInfo
	err  error
}

// MigratedPostgresURL returns the URL of a schema for tb holding a freshly
// migrated Steward store, taken from the pool (see above) and given back
// when the test ends.
func MigratedPostgresURL(tb testing.TB) string {
	tb.Helper()
	return MigratedPostgresURLWith(tb, Flavour{})
}

// MigratedPostgresURLWith is MigratedPostgresURL for a schema that also
// has flavour's setup.
func MigratedPostgresURLWith(tb testing.TB, flavour Flavour) string {
	tb.Helper()
	requireServer(tb)
	pgTemplatesMu.Lock()
	once := pgTemplates[flavour.Name]
	if once == nil {
		once = &pgTemplateOnce{}
		pgTemplates[flavour.Name] = once
	}
	pgTemplatesMu.Unlock()
	once.once.Do(func() { once.t, once.err = preparePostgresTemplate(flavour) })
	if once.err != nil {
		tb.Fatalf("dbtest: PostgreSQL template %q: %v", flavour.Name, once.err)
	}
	pgTemplate := once.t
	ctx := context.Background()
	admin, err := openAdmin()
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	admin.SetMaxIdleConns(0)
	conn, err := admin.Conn(ctx)
	if err != nil {
		admin.Close()
		tb.Fatalf("dbtest: connect: %v", err)
	}
	var schema string
	// Closing the session releases the claim; registered before the
	// caller's Close of its store, so it runs after it. A schema that
	// still has sessions then (a pool or a process the test left open,
	// which might write on) leaves the pool: they are ended and it is
	// dropped.
	tb.Cleanup(func() {
		defer admin.Close()
		defer conn.Close()
		if schema == "" {
			return
		}
		// A backend ends a moment after its client closed the
		// connection: give closed stores that moment.
		var left int
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE application_name = $1 AND pid <> pg_backend_pid()`, schema).Scan(&left)
			if err != nil || left == 0 || time.Now().After(deadline) {
				break
			}
		}
		if left > 0 {
			_, _ = conn.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE application_name = $1 AND pid <> pg_backend_pid()`, schema)
			_, _ = conn.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+quote(schema)+" CASCADE")
		}
	})
	schema, err = pgTemplate.claim(ctx, conn)
	if err != nil {
		tb.Fatalf("dbtest: claim a schema: %v", err)
	}
	// Sessions carry the schema's name, so that the cleanup above, and
	// a claim, can tell whether any are still about.
	u, err := withParams(serverURL, "", map[string]string{"search_path": schema, "application_name": schema})
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	return u
}

// claim takes a free pooled schema under conn's session and empties it, or
// migrates a new one.
func (t *pgTemplateInfo) claim(ctx context.Context, conn *sql.Conn) (string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY random()`, poolPrefix+t.hash+"_")
	if err != nil {
		return "", err
	}
	var pooled []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return "", err
		}
		pooled = append(pooled, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, name := range pooled {
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, name).Scan(&got); err != nil {
			return "", err
		}
		if !got {
			continue
		}
		// Sessions of a test binary that died may outlive its claim by a
		// moment: leave the schema until they are gone.
		var busy bool
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1)`, name).Scan(&busy); err != nil {
			return "", err
		}
		if busy {
			if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, name); err != nil {
				return "", err
			}
			continue
		}
		reused, err := t.reset(ctx, conn, name)
		if reused {
			return name, nil
		}
		// A changed structure, or a reset that failed (a server role
		// that may not turn triggers off): start the schema anew under
		// the lock already held.
		if err != nil {
			if _, err := conn.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+quote(name)+" CASCADE"); err != nil {
				return "", err
			}
		}
		if err := migrateSchema(ctx, conn, name, t.flavour); err != nil {
			return "", err
		}
		return name, nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := poolPrefix + t.hash + "_" + hex.EncodeToString(b[:])
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, lockClass, name); err != nil {
		return "", err
	}
	if err := migrateSchema(ctx, conn, name, t.flavour); err != nil {
		return "", err
	}
	return name, nil
}

// reset empties schema to the template's state and reports true, or drops
// it and reports false when its structure differs from the template's.
func (t *pgTemplateInfo) reset(ctx context.Context, conn *sql.Conn, schema string) (bool, error) {
	fp, tables, err := fingerprint(ctx, conn, schema)
	if err != nil {
		return false, err
	}
	if fp != t.fingerprint {
		if _, err := conn.ExecContext(ctx, "DROP SCHEMA "+quote(schema)+" CASCADE"); err != nil {
			return false, err
		}
		return false, nil
	}
	var b strings.Builder
	b.WriteString("BEGIN;\nSET LOCAL session_replication_role = replica;\n")
	for _, table := range tables {
		fmt.Fprintf(&b, "DELETE FROM %s.%s;\n", quote(schema), quote(table))
	}
	for _, seed := range t.seeded {
		fmt.Fprintf(&b, "INSERT INTO %s.%s (%s) SELECT %s FROM %s.%s;\n",
			quote(schema), quote(seed.name), seed.columns, seed.columns, quote(t.schema), quote(seed.name))
	}
	for _, seq := range t.sequences {
		if seq.hasCalled {
			fmt.Fprintf(&b, "SELECT setval('%s.%s', %d, %t);\n", quote(schema), quote(seq.name), seq.value, seq.called)
		} else {
			fmt.Fprintf(&b, "ALTER SEQUENCE %s.%s RESTART;\n", quote(schema), quote(seq.name))
		}
	}
	b.WriteString("COMMIT;")
	if _, err := conn.ExecContext(ctx, b.String()); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return false, err
	}
	return true, nil
}

// migrateSchema creates schema and migrates it, as Migrate does for a
// server.
func migrateSchema(ctx context.Context, conn *sql.Conn, schema string, flavour Flavour) error {
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA "+quote(schema)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMENT ON SCHEMA "+quote(schema)+" IS "+builtComment()); err != nil {
		return err
	}
	u, err := withParams(serverURL, "", map[string]string{"search_path": schema})
	if err != nil {
		return err
	}
	store, err := db.Open(ctx, u, "")
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if flavour.Setup != nil {
		return flavour.Setup(ctx, store)
	}
	return nil
}

func builtComment() string {
	return "'Steward test schema (internal/db/dbtest), built " + strconv.FormatInt(time.Now().Unix(), 10) + "'"
}

// preparePostgresTemplate builds the template schema of the current
// migration set unless a test binary has, and reads what resetting a
// pooled schema needs from it.
func preparePostgresTemplate(flavour Flavour) (*pgTemplateInfo, error) {
	hash, err := migrationHash(db.Postgres)
	if err != nil {
		return nil, err
	}
	if flavour.Name != "" {
		sum := sha256.Sum256([]byte(hash + "\x00" + flavour.Name))
		hash = hex.EncodeToString(sum[:])[:12]
	}
	t := &pgTemplateInfo{flavour: flavour, hash: hash, schema: templatePrefix + hash}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, err := openAdmin()
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, lockClass, t.schema); err != nil {
		return nil, fmt.Errorf("take lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, t.schema)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, t.schema).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		// Built under another name and renamed, so that the template is
		// complete or absent even if this process dies halfway.
		building := t.schema + "_building"
		if _, err := conn.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+quote(building)+" CASCADE"); err != nil {
			return nil, err
		}
		if err := migrateSchema(ctx, conn, building, flavour); err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, "ALTER SCHEMA "+quote(building)+" RENAME TO "+quote(t.schema)); err != nil {
			return nil, err
		}
		pruneSchemas(ctx, conn, hash)
	} else if _, err := conn.ExecContext(ctx, "COMMENT ON SCHEMA "+quote(t.schema)+" IS "+builtComment()); err != nil {
		// The comment's time is when it was last used: pruneSchemas
		// drops templates no run has used for a day.
		return nil, err
	}
	if t.fingerprint, _, err = fingerprint(ctx, conn, t.schema); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p')
			AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		GROUP BY c.relname ORDER BY c.relname`, t.schema)
	if err != nil {
		return nil, err
	}
	var all []seededTable
	for rows.Next() {
		var s seededTable
		if err := rows.Scan(&s.name, &s.columns); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Which tables hold rows, in one round trip.
	var probe strings.Builder
	for i, s := range all {
		if i > 0 {
			probe.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&probe, "SELECT %d WHERE EXISTS (SELECT 1 FROM %s.%s)", i, quote(t.schema), quote(s.name))
	}
	if len(all) > 0 {
		rows, err := conn.QueryContext(ctx, probe.String())
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var i int
			if err := rows.Scan(&i); err != nil {
				rows.Close()
				return nil, err
			}
			t.seeded = append(t.seeded, all[i])
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	rows, err = conn.QueryContext(ctx, `SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = $1 ORDER BY sequencename`, t.schema)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s sequenceState
		var last sql.NullInt64
		if err := rows.Scan(&s.name, &last); err != nil {
			rows.Close()
			return nil, err
		}
		s.value, s.called, s.hasCalled = last.Int64, last.Valid, last.Valid
		t.sequences = append(t.sequences, s)
	}
	rows.Close()
	return t, rows.Err()
}

// fingerprint digests schema's structure (tables and their columns,
// indexes, constraints, triggers and whether they are enabled, policies,
// functions), with the schema's own name taken out, and lists its tables.
func fingerprint(ctx context.Context, conn *sql.Conn, schema string) (string, []string, error) {
	var fp string
	// Raw catalog columns rather than pg_get_indexdef and its kind, which
	// are several times slower: what tests change is which tables,
	// columns, indexes, constraints and triggers exist and whether a
	// trigger is enabled. Type names, not OIDs: a type of the schema's own
	// (River's job state) has another OID in every schema, and its name
	// is qualified by the schema's, hence the replace.
	err := conn.QueryRowContext(ctx, `WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
		rel AS (SELECT oid, relname, relkind, relrowsecurity FROM pg_class WHERE relnamespace = (SELECT oid FROM ns)),
		parts AS (
			SELECT format('c %s %s %s', relname, relkind, relrowsecurity) AS x FROM rel
			UNION ALL SELECT format('a %s %s %s %s %s', r.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef)
				FROM pg_attribute a JOIN rel r ON r.oid = a.attrelid WHERE a.attnum > 0 AND NOT a.attisdropped
			UNION ALL SELECT format('i %s %s %s %s', r.relname, i.indisunique, i.indkey, i.indpred IS NULL)
				FROM pg_index i JOIN rel r ON r.oid = i.indexrelid
			UNION ALL SELECT format('k %s %s %s', conname, contype, conkey) FROM pg_constraint WHERE connamespace = (SELECT oid FROM ns)
			UNION ALL SELECT format('t %s %s %s', r.relname, t.tgname, t.tgenabled)
				FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
			UNION ALL SELECT format('p %s %s', r.relname, p.polname) FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
			UNION ALL SELECT format('f %s %s', proname, md5(prosrc)) FROM pg_proc WHERE pronamespace = (SELECT oid FROM ns)
		)
		SELECT md5(coalesce(string_agg(replace(x, $1, '~'), E'\n' ORDER BY x), '')) FROM parts`, schema).Scan(&fp)
	if err != nil {
		return "", nil, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p') ORDER BY c.relname`, schema)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", nil, err
		}
		tables = append(tables, name)
	}
	return fp, tables, rows.Err()
}

// pruneSchemas drops the templates and pooled schemas of other migration
// sets and flavours built (templates: last used) more than staleSchema ago
// and not in use. Failures are
// ignored: they are tidying, and a later build tries again.
func pruneSchemas(ctx context.Context, conn *sql.Conn, keepHash string) {
	rows, err := conn.QueryContext(ctx, `SELECT nspname, coalesce(obj_description(oid, 'pg_namespace'), '')
		FROM pg_namespace WHERE (starts_with(nspname, $1) OR starts_with(nspname, $2))
			AND NOT starts_with(nspname, $3) AND NOT starts_with(nspname, $4)`,
		templatePrefix, poolPrefix, templatePrefix+keepHash, poolPrefix+keepHash)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name, comment string
		if rows.Scan(&name, &comment) != nil {
			continue
		}
		_, built, ok := strings.Cut(comment, ", built ")
		unix, err := strconv.ParseInt(built, 10, 64)
		if ok && err == nil && time.Since(time.Unix(unix, 0)) > staleSchema {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		var got bool
		if conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, name).Scan(&got) != nil || !got {
			continue
		}
		_, _ = conn.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+quote(name)+" CASCADE")
		_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, name)
	}
}

// openAdmin opens a pool on the test server's database with the test
// sessions' settings (withParams).
func openAdmin() (*sql.DB, error) {
	u, err := withParams(serverURL, "", nil)
	if err != nil {
		return nil, err
	}
	return sql.Open("pgx", u)
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// sqliteTemplateOnce builds one flavour's SQLite template once per test
// binary.
type sqliteTemplateOnce struct {
	once sync.Once
	path string
	err  error
}

var (
	sqliteTemplatesMu sync.Mutex
	sqliteTemplates   = map[string]*sqliteTemplateOnce{} // by flavour name
)

// CopySQLiteTemplate writes a freshly migrated Steward database to path
// (a copy of the template file), for a test that opens the store itself.
func CopySQLiteTemplate(tb testing.TB, path string) {
	tb.Helper()
	CopySQLiteTemplateWith(tb, path, Flavour{})
}

// CopySQLiteTemplateWith is CopySQLiteTemplate for a database that also
// has flavour's setup (River's tables, for a test that starts the whole
// application: River's SQLite migrations rebuild tables, which costs
// seconds per start under -race).
func CopySQLiteTemplateWith(tb testing.TB, path string, flavour Flavour) {
	tb.Helper()
	sqliteTemplatesMu.Lock()
	once := sqliteTemplates[flavour.Name]
	if once == nil {
		once = &sqliteTemplateOnce{}
		sqliteTemplates[flavour.Name] = once
	}
	sqliteTemplatesMu.Unlock()
	once.once.Do(func() { once.path, once.err = buildSQLiteTemplate(flavour) })
	if once.err != nil {
		tb.Fatalf("dbtest: SQLite template %q: %v", flavour.Name, once.err)
	}
	if err := copyFile(once.path, path); err != nil {
		tb.Fatalf("dbtest: copy SQLite template: %v", err)
	}
}

// buildSQLiteTemplate returns the path of the migrated template file of the
// current migration set and flavour, building it when no test binary has
// yet. Builders racing each write a file of their own and rename it into
// place, so the path always holds a complete file.
func buildSQLiteTemplate(flavour Flavour) (string, error) {
	hash, err := migrationHash(db.SQLite)
	if err != nil {
		return "", err
	}
	if flavour.Name != "" {
		sum := sha256.Sum256([]byte(hash + "\x00" + flavour.Name))
		hash = hex.EncodeToString(sum[:])[:12]
	}
	final := filepath.Join(os.TempDir(), "steward-dbtest-"+hash+".db")
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	dir, err := os.MkdirTemp("", "steward-dbtest-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "steward.db"), "")
	if err != nil {
		return "", err
	}
	built := filepath.Join(dir, "template.db")
	err = store.Migrate(ctx)
	if err == nil && flavour.Setup != nil {
		err = flavour.Setup(ctx, store)
	}
	if err == nil {
		_, err = store.ExecContext(ctx, `VACUUM INTO ?`, built)
	}
	store.Close()
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(os.TempDir(), "steward-dbtest-"+hash+"-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	if err := copyFile(built, tmp.Name()); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return final, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
