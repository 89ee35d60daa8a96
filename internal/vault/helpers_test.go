package vault_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/vault"
)

// clock is a settable clock for retention and cache tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyText returns a keyring text with fresh random keys for versions.
func keyText(versions ...int) string {
	parts := make([]string, len(versions))
	for i, v := range versions {
		parts[i] = fmt.Sprintf("%d:%s", v, vault.GenerateKey())
	}
	return strings.Join(parts, ",")
}

// MustKeyring parses text or fails tb.
func MustKeyring(tb testing.TB, text string) *vault.Keyring {
	tb.Helper()
	ring, err := vault.ParseKeyring(text)
	if err != nil {
		tb.Fatalf("ParseKeyring: %v", err)
	}
	return ring
}

// MustOpen opens a vault on store with ring (nil: sealed) or fails tb.
func MustOpen(tb testing.TB, store *db.DB, ring *vault.Keyring, adjust ...func(*vault.Config)) *vault.Vault {
	tb.Helper()
	cfg := vault.Config{DB: store, Keyring: ring}
	for _, f := range adjust {
		f(&cfg)
	}
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("vault.Open: %v", err)
	}
	tb.Cleanup(func() { v.Close() })
	return v
}

// MustPut stores a field or fails tb.
func MustPut(tb testing.TB, v *vault.Vault, subject, name, category, value string) vault.FieldInfo {
	tb.Helper()
	info, err := v.Put(context.Background(), subject, vault.Field{Name: name, Category: category, Value: []byte(value)})
	if err != nil {
		tb.Fatalf("Put(%s, %s): %v", subject, name, err)
	}
	return info
}

// rawBytes reads one BLOB/BYTEA column.
func rawBytes(tb testing.TB, store *db.DB, query string, args ...any) []byte {
	tb.Helper()
	var b []byte
	if err := store.QueryRowContext(context.Background(), query, args...).Scan(&b); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return b
}

func mustExec(tb testing.TB, store *db.DB, query string, args ...any) {
	tb.Helper()
	if _, err := store.ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

var vaultTables = []string{"vault_head", "vault_keks", "vault_keys", "vault_fields", "vault_tokens", "vault_erasures"}

// snapshot is a logical copy of the vault tables, as a backup holds them.
type snapshot map[string]tableRows

type tableRows struct {
	columns []string
	rows    [][]any
}

func takeSnapshot(tb testing.TB, store *db.DB) snapshot {
	tb.Helper()
	ctx := context.Background()
	snap := snapshot{}
	for _, table := range vaultTables {
		rows, err := store.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		tr := tableRows{columns: cols}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			tr.rows = append(tr.rows, vals)
		}
		rows.Close()
		snap[table] = tr
	}
	return snap
}

// restore loads snap into an empty, migrated store.
func (snap snapshot) restore(tb testing.TB, store *db.DB) {
	tb.Helper()
	mustExec(tb, store, "DELETE FROM vault_head")
	for _, table := range vaultTables {
		tr := snap[table]
		marks := make([]string, len(tr.columns))
		for i := range marks {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		query := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(tr.columns, ", "), strings.Join(marks, ", "))
		for _, row := range tr.rows {
			mustExec(tb, store, query, row...)
		}
	}
}

// dump returns every value of every vault table as text, for leak checks.
func dump(tb testing.TB, store *db.DB) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range vaultTables {
		for _, row := range takeSnapshot(tb, store)[table].rows {
			for _, v := range row {
				switch v := v.(type) {
				case []byte:
					b.Write(v)
					b.WriteString(" " + base64.StdEncoding.EncodeToString(v))
				default:
					fmt.Fprint(&b, v)
				}
				b.WriteByte('|')
			}
		}
	}
	return b.String()
}
