package consent

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Vocabulary is a snapshot of the catalog's data categories, purposes and
// vendors, and its properties and latest published notice, read straight
// from the store, for commands that need the catalog without building the
// consent index (steward inventory ropa, steward scan). It satisfies the
// same reads as Service.
type Vocabulary struct {
	categories []Category
	purposes   []Purpose
	vendors    []Vendor
	properties []Property
	notice     *Notice
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
	if v.properties, err = listProperties(ctx, q); err != nil {
		return nil, fmt.Errorf("read properties: %w", err)
	}
	notices, err := listNotices(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read notices: %w", err)
	}
	for i := range notices {
		if n := &notices[i]; n.PublishedAt != nil && (v.notice == nil || n.Ordinal > v.notice.Ordinal) {
			v.notice = n
		}
	}
	return &v, nil
}

// Categories are the data categories.
func (v *Vocabulary) Categories() []Category { return v.categories }

// Purposes are the purposes.
func (v *Vocabulary) Purposes() []Purpose { return v.purposes }

// Vendors are the vendors.
func (v *Vocabulary) Vendors() []Vendor { return v.vendors }

// Properties are the properties, by key.
func (v *Vocabulary) Properties() []Property { return v.properties }

// Property returns a property by key.
func (v *Vocabulary) Property(key string) (Property, error) {
	for _, p := range v.properties {
		if p.Key == key {
			return p, nil
		}
	}
	return Property{}, errs.NotFound("property", key)
}

// CurrentNotice returns the latest published notice, if any (as
// Service.CurrentNotice).
func (v *Vocabulary) CurrentNotice() (Notice, bool) {
	if v.notice == nil {
		return Notice{}, false
	}
	return *v.notice, true
}
