package scanner

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Trigger says who started a scan.
type Trigger string

// The triggers.
const (
	TriggerCLI      Trigger = "cli"
	TriggerConsole  Trigger = "console"
	TriggerSchedule Trigger = "schedule"
)

// RunState is where a stored scan stands.
type RunState string

// The states of a run.
const (
	RunRunning RunState = "running"
	RunDone    RunState = "done"
	RunFailed  RunState = "failed"
)

// Run is a stored scan, without its report.
type Run struct {
	ID           string
	Property     string
	Trigger      Trigger
	State        RunState
	StartedAt    time.Time
	FinishedAt   *time.Time
	Pages        int
	Violations   int
	Unclassified int
	Truncated    bool
	// Message says why a run failed.
	Message string
}

// StoredTracker is what the scans of a property found, and its
// classification.
type StoredTracker struct {
	Property   string
	Kind       Kind
	Name       string
	Domain     string
	ThirdParty bool
	Lifetime   int64
	Source     string
	Purpose    string
	Vendor     string
	Platform   string
	Category   string
	// Suggested is the purpose whose grant alone showed it.
	Suggested  string
	AssignedBy string
	AssignedAt *time.Time
	FirstSeen  time.Time
	LastSeen   time.Time
}

// Config is what a Service needs.
type Config struct {
	DB      *db.DB
	Audit   *audit.Log
	Catalog Catalog
	// PublicURL is where browsers reach Steward (its host is no tracker).
	PublicURL string
	// Options are the scans' defaults (Chromium's path, page limit...).
	Options Options
	// KeepRuns is how many runs of a property are kept, newest first
	// (default 100: two years of weekly scans); older ones are deleted
	// when a new one is stored.
	KeepRuns int
	// Recorded, when set, is told of every report stored, after it is:
	// the inventory's drift takes its undeclared trackers from it
	// (drift.TrackerResult). Its error is logged; the report stays.
	Recorded func(ctx context.Context, report *Report) error
	Now      func() time.Time
	Log      *slog.Logger
}

// Service runs scans and keeps their results and the officers'
// classifications (tables scan_runs and scan_trackers).
type Service struct {
	db      *db.DB
	audit   *audit.Log
	catalog Catalog
	public  string
	options Options
	now     func() time.Time
	log     *slog.Logger
	ocd     *CookieDB
	keep    int
	// recorded is Config.Recorded.
	recorded func(ctx context.Context, report *Report) error
	// background scans started from the console; Close waits for them.
	wg      sync.WaitGroup
	stop    context.CancelFunc
	stopCtx context.Context
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Audit == nil || cfg.Catalog == nil {
		return nil, errors.New("scanner: DB, Audit and Catalog are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.KeepRuns <= 0 {
		cfg.KeepRuns = 100
	}
	ocd, err := OpenCookieDB()
	if err != nil {
		return nil, err
	}
	cfg.Options.CookieDB = ocd
	if cfg.Options.Now == nil {
		cfg.Options.Now = cfg.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{db: cfg.DB, audit: cfg.Audit, catalog: cfg.Catalog, public: cfg.PublicURL, options: cfg.Options,
		now: cfg.Now, log: cfg.Log, ocd: ocd, keep: cfg.KeepRuns, recorded: cfg.Recorded, stopCtx: ctx, stop: stop}, nil
}

// Close stops the scans started in the background and waits for them.
func (s *Service) Close() error {
	s.stop()
	s.wg.Wait()
	return nil
}

// Options returns the scans' defaults.
func (s *Service) Options() Options { return s.options }

// Target builds the target of property with the officers' assignments.
func (s *Service) Target(ctx context.Context, property string, urls []string) (Target, error) {
	t, err := s.assigned(ctx, property, urls)
	if err != nil {
		return t, err
	}
	return t, t.Validate()
}

// assigned builds the target of property with the officers' assignments,
// unvalidated.
func (s *Service) assigned(ctx context.Context, property string, urls []string) (Target, error) {
	t, err := buildTarget(s.catalog, property, urls, s.public)
	if err != nil {
		return t, err
	}
	trackers, err := s.Trackers(ctx, property)
	if err != nil {
		return t, err
	}
	for _, tr := range trackers {
		if tr.Source == SourceAssigned {
			t.Assignments = append(t.Assignments, Assignment{Kind: tr.Kind, Name: tr.Name, Purpose: tr.Purpose, Vendor: tr.Vendor})
		}
	}
	return t, nil
}

// Scan scans property now and stores the run: the report, and what it
// found in scan_trackers. urls and o override the target's start and the
// service's options where set. The run is stored (failed) when the scan
// cannot start, too.
func (s *Service) Scan(ctx context.Context, property string, urls []string, o Options, trigger Trigger) (Run, *Report, error) {
	t, err := s.Target(ctx, property, urls)
	if err != nil {
		return Run{}, nil, err
	}
	run, err := s.begin(ctx, property, trigger)
	if err != nil {
		return Run{}, nil, err
	}
	return s.finish(ctx, run, t, o)
}

// Start begins a scan in the background (the console's "run now") and
// returns its running row at once.
func (s *Service) Start(ctx context.Context, property string, trigger Trigger) (Run, error) {
	t, err := s.Target(ctx, property, nil)
	if err != nil {
		return Run{}, err
	}
	if _, err := FindChrome(s.options.Chrome); err != nil {
		return Run{}, errs.Wrap(errs.CodeUnavailable, err, err.Error())
	}
	run, err := s.begin(ctx, property, trigger)
	if err != nil {
		return Run{}, err
	}
	s.wg.Go(func() {
		if _, _, err := s.finish(s.stopCtx, run, t, Options{}); err != nil {
			s.log.Error("scan", "property", property, "run", run.ID, "err", err)
		}
	})
	return run, nil
}

func (s *Service) begin(ctx context.Context, property string, trigger Trigger) (Run, error) {
	run := Run{ID: newID("scn_"), Property: property, Trigger: trigger, State: RunRunning, StartedAt: s.now().UTC().Truncate(time.Microsecond)}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO scan_runs (id, property, trigger_kind, state, started_at) VALUES ($1, $2, $3, $4, $5)`,
		run.ID, run.Property, string(run.Trigger), string(run.State), run.StartedAt.UnixMicro()); err != nil {
		return Run{}, db.Classify(fmt.Errorf("record scan: %w", err))
	}
	return run, nil
}

// Record stores a finished report as a run (a scan made elsewhere, or
// imported), and merges its trackers.
func (s *Service) Record(ctx context.Context, report *Report, trigger Trigger) (Run, error) {
	run, err := s.begin(ctx, report.Property, trigger)
	if err != nil {
		return Run{}, err
	}
	return run, s.record(ctx, &run, report)
}

// finish scans and stores the outcome.
func (s *Service) finish(ctx context.Context, run Run, t Target, o Options) (Run, *Report, error) {
	opts := s.options
	if o.Chrome != "" {
		opts.Chrome = o.Chrome
	}
	if o.Pages > 0 {
		opts.Pages = o.Pages
	}
	if o.ChromeFlags != nil {
		opts.ChromeFlags = o.ChromeFlags
	}
	report, scanErr := Scan(ctx, t, opts)
	// The outcome is written even when ctx ended the scan.
	wctx := context.WithoutCancel(ctx)
	if scanErr != nil {
		run.State, run.Message = RunFailed, scanErr.Error()
		now := s.now().UTC()
		run.FinishedAt = &now
		if _, err := s.db.ExecContext(wctx, `UPDATE scan_runs SET state = 'failed', finished_at = $1, message = $2 WHERE id = $3`,
			now.UnixMicro(), run.Message, run.ID); err != nil {
			return run, nil, errors.Join(scanErr, db.Classify(err))
		}
		return run, nil, scanErr
	}
	if err := s.record(wctx, &run, report); err != nil {
		return run, report, err
	}
	return run, report, nil
}

// record stores a finished report and merges its trackers into
// scan_trackers, keeping the officers' assignments.
func (s *Service) record(ctx context.Context, run *Run, report *Report) error {
	body, err := json.Marshal(report)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	run.State, run.FinishedAt = RunDone, &now
	run.Pages, run.Violations, run.Unclassified, run.Truncated = len(report.Pages), len(report.Violations), report.Unclassified(), report.Truncated
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE scan_runs SET state = 'done', finished_at = $1, pages = $2, violations = $3,
			unclassified = $4, truncated = $5, report = $6 WHERE id = $7`,
			now.UnixMicro(), run.Pages, run.Violations, run.Unclassified, run.Truncated, string(body), run.ID); err != nil {
			return fmt.Errorf("store report: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM scan_runs WHERE property = $1 AND state <> 'running' AND id NOT IN
			(SELECT id FROM scan_runs WHERE property = $1 ORDER BY started_at DESC, id DESC LIMIT $2)`, report.Property, s.keep); err != nil {
			return fmt.Errorf("drop old scans: %w", err)
		}
		for _, t := range report.Trackers {
			// An officer's assignment stays; everything else follows the
			// newest scan.
			if _, err := tx.ExecContext(ctx, `INSERT INTO scan_trackers (property, kind, name, domain, third_party, lifetime,
				source, purpose, vendor, platform, category, suggested, first_seen, last_seen)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
				ON CONFLICT (property, kind, name, domain) DO UPDATE SET third_party = excluded.third_party,
					lifetime = excluded.lifetime, platform = excluded.platform, category = excluded.category,
					suggested = excluded.suggested, last_seen = excluded.last_seen,
					source = CASE WHEN scan_trackers.source = 'assigned' THEN scan_trackers.source ELSE excluded.source END,
					purpose = CASE WHEN scan_trackers.source = 'assigned' THEN scan_trackers.purpose ELSE excluded.purpose END,
					vendor = CASE WHEN scan_trackers.source = 'assigned' THEN scan_trackers.vendor ELSE excluded.vendor END`,
				report.Property, string(t.Kind), t.Name, t.Domain, t.ThirdParty, t.Lifetime, t.Class.Source, t.Class.Purpose,
				t.Class.Vendor, t.Class.Platform, t.Class.Category, t.Suggested, now.UnixMicro()); err != nil {
				return fmt.Errorf("store tracker: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return db.Classify(err)
	}
	if s.recorded != nil {
		if err := s.recorded(ctx, report); err != nil {
			// The scan is stored; its drift is recorded again by the
			// next scan.
			s.log.Warn("scan: record undeclared trackers as drift", "property", report.Property, "err", err)
		}
	}
	return nil
}

const runColumns = `id, property, trigger_kind, state, started_at, finished_at, pages, violations, unclassified, truncated, message`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var trigger, state string
	var started int64
	var finished sql.NullInt64
	if err := row.Scan(&r.ID, &r.Property, &trigger, &state, &started, &finished, &r.Pages, &r.Violations, &r.Unclassified, &r.Truncated, &r.Message); err != nil {
		return Run{}, err
	}
	r.Trigger, r.State, r.StartedAt = Trigger(trigger), RunState(state), time.UnixMicro(started).UTC()
	if finished.Valid {
		t := time.UnixMicro(finished.Int64).UTC()
		r.FinishedAt = &t
	}
	return r, nil
}

// Runs lists the runs of property ("" for every property), newest first,
// at most limit.
func (s *Service) Runs(ctx context.Context, property string, limit int) ([]Run, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	where, args := "", []any{limit}
	if property != "" {
		where, args = "WHERE property = $2 ", append(args, property)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM scan_runs `+where+`ORDER BY started_at DESC, id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list scans: %w", err))
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("read scan: %w", err)
		}
		out = append(out, r)
	}
	return out, db.Classify(rows.Err())
}

// Report returns a run and its report (nil while it runs or when it
// failed).
func (s *Service) Report(ctx context.Context, id string) (Run, *Report, error) {
	var body string
	row := s.db.QueryRowContext(ctx, `SELECT `+runColumns+`, report FROM scan_runs WHERE id = $1`, id)
	var r Run
	var trigger, state string
	var started int64
	var finished sql.NullInt64
	err := row.Scan(&r.ID, &r.Property, &trigger, &state, &started, &finished, &r.Pages, &r.Violations, &r.Unclassified, &r.Truncated, &r.Message, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, nil, errs.NotFound("scan", id)
	}
	if err != nil {
		return Run{}, nil, db.Classify(fmt.Errorf("read scan: %w", err))
	}
	r.Trigger, r.State, r.StartedAt = Trigger(trigger), RunState(state), time.UnixMicro(started).UTC()
	if finished.Valid {
		t := time.UnixMicro(finished.Int64).UTC()
		r.FinishedAt = &t
	}
	if body == "" {
		return r, nil, nil
	}
	var report Report
	if err := json.Unmarshal([]byte(body), &report); err != nil {
		return r, nil, fmt.Errorf("decode report %s: %w", id, err)
	}
	return r, &report, nil
}

// LatestReport returns the newest finished report of property.
func (s *Service) LatestReport(ctx context.Context, property string) (Run, *Report, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM scan_runs WHERE property = $1 AND state = 'done'
		ORDER BY started_at DESC, id DESC LIMIT 1`, property).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, nil, errs.NotFound("scan of property", property)
	}
	if err != nil {
		return Run{}, nil, db.Classify(fmt.Errorf("latest scan: %w", err))
	}
	return s.Report(ctx, id)
}

// Declaration is the cookie declaration of property from its latest
// finished scan, with the officers' current assignments.
func (s *Service) Declaration(ctx context.Context, property string) (Declaration, error) {
	run, report, err := s.LatestReport(ctx, property)
	if err != nil {
		return Declaration{}, err
	}
	t, err := s.assigned(ctx, property, nil)
	if err != nil {
		return Declaration{}, err
	}
	at := run.StartedAt
	if run.FinishedAt != nil {
		at = *run.FinishedAt
	}
	return Declare(t, report.Trackers, at, s.ocd), nil
}

// Trackers lists what the scans of property found, by kind and name.
func (s *Service) Trackers(ctx context.Context, property string) ([]StoredTracker, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT property, kind, name, domain, third_party, lifetime, source, purpose, vendor,
		platform, category, suggested, assigned_by, assigned_at, first_seen, last_seen
		FROM scan_trackers WHERE property = $1 ORDER BY kind, name, domain`, property)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list trackers: %w", err))
	}
	defer rows.Close()
	var out []StoredTracker
	for rows.Next() {
		var t StoredTracker
		var kind string
		var assigned sql.NullInt64
		var first, last int64
		if err := rows.Scan(&t.Property, &kind, &t.Name, &t.Domain, &t.ThirdParty, &t.Lifetime, &t.Source, &t.Purpose, &t.Vendor,
			&t.Platform, &t.Category, &t.Suggested, &t.AssignedBy, &assigned, &first, &last); err != nil {
			return nil, fmt.Errorf("read tracker: %w", err)
		}
		t.Kind, t.FirstSeen, t.LastSeen = Kind(kind), time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC()
		if assigned.Valid {
			at := time.UnixMicro(assigned.Int64).UTC()
			t.AssignedAt = &at
		}
		out = append(out, t)
	}
	return out, db.Classify(rows.Err())
}

// Assign records an officer's classification of a tracker the scans
// found: its purpose (one of the catalog's) and, optionally, its vendor.
// Later scans classify it so; the audit log records who did it.
func (s *Service) Assign(ctx context.Context, actor audit.Actor, property string, kind Kind, name, domain, purpose, vendor string) error {
	problems := errs.Problems{}
	if !kind.Valid() {
		problems.Add("kind", "scan_kind")
	}
	if !slices.ContainsFunc(s.catalog.Purposes(), func(p consent.Purpose) bool { return p.Key == purpose }) {
		problems.Add("purpose", "scan_purpose")
	}
	if vendor != "" && !slices.ContainsFunc(s.catalog.Vendors(), func(v consent.Vendor) bool { return v.Key == vendor }) {
		problems.Add("vendor", "scan_vendor")
	}
	if len(problems) > 0 {
		return errs.FieldsKeyed(problems)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE scan_trackers SET source = 'assigned', purpose = $1, vendor = $2, assigned_by = $3,
			assigned_at = $4 WHERE property = $5 AND kind = $6 AND name = $7 AND domain = $8`,
			purpose, vendor, actor.String(), now.UnixMicro(), property, string(kind), name, domain)
		if err != nil {
			return fmt.Errorf("assign tracker: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return errs.NotFound("tracker", name)
		}
		// Names of cookies and hosts are no personal data.
		details, err := audit.NewDetails(map[string]any{"property": property, "kind": string(kind), "name": name, "domain": domain,
			"purpose": purpose, "vendor": vendor})
		if err != nil {
			return err
		}
		_, err = s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "scan.assign",
			Target: audit.Target{Kind: "property", ID: property}, Details: details})
		return err
	})
	if _, ok := errs.As(err); ok {
		return err
	}
	return db.Classify(err)
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
