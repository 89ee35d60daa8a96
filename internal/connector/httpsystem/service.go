package httpsystem

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/netguard"
)

// SecretBox seals the data systems return for access requests
// (vault.SecretBox): it is personal data, at rest only encrypted.
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, sealed, associated []byte) ([]byte, error)
}

// Defaults applied by New to fields left zero.
const (
	// DefaultRequestTimeout bounds one outgoing call, as the specification
	// recommends (15 to 30 seconds): the system only has to accept it.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultMaxCallbackBytes bounds a callback's body: an access answer
	// is the subject's data in one JSON document, and a larger one is
	// better split by the system than held in memory here.
	DefaultMaxCallbackBytes = 16 << 20
)

// Config holds what the service needs.
type Config struct {
	DB      *db.DB
	Secrets SecretBox
	// Datasets are the HTTP systems; calls and callbacks of other names
	// are refused.
	Datasets []*Dataset
	// Getenv reads each system's secret (Dataset.SecretEnv) when it is
	// used, so that the secret never sits in a file or a struct for long.
	Getenv func(string) string
	// PublicURL is Steward's address as the systems reach it; callbacks go
	// to PublicURL/v1/connectors/NAME/callback/CALL_ID. It must be https
	// unless it is on localhost.
	PublicURL string
	// AllowHosts are the internal hosts, addresses and ranges the systems
	// may be at (--webhook-allow-hosts, the list webhook endpoints use):
	// every call dials through netguard, and any other internal address,
	// loopback included, is refused. Metadata addresses stay refused.
	AllowHosts []string
	// Resolver resolves the systems' hosts; net.DefaultResolver when nil.
	Resolver       netguard.Resolver
	RequestTimeout time.Duration
	// MaxCallbackBytes bounds a callback's body (DefaultMaxCallbackBytes).
	MaxCallbackBytes int64
	Now              func() time.Time
}

// Service calls the company's HTTP systems for requests and records their
// callbacks. It is safe for concurrent use; replicas share its state
// through the database.
type Service struct {
	Config
	datasets map[string]*Dataset
	client   *http.Client
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Secrets == nil {
		return nil, errors.New("webhook: New needs a DB and a SecretBox")
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxCallbackBytes <= 0 {
		cfg.MaxCallbackBytes = DefaultMaxCallbackBytes
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Service{Config: cfg, datasets: map[string]*Dataset{}}
	for _, ds := range cfg.Datasets {
		if _, dup := s.datasets[ds.Name]; dup {
			return nil, fmt.Errorf("webhook: two datasets name connector %q", ds.Name)
		}
		s.datasets[ds.Name] = ds
	}
	if len(cfg.Datasets) > 0 {
		// The systems call back with personal data: only over TLS, or on
		// this machine.
		if problem := checkURL(cfg.PublicURL); problem != "" {
			return nil, fmt.Errorf("webhook: the public URL %q receives the callbacks of HTTP connectors: %s", redactURL(cfg.PublicURL), problem)
		}
	}
	policy, err := netguard.NewPolicy(cfg.AllowHosts)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	for _, ds := range cfg.Datasets {
		// An address written in the file is refused now, at start, rather
		// than at the first request; names are checked as each call dials.
		if problem := literalRefused(policy, ds.URL); problem != "" {
			return nil, fmt.Errorf("webhook: connector %s (%s): url: %s", ds.Name, ds.File, problem)
		}
	}
	dialer := &netguard.Dialer{Policy: policy, Resolver: cfg.Resolver, Timeout: cfg.RequestTimeout}
	s.client = &http.Client{
		Transport: netguard.Transport(dialer, cfg.RequestTimeout),
		Timeout:   cfg.RequestTimeout,
		// A redirect would carry the signed subject's identifiers wherever
		// the system points; the specification counts it as a failure too.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// State is where a call stands.
type State string

// The states of a call.
const (
	// Pending: the call is made (or is being delivered) and its callback
	// has not come. The caller snoozes and asks again.
	Pending State = "pending"
	// Done: the system called back with its answer.
	Done State = "done"
	// Failed: the system refused the call or called back that it failed.
	Failed State = "failed"
	// TimedOut: no callback came by the deadline. A pending call reads as
	// timed out once its deadline has passed; Start then records it so.
	TimedOut State = "timed_out"
)

// Call is one call of Steward to a system, for one request and operation.
type Call struct {
	ID        string
	Connector string
	Operation Operation
	RequestID string
	State     State
	CreatedAt time.Time
	// AcceptedAt is when the system answered the call with 2xx; zero while
	// it has not, and Start delivers it again.
	AcceptedAt time.Time
	// Deadline is when Steward stops waiting: Dataset.Timeout after the
	// call was accepted (after it was made, until then).
	Deadline    time.Time
	CompletedAt time.Time // zero while pending
	// Failure says why a call failed or timed out, for staff: the HTTP
	// status the system answered, or the reason it called back with.
	Failure string
	// Report is what an erasure or a correction did, as the system
	// reported it: present when a done call (or a failed one that sent
	// it) is read. A correction's steps name fields and say corrected or
	// not_held.
	Report *ErasureReport
	// DataBytes is the size of the data an access call returned; HasData
	// says whether it is still held (see Data and DropData).
	DataBytes int64
	HasData   bool
}

// ErasureReport is what a system erased: counts per kind of record or
// field, never a value. A correction's report has the same shape: a step
// per field, corrected or not_held.
type ErasureReport struct {
	Steps []ErasureStep `json:"steps"`
}

// ErasureStep is one kind of record or field a system erased or kept.
type ErasureStep struct {
	// What names the record type or field, such as "contacts" or
	// "contacts.phone": letters, digits, _ . - / and :, so that no value
	// (an address, a name) can be passed off as a name.
	What string `json:"what"`
	// Action is deleted, anonymised or kept.
	Action string `json:"action"`
	// Count is how many records the action touched.
	Count int64 `json:"count"`
	// LegalReason says why kept records stay; required with kept.
	LegalReason string `json:"legal_reason,omitempty"`
}

// The actions of an erasure step.
const (
	ActionDeleted    = "deleted"
	ActionAnonymised = "anonymised"
	ActionKept       = "kept"
)

// The actions of a correction step: the system set the new value, or it
// holds no such value for the subject (nothing to correct there).
const (
	ActionCorrected = "corrected"
	ActionNotHeld   = "not_held"
)

var reportName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./:-]{0,127}$`)

func (r *ErasureReport) valid() map[string]string {
	problems := map[string]string{}
	for i, step := range r.Steps {
		field := fmt.Sprintf("report.steps[%d]", i)
		if !reportName.MatchString(step.What) {
			problems[field+".what"] = "name the record type or field with letters, digits and _ . - / : (at most 128)"
		}
		switch step.Action {
		case ActionDeleted, ActionAnonymised:
			if step.LegalReason != "" {
				problems[field+".legal_reason"] = "legal_reason only goes with kept"
			}
		case ActionKept:
			if strings.TrimSpace(step.LegalReason) == "" {
				problems[field+".legal_reason"] = "kept records need a legal_reason"
			}
		default:
			problems[field+".action"] = "want deleted, anonymised or kept"
		}
		if step.Count < 0 {
			problems[field+".count"] = "a count cannot be negative"
		}
		if len(step.LegalReason) > maxReasonBytes {
			problems[field+".legal_reason"] = fmt.Sprintf("at most %d bytes", maxReasonBytes)
		}
	}
	return problems
}

// validCorrection checks the report of a correction: one step per field
// the system was asked about, named as the dataset lists it, each
// corrected or not held.
func (r *ErasureReport) validCorrection(ds *Dataset) map[string]string {
	problems := map[string]string{}
	seen := map[string]bool{}
	for i, step := range r.Steps {
		field := fmt.Sprintf("report.steps[%d]", i)
		switch _, known := ds.CorrectableField(step.What); {
		case !known:
			problems[field+".what"] = "name one of the correctable fields of the dataset file"
		case seen[step.What]:
			problems[field+".what"] = "each field once"
		}
		seen[step.What] = true
		if step.Action != ActionCorrected && step.Action != ActionNotHeld {
			problems[field+".action"] = "want corrected or not_held"
		}
		if step.LegalReason != "" {
			problems[field+".legal_reason"] = "legal_reason only goes with an erasure's kept"
		}
		if step.Count < 0 {
			problems[field+".count"] = "a count cannot be negative"
		}
	}
	return problems
}

// maxReasonBytes bounds the texts a system sends (a failure reason, a
// legal reason): they are read by staff, not stored data.
const maxReasonBytes = 1000

// callColumns are read by scanCall, in this order.
const callColumns = `id, connector, operation, request_id, state, created_at, accepted_at, deadline, completed_at,
	failure, report, data_sealed IS NOT NULL, data_bytes`

type scanner interface{ Scan(dest ...any) error }

// scanCall reads a row of callColumns, and extra columns after them into
// extra.
func (s *Service) scanCall(row scanner, extra ...any) (Call, error) {
	var (
		c                              Call
		created, deadline              int64
		accepted, completed, dataBytes sql.NullInt64
		failure, report                sql.NullString
		hasData                        bool
	)
	dest := []any{&c.ID, &c.Connector, &c.Operation, &c.RequestID, &c.State, &created, &accepted, &deadline, &completed,
		&failure, &report, &hasData, &dataBytes}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return Call{}, err
	}
	c.CreatedAt, c.Deadline = time.UnixMicro(created).UTC(), time.UnixMicro(deadline).UTC()
	if accepted.Valid {
		c.AcceptedAt = time.UnixMicro(accepted.Int64).UTC()
	}
	if completed.Valid {
		c.CompletedAt = time.UnixMicro(completed.Int64).UTC()
	}
	c.Failure, c.HasData, c.DataBytes = failure.String, hasData, dataBytes.Int64
	if report.Valid {
		c.Report = &ErasureReport{}
		if err := json.Unmarshal([]byte(report.String), c.Report); err != nil {
			return Call{}, fmt.Errorf("call %s: read report: %w", c.ID, err)
		}
	}
	if c.State == Pending && s.Now().After(c.Deadline) {
		c.State = TimedOut
	}
	return c, nil
}

// Call returns a call by its id.
func (s *Service) Call(ctx context.Context, callID string) (Call, error) {
	c, err := s.scanCall(s.DB.QueryRowContext(ctx, `SELECT `+callColumns+` FROM webhook_calls WHERE id = $1`, callID))
	if errors.Is(err, sql.ErrNoRows) {
		return Call{}, errs.NotFound("connector call", callID)
	}
	if err != nil {
		return Call{}, db.Classify(fmt.Errorf("read connector call: %w", err))
	}
	return c, nil
}

// Result returns the latest call to a system for a request and operation,
// without calling anything: for display, and for a caller that only reads
// (Start is the poll of a job). A request never called gives
// errs.CodeNotFound.
func (s *Service) Result(ctx context.Context, connectorName, requestID string, op Operation) (Call, error) {
	c, err := s.scanCall(s.DB.QueryRowContext(ctx, `SELECT `+callColumns+` FROM webhook_calls
		WHERE connector = $1 AND request_id = $2 AND operation = $3 ORDER BY created_at DESC, id DESC LIMIT 1`,
		connectorName, requestID, string(op)))
	if errors.Is(err, sql.ErrNoRows) {
		return Call{}, errs.New(errs.CodeNotFound, "connector %s was never called for %s of request %s", connectorName, op, requestID)
	}
	if err != nil {
		return Call{}, db.Classify(fmt.Errorf("read connector call: %w", err))
	}
	return c, nil
}

// Calls returns every call made for a request, oldest first: what staff
// see when a request waits on a system, failures included.
func (s *Service) Calls(ctx context.Context, requestID string) ([]Call, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+callColumns+` FROM webhook_calls WHERE request_id = $1 ORDER BY created_at, id`, requestID)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list connector calls: %w", err))
	}
	defer rows.Close()
	var out []Call
	for rows.Next() {
		c, err := s.scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("list connector calls: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("list connector calls: %w", err))
	}
	return out, nil
}

// Data returns the JSON a system returned for a done access call,
// decrypted. It is the subject's personal data: callers record who reads
// it and why, as for any other.
func (s *Service) Data(ctx context.Context, callID string) ([]byte, error) {
	var (
		connectorName, op, state string
		sealed                   []byte
	)
	err := s.DB.QueryRowContext(ctx, `SELECT connector, operation, state, data_sealed FROM webhook_calls WHERE id = $1`, callID).
		Scan(&connectorName, &op, &state, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("connector call", callID)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read connector call: %w", err))
	}
	switch {
	case Operation(op) != Access:
		return nil, errs.New(errs.CodeConflict, "call %s is an %s call, which returns no data", callID, op)
	case State(state) != Done:
		return nil, errs.New(errs.CodeConflict, "call %s is %s, not done", callID, state)
	case sealed == nil:
		return nil, errs.New(errs.CodeNotFound, "the data of call %s was dropped", callID)
	}
	data, err := s.Secrets.Open(ctx, sealed, dataAAD(connectorName, callID))
	if err != nil {
		return nil, fmt.Errorf("open data of call %s: %w", callID, err)
	}
	return data, nil
}

// DropData deletes the data of an access call, keeping the call and its
// size: once the archive holds it, Steward has no reason to keep a copy.
// Dropping twice is not an error.
func (s *Service) DropData(ctx context.Context, callID string) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE webhook_calls SET data_sealed = NULL WHERE id = $1`, callID)
	if err != nil {
		return db.Classify(fmt.Errorf("drop call data: %w", err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("connector call", callID)
	}
	return nil
}

// PurgeData drops the data of every access call completed before cutoff,
// for a maintenance job: data whose archive was never built does not stay
// forever. It returns how many calls lost their data.
func (s *Service) PurgeData(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE webhook_calls SET data_sealed = NULL WHERE data_sealed IS NOT NULL AND completed_at < $1`, cutoff.UnixMicro())
	if err != nil {
		return 0, db.Classify(fmt.Errorf("purge call data: %w", err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// dataAAD binds sealed data to its call, so that a row's data copied into
// another row does not open.
func dataAAD(connectorName, callID string) []byte {
	return []byte("webhook-data:" + connectorName + ":" + callID)
}

func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	// URL-safe base64 has no '.', which the signed content reserves, and
	// sits in the callback path unescaped.
	return "whc_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// callURL is where the system calls back for a call.
func (s *Service) callURL(connectorName, callID string) string {
	return s.PublicURL + "/v1/connectors/" + connectorName + "/callback/" + callID
}

// literalRefused says why the policy refuses the host of a system's URL
// when it is an address or localhost, or "".
func literalRefused(policy *netguard.Policy, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	addrs := []netip.Addr{}
	if addr, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, addr)
	} else if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		addrs = append(addrs, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"))
	}
	for _, a := range addrs {
		if refused := policy.Check(host, a); refused != nil {
			return refused.Error() + ": Steward calls no system in its own network unless an operator allow-lists the host (--webhook-allow-hosts)"
		}
	}
	return ""
}
