package assurance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// SecretBox seals contacts' names and addresses at rest, bound to their
// row; the vault provides one (vault.SecretBox), so that they follow the
// rotations of its key-encryption key.
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, ciphertext, associated []byte) ([]byte, error)
}

// Catalog finds a vendor's current purposes and data categories;
// *consent.Service is one.
type Catalog interface {
	Vendor(key string) (consent.Vendor, error)
}

var _ Catalog = (*consent.Service)(nil)

// Config holds what the service needs.
type Config struct {
	DB *db.DB
	// Audit records every change in its transaction, and every opening of
	// a sealed value before it happens: if the entry cannot be written,
	// the act does not happen.
	Audit   audit.Recorder
	Secrets SecretBox
	Catalog Catalog
	// Gate, when set, is told after every sign-off and withdrawal, so that
	// decisions and the banner follow at once (*consent.Service, whose
	// AssessmentSource is AssessedVendors).
	Gate Gate
	Now  func() time.Time
	// ValidMonths is how long an approval lets a vendor receive data, in
	// calendar months (default 12).
	ValidMonths int
	// Logger reports a gate that could not be refreshed (the replicas
	// re-read it within ten seconds anyway).
	Logger *slog.Logger
}

// Service keeps questionnaire templates, sends assessments to vendors,
// takes their answers, scores them, records the security officer's
// sign-off and tells disclosures whether a vendor may receive data.
type Service struct {
	db          *db.DB
	audit       audit.Recorder
	secrets     SecretBox
	catalog     Catalog
	gate        Gate
	log         *slog.Logger
	now         func() time.Time
	validMonths int
}

// NewService returns the vendor assurance service.
func NewService(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil || cfg.Secrets == nil || cfg.Catalog == nil {
		return nil, errors.New("vendor: NewService needs a DB, an audit Recorder, a SecretBox and a Catalog")
	}
	if cfg.ValidMonths < 0 || cfg.ValidMonths > 36 {
		return nil, fmt.Errorf("vendor: ValidMonths %d: want 1 to 36 (0 for the default of 12)", cfg.ValidMonths)
	}
	s := &Service{db: cfg.DB, audit: cfg.Audit, secrets: cfg.Secrets, catalog: cfg.Catalog, gate: cfg.Gate, log: cfg.Logger, now: cfg.Now, validMonths: cfg.ValidMonths}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.validMonths == 0 {
		s.validMonths = 12
	}
	return s, nil
}

// ValidMonths is how long an approval lets a vendor receive data, in
// calendar months.
func (s *Service) ValidMonths() int { return s.validMonths }

// Link lifetimes: Send's expiresIn is bounded by these.
const (
	DefaultLinkLifetime = 30 * 24 * time.Hour
	MinLinkLifetime     = time.Hour
	MaxLinkLifetime     = 90 * 24 * time.Hour
)

// Limits on what people type.
const (
	maxEmail       = 254
	maxContactName = 200
	maxComments    = 4000
	maxTextAnswer  = 4000
	maxFileRef     = 500
)

// lock is the clause that locks rows as they are read, on PostgreSQL; the
// transactions of package db write one at a time on SQLite.
func (s *Service) lock() string {
	if s.db.Dialect == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// newID returns prefix and 96 random bits, base64url: unguessable, so that
// an id in a page or a log cannot be enumerated.
func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("vendor: no randomness: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// newToken returns a link token: 256 random bits, base64url (43 characters).
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("vendor: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenHash is what is stored of a token. The token carries 256 random
// bits, so a plain SHA-256 is enough: nothing to guess, nothing to salt.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether token has the shape of newToken's, so
// that junk is refused before it reaches the store.
func wellFormedToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// contactAAD binds a sealed assessment contact to its assessment.
func contactAAD(id string) []byte { return []byte("vendor.assessment.contact:" + id) }

// checkEmail returns the address trimmed, or false.
func checkEmail(email string) (string, bool) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > maxEmail {
		return "", false
	}
	return email, true
}

// Send sends the latest version of a template to a vendor contact: it
// records an assessment in state sent, with the vendor's purposes and data
// categories as they are now (the scope it assesses), and returns the
// token of the vendor's link (LinkPath) once: only its hash is kept.
// expiresIn is how long the link works: 0 for DefaultLinkLifetime, else
// MinLinkLifetime to MaxLinkLifetime. The contact's address is sealed; the
// actor (audit.ActorFrom) is recorded as the sender.
func (s *Service) Send(ctx context.Context, vendorKey, templateKey, contactEmail string, expiresIn time.Duration) (Sent, error) {
	problems := errs.Problems{}
	email, ok := checkEmail(contactEmail)
	if !ok {
		problems.Add("contact_email", "vendor_email")
	}
	switch {
	case expiresIn == 0:
		expiresIn = DefaultLinkLifetime
	case expiresIn < MinLinkLifetime || expiresIn > MaxLinkLifetime:
		problems.Add("expires_in", "link_lifetime", "min", MinLinkLifetime.String(), "max", int(MaxLinkLifetime/(24*time.Hour)))
	}
	if len(problems) > 0 {
		return Sent{}, errs.FieldsKeyed(problems)
	}
	v, err := s.catalog.Vendor(vendorKey)
	if err != nil {
		return Sent{}, err
	}
	t, err := s.Template(ctx, templateKey)
	if err != nil {
		return Sent{}, err
	}
	id, token := newID("vas_"), newToken()
	// Sealing has a transaction of its own: it comes first.
	sealed, err := s.secrets.Seal(ctx, []byte(email), contactAAD(id))
	if err != nil {
		return Sent{}, fmt.Errorf("seal contact: %w", err)
	}
	actor := audit.ActorFrom(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	a := Assessment{ID: id, VendorKey: v.Key, TemplateKey: t.Key, TemplateVersion: t.Version, State: StateSent,
		Scope: Scope{Purposes: sortedSet(v.Purposes), DataCategories: sortedSet(v.DataCategories)}, PassMark: t.PassMark,
		SentAt: now, SentBy: actor, LinkExpiresAt: now.Add(expiresIn), UpdatedAt: now, Version: 1}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO vendor_assessments (id, vendor_key, template_key, template_version, state,
			token_hash, contact_sealed, scope_purposes, scope_categories, pass_mark, sent_at, sent_by, link_expires_at,
			updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $11, 1)`,
			a.ID, a.VendorKey, a.TemplateKey, a.TemplateVersion, string(a.State), tokenHash(token), sealed,
			mustJSON(a.Scope.Purposes), mustJSON(a.Scope.DataCategories), a.PassMark, now.UnixMicro(), actor.String(),
			a.LinkExpiresAt.UnixMicro())
		if err != nil {
			return db.Classify(fmt.Errorf("send assessment: %w", err))
		}
		details, err := audit.NewDetails(map[string]any{"assessment": a.ID, "template": a.TemplateKey,
			"template_version": a.TemplateVersion, "purposes": a.Scope.Purposes, "data_categories": a.Scope.DataCategories,
			"link_expires_at": a.LinkExpiresAt.Format(time.RFC3339)})
		if err != nil {
			return err
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "vendor.assessment_sent", Target: target(a.VendorKey), Details: details})
		return err
	})
	if err != nil {
		return Sent{}, err
	}
	return Sent{Assessment: a, Token: token}, nil
}

// sortedSet returns the values sorted, without repeats, never nil.
func sortedSet(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("vendor: marshal %T: %v", v, err)) // plain data only
	}
	return string(b)
}

// The answers to the holder of a link that does not work. They name
// nothing but the link itself.
var (
	errBadLink = errs.New(errs.CodeUnauthorized, "this questionnaire link is not valid; ask the person who sent it to you for a new one")
)

func linkExpired(at time.Time) error {
	return errs.New(errs.CodeUnauthorized, "this questionnaire link expired on %s; ask the person who sent it to you for a new one",
		at.UTC().Format(time.DateOnly))
}

// linkProblem returns why a link's assessment cannot be answered at now,
// or nil when it can.
func linkProblem(a Assessment, now time.Time) error {
	switch a.State {
	case StateSent:
		if !now.Before(a.LinkExpiresAt) {
			return linkExpired(a.LinkExpiresAt)
		}
		return nil
	case StateRevoked:
		return errs.New(errs.CodeUnauthorized, "this questionnaire link was withdrawn; ask the person who sent it to you for a new one")
	}
	at := a.UpdatedAt
	if a.SubmittedAt != nil {
		at = *a.SubmittedAt
	}
	return errs.New(errs.CodeConflict, "this questionnaire was submitted on %s and can no longer be changed", at.UTC().Format(time.DateOnly))
}

// byToken reads the assessment of a link, or fails as a bad link.
func (s *Service) byToken(ctx context.Context, q db.Querier, token, lock string) (Assessment, error) {
	if !wellFormedToken(token) {
		return Assessment{}, errBadLink
	}
	a, err := scanAssessment(q.QueryRowContext(ctx, `SELECT `+assessmentColumns+` FROM vendor_assessments WHERE token_hash = $1`+lock,
		tokenHash(token)).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Assessment{}, errBadLink
	}
	if err != nil {
		return Assessment{}, db.Classify(fmt.Errorf("read assessment: %w", err))
	}
	return a, nil
}

// ByToken returns the questionnaire of a link, with its latest saved
// answers, while the vendor may answer it. A link that is unknown,
// expired or withdrawn is refused as unauthorized; one already submitted
// as a conflict. Nothing of another assessment or vendor can be reached.
func (s *Service) ByToken(ctx context.Context, token string) (Questionnaire, error) {
	a, err := s.byToken(ctx, s.db, token, "")
	if err != nil {
		return Questionnaire{}, err
	}
	if err := linkProblem(a, s.now()); err != nil {
		return Questionnaire{}, err
	}
	t, err := templateVersion(ctx, s.db, a.TemplateKey, a.TemplateVersion)
	if err != nil {
		return Questionnaire{}, err
	}
	answers, err := latestAnswers(ctx, s.db, a.ID)
	if err != nil {
		return Questionnaire{}, err
	}
	return s.questionnaire(a, t, answers.Values), nil
}

func (s *Service) questionnaire(a Assessment, t Template, answers map[string]string) Questionnaire {
	name := a.VendorKey
	if v, err := s.catalog.Vendor(a.VendorKey); err == nil && v.Name != "" {
		name = v.Name
	}
	return Questionnaire{AssessmentID: a.ID, VendorKey: a.VendorKey, VendorName: name, TemplateName: t.Name,
		Description: t.Description, Prompts: t.prompts(), Answers: answers, AnswersVersion: a.AnswersVersion,
		LastSavedAt: a.LastSavedAt, LinkExpiresAt: a.LinkExpiresAt}
}

// checkAnswers returns the answers trimmed, without empty ones, or the
// problems with them. Submitting needs every yes/no and choice question
// answered; text and file references may stay empty (they then fail).
func checkAnswers(t Template, answers map[string]string, submit bool) (map[string]string, error) {
	problems := errs.Problems{}
	out := map[string]string{}
	for id, answer := range answers {
		field := "answers." + id
		q, ok := t.Question(id)
		if !ok {
			problems.Add(field, "no_such_question")
			continue
		}
		if q.Kind == KindText {
			answer = strings.TrimSpace(strings.ReplaceAll(answer, "\r\n", "\n"))
		} else {
			answer = strings.TrimSpace(answer)
		}
		if answer == "" {
			continue
		}
		switch q.Kind {
		case KindYesNo, KindChoice:
			if !slices.Contains(q.Choices(), answer) {
				problems.Add(field, "pick_offered_answer")
				continue
			}
		case KindText:
			if !textOK(answer, maxTextAnswer) {
				problems.Add(field, "text_at_most", "max", maxTextAnswer)
				continue
			}
		case KindFileReference:
			if checkFileRef(problems, field, answer); problems.Has(field) {
				continue
			}
		}
		out[id] = answer
	}
	if submit {
		for _, q := range t.Questions {
			if !problems.Has("answers."+q.ID) && q.Kind.closed() && out[q.ID] == "" {
				problems.Add("answers."+q.ID, "answer_before_submit")
			}
		}
	}
	if len(problems) > 0 {
		return nil, errs.FieldsKeyed(problems)
	}
	return out, nil
}

func textOK(s string, maxLen int) bool {
	return lineOK(strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "\t", " "), 0, maxLen)
}

// fileRefProblem checks a file reference: an https URL or a document id.
// Anything else (javascript:, data:, a path with spaces) is refused, so
// that what staff later see is a plain, inert reference.
func checkFileRef(problems errs.Problems, field, s string) {
	if !lineOK(s, 1, maxFileRef) {
		problems.Add(field, "one_line_at_most", "max", maxFileRef)
		return
	}
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		if host == "" || strings.ContainsAny(s, " <>\"'`\\") {
			problems.Add(field, "file_ref_link")
		}
		return
	}
	if !docIDPattern.MatchString(s) || schemePattern.MatchString(s) {
		problems.Add(field, "file_ref")
	}
}

// SaveAnswers saves the answers of a link's questionnaire as a new
// version (each version is kept), replacing the set: a question left out
// is unanswered. With submit, the answers are scored and the assessment
// becomes submitted, awaiting the security officer's review; it can no
// longer be changed. Saving answers identical to the latest version adds
// no version. The link is checked as by ByToken.
func (s *Service) SaveAnswers(ctx context.Context, token string, answers map[string]string, submit bool) (Questionnaire, error) {
	var out Questionnaire
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.byToken(ctx, tx, token, s.lock())
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if err := linkProblem(a, now); err != nil {
			return err
		}
		t, err := templateVersion(ctx, tx, a.TemplateKey, a.TemplateVersion)
		if err != nil {
			return err
		}
		values, err := checkAnswers(t, answers, submit)
		if err != nil {
			return err
		}
		latest, err := latestAnswers(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if !submit && latest.Version > 0 && maps.Equal(latest.Values, values) {
			out = s.questionnaire(a, t, values)
			return nil
		}
		version := a.AnswersVersion + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO vendor_answers (assessment_id, version, saved_at, answers, submitted)
			VALUES ($1, $2, $3, $4, $5)`, a.ID, version, now.UnixMicro(), mustJSON(values), submit); err != nil {
			return db.Classify(fmt.Errorf("save answers: %w", err))
		}
		before := a.Version
		a.AnswersVersion, a.LastSavedAt, a.UpdatedAt, a.Version = version, &now, now, a.Version+1
		if submit {
			score := t.Score(values)
			a.State, a.SubmittedAt, a.Score = StateSubmitted, &now, &score
		}
		if err := writeAssessment(ctx, tx, a, before); err != nil {
			return err
		}
		if submit {
			details, err := audit.NewDetails(map[string]any{"assessment": a.ID, "answers_version": version,
				"score": a.Score.Percent, "passed": a.Score.Passed, "failed": a.Score.Failed, "must_pass_failed": a.Score.MustPassFailed})
			if err != nil {
				return err
			}
			if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.Actor{Kind: ActorVendorLink, ID: a.ID},
				Action: "vendor.assessment_submitted", Target: target(a.VendorKey), Details: details}); err != nil {
				return err
			}
		}
		out = s.questionnaire(a, t, values)
		out.Submitted = submit
		return nil
	})
	if err != nil {
		return Questionnaire{}, err
	}
	return out, nil
}

// writeAssessment writes back the changeable columns of a, if its version
// is still before: a change made meanwhile by a writer that did not lock
// the row fails instead of being overwritten.
func writeAssessment(ctx context.Context, tx *sql.Tx, a Assessment, before int64) error {
	var earned, possible int
	var passed bool
	failed, mustPassFailed := "[]", "[]"
	if a.Score != nil {
		earned, possible, passed = a.Score.Earned, a.Score.Possible, a.Score.Passed
		failed, mustPassFailed = mustJSON(a.Score.Failed), mustJSON(a.Score.MustPassFailed)
	}
	reviewedBy := ""
	if a.ReviewedAt != nil {
		reviewedBy = a.ReviewedBy.String()
	}
	res, err := tx.ExecContext(ctx, `UPDATE vendor_assessments SET state = $3, answers_version = $4, last_saved_at = $5,
		submitted_at = $6, score_earned = $7, score_possible = $8, passed = $9, failed = $10, must_pass_failed = $11,
		reviewed_at = $12, reviewed_by = $13, review_comments = $14, valid_until = $15, revoked_at = $16,
		revoke_reason = $17, updated_at = $18, version = $19 WHERE id = $1 AND version = $2`,
		a.ID, before, string(a.State), a.AnswersVersion, db.OptMicros(a.LastSavedAt), db.OptMicros(a.SubmittedAt), earned, possible,
		passed, failed, mustPassFailed, db.OptMicros(a.ReviewedAt), reviewedBy, a.ReviewComments, db.OptMicros(a.ValidUntil),
		db.OptMicros(a.RevokedAt), a.RevokeReason, a.UpdatedAt.UnixMicro(), a.Version)
	if err != nil {
		return db.Classify(fmt.Errorf("update assessment: %w", err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.New(errs.CodeConflict, "assessment %s was changed meanwhile; reload it and try again", a.ID).Keyed("assessment_changed")
	}
	return nil
}

// change applies fn to assessment id in one transaction: the row (locked
// on PostgreSQL), then the audit entry fn returns, commit together or not
// at all. fn changes a and returns the entry's action and facts; an error
// refuses the change.
func (s *Service) change(ctx context.Context, id string, fn func(a *Assessment, now time.Time) (string, map[string]any, error)) (Assessment, error) {
	actor := audit.ActorFrom(ctx)
	var out Assessment
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		a, err := getAssessment(ctx, tx, id, s.lock())
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		before := a.Version
		action, facts, err := fn(&a, now)
		if err != nil {
			return err
		}
		a.UpdatedAt, a.Version = now, before+1
		if err := writeAssessment(ctx, tx, a, before); err != nil {
			return err
		}
		facts["assessment"] = a.ID
		details, err := audit.NewDetails(facts)
		if err != nil {
			return err
		}
		if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: action, Target: target(a.VendorKey), Details: details}); err != nil {
			return err
		}
		out = a
		return nil
	})
	if err != nil {
		return Assessment{}, err
	}
	return out, nil
}

// Review records the security officer's sign-off of a submitted
// assessment, with their comments (required: they are the record of what
// was checked, or why it was refused). Approval makes the vendor eligible
// to receive data for ValidMonths, within the assessed scope; it is
// refused for answers that did not pass. There is no override: a vendor
// that falls short is rejected and sent a new questionnaire once it has
// closed the gaps, so that "passing" always means the answers passed. Only
// a staff member signs off (audit.ActorFrom).
func (s *Service) Review(ctx context.Context, id string, approve bool, comments string) (Assessment, error) {
	if audit.ActorFrom(ctx).Kind != audit.KindStaff {
		return Assessment{}, errs.New(errs.CodeForbidden, "an assessment is signed off by a security officer, signed in").Keyed("assessment_signoff_officer")
	}
	comments, err := checkNote("comments", comments, maxComments)
	if err != nil {
		return Assessment{}, err
	}
	action := "vendor.assessment_rejected"
	if approve {
		action = "vendor.assessment_approved"
	}
	a, err := s.change(ctx, id, func(a *Assessment, now time.Time) (string, map[string]any, error) {
		if a.State != StateSubmitted {
			return "", nil, errs.New(errs.CodeConflict, "cannot review assessment %s: it is %s (only a submitted assessment is reviewed)", a.ID, a.State).Keyed("assessment_not_submitted", "state", string(a.State))
		}
		if approve && !a.Passed() {
			return "", nil, errs.New(errs.CodeConflict, "assessment %s did not pass (%s), so it cannot be approved: reject it with your comments, and send a new questionnaire once the vendor has closed the gaps",
				a.ID, shortfall(a.Score)).Keyed("assessment_failed", "shortfall", shortfall(a.Score))
		}
		facts := map[string]any{"score": a.Score.Percent, "passed": a.Score.Passed}
		a.ReviewedAt, a.ReviewedBy, a.ReviewComments = &now, audit.ActorFrom(ctx), comments
		if approve {
			until := now.AddDate(0, s.validMonths, 0)
			a.State, a.ValidUntil = StateApproved, &until
			facts["valid_until"] = until.Format(time.RFC3339)
		} else {
			a.State = StateRejected
		}
		return action, facts, nil
	})
	if err != nil {
		return Assessment{}, err
	}
	s.refreshGate(ctx)
	return a, nil
}

// shortfall says why a score did not pass.
func shortfall(sc *Score) string {
	if sc == nil {
		return "not scored"
	}
	var why []string
	if sc.Earned*100 < sc.PassMark*sc.Possible {
		why = append(why, fmt.Sprintf("score %d%%, pass mark %d%%", sc.Percent, sc.PassMark))
	}
	if len(sc.MustPassFailed) > 0 {
		why = append(why, "failed must-pass questions: "+strings.Join(sc.MustPassFailed, ", "))
	}
	return strings.Join(why, "; ")
}

// Revoke withdraws the link of an assessment not yet submitted (it was
// sent to the wrong person, or leaked), or an approval (the vendor was
// breached, or its certificate lapsed): from then on the vendor receives
// nothing, in disclosures and decisions alike, until a new assessment is
// approved. The reason is kept with it.
func (s *Service) Revoke(ctx context.Context, id, reason string) (Assessment, error) {
	reason, err := checkNote("reason", reason, maxComments)
	if err != nil {
		return Assessment{}, err
	}
	a, err := s.change(ctx, id, func(a *Assessment, now time.Time) (string, map[string]any, error) {
		if a.State != StateSent && a.State != StateApproved {
			return "", nil, errs.New(errs.CodeConflict, "cannot withdraw assessment %s: it is %s (only a questionnaire not yet submitted, or an approval, is withdrawn)", a.ID, a.State).Keyed("assessment_not_withdrawable", "state", string(a.State))
		}
		facts := map[string]any{"was": string(a.State)}
		a.State, a.RevokedAt, a.RevokeReason = StateRevoked, &now, reason
		return "vendor.assessment_revoked", facts, nil
	})
	if err != nil {
		return Assessment{}, err
	}
	s.refreshGate(ctx)
	return a, nil
}

// checkNote returns text typed by staff, trimmed; it is required and
// bounded. It is kept with the assessment, never in the audit log.
func checkNote(field, text string, maxLen int) (string, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch {
	case text == "":
		return "", errs.InvalidKeyed(field, "required")
	case !textOK(text, maxLen):
		return "", errs.InvalidKeyed(field, "text_at_most", "max", maxLen)
	}
	return text, nil
}

// Contact returns the address an assessment was sent to. Opening it is
// recorded in the audit log first: no entry, no address.
func (s *Service) Contact(ctx context.Context, id string) (string, error) {
	var vendorKey string
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT vendor_key, contact_sealed FROM vendor_assessments WHERE id = $1`, id).Scan(&vendorKey, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFound("assessment", id)
	}
	if err != nil {
		return "", db.Classify(fmt.Errorf("read assessment contact: %w", err))
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "vendor.assessment_contact_revealed",
		Target: target(vendorKey), Details: audit.MustDetails(map[string]any{"assessment": id})}); err != nil {
		return "", err
	}
	plain, err := s.secrets.Open(ctx, sealed, contactAAD(id))
	if err != nil {
		return "", fmt.Errorf("open assessment contact: %w", err)
	}
	return string(plain), nil
}
