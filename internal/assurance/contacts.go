package assurance

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// The associated data binds a sealed value to its contact and field: a
// value copied to another row or column does not open.
func contactNameAAD(id string) []byte  { return []byte("vendor.contact.name:" + id) }
func contactEmailAAD(id string) []byte { return []byte("vendor.contact.email:" + id) }

// AddContact records a person to reach at a vendor in the catalog. Name
// and address are sealed; the audit entry names the contact's id only.
func (s *Service) AddContact(ctx context.Context, vendorKey, name, email string) (Contact, error) {
	problems := errs.Problems{}
	name = strings.TrimSpace(name)
	checkLine(problems, "name", name, 1, maxContactName)
	email, ok := checkEmail(email)
	if !ok {
		problems.Add("email", "vendor_email")
	}
	if len(problems) > 0 {
		return Contact{}, errs.FieldsKeyed(problems)
	}
	if _, err := s.catalog.Vendor(vendorKey); err != nil {
		return Contact{}, err
	}
	c := Contact{ID: newID("vct_"), VendorKey: vendorKey, AddedAt: s.now().UTC().Truncate(time.Microsecond)}
	sealedName, err := s.secrets.Seal(ctx, []byte(name), contactNameAAD(c.ID))
	if err != nil {
		return Contact{}, fmt.Errorf("seal contact: %w", err)
	}
	sealedEmail, err := s.secrets.Seal(ctx, []byte(email), contactEmailAAD(c.ID))
	if err != nil {
		return Contact{}, fmt.Errorf("seal contact: %w", err)
	}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "vendor.contact_added", Target: target(vendorKey),
		Details: audit.MustDetails(map[string]any{"contact": c.ID})},
		func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO vendor_contacts (id, vendor_key, name_sealed, email_sealed, added_at)
				VALUES ($1, $2, $3, $4, $5)`, c.ID, c.VendorKey, sealedName, sealedEmail, c.AddedAt.UnixMicro())
			if err != nil {
				return db.Classify(fmt.Errorf("add contact: %w", err))
			}
			return nil
		})
	if err != nil {
		return Contact{}, err
	}
	return c, nil
}

// RemoveContact deletes a vendor's contact, sealed values and all.
func (s *Service) RemoveContact(ctx context.Context, vendorKey, id string) error {
	_, err := s.audit.Do(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "vendor.contact_removed", Target: target(vendorKey),
		Details: audit.MustDetails(map[string]any{"contact": id})},
		func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM vendor_contacts WHERE id = $1 AND vendor_key = $2`, id, vendorKey)
			if err != nil {
				return db.Classify(fmt.Errorf("remove contact: %w", err))
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errs.NotFound("contact", id)
			}
			return nil
		})
	return err
}

// Contacts lists a vendor's contacts, oldest first, without their names
// and addresses (RevealContacts opens those).
func (s *Service) Contacts(ctx context.Context, vendorKey string) ([]Contact, error) {
	return s.contacts(ctx, vendorKey, false)
}

// RevealContacts lists a vendor's contacts with their names and
// addresses. Opening them is recorded in the audit log first: no entry,
// no contacts.
func (s *Service) RevealContacts(ctx context.Context, vendorKey string) ([]Contact, error) {
	return s.contacts(ctx, vendorKey, true)
}

func (s *Service) contacts(ctx context.Context, vendorKey string, reveal bool) ([]Contact, error) {
	type row struct {
		c           Contact
		name, email []byte
	}
	list, err := db.QueryAll(ctx, s.db, `SELECT id, name_sealed, email_sealed, added_at FROM vendor_contacts
		WHERE vendor_key = $1 ORDER BY added_at, id`, []any{vendorKey}, func(scan func(...any) error) (row, error) {
		r := row{c: Contact{VendorKey: vendorKey}}
		var added int64
		if err := scan(&r.c.ID, &r.name, &r.email, &added); err != nil {
			return row{}, err
		}
		r.c.AddedAt = time.UnixMicro(added).UTC()
		return r, nil
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list contacts: %w", err))
	}
	out := make([]Contact, len(list))
	if reveal && len(list) > 0 {
		if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "vendor.contacts_revealed",
			Target: target(vendorKey), Details: audit.MustDetails(map[string]any{"contacts": len(list)})}); err != nil {
			return nil, err
		}
	}
	for i, r := range list {
		out[i] = r.c
		if !reveal {
			continue
		}
		name, err := s.secrets.Open(ctx, r.name, contactNameAAD(r.c.ID))
		if err != nil {
			return nil, fmt.Errorf("open contact: %w", err)
		}
		email, err := s.secrets.Open(ctx, r.email, contactEmailAAD(r.c.ID))
		if err != nil {
			return nil, fmt.Errorf("open contact: %w", err)
		}
		out[i].Name, out[i].Email = string(name), string(email)
	}
	return out, nil
}
