package tcf

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// MaxVendorListSize bounds an imported Global Vendor List.
const MaxVendorListSize = 32 << 20

// VendorList is what Steward reads of an IAB Global Vendor List (GVL,
// specification version 3): enough to check it and to describe it; the
// document itself is served to browsers as imported.
type VendorList struct {
	GVLSpecificationVersion int                        `json:"gvlSpecificationVersion"`
	VendorListVersion       int                        `json:"vendorListVersion"`
	TCFPolicyVersion        int                        `json:"tcfPolicyVersion"`
	LastUpdated             time.Time                  `json:"lastUpdated"`
	Purposes                map[string]json.RawMessage `json:"purposes"`
	SpecialFeatures         map[string]json.RawMessage `json:"specialFeatures"`
	Vendors                 map[string]GVLVendor       `json:"vendors"`
}

// GVLVendor is one vendor of a Global Vendor List.
type GVLVendor struct {
	ID              int    `json:"id"`
	Name            string `json:"name"`
	Purposes        []int  `json:"purposes"`
	LegIntPurposes  []int  `json:"legIntPurposes"`
	SpecialFeatures []int  `json:"specialFeatures"`
}

// ParseVendorList checks a Global Vendor List document.
func ParseVendorList(body []byte) (*VendorList, error) {
	if len(body) > MaxVendorListSize {
		return nil, fmt.Errorf("tcf: vendor list larger than %d bytes", MaxVendorListSize)
	}
	var gvl VendorList
	if err := json.Unmarshal(body, &gvl); err != nil {
		return nil, fmt.Errorf("tcf: vendor list is not valid JSON: %w", err)
	}
	switch {
	case gvl.VendorListVersion < 1:
		return nil, errors.New("tcf: vendor list has no vendorListVersion")
	case gvl.TCFPolicyVersion < 4:
		return nil, fmt.Errorf("tcf: vendor list has tcfPolicyVersion %d; TCF v2.3 needs 4 or later", gvl.TCFPolicyVersion)
	case gvl.GVLSpecificationVersion != 0 && gvl.GVLSpecificationVersion < 3:
		return nil, fmt.Errorf("tcf: vendor list has gvlSpecificationVersion %d; want 3", gvl.GVLSpecificationVersion)
	case len(gvl.Purposes) == 0:
		return nil, errors.New("tcf: vendor list declares no purposes")
	}
	for key, v := range gvl.Vendors {
		if strconv.Itoa(v.ID) != key || v.ID < 1 || v.ID > maxVendorID {
			return nil, fmt.Errorf("tcf: vendor list entry %q has id %d", key, v.ID)
		}
		for _, p := range append(append([]int{}, v.Purposes...), v.LegIntPurposes...) {
			if p < 1 || p > 24 {
				return nil, fmt.Errorf("tcf: vendor %d names purpose %d", v.ID, p)
			}
		}
	}
	return &gvl, nil
}

// VendorLists stores imported Global Vendor Lists; Steward serves the
// latest to the banners of properties that enable TCF, so that browsers
// never fetch it from elsewhere.
type VendorLists struct {
	db       *db.DB
	now      func() time.Time
	mu       sync.Mutex
	latest   *StoredVendorList
	loadedAt time.Time
}

// vendorListTTL is how long a replica serves the list it read before
// looking for a newer import.
const vendorListTTL = time.Minute

// StoredVendorList is an imported list: its facts and the document.
type StoredVendorList struct {
	Version       int       `json:"vendor_list_version"`
	PolicyVersion int       `json:"tcf_policy_version"`
	LastUpdated   string    `json:"last_updated"`
	Vendors       int       `json:"vendors"`
	ImportedAt    time.Time `json:"imported_at"`
	Body          []byte    `json:"-"`
}

// NewVendorLists returns the store of vendor lists.
func NewVendorLists(d *db.DB, now func() time.Time) *VendorLists {
	if now == nil {
		now = time.Now
	}
	return &VendorLists{db: d, now: now}
}

// Import checks and stores a Global Vendor List. Importing a version again
// replaces it.
func (s *VendorLists) Import(ctx context.Context, body []byte) (StoredVendorList, error) {
	gvl, err := ParseVendorList(body)
	if err != nil {
		return StoredVendorList{}, errs.Wrap(errs.CodeInvalid, err, err.Error())
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return StoredVendorList{}, errs.Wrap(errs.CodeInvalid, err, "tcf: vendor list is not valid JSON")
	}
	stored := StoredVendorList{Version: gvl.VendorListVersion, PolicyVersion: gvl.TCFPolicyVersion,
		LastUpdated: gvl.LastUpdated.UTC().Format(time.RFC3339), Vendors: len(gvl.Vendors),
		ImportedAt: s.now().UTC().Truncate(time.Microsecond), Body: compact.Bytes()}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tcf_vendor_lists WHERE version = $1`, stored.Version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tcf_vendor_lists (version, policy_version, last_updated, body, imported_at)
			VALUES ($1, $2, $3, $4, $5)`, stored.Version, stored.PolicyVersion, stored.LastUpdated, string(stored.Body), stored.ImportedAt.UnixMicro())
		return err
	})
	if err != nil {
		return StoredVendorList{}, fmt.Errorf("store vendor list: %w", err)
	}
	s.mu.Lock()
	s.latest = nil
	s.mu.Unlock()
	return stored, nil
}

// Latest returns the imported list with the highest version, from memory
// after the first read; errs.CodeNotFound when none was imported.
func (s *VendorLists) Latest(ctx context.Context) (*StoredVendorList, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest != nil && s.now().Sub(s.loadedAt) < vendorListTTL {
		return s.latest, nil
	}
	var l StoredVendorList
	var body string
	var imported int64
	err := s.db.QueryRowContext(ctx, `SELECT version, policy_version, last_updated, body, imported_at FROM tcf_vendor_lists
		ORDER BY version DESC LIMIT 1`).Scan(&l.Version, &l.PolicyVersion, &l.LastUpdated, &body, &imported)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.New(errs.CodeNotFound, "no Global Vendor List imported: run steward tcf gvl import FILE")
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read vendor list: %w", err))
	}
	l.Body, l.ImportedAt = []byte(body), time.UnixMicro(imported).UTC()
	gvl, err := ParseVendorList(l.Body)
	if err != nil {
		return nil, err
	}
	l.Vendors = len(gvl.Vendors)
	s.latest, s.loadedAt = &l, s.now()
	return s.latest, nil
}
