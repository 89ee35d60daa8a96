package consent

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// Vocabulary is a snapshot of the catalog's data categories, purposes and
// vendors read straight from the store, for commands that need the data
// map's vocabulary without building the consent index (steward inventory
// ropa). It satisfies the same reads as Service.
type Vocabulary struct {
	categories []Category
	purposes   []Purpose
	vendors    []Vendor
}

// ReadVocabulary reads the categories (by position, then key), purposes
// (by position, then key) and vendors (by key) from q.
func ReadVocabulary(ctx context.Context, q db.Querier) (*Vocabulary, error) {
	var v Vocabulary
	var err error
	if v.categories, err = listCategories(ctx, q); err != nil {
		return nil, fmt.Errorf("read categories: %w", err)
	}
	if v.purposes, err = listPurposes(ctx, q); err != nil {
		return nil, fmt.Errorf("read purposes: %w", err)
	}
	if v.vendors, err = listVendors(ctx, q); err != nil {
		return nil, fmt.Errorf("read vendors: %w", err)
	}
	return &v, nil
}

// Categories are the data categories.
func (v *Vocabulary) Categories() []Category { return v.categories }

// Purposes are the purposes.
func (v *Vocabulary) Purposes() []Purpose { return v.purposes }

// Vendors are the vendors.
func (v *Vocabulary) Vendors() []Vendor { return v.vendors }
