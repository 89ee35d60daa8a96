package vault

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// FieldCount is how many customers have a field of a name and category.
type FieldCount struct {
	Name     string
	Category string
	Count    int
}

// FieldCounts counts the fields that have not expired by name and
// category, for the data map: metadata only, no key is needed and no value
// is read, so it answers while the vault is sealed too.
func (v *Vault) FieldCounts(ctx context.Context) ([]FieldCount, error) {
	out, err := db.QueryAll(ctx, v.db, `SELECT name, category, COUNT(*) FROM vault_fields
		WHERE expires_at IS NULL OR expires_at > $1 GROUP BY name, category ORDER BY name, category`, []any{micros(v.now())},
		func(scan func(...any) error) (FieldCount, error) {
			var c FieldCount
			err := scan(&c.Name, &c.Category, &c.Count)
			return c, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: count fields: %w", err))
	}
	return out, nil
}
