package incident

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/outbox"
)

// AffectedVendor is a vendor or processor that receives data of a category
// the incident touched, and whether it was told.
type AffectedVendor struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Categories are the incident's categories the vendor receives.
	Categories []string   `json:"categories"`
	NotifiedAt *time.Time `json:"notified_at,omitempty"`
	NotifiedBy string     `json:"notified_by,omitempty"`
	// Contacts counts the vendor's contacts emailed.
	Contacts int `json:"contacts"`
}

// AffectedVendors returns the vendors of the catalog that receive data of
// incident id's categories, in the catalog's order, with whether each was
// told.
func (s *Service) AffectedVendors(ctx context.Context, id string) ([]AffectedVendor, error) {
	inc, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.affectedVendors(ctx, s.db, inc)
}

func (s *Service) affectedVendors(ctx context.Context, q db.Querier, inc Incident) ([]AffectedVendor, error) {
	if s.cfg.Notices.Vendors == nil {
		return nil, nil
	}
	told := map[string]AffectedVendor{}
	rows, err := db.QueryAll(ctx, q, `SELECT vendor_key, contacts, notified_by, notified_at FROM incident_vendor_notices WHERE incident_id = $1`,
		[]any{inc.ID}, func(scan func(...any) error) (AffectedVendor, error) {
			var v AffectedVendor
			var at int64
			err := scan(&v.Key, &v.Contacts, &v.NotifiedBy, &at)
			t := time.UnixMicro(at).UTC()
			v.NotifiedAt = &t
			return v, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: vendors told: %w", err))
	}
	for _, v := range rows {
		told[v.Key] = v
	}
	var out []AffectedVendor
	for _, v := range s.cfg.Notices.Vendors.Vendors() {
		var shared []string
		for _, c := range v.DataCategories {
			if slices.Contains(inc.Categories, c) {
				shared = append(shared, c)
			}
		}
		t, wasTold := told[v.Key]
		if len(shared) == 0 && !wasTold {
			continue
		}
		slices.Sort(shared)
		a := AffectedVendor{Key: v.Key, Name: v.Name, Categories: slices.Compact(shared)}
		if wasTold {
			a.NotifiedAt, a.NotifiedBy, a.Contacts = t.NotifiedAt, t.NotifiedBy, t.Contacts
		}
		out = append(out, a)
	}
	return out, nil
}

// NotifyVendors tells every affected vendor not yet told of incident id:
// for each, in one transaction, the webhook incident.notified is emitted,
// the vendor recorded as told and the act audited
// (incident.vendor_notified); then its contacts are emailed, when it has
// some and mail is configured. Repeating it tells only vendors added
// since. It returns the vendors told now.
func (s *Service) NotifyVendors(ctx context.Context, id string) ([]AffectedVendor, error) {
	if s.cfg.Notices.Vendors == nil || s.cfg.Notices.Outbox == nil {
		return nil, errs.New(errs.CodeUnavailable, "telling vendors needs the vendor catalog and webhooks")
	}
	inc, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if inc.Status != Assessed && inc.Status != Contained && inc.Status != Notified {
		return nil, errs.New(errs.CodeConflict, "an incident %s is not notified: assess it first", inc.Status)
	}
	vendors, err := s.affectedVendors(ctx, s.db, inc)
	if err != nil {
		return nil, err
	}
	var told []AffectedVendor
	for _, v := range vendors {
		if v.NotifiedAt != nil {
			continue
		}
		if err := s.tellVendor(ctx, inc, &v); err != nil {
			return told, err
		}
		told = append(told, v)
	}
	return told, nil
}

// tellVendor emits the webhook and records v as told, then emails its
// contacts and records how many were reached.
func (s *Service) tellVendor(ctx context.Context, inc Incident, v *AffectedVendor) error {
	now := s.clock()
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: ActionVendorTold, Target: Target(inc.ID),
		Details: audit.MustDetails(map[string]any{"vendor": v.Key, "categories": v.Categories})}
	_, err := s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO incident_vendor_notices (incident_id, vendor_key, notified_by, notified_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, vendor_key) DO NOTHING`, inc.ID, v.Key, audit.ActorFrom(ctx).String(), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("incident: vendor told: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.CodeConflict, "the vendor %s was told already", v.Key)
		}
		if _, err := s.cfg.Notices.Outbox.EmitTx(ctx, tx, outbox.Event{Type: outbox.IncidentNotified, At: now, Data: map[string]any{
			"incident_id": inc.ID, "vendor": v.Key, "kind": string(inc.Kind), "categories": v.Categories}}); err != nil {
			return err
		}
		return s.addAction(ctx, tx, inc.ID, ActVendors, v.Key)
	})
	if err != nil {
		return db.Classify(err)
	}
	v.NotifiedAt, v.NotifiedBy = &now, audit.ActorFrom(ctx).String()
	if s.cfg.Sender == nil || s.cfg.Mail == nil || s.cfg.Notices.VendorContacts == nil {
		return nil
	}
	addresses, err := s.cfg.Notices.VendorContacts(ctx, v.Key)
	if err != nil {
		return err
	}
	msg, err := s.cfg.Mail.Render(notify.DefaultLanguage, notify.TemplateIncidentVendor, notify.IncidentVendor{Brand: s.cfg.Brand,
		Vendor: v.Name, IncidentID: inc.ID, Categories: strings.Join(v.Categories, ", "), ContactEmail: s.cfg.Notices.Officer.Email})
	if err != nil {
		return err
	}
	for _, to := range addresses {
		msg.To = to
		if err := s.cfg.Sender.Send(ctx, msg); err != nil {
			// The webhook went; the officer sees the count and writes to
			// the others by hand.
			s.log.WarnContext(ctx, "incident: a vendor contact was not emailed", "incident", inc.ID, "vendor", v.Key, "error", err)
			continue
		}
		v.Contacts++
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE incident_vendor_notices SET contacts = $3 WHERE incident_id = $1 AND vendor_key = $2`,
		inc.ID, v.Key, v.Contacts); err != nil {
		return db.Classify(fmt.Errorf("incident: vendor told: %w", err))
	}
	return nil
}
