// Package report makes the monthly accountability report: for one
// calendar month (UTC), the reveals of personal data by person and purpose,
// failed sign-ins and lockouts, key rotations, vendor assessments that
// expired, training, retention runs, backups and restore drills, incidents,
// and where the quarter's access review stands. Every count of an act is
// counted from the audit log (the report lists the raw count of each
// action it read, which anyone with the log can recount); the few facts
// that are states rather than acts (an assessment's validity ending, a
// drill's outcome, training standing, the review's status) come from their
// packages' stores.
//
// The report is signed like the transparency page: a compact JWS (EdDSA)
// under the server's receipt key, published in /.well-known/jwks.json, in a
// body {"jws": ..., "document": ...} whose document is the JWS payload's
// exact bytes; Verify checks one.
//
//	reports, err := report.New(report.Config{Audit: log, DB: store, Signer: signer, Training: accounts.Programme, Reviews: reviews})
//	month, err := report.ParseMonth("2027-01")
//	signed, err := reports.Signed(ctx, month)
//	doc, err := report.Verify(signed.Body, signer.JWKS())
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
)

// Kind names the document in its payload, so that a verifier tells a
// monthly report from other documents under the same key.
const Kind = "steward.monthly_report"

// Month is a calendar month in UTC.
type Month struct {
	Year  int
	Month time.Month
}

var monthPattern = regexp.MustCompile(`^([0-9]{4})-(0[1-9]|1[0-2])$`)

// ParseMonth reads "2027-01".
func ParseMonth(s string) (Month, error) {
	m := monthPattern.FindStringSubmatch(s)
	if m == nil {
		return Month{}, errs.InvalidKeyed("month", "report_month_format")
	}
	year, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	return Month{Year: year, Month: time.Month(month)}, nil
}

// MonthOf returns the month t falls in (in UTC).
func MonthOf(t time.Time) Month { t = t.UTC(); return Month{Year: t.Year(), Month: t.Month()} }

// String returns "2027-01".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the month's first instant; End the first instant after it.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the first instant after the month.
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }

// Prev is the month before m.
func (m Month) Prev() Month { return MonthOf(m.Start().Add(-time.Nanosecond)) }

// Actions are the audit actions the report counts, in the order it lists
// their raw counts.
var Actions = []string{
	"vault.reveal", "vault.detokenize", "dsr.reveal",
	"staff.sign_in", "staff.sign_in_failed", "staff.unlock", "staff.reset_issued",
	"keys.rotate", "keys.retire", "api_key.create", "api_key.revoke", "webhook.secret_rotate",
	"vendor.assessment_approved", "vendor.assessment_rejected", "vendor.assessment_revoked",
	"training.attempt",
	"retention.run",
	"backup.create", "backup.restored",
	"incident.open", "incident.report", "incident.status", "incident.filed", "incident.notices_queued",
	review.ActionOpen, review.ActionConfirm, review.ActionChange, review.ActionDisable, review.ActionClose,
}

// revealActions are the acts that show a customer's personal data in
// plain text to someone.
var revealActions = []string{"vault.reveal", "vault.detokenize", "dsr.reveal"}

// Report is the monthly report.
type Report struct {
	Kind        string    `json:"kind"`
	Month       string    `json:"month"`
	From        time.Time `json:"from"`
	Until       time.Time `json:"until"`
	GeneratedAt time.Time `json:"generated_at"`
	// AuditHead is the audit log's head when the report was made: the
	// counts are of the entries up to it.
	AuditHead AuditHead `json:"audit_head"`
	// Counts is the audit log's count of each action in Actions within
	// [From, Until): the sections below are read from the same entries.
	Counts       map[string]int `json:"audit_counts"`
	Reveals      Reveals        `json:"reveals"`
	SignIns      SignIns        `json:"sign_ins"`
	Keys         Keys           `json:"keys"`
	Vendors      Vendors        `json:"vendors"`
	Training     Training       `json:"training"`
	Retention    Retention      `json:"retention"`
	Backups      Backups        `json:"backups"`
	Incidents    Incidents      `json:"incidents"`
	AccessReview AccessReview   `json:"access_review"`
}

// AuditHead is a position in the audit log.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Reveals counts plain-text reads of personal data.
type Reveals struct {
	Total int `json:"total"`
	// ByActor is one line per actor and stated purpose, most first.
	ByActor []RevealLine `json:"by_actor_and_purpose"`
}

// RevealLine is how often one actor revealed for one purpose.
type RevealLine struct {
	Actor   string `json:"actor"`          // "staff:stf_…" or "api_key:…"
	Name    string `json:"name,omitempty"` // a staff member's name
	Purpose string `json:"purpose"`
	Count   int    `json:"count"`
}

// SignIns counts the console's sign-ins.
type SignIns struct {
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// Lockouts are the failed sign-ins that locked the account or kept it
	// locked (the account was under attack).
	Lockouts int `json:"lockouts"`
	Unlocks  int `json:"unlocks"`
	Resets   int `json:"resets_issued"`
}

// Keys counts key changes.
type Keys struct {
	MasterRotations      int `json:"master_key_rotations"`
	MasterRetirements    int `json:"master_key_retirements"`
	APIKeysCreated       int `json:"api_keys_created"`
	APIKeysRevoked       int `json:"api_keys_revoked"`
	WebhookSecretRotated int `json:"webhook_secrets_rotated"`
}

// Vendors counts vendor assessments.
type Vendors struct {
	// Expired are the vendors whose approved assessment ran out this month.
	Expired  []string `json:"expired"`
	Approved int      `json:"approved"`
	Rejected int      `json:"rejected"`
	Revoked  int      `json:"revoked"`
}

// Training counts quiz attempts this month and, when known, the standing
// at generation.
type Training struct {
	Passed   int       `json:"passed"`
	Failed   int       `json:"failed"`
	Standing *Standing `json:"standing,omitempty"`
}

// Standing is how many (person, module) pairs stand where.
type Standing struct {
	AsOf     time.Time `json:"as_of"`
	Done     int       `json:"done"`
	Expiring int       `json:"expiring"`
	Due      int       `json:"due"`
	Overdue  int       `json:"overdue"`
}

// Retention counts retention runs.
type Retention struct {
	Runs    int `json:"runs"`
	DryRuns int `json:"dry_runs"`
}

// Backups counts backups, restores and drills.
type Backups struct {
	Created      int `json:"created"`
	Restored     int `json:"restored"`
	Drills       int `json:"drills"`
	DrillsFailed int `json:"drills_failed"`
}

// Incidents counts the incident register's acts.
type Incidents struct {
	Opened        int `json:"opened"`
	Reported      int `json:"reported"`
	Closed        int `json:"closed"`
	Filed         int `json:"filed"`
	NoticesQueued int `json:"notices_queued"`
}

// AccessReview is where the review of the month's quarter stands, and
// the decisions of the month.
type AccessReview struct {
	Quarter string `json:"quarter"`
	// Status is "closed", "open" or "not_opened", at generation.
	Status    string `json:"status"`
	Opened    int    `json:"opened"`
	Confirmed int    `json:"confirmed"`
	Changed   int    `json:"changed"`
	Disabled  int    `json:"disabled"`
	Closed    int    `json:"closed"`
}

// The statuses of AccessReview.
const (
	ReviewClosed    = "closed"
	ReviewOpen      = "open"
	ReviewNotOpened = "not_opened"
)

// Config holds what the service needs.
type Config struct {
	Audit *audit.Log
	DB    *db.DB
	// Signer signs the report (the receipt key); nil leaves Signed failing.
	Signer *receipt.Signer
	// Training returns the training standing (staff.Service.Programme);
	// nil leaves it out.
	Training func(ctx context.Context) ([]staff.Standing, error)
	// Names returns staff names by id (for the reveals); nil leaves them out.
	Names func(ctx context.Context) ([]staff.Account, error)
	// Reviews gives the access review's status; nil says not_opened.
	Reviews *review.Service
	Now     func() time.Time
}

// Service makes reports.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Audit == nil || cfg.DB == nil {
		return nil, errors.New("report: New needs the audit log and the DB")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Monthly computes the report of month m. A month not yet begun is
// refused; the current month is reported up to now.
func (s *Service) Monthly(ctx context.Context, m Month) (Report, error) {
	now := s.cfg.Now().UTC()
	if m.Start().After(now) {
		return Report{}, errs.InvalidKeyed("month", "report_month_future", "month", m.String())
	}
	r := Report{Kind: Kind, Month: m.String(), From: m.Start(), Until: m.End(), GeneratedAt: now.Truncate(time.Second), Counts: map[string]int{}}
	seq, hash, err := s.cfg.Audit.Head(ctx)
	if err != nil {
		return Report{}, err
	}
	r.AuditHead = AuditHead{Seq: seq, Hash: hash.String()}
	reveals := map[[2]string]int{}
	for _, action := range Actions {
		r.Counts[action] = 0 // listed when none happened too
		err := s.each(ctx, action, m, seq, func(e audit.Stored) {
			r.Counts[action]++
			details := e.Details.Map()
			switch action {
			case "vault.reveal", "vault.detokenize", "dsr.reveal":
				purpose, _ := details["purpose"].(string)
				reveals[[2]string{e.Actor.String(), purpose}]++
			case "staff.sign_in_failed":
				if reason, _ := details["reason"].(string); strings.HasSuffix(reason, "account under attack") {
					r.SignIns.Lockouts++
				}
			case "training.attempt":
				if passed, _ := details["passed"].(bool); passed {
					r.Training.Passed++
				} else {
					r.Training.Failed++
				}
			case "retention.run":
				if dry, _ := details["dry_run"].(bool); dry {
					r.Retention.DryRuns++
				} else {
					r.Retention.Runs++
				}
			case "incident.status":
				if to, _ := details["to"].(string); to == "closed" {
					r.Incidents.Closed++
				}
			}
		})
		if err != nil {
			return Report{}, err
		}
	}
	c := r.Counts
	r.SignIns.Succeeded, r.SignIns.Failed, r.SignIns.Unlocks, r.SignIns.Resets = c["staff.sign_in"], c["staff.sign_in_failed"], c["staff.unlock"], c["staff.reset_issued"]
	r.Keys = Keys{MasterRotations: c["keys.rotate"], MasterRetirements: c["keys.retire"], APIKeysCreated: c["api_key.create"],
		APIKeysRevoked: c["api_key.revoke"], WebhookSecretRotated: c["webhook.secret_rotate"]}
	r.Vendors.Approved, r.Vendors.Rejected, r.Vendors.Revoked = c["vendor.assessment_approved"], c["vendor.assessment_rejected"], c["vendor.assessment_revoked"]
	r.Backups.Created, r.Backups.Restored = c["backup.create"], c["backup.restored"]
	r.Incidents.Opened, r.Incidents.Reported, r.Incidents.Filed, r.Incidents.NoticesQueued = c["incident.open"], c["incident.report"], c["incident.filed"], c["incident.notices_queued"]
	r.AccessReview.Opened, r.AccessReview.Confirmed, r.AccessReview.Changed = c[review.ActionOpen], c[review.ActionConfirm], c[review.ActionChange]
	r.AccessReview.Disabled, r.AccessReview.Closed = c[review.ActionDisable], c[review.ActionClose]
	for _, a := range revealActions {
		r.Reveals.Total += c[a]
	}
	if err := s.revealLines(ctx, &r, reveals); err != nil {
		return Report{}, err
	}
	// Validity that ends later this month has not expired yet.
	expiredBy := r.Until
	if now.Before(expiredBy) {
		expiredBy = now
	}
	if r.Vendors.Expired, err = assurance.ExpiredBetween(ctx, s.cfg.DB, r.From, expiredBy); err != nil {
		return Report{}, err
	}
	if r.Vendors.Expired == nil {
		r.Vendors.Expired = []string{}
	}
	ok, failed, err := recovery.DrillsBetween(ctx, s.cfg.DB, r.From, r.Until)
	if err != nil {
		return Report{}, err
	}
	r.Backups.Drills, r.Backups.DrillsFailed = ok+failed, failed
	if s.cfg.Training != nil {
		standings, err := s.cfg.Training(ctx)
		if err != nil {
			return Report{}, err
		}
		st := &Standing{AsOf: r.GeneratedAt}
		for _, x := range standings {
			switch x.State {
			case staff.StandingDone:
				st.Done++
			case staff.StandingExpiring:
				st.Expiring++
			case staff.StandingDue:
				st.Due++
			case staff.StandingOverdue:
				st.Overdue++
			}
		}
		r.Training.Standing = st
	}
	r.AccessReview.Quarter = review.QuarterOf(r.From).String()
	r.AccessReview.Status = ReviewNotOpened
	if s.cfg.Reviews != nil {
		// List reads; opening a review (Get) would also add new accounts to it.
		reviews, err := s.cfg.Reviews.List(ctx)
		if err != nil {
			return Report{}, err
		}
		for _, rv := range reviews {
			if rv.Quarter != r.AccessReview.Quarter {
				continue
			}
			r.AccessReview.Status = ReviewOpen
			if rv.Closed() {
				r.AccessReview.Status = ReviewClosed
			}
		}
	}
	return r, nil
}

// each calls fn with every entry of action in month m, up to the head seq.
func (s *Service) each(ctx context.Context, action string, m Month, head int64, fn func(audit.Stored)) error {
	before := head + 1
	for {
		page, err := s.cfg.Audit.Search(ctx, audit.Query{Action: action, Since: m.Start(), Until: m.End(), Before: before, Limit: audit.MaxPage})
		if err != nil {
			return fmt.Errorf("report: read %s: %w", action, err)
		}
		for _, e := range page.Entries {
			fn(e)
		}
		if page.Next == 0 {
			return nil
		}
		before = page.Next
	}
}

func (s *Service) revealLines(ctx context.Context, r *Report, counts map[[2]string]int) error {
	names := map[string]string{}
	if s.cfg.Names != nil && len(counts) > 0 {
		accounts, err := s.cfg.Names(ctx)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			names[audit.Staff(a.ID).String()] = a.Name
		}
	}
	r.Reveals.ByActor = []RevealLine{}
	for k, n := range counts {
		r.Reveals.ByActor = append(r.Reveals.ByActor, RevealLine{Actor: k[0], Name: names[k[0]], Purpose: k[1], Count: n})
	}
	slices.SortFunc(r.Reveals.ByActor, func(a, b RevealLine) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if c := strings.Compare(a.Actor, b.Actor); c != 0 {
			return c
		}
		return strings.Compare(a.Purpose, b.Purpose)
	})
	return nil
}

// Signed is a report with its signature.
type Signed struct {
	Report Report
	// JWS is the report as a compact JWS (EdDSA) under the receipt key.
	JWS string
	// Body is the download: {"jws": ..., "document": ...}, the document
	// being the JWS payload's exact bytes.
	Body []byte
}

// Signed computes and signs the report of month m.
func (s *Service) Signed(ctx context.Context, m Month) (Signed, error) {
	if s.cfg.Signer == nil {
		return Signed{}, errors.New("report: no signing key")
	}
	r, err := s.Monthly(ctx, m)
	if err != nil {
		return Signed{}, err
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return Signed{}, fmt.Errorf("report: encode: %w", err)
	}
	jws := s.cfg.Signer.SignPayload(payload)
	body, err := json.Marshal(struct {
		JWS      string          `json:"jws"`
		Document json.RawMessage `json:"document"`
	}{jws, payload})
	if err != nil {
		return Signed{}, fmt.Errorf("report: encode: %w", err)
	}
	return Signed{Report: r, JWS: jws, Body: append(body, '\n')}, nil
}

// ErrInvalid is the error of a report that does not verify.
var ErrInvalid = receipt.ErrInvalid

// Verify checks a saved report body against a key set (the server's
// /.well-known/jwks.json): the JWS verifies, the document is exactly what
// it signs, and it is a monthly report.
func Verify(body, jwks []byte) (Report, error) {
	var saved struct {
		JWS      string          `json:"jws"`
		Document json.RawMessage `json:"document"`
	}
	if err := json.Unmarshal(body, &saved); err != nil || saved.JWS == "" {
		return Report{}, fmt.Errorf("%w: not a signed report (want {\"jws\": ..., \"document\": ...})", ErrInvalid)
	}
	payload, err := receipt.VerifyPayload(saved.JWS, jwks)
	if err != nil {
		return Report{}, err
	}
	if !bytes.Equal(payload, saved.Document) {
		return Report{}, fmt.Errorf("%w: the document differs from what its JWS signs", ErrInvalid)
	}
	var r Report
	if err := json.Unmarshal(payload, &r); err != nil || r.Kind != Kind {
		return Report{}, fmt.Errorf("%w: the signed payload is not a monthly report", ErrInvalid)
	}
	return r, nil
}
