package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
)

// ConsentFeed follows the consent ledger and writes a consent.changed
// webhook for each new entry. The ledger's append is the hot path
// (group-committed, one statement on PostgreSQL), so the outbox is not
// written in its transaction; instead the feed reads the ledger by sequence
// number and moves its cursor (table feed_cursors) in the transaction that
// writes the messages: every entry is announced once, after it is durable,
// even across restarts.
//
// The feed is one job that snoozes while the ledger is idle, not a
// jobs.Periodic: a run every two seconds would leave a finished job row
// every two seconds.
type ConsentFeed struct {
	DB      *db.DB
	Outbox  *Service
	Consent *consent.Service
}

// consentFeedArgs is the feed's job.
type consentFeedArgs struct{}

func (consentFeedArgs) Kind() string { return "webhook.consent_feed" }

const (
	consentFeedCursor = "consent.changed"
	consentFeedBatch  = 500
	consentFeedIdle   = 2 * time.Second
)

// Register adds the feed's worker.
func (f *ConsentFeed) Register(workers *jobs.Workers) error {
	return jobs.Register(workers, jobs.WorkFunc(f.work))
}

// Start places the feed's cursor, on a new installation, at the ledger's
// present (nobody subscribed to the past), and queues the feed. The cursor
// is placed here, before the server takes requests, not in the job's first
// run: that run may come after the first events, which an endpoint made
// before them must still receive.
func (f *ConsentFeed) Start(ctx context.Context, runner *jobs.Runner) error {
	if _, err := f.DB.ExecContext(ctx, `INSERT INTO feed_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		consentFeedCursor, f.Consent.Index().MaxSeq()); err != nil {
		return db.Classify(fmt.Errorf("place the consent feed: %w", err))
	}
	_, err := runner.Insert(ctx, consentFeedArgs{}, &jobs.InsertOpts{Unique: true})
	return err
}

// work writes the webhooks of one batch of ledger entries, and asks to run
// again at once while entries remain, or after a pause.
func (f *ConsentFeed) work(ctx context.Context, _ *jobs.Job[consentFeedArgs]) error {
	var cursor int64
	if err := f.DB.QueryRowContext(ctx, `SELECT seq FROM feed_cursors WHERE name = $1`, consentFeedCursor).Scan(&cursor); err != nil {
		return db.Classify(fmt.Errorf("read the consent feed's cursor: %w", err))
	}
	events, err := f.Consent.Events(ctx, consent.EventFilter{After: cursor, Limit: consentFeedBatch})
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return jobs.Snooze(consentFeedIdle)
	}
	subscribed, err := f.Outbox.subscribed(ctx, ConsentChanged)
	if err != nil {
		return err
	}
	err = f.DB.Tx(ctx, func(tx *sql.Tx) error {
		if subscribed {
			for _, e := range events {
				if _, err := f.Outbox.EmitTx(ctx, tx, consentChanged(e)); err != nil {
					return err
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE feed_cursors SET seq = $2 WHERE name = $1`, consentFeedCursor, events[len(events)-1].Seq)
		return err
	})
	if err != nil {
		return db.Classify(err)
	}
	if len(events) == consentFeedBatch {
		return jobs.Snooze(time.Millisecond)
	}
	return jobs.Snooze(consentFeedIdle)
}

// consentChanged is the webhook of a ledger entry: its ids, never personal
// data. Ids that look like an address are left out (a receiver fetches the
// entry through the API by property and seq).
func consentChanged(e consent.Event) Event {
	data := map[string]any{"seq": e.Seq, "property": e.Property, "purpose": e.Purpose, "action": string(e.Action), "source": string(e.Source)}
	safe := func(v string) bool { return v != "" && !strings.ContainsAny(v, "@ \t") }
	if safe(e.ID) {
		data["event_id"] = e.ID
	}
	if safe(e.Vendor) {
		data["vendor"] = e.Vendor
	}
	if safe(e.Device) {
		data["device_id"] = e.Device
	}
	subject := ""
	if safe(e.Subject) {
		subject = e.Subject
	}
	return Event{Type: ConsentChanged, SubjectID: subject, Data: data, At: e.RecordedAt}
}

// subscribed reports whether an enabled endpoint takes events of type t.
func (s *Service) subscribed(ctx context.Context, t string) (bool, error) {
	endpoints, err := s.Endpoints(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(endpoints, func(e Endpoint) bool {
		return e.Enabled && (len(e.EventTypes) == 0 || slices.Contains(e.EventTypes, t))
	}), nil
}
