package drift

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
)

var benchNames = []string{"customer_id", "email_address", "created_at", "geburtsdatum", "order_total", "shipping_street",
	"telefonnummer", "is_active", "product_sku", "fecha_de_nacimiento"}

func BenchmarkClassifyName(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		ClassifyName(benchNames[i%len(benchNames)])
	}
}

func BenchmarkClassifyValues(b *testing.B) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	values := make([]string, SampleRows)
	for i := range values {
		values[i] = fmt.Sprintf("DE89 3704 0044 0532 0130 %02d", i)
	}
	for b.Loop() {
		ClassifyValues(values, now)
	}
}

// BenchmarkScanPostgres scans a real PostgreSQL schema of 200 tables of
// 10 columns each, by name and with samples (each text column 20 rows).
func BenchmarkScanPostgres(b *testing.B) {
	ctx := context.Background()
	company := newCompanyDB(b, connector.Postgres)
	var ddl strings.Builder
	for i := range 200 {
		fmt.Fprintf(&ddl, "CREATE TABLE t%03d (id INTEGER PRIMARY KEY, %s);\n", i, strings.Join(benchNames[1:], " TEXT, ")+" TEXT")
		fmt.Fprintf(&ddl, "INSERT INTO t%03d (id, email_address, order_total) SELECT g, 'x' || g || '@example.org', 'n' || g FROM generate_series(1, 20) g;\n", i)
	}
	company.exec(b, ddl.String())
	ds, getenv := company.dataset(b, benchDataset)
	conn, err := connector.Open(ctx, ds, getenv)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, sample := range []bool{false, true} {
		b.Run(fmt.Sprintf("sample=%v", sample), func(b *testing.B) {
			for b.Loop() {
				res, err := Scan(ctx, conn, ScanOptions{Sample: sample})
				if err != nil || len(res.Live) != 2000 {
					b.Fatalf("%d live columns, %v", len(res.Live), err)
				}
			}
		})
	}
}

const benchDataset = `connector: bench
engine: ${engine}
dsn_env: SHOP_DB
tables:
  - name: t000
    identifier: {column: id, kind: external_id}
    columns:
      - {name: email_address, category: contact, erase: null}
`
