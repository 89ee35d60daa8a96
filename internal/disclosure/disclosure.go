// Package disclosure decides whether a company system may share a
// customer's data with a third party (a vendor), and puts the question to
// the customer when neither the purpose nor the customer's consent settles
// it.
//
//	d, err := disclosures.Ask(ctx, disclosure.Ask{Subject: "cust-1", Vendor: "carrier", Purpose: "delivery",
//		Categories: []string{"contact", "location"}, Reason: "to deliver your order"})
//	switch d.State { case disclosure.Allowed: ...; case disclosure.Blocked: ...; case disclosure.Pending: ... }
//	d, err = disclosures.Decide(ctx, d.ID, "cust-1", true) // the customer approves in the portal
//
// The answer comes at once:
//   - allowed: the purpose is necessary for the customer's own dealings and
//     the vendor is declared for it (the carrier of the order), or the
//     customer consented to this vendor and purpose;
//   - blocked, with a reason code (BlockedReasons, in the order they are
//     checked) and a detail in words: the vendor is not declared for the
//     purpose; a category is in-house, never disclosed; a category is not
//     declared for the vendor or outside its assessment; the vendor is in a
//     third country without a transfer safeguard; the vendor has no
//     passing, current security assessment; the customer's processing is
//     restricted, the customer objected to the purpose, or declined before
//     (Global Privacy Control included, for sale or sharing);
//   - pending otherwise: the customer is asked (email and portal) and
//     approves or declines; unanswered, the request expires at NeededBy
//     (seven days by default) and counts as declined.
//
// The customer's decision is a consent event (source portal, vendor set),
// so the decision API answers the same question the same way afterwards.
// Every disclosure that went ahead is kept and shown to the customer under
// "who received my data", and to the company per vendor.
package disclosure

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
)

// State is where a disclosure stands.
type State string

// The states. Allowed and Approved went ahead; the others did not.
const (
	Allowed  State = "allowed"
	Blocked  State = "blocked"
	Pending  State = "pending"
	Approved State = "approved"
	Declined State = "declined"
	Expired  State = "expired"
)

// The blocked reasons: fixed codes a caller can test (BlockedDetail says
// why in words). They are checked in this order; the first that holds is
// the answer.
const (
	// BlockedVendorNotDeclared: the vendor is not declared for the purpose.
	BlockedVendorNotDeclared = "vendor_not_declared"
	// BlockedCategoryInHouse: a category asked for is in-house data, never
	// disclosed to a vendor, whatever the consent.
	BlockedCategoryInHouse = "category_in_house"
	// BlockedCategoryNotDeclared: a category asked for is not among the
	// vendor's declared data categories, or outside the scope of its
	// current security assessment.
	BlockedCategoryNotDeclared = "category_not_declared"
	// BlockedTransferWithoutSafeguard: the vendor's country is outside the
	// properties' region (the EEA for EU properties; consent.PropertyRegion)
	// and no transfer safeguard (adequacy, standard contractual clauses,
	// binding corporate rules) is recorded for it. A vendor whose country is
	// not recorded counts as outside.
	BlockedTransferWithoutSafeguard = "transfer_without_safeguard"
	// BlockedVendorNotAssessed: the vendor has no current passing security
	// assessment covering what it receives.
	BlockedVendorNotAssessed = "vendor_not_assessed"
	// BlockedPurposeNotAssessed: the purpose has no approved ethics
	// assessment in force (package ethics).
	BlockedPurposeNotAssessed = "purpose_not_assessed"
	// BlockedRestricted: the customer's processing is restricted (GDPR
	// Art. 18) until staff lift the restriction.
	BlockedRestricted = "restricted"
	// BlockedObjected: the customer objected to the purpose (Art. 21).
	BlockedObjected = "objected"
	// BlockedDeclined: the customer declined or withdrew this purpose or
	// vendor.
	BlockedDeclined = "declined"
	// BlockedGPC: the customer's browser sent Global Privacy Control, an
	// opt-out of sale and sharing, and the purpose is one.
	BlockedGPC = "gpc_opt_out"
)

// BlockedReasons lists the blocked reasons, in the order they are checked.
var BlockedReasons = []string{BlockedVendorNotDeclared, BlockedCategoryInHouse, BlockedCategoryNotDeclared, BlockedTransferWithoutSafeguard,
	BlockedVendorNotAssessed, BlockedPurposeNotAssessed, BlockedRestricted, BlockedObjected, BlockedDeclined, BlockedGPC}

// WentAhead reports whether data was (or may be) shared.
func (s State) WentAhead() bool { return s == Allowed || s == Approved }

// Basis says why a disclosure went ahead.
type Basis string

// The bases.
const (
	BasisNone      Basis = ""
	BasisNecessary Basis = "necessary"
	BasisConsent   Basis = "consent"
	BasisApproval  Basis = "customer_approval"
)

// Disclosure is one request to share a subject's data with a vendor.
type Disclosure struct {
	ID            string   `json:"id"`
	Subject       string   `json:"subject"`
	Vendor        string   `json:"vendor"`
	Purpose       string   `json:"purpose"`
	Categories    []string `json:"categories"`
	Reason        string   `json:"reason"`
	State         State    `json:"state"`
	Basis         Basis    `json:"basis,omitempty"`
	BlockedReason string   `json:"blocked_reason,omitempty"`
	// BlockedDetail says why in words, for staff and the asking system:
	// with the facts of the moment in the answer to Ask, from the reason
	// code when read back (storedDetail).
	BlockedDetail string     `json:"blocked_detail,omitempty"`
	AskedBy       string     `json:"asked_by"`
	CreatedAt     time.Time  `json:"created_at"`
	NeededBy      time.Time  `json:"needed_by"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	WentAheadAt   *time.Time `json:"went_ahead_at,omitempty"`
}

// Ask is what a company system asks.
type Ask struct {
	Subject    string
	Vendor     string
	Purpose    string
	Categories []string
	Reason     string
	NeededBy   time.Time // zero: seven days from now
}

// Assurance says whether a vendor may receive data at all: a passing,
// current security assessment that covers its purposes and categories.
type Assurance func(ctx context.Context, vendor string) (passing bool, reason string, err error)

// Config holds what the service needs.
type Config struct {
	DB        *db.DB
	Consent   *consent.Service
	Assurance Assurance
	Audit     audit.Recorder
	Now       func() time.Time
	// Window is how long a pending disclosure waits for the customer when
	// the asker gives no NeededBy (seven days).
	Window time.Duration
	// OnChange, when set, is called in the transaction that records a
	// disclosure or its answer (the outbox's webhook commits with it).
	OnChange func(ctx context.Context, tx *sql.Tx, d Disclosure) error
	// Events, when set, receives the disclosures' webhooks
	// (disclosure.requested, disclosure.decided; see events.go), written in
	// the transaction of the change.
	Events outbox.Emitter
}

// Service decides and keeps disclosures.
type Service struct {
	Config
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Consent == nil || cfg.Assurance == nil || cfg.Audit == nil {
		return nil, errors.New("disclosure: New needs a DB, Consent, Assurance and an audit Recorder")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Window == 0 {
		cfg.Window = 7 * 24 * time.Hour
	}
	return &Service{cfg}, nil
}

func (a *Ask) validate(now time.Time) map[string]string {
	problems := map[string]string{}
	if !consent.ValidID(a.Subject) {
		problems["subject"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if strings.TrimSpace(a.Vendor) == "" {
		problems["vendor"] = "is required"
	}
	if strings.TrimSpace(a.Purpose) == "" {
		problems["purpose"] = "is required"
	}
	if len(a.Categories) == 0 || len(a.Categories) > 20 {
		problems["categories"] = "name 1 to 20 data categories"
	}
	for _, c := range a.Categories {
		if c == "" || len(c) > 64 {
			problems["categories"] = "each category is 1 to 64 characters"
		}
	}
	if n := len(strings.TrimSpace(a.Reason)); n < 5 || n > 500 {
		problems["reason"] = "say why, in words the customer understands (5 to 500 characters)"
	} else if strings.Contains(a.Reason, "@") {
		problems["reason"] = "must not hold personal data such as an email address"
	}
	if !a.NeededBy.IsZero() && !a.NeededBy.After(now) {
		problems["needed_by"] = "must lie in the future"
	}
	return problems
}

// Ask decides a disclosure at once and records it. A vendor or purpose the
// catalog does not know is invalid input; everything else is an answer.
func (s *Service) Ask(ctx context.Context, in Ask) (Disclosure, error) {
	now := s.Now().UTC().Truncate(time.Microsecond)
	if problems := in.validate(now); len(problems) > 0 {
		return Disclosure{}, errs.Fields(problems)
	}
	vendor, err := s.Consent.Vendor(in.Vendor)
	if err != nil {
		return Disclosure{}, errs.Invalid("vendor", "unknown vendor %q", in.Vendor)
	}
	purpose, err := s.Consent.Purpose(in.Purpose)
	if err != nil {
		return Disclosure{}, errs.Invalid("purpose", "unknown purpose %q", in.Purpose)
	}
	d := Disclosure{ID: newID(), Subject: in.Subject, Vendor: vendor.Key, Purpose: purpose.Key, Categories: slices.Compact(slices.Sorted(slices.Values(in.Categories))),
		Reason: strings.TrimSpace(in.Reason), AskedBy: audit.ActorFrom(ctx).String(), CreatedAt: now, NeededBy: in.NeededBy.UTC().Truncate(time.Microsecond)}
	if d.NeededBy.IsZero() {
		d.NeededBy = now.Add(s.Window)
	}
	if err := s.decide(ctx, &d, vendor, purpose); err != nil {
		return Disclosure{}, err
	}
	if d.State.WentAhead() {
		d.WentAheadAt = &now
	}
	if d.State != Pending {
		d.DecidedAt = &now
	}
	categories, _ := json.Marshal(d.Categories)
	_, err = s.Audit.Do(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: audit.PrefixDisclosure + string(d.State), Target: audit.Subject(d.Subject),
		Details: audit.MustDetails(map[string]any{"disclosure": d.ID, "vendor": d.Vendor, "purpose": d.Purpose, "categories": d.Categories, "basis": string(d.Basis)})},
		func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO disclosures (id, subject_id, vendor, purpose, categories, reason, state, basis, blocked_reason,
				asked_by, created_at, needed_by, decided_at, went_ahead_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				d.ID, d.Subject, d.Vendor, d.Purpose, string(categories), d.Reason, string(d.State), string(d.Basis), d.BlockedReason,
				d.AskedBy, now.UnixMicro(), d.NeededBy.UnixMicro(), nullTime(d.DecidedAt), nullTime(d.WentAheadAt))
			if err != nil {
				return err
			}
			return s.changed(ctx, tx, d)
		})
	if err != nil {
		return Disclosure{}, db.Classify(fmt.Errorf("record disclosure: %w", err))
	}
	return d, nil
}

// decide sets the state, basis and blocked reason of d. The checks that
// hold whatever the customer says come first: the vendor's declaration,
// the categories, the transfer, the vendor's assessment; then what holds
// the customer's processing; then consent.
func (s *Service) decide(ctx context.Context, d *Disclosure, vendor consent.Vendor, purpose consent.Purpose) error {
	block := func(reason, detail string) { d.State, d.BlockedReason, d.BlockedDetail = Blocked, reason, detail }
	if !slices.Contains(vendor.Purposes, purpose.Key) {
		block(BlockedVendorNotDeclared, fmt.Sprintf("vendor %s is not declared for purpose %s", vendor.Key, purpose.Key))
		return nil
	}
	if reason, detail := s.checkCategories(d.Categories, vendor); reason != "" {
		block(reason, detail)
		return nil
	}
	if detail := s.checkTransfer(vendor); detail != "" {
		block(BlockedTransferWithoutSafeguard, detail)
		return nil
	}
	passing, why, err := s.Assurance(ctx, vendor.Key)
	if err != nil {
		return err
	}
	if !passing {
		block(BlockedVendorNotAssessed, "vendor "+vendor.Key+" has no passing security assessment: "+why)
		return nil
	}
	answer, err := s.Consent.Decider().Decide(&consent.Question{Subject: d.Subject, Purpose: purpose.Key, Vendor: vendor.Key}, false)
	if err != nil {
		return err
	}
	// A restriction or an objection holds before anything else, necessary
	// purposes included (a restriction spares only a legal obligation).
	switch answer.Reason {
	case consent.ReasonVendorNotAssessed:
		// The decision engine's gate has not seen the sign-off yet (another
		// replica made it): the one gate decides everywhere.
		block(BlockedVendorNotAssessed, "vendor "+vendor.Key+" has no current passing security assessment")
		return nil
	case consent.ReasonPurposeNotAssessed:
		block(BlockedPurposeNotAssessed, "purpose "+purpose.Key+" has no approved ethics assessment in force")
		return nil
	case consent.ReasonRestricted:
		block(BlockedRestricted, "the customer's processing is restricted until staff lift the restriction")
		return nil
	case consent.ReasonObjected:
		block(BlockedObjected, "the customer objected to purpose "+purpose.Key)
		return nil
	}
	if purpose.Necessary {
		d.State, d.Basis = Allowed, BasisNecessary
		return nil
	}
	switch answer.Reason {
	case consent.ReasonConsentGranted:
		d.State, d.Basis = Allowed, BasisConsent
		return nil
	case consent.ReasonConsentDenied, consent.ReasonConsentWithdrawn:
		block(BlockedDeclined, "the customer declined this purpose or vendor")
		return nil
	}
	if purpose.SaleOrSharing {
		gpc, err := s.usedGPC(ctx, d.Subject)
		if err != nil {
			return err
		}
		if gpc {
			block(BlockedGPC, "the customer's browser sent Global Privacy Control, an opt-out of sale and sharing")
			return nil
		}
	}
	d.State = Pending
	return nil
}

// checkCategories returns the reason and detail that block sharing
// categories with vendor, or "" when none does: an in-house category first
// (never disclosed), then one the vendor is not declared for, or that its
// current assessment did not cover.
func (s *Service) checkCategories(categories []string, vendor consent.Vendor) (reason, detail string) {
	for _, key := range categories {
		if c, err := s.Consent.Category(key); err == nil && c.InHouse {
			return BlockedCategoryInHouse, fmt.Sprintf("data category %s is in-house: it is never disclosed to a vendor", key)
		}
	}
	assessed, hasAssessment := s.Consent.VendorAssessmentOf(vendor.Key)
	for _, key := range categories {
		if !slices.Contains(vendor.DataCategories, key) {
			return BlockedCategoryNotDeclared, fmt.Sprintf("vendor %s is not declared for data category %s", vendor.Key, key)
		}
		if hasAssessment && !slices.Contains(assessed.Categories, key) {
			return BlockedCategoryNotDeclared, fmt.Sprintf("data category %s is outside the scope of vendor %s's security assessment", key, vendor.Key)
		}
	}
	return "", ""
}

// checkTransfer returns why sending data to vendor is an unlawful transfer,
// or "": its country is outside the region of the properties (the EEA when
// any property is an EU one, or when there is none to say) and it records
// no safeguard. A disclosure concerns a customer, not one property, so the
// strictest region of them all applies.
func (s *Service) checkTransfer(vendor consent.Vendor) string {
	region := consent.RegionEEA
	if props := s.Consent.Properties(); len(props) > 0 {
		region = consent.RegionOther
		for _, p := range props {
			if consent.PropertyRegion(p) == consent.RegionEEA {
				region = consent.RegionEEA
			}
		}
	}
	if !consent.NeedsTransferSafeguard(region, vendor.Country) || vendor.TransferSafeguard != consent.SafeguardNone {
		return ""
	}
	country := vendor.Country
	if country == "" {
		country = "an unrecorded country"
	}
	return fmt.Sprintf("vendor %s is in %s, outside the %s, and no transfer safeguard (adequacy, standard contractual clauses, binding corporate rules) is recorded for it",
		vendor.Key, country, region)
}

// storedDetail says in words why a stored disclosure was blocked, from its
// reason code; a disclosure blocked before the codes existed kept its
// sentence as the reason, and says nothing more.
func storedDetail(d Disclosure) string {
	switch d.BlockedReason {
	case BlockedVendorNotDeclared:
		return fmt.Sprintf("vendor %s is not declared for purpose %s", d.Vendor, d.Purpose)
	case BlockedCategoryInHouse:
		return "a data category asked for is in-house: it is never disclosed to a vendor"
	case BlockedCategoryNotDeclared:
		return fmt.Sprintf("a data category asked for is not declared for vendor %s, or outside the scope of its security assessment", d.Vendor)
	case BlockedTransferWithoutSafeguard:
		return fmt.Sprintf("vendor %s is outside the properties' region and no transfer safeguard is recorded for it", d.Vendor)
	case BlockedVendorNotAssessed:
		return fmt.Sprintf("vendor %s had no current passing security assessment", d.Vendor)
	case BlockedPurposeNotAssessed:
		return fmt.Sprintf("purpose %s had no approved ethics assessment in force", d.Purpose)
	case BlockedRestricted:
		return "the customer's processing is restricted until staff lift the restriction"
	case BlockedObjected:
		return "the customer objected to purpose " + d.Purpose
	case BlockedDeclined:
		return "the customer declined this purpose or vendor"
	case BlockedGPC:
		return "the customer's browser sent Global Privacy Control, an opt-out of sale and sharing"
	}
	return ""
}

// usedGPC reports whether any of the subject's consent events came with a
// Global Privacy Control signal.
func (s *Service) usedGPC(ctx context.Context, subject string) (bool, error) {
	events, err := s.Consent.Events(ctx, consent.EventFilter{Subject: subject, Limit: 10000})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(events, func(e consent.Event) bool { return e.GPC }), nil
}

// Decide records the customer's answer to a pending disclosure: a consent
// event for the vendor and purpose (source portal), so that later
// questions get the same answer, and the disclosure approved or declined.
// Another customer's disclosure is not found.
func (s *Service) Decide(ctx context.Context, id, subject string, approve bool) (Disclosure, error) {
	d, err := s.Get(ctx, id)
	if err != nil || d.Subject != subject {
		return Disclosure{}, errs.NotFound("disclosure", id)
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	if d.State != Pending {
		return Disclosure{}, errs.New(errs.CodeConflict, "this request was already answered (%s)", d.State)
	}
	if !now.Before(d.NeededBy) {
		return Disclosure{}, errs.New(errs.CodeConflict, "this request expired")
	}
	action, state := consent.ActionDeny, Declined
	if approve {
		action, state = consent.ActionGrant, Approved
	}
	// Ledger ids allow no "_": the event is named by the disclosure's hex.
	event := consent.Event{ID: "disclosure." + strings.TrimPrefix(d.ID, "dis_"), Property: "", Subject: subject, Purpose: d.Purpose, Vendor: d.Vendor,
		Action: action, Source: consent.SourcePortal}
	if err := s.appendDecision(ctx, &event); err != nil {
		return Disclosure{}, err
	}
	d.State, d.DecidedAt = state, &now
	if approve {
		d.Basis, d.WentAheadAt = BasisApproval, &now
	}
	_, err = s.Audit.Do(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: audit.PrefixDisclosure + string(state), Target: audit.Subject(subject),
		Details: audit.MustDetails(map[string]any{"disclosure": d.ID, "vendor": d.Vendor, "purpose": d.Purpose})},
		func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE disclosures SET state = $2, basis = $3, decided_at = $4, went_ahead_at = $5 WHERE id = $1 AND state = 'pending'`,
				d.ID, string(d.State), string(d.Basis), now.UnixMicro(), nullTime(d.WentAheadAt))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errs.New(errs.CodeConflict, "this request was already answered")
			}
			return s.changed(ctx, tx, d)
		})
	if err != nil {
		return Disclosure{}, db.Classify(err)
	}
	return d, nil
}

// appendDecision records the customer's answer in the ledger, under the
// first property (consent events belong to a property; the answer given in
// the portal holds for every one, as the decision API asks by subject).
func (s *Service) appendDecision(ctx context.Context, e *consent.Event) error {
	props := s.Consent.Properties()
	if len(props) == 0 {
		return errs.New(errs.CodeConflict, "no property is configured to record the decision under")
	}
	e.Property = props[0].Key
	if notice, ok := s.Consent.CurrentNotice(); ok {
		e.NoticeVersion = notice.Version
	}
	events := []consent.Event{*e}
	if err := s.Consent.ValidateEvents(events, consent.Author{Kind: consent.AuthorPortal}); err != nil {
		return err
	}
	_, err := s.Consent.Append(ctx, events)
	return err
}

// ExpireDue marks pending disclosures past their NeededBy as expired (they
// count as declined) and returns them.
func (s *Service) ExpireDue(ctx context.Context) ([]Disclosure, error) {
	now := s.Now().UTC()
	due, err := s.list(ctx, `WHERE state = 'pending' AND needed_by <= $1 ORDER BY needed_by LIMIT 1000`, now.UnixMicro())
	if err != nil {
		return nil, err
	}
	var out []Disclosure
	for _, d := range due {
		_, err := s.Audit.Do(ctx, audit.Entry{Actor: audit.System(), Action: "disclosure.expired", Target: audit.Subject(d.Subject),
			Details: audit.MustDetails(map[string]any{"disclosure": d.ID, "vendor": d.Vendor})}, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE disclosures SET state = 'expired', decided_at = $2 WHERE id = $1 AND state = 'pending'`, d.ID, now.UnixMicro()); err != nil {
				return err
			}
			expired := d
			expired.State = Expired
			return s.changed(ctx, tx, expired)
		})
		if err != nil {
			return out, db.Classify(err)
		}
		d.State = Expired
		out = append(out, d)
	}
	return out, nil
}

const columns = `id, subject_id, vendor, purpose, categories, reason, state, basis, blocked_reason, asked_by, created_at, needed_by, decided_at, went_ahead_at`

func (s *Service) list(ctx context.Context, where string, args ...any) ([]Disclosure, error) {
	out, err := db.QueryAll(ctx, s.DB, `SELECT `+columns+` FROM disclosures `+where, args, func(scan func(...any) error) (Disclosure, error) {
		var d Disclosure
		var categories string
		var created, needed int64
		var decided, ahead sql.NullInt64
		if err := scan(&d.ID, &d.Subject, &d.Vendor, &d.Purpose, &categories, &d.Reason, &d.State, &d.Basis, &d.BlockedReason,
			&d.AskedBy, &created, &needed, &decided, &ahead); err != nil {
			return Disclosure{}, err
		}
		_ = json.Unmarshal([]byte(categories), &d.Categories)
		d.CreatedAt, d.NeededBy = time.UnixMicro(created).UTC(), time.UnixMicro(needed).UTC()
		d.DecidedAt, d.WentAheadAt = timeOf(decided), timeOf(ahead)
		d.BlockedDetail = storedDetail(d)
		return d, nil
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read disclosures: %w", err))
	}
	return out, nil
}

// Get returns a disclosure.
func (s *Service) Get(ctx context.Context, id string) (Disclosure, error) {
	list, err := s.list(ctx, `WHERE id = $1`, id)
	if err != nil {
		return Disclosure{}, err
	}
	if len(list) == 0 {
		return Disclosure{}, errs.NotFound("disclosure", id)
	}
	return list[0], nil
}

// ForSubject lists a subject's disclosures, newest first: what is pending
// for them to answer, and who received their data.
func (s *Service) ForSubject(ctx context.Context, subject string) ([]Disclosure, error) {
	return s.list(ctx, `WHERE subject_id = $1 ORDER BY created_at DESC LIMIT 500`, subject)
}

// Recipients returns the keys of the vendors that received the subject's
// data: their disclosures went ahead (allowed or approved), sorted. They
// are the ones a rectification or erasure is passed on to (GDPR Art. 19).
func (s *Service) Recipients(ctx context.Context, subject string) ([]string, error) {
	out, err := db.QueryAll(ctx, s.DB, `SELECT DISTINCT vendor FROM disclosures
		WHERE subject_id = $1 AND went_ahead_at IS NOT NULL AND state IN ($2, $3) ORDER BY vendor`, []any{subject, string(Allowed), string(Approved)},
		func(scan func(...any) error) (string, error) {
			var v string
			return v, scan(&v)
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read recipients: %w", err))
	}
	return out, nil
}

// ForVendor lists what went ahead to a vendor, newest first.
func (s *Service) ForVendor(ctx context.Context, vendor string) ([]Disclosure, error) {
	return s.list(ctx, `WHERE vendor = $1 AND went_ahead_at IS NOT NULL ORDER BY created_at DESC LIMIT 500`, vendor)
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "dis_" + hex.EncodeToString(b[:])
}

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func timeOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMicro(n.Int64).UTC()
	return &t
}

// Forget blanks, for subject's erasure, the reason text of each of its
// disclosures (a company system writes it and may name the person), and
// ends those still pending as expired: the customer can no longer be asked.
// Vendor, purpose, categories and state stay, as the record of what was
// shared with whom. It returns how many disclosures it changed.
func (s *Service) Forget(ctx context.Context, subject string) (int, error) {
	now := s.Now().UnixMicro()
	n := 0
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE disclosures SET state = 'expired', decided_at = $2 WHERE subject_id = $1 AND state = 'pending'`,
			subject, now); err != nil {
			return fmt.Errorf("disclosure: forget: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE disclosures SET reason = '' WHERE subject_id = $1 AND reason <> ''`, subject)
		if err != nil {
			return fmt.Errorf("disclosure: forget: %w", err)
		}
		affected, _ := res.RowsAffected()
		n = int(affected)
		return nil
	})
	return n, db.Classify(err)
}
