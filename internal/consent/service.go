package consent

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/receipt"
)

// Config holds what a Service needs.
type Config struct {
	DB     *db.DB
	Signer *receipt.Signer
	// Controller names the company in receipts.
	Controller receipt.Controller
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// FollowInterval is how often the ledger is polled for entries written by
	// other replicas; 0 means one second, a negative value turns it off.
	// With Listen, polling is the fallback for when the listener's
	// connection is lost.
	FollowInterval time.Duration
	// Listen, on PostgreSQL, follows the ledger as soon as another replica
	// appends to it: every write the follower reads sends a notification
	// (LISTEN/NOTIFY), which wakes the follower. Ignored on SQLite.
	Listen bool
	// ListenMinBackoff and ListenMaxBackoff bound the wait before the
	// listener reconnects (db.ListenConfig); 0 for the defaults.
	ListenMinBackoff, ListenMaxBackoff time.Duration
	// OnFollow, when set, is told of each pass of the follower (metrics).
	OnFollow func(FollowReport)
	// MaxFutureSkew is how far in the future an event's time may lie; 0 means
	// five minutes.
	MaxFutureSkew time.Duration
	Logger        *slog.Logger
	// Observe, when set, is told how many events each group commit wrote.
	Observe func(events int)
	// Audit, when set, records every catalog change (properties, purposes,
	// vendors, notices) in the transaction of the change, naming the actor
	// of the context (audit.WithActor).
	Audit audit.Recorder
	// OnLiftRequested, when set, queues the notice that tells the customer
	// of a lift staff asked for (RequestLift), in its transaction; the
	// notice's sending applies the lift (CompleteLift). Nil: staff cannot
	// lift a restriction, since the customer cannot be told first.
	OnLiftRequested func(ctx context.Context, tx *sql.Tx, lift PendingLift) error
}

// Service is the consent core of one Steward process.
type Service struct {
	db      *db.DB
	signer  *receipt.Signer
	ctrl    receipt.Controller
	now     func() time.Time
	skew    time.Duration
	log     *slog.Logger
	observe func(int)
	audit   audit.Recorder
	// onLiftRequested queues a lift's notice (Config.OnLiftRequested).
	onLiftRequested func(ctx context.Context, tx *sql.Tx, lift PendingLift) error

	catalog catalogHolder
	index   *Index
	decider *Decider
	// gate holds the vendors with a current passing security assessment.
	gate vendorGate
	// purposes holds the purposes with an approved ethics assessment.
	purposes purposeGate

	appends  chan *appendRequest
	stop     chan struct{}
	wg       sync.WaitGroup
	closeOne sync.Once

	// wake asks the follower for a pass now (a notification arrived); it
	// holds one token, so that notifications arriving during a pass make
	// one more pass, not one each.
	wake     chan struct{}
	pending  atomic.Uint32 // entryKinds the next woken pass reads
	instance string        // random, names this Service's notifications
	listener *db.Listener
	onFollow func(FollowReport)

	followMu      sync.Mutex
	followedSeq   int64
	followedLinks int64
	// followedErasures is the seq of the last consent erasure applied.
	followedErasures int64

	// written is the stretch of the chain the commit loop appended last.
	written Written
	// pgHead is the ledger head as the commit loop last wrote it on
	// PostgreSQL (only the commit loop touches it); hash nil when unknown.
	pgHead ledgerHead
	// followedRestrictions is the seq of the last restriction row applied.
	followedRestrictions int64
	// rollups are the analytics rollups the commit loop has summed and not
	// written yet, on SQLite (rollup.go); nil on PostgreSQL.
	rollups *rollupBuffer
	// flushes asks the commit loop to write rollups now (FlushRollups);
	// loopDone is closed when the loop has stopped.
	flushes  chan chan error
	loopDone chan struct{}
	// rollupsOff skips the analytics rollups on append: a diagnostic for
	// measuring what they cost (SetRollupsForTest); on PostgreSQL the
	// rollups are then wrong until rebuilt, on SQLite until the next write
	// of the rollups recomputes them from the ledger.
	rollupsOff bool
}

// Open loads the catalog, rebuilds the index from the ledger and starts the
// group committer and the ledger follower.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Signer == nil {
		return nil, errors.New("consent: Open needs a DB and a Signer")
	}
	s := &Service{
		db: cfg.DB, signer: cfg.Signer, ctrl: cfg.Controller, now: cfg.Now, skew: cfg.MaxFutureSkew,
		log: cfg.Logger, observe: cfg.Observe, audit: cfg.Audit, index: NewIndex(), onLiftRequested: cfg.OnLiftRequested,
		appends: make(chan *appendRequest, 4096), stop: make(chan struct{}), wake: make(chan struct{}, 1), onFollow: cfg.OnFollow,
		flushes: make(chan chan error), loopDone: make(chan struct{}),
	}
	s.instance = rand.Text()[:12]
	decisionNow := func() int64 { return s.now().UnixMicro() }
	var clock *coarseClock
	if s.now == nil {
		s.now = time.Now
		clock = &coarseClock{}
		clock.micros.Store(time.Now().UnixMicro())
		decisionNow = clock.now
	}
	if s.skew == 0 {
		s.skew = 5 * time.Minute
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.observe == nil {
		s.observe = func(int) {}
	}
	s.decider = &Decider{catalog: &s.catalog, index: s.index, gate: &s.gate, purposes: &s.purposes, nowMicros: decisionNow}
	if err := s.ReloadCatalog(ctx); err != nil {
		return nil, err
	}
	if _, err := s.follow(ctx, readAll); err != nil {
		return nil, fmt.Errorf("rebuild consent index: %w", err)
	}
	if s.db.Dialect == db.SQLite {
		stmts, err := prepareRollups(ctx, s.db)
		if err != nil {
			return nil, err
		}
		s.rollups = &rollupBuffer{stmts: stmts, set: newRollupSet()}
	}
	if err := s.openRollups(ctx); err != nil {
		s.closeRollups()
		return nil, err
	}
	s.wg.Add(1)
	go s.commitLoop()
	if clock != nil {
		s.wg.Go(func() { clock.run(s.stop) })
	}
	interval := cfg.FollowInterval
	if interval == 0 {
		interval = time.Second
	}
	if cfg.Listen && s.db.Dialect == db.Postgres {
		var err error
		// Started after the rebuild: its first connection wakes the
		// follower, which reads what was appended in between.
		if s.listener, err = s.db.Listen(notifyChannel, db.ListenConfig{
			Notify: s.notified, Connected: s.Wake, Logger: s.log,
			MinBackoff: cfg.ListenMinBackoff, MaxBackoff: cfg.ListenMaxBackoff,
		}); err != nil {
			s.Close()
			return nil, err
		}
	}
	if interval > 0 || s.listener != nil {
		s.wg.Add(1)
		go s.followLoop(interval)
	}
	return s, nil
}

// Close stops accepting appends, finishes the ones queued, writes the
// analytics rollups pending (SQLite) and stops the follower.
func (s *Service) Close() error {
	if s.listener != nil {
		s.listener.Close()
	}
	s.closeOne.Do(func() { close(s.stop) })
	s.wg.Wait()
	s.closeRollups()
	return nil
}

// closeRollups releases the rollups' statements (Close, a failed Open).
func (s *Service) closeRollups() {
	if s.rollups != nil {
		s.rollups.stmts.close()
	}
}

// Decider returns the decision engine, which answers from memory.
func (s *Service) Decider() *Decider { return s.decider }

// Index returns the in-memory consent index.
func (s *Service) Index() *Index { return s.index }

// follow applies ledger entries and links written since the last call (all
// of them at the first call) and reloads the catalog when it changed.
// Re-applying entries this process wrote itself is harmless: the index
// orders states by sequence number (see state.newer), not by arrival.
func (s *Service) follow(ctx context.Context, kinds entryKinds) (followed, error) {
	s.followMu.Lock()
	defer s.followMu.Unlock()
	var out followed
	if kinds&readCatalogHead != 0 {
		var version int64
		if err := s.db.QueryRowContext(ctx, `SELECT version FROM catalog_head WHERE id = 1`).Scan(&version); err != nil {
			return out, db.Classify(fmt.Errorf("read catalog version: %w", err))
		}
		if version != s.catalog.load().version {
			if err := s.ReloadCatalog(ctx); err != nil {
				return out, err
			}
		}
	}
	if err := s.refreshGateIfDue(ctx); err != nil {
		s.log.Warn("refresh assessed vendors", "err", err)
	}
	if err := s.refreshPurposeGateIfDue(ctx); err != nil {
		s.log.Warn("refresh assessed purposes", "err", err)
	}
	const page = 20000
	if kinds&readEvents != 0 {
		if err := s.followEvents(ctx, &out); err != nil {
			return out, err
		}
	}
	for kinds&readLinks != 0 {
		links, err := s.readLinks(ctx, s.followedLinks, page)
		if err != nil {
			return out, err
		}
		if len(links) > 0 {
			s.index.applyLinks(links)
			s.followedLinks = links[len(links)-1].Seq
			out.entries += len(links)
		}
		if len(links) < page {
			break
		}
	}
	if kinds&readRestrictions != 0 {
		restrictions, err := s.readRestrictions(ctx, s.followedRestrictions)
		if err != nil {
			return out, err
		}
		if len(restrictions) > 0 {
			s.index.applyRestrictions(restrictions)
			s.followedRestrictions = restrictions[len(restrictions)-1].seq
			out.entries += len(restrictions)
		}
	}
	// Erasures after links and restrictions: a link read above to a
	// subject erased since is undone here.
	if kinds&readErasures != 0 {
		subjects, last, err := s.readErasures(ctx, s.followedErasures)
		if err != nil {
			return out, err
		}
		s.index.forget(subjects, last)
		s.followedErasures = last
		out.entries += len(subjects)
	}
	return out, nil
}

// followEvents reads and applies the events appended since the last pass.
// Reading the next page overlaps with applying the last one: at start,
// with a large ledger, that uses two cores instead of one.
func (s *Service) followEvents(ctx context.Context, out *followed) error {
	const page = 20000
	type result struct {
		events []indexedEvent
		newest int64
		err    error
	}
	pages := make(chan result, 2)
	go func() {
		defer close(pages)
		after := s.followedSeq
		for {
			events, newest, err := s.readEventsForIndex(ctx, after, page)
			pages <- result{events, newest, err}
			if err != nil || len(events) < page {
				return
			}
			after = events[len(events)-1].Seq
		}
	}()
	var readErr error
	for p := range pages {
		if p.err != nil {
			readErr = p.err
			continue
		}
		if len(p.events) > 0 {
			s.index.apply(p.events)
			s.followedSeq = p.events[len(p.events)-1].Seq
			out.entries += len(p.events)
			out.newest = max(out.newest, p.newest)
		}
	}
	return readErr
}

// readEventsForIndex reads the part of ledger entries the index keeps. It
// scans into raw bytes and keeps nothing of them but hashes and the few
// distinct purpose and vendor keys: at start it reads the whole ledger, and
// a string per column and row would make the collector the bottleneck.
func (s *Service) readEventsForIndex(ctx context.Context, after int64, limit int) (events []indexedEvent, newest int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, subject_id, device_id, purpose, vendor, action, at, notice_version, source, recorded_at, channel
		FROM consent_events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, 0, db.Classify(fmt.Errorf("read ledger: %w", err))
	}
	defer rows.Close()
	cat := s.catalog.load()
	keys := map[string]string{} // purpose and vendor keys, allocated once each
	intern := func(b []byte) string {
		if k, ok := keys[string(b)]; ok {
			return k
		}
		k := string(b)
		keys[k] = k
		return k
	}
	out := make([]indexedEvent, 0, min(limit, 4096))
	var subject, device, purpose, vendor, action, notice, source, channel sql.RawBytes
	var at, recorded int64
	for rows.Next() {
		var e indexedEvent
		if err := rows.Scan(&e.Seq, &subject, &device, &purpose, &vendor, &action, &at, &notice, &source, &recorded, &channel); err != nil {
			return nil, 0, fmt.Errorf("read ledger: %w", err)
		}
		if len(subject) > 0 {
			e.Ident, e.IsSubject = s.index.keyBytes(subject), true
		} else {
			e.Ident = s.index.keyBytes(device)
		}
		e.Purpose, e.Vendor = intern(purpose), intern(vendor)
		switch string(action) {
		case string(ActionGrant):
			e.Action = actionGrant
		case string(ActionDeny):
			e.Action = actionDeny
		case string(ActionWithdraw):
			e.Action = actionWithdraw
		case string(ActionObject):
			e.Action = actionObject
		}
		e.At = unixSeconds(fromMicros(at))
		e.Imported = string(source) == string(SourceImport)
		e.Portal = string(source) == string(SourcePortal)
		if len(channel) > 0 {
			e.Channel = intern(channel)
		}
		if n, ok := cat.notices[string(notice)]; ok {
			e.Notice = uint16(n.Ordinal)
		}
		out = append(out, e)
		newest = max(newest, recorded)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, db.Classify(fmt.Errorf("read ledger: %w", err))
	}
	return out, newest, nil
}

func (s *Service) readLinks(ctx context.Context, after int64, limit int) ([]Link, error) {
	links, err := db.QueryAll(ctx, s.db, `SELECT device_id, subject_id, seq, linked_at FROM subject_devices
		WHERE seq > $1 ORDER BY seq LIMIT $2`, []any{after, limit}, func(scan func(...any) error) (Link, error) {
		var l Link
		var at int64
		err := scan(&l.Device, &l.Subject, &l.Seq, &at)
		l.LinkedAt = fromMicros(at)
		return l, err
	})
	return links, db.Classify(err)
}
