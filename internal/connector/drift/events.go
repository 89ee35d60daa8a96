package drift

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/outbox"
)

// announce emits inventory.drift for a new finding in tx: where the column
// is and what it looks like, never a value.
func (s *Service) announce(ctx context.Context, tx *sql.Tx, f Finding, now time.Time) error {
	data := map[string]any{"finding_id": f.ID, "system": f.System, "table": eventName(f.Table), "column": eventName(f.Column),
		"category": f.Category, "evidence": string(f.Evidence)}
	if f.Evidence == ByValues {
		data["match_ratio"] = float64(f.Permille) / 1000
	}
	if err := outbox.EmitTxIfAny(ctx, s.events, tx, outbox.Event{Type: outbox.InventoryDrift, Data: data, At: now}); err != nil {
		return fmt.Errorf("announce finding: %w", err)
	}
	return nil
}

// eventName writes a table or column name as a webhook's data may carry
// it (letters, digits and _ . : / + = # , -): any other byte as ~ and two
// hex digits, so "E-Mail Adresse" is "E-Mail~20Adresse" and "$" is "~24".
func eventName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("_.:/+=#,-", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "~%02X", c)
		}
	}
	return b.String()
}
