// The ledger's append path: Append hands events to one commit goroutine,
// which writes them in groups (group commit) and applies them to the index.
// Validation is in author.go, the SQL in ledger_sql.go, the chain in chain.go.

package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// MaxBatch is the most events one Append call takes.
const MaxBatch = 1000

// maxGroup bounds the events that one group commit writes.
const maxGroup = 2000

// eventColumns are the stored columns of an event, in insert order.
const eventColumns = `seq, property, event_id, subject_id, device_id, purpose, vendor, action, source, notice_version,
	jurisdiction, gpc, dnt, tc_string, at, recorded_at, gpp_string, channel`

// earliestEventTime bounds event times from below: nothing older can be a
// real consent, and index times fit 32 bits.
var earliestEventTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// AppendResult is the outcome of one appended event.
type AppendResult struct {
	// Event is the stored event, with its receipt as issued.
	Event Event
	// Duplicate is set when an event with the same property and id and the
	// same content was already in the ledger; Event is then the stored one.
	Duplicate bool
}

// chainData is what Append prepares for each event outside the commit
// loop: its signed receipt and the commitment to its subject or device.
type chainData struct {
	salt, mac   []byte
	receipt     string
	receiptHash []byte
}

type appendRequest struct {
	events []Event
	chain  []chainData
	// signed, when set, is closed once chain is filled (or prepErr set) by
	// the caller; the commit loop waits for it.
	signed  chan struct{}
	prepErr error
	results []AppendResult
	err     error
	done    chan struct{}
}

// Append validates nothing (call ValidateEvents first) and appends events to
// the ledger durably: it returns once they are committed and visible to
// decisions. Each event gets its signed receipt here, stored with it in the
// same transaction, so that a receipt is issued once and never re-signed
// from a row. Concurrent calls share one transaction (group commit).
//
// An event whose property and id are in the ledger already is a duplicate:
// with the same content (the time aside: clients such as the banner leave it
// to the server clock, so a faithful retry differs in it) its result is the
// stored event and receipt; with other content the whole call fails with a
// conflict naming events[i].id and writes nothing.
func (s *Service) Append(ctx context.Context, events []Event) ([]AppendResult, error) {
	req := &appendRequest{events: events, chain: make([]chainData, len(events)), done: make(chan struct{})}
	// Signing is the costly part of preparing. A small request is queued
	// first and signed while it waits for its group (the commit loop waits
	// for its signatures before writing it), so that, as before receipts
	// were stored, signing overlaps the commit ahead of it. A large one is
	// signed before it is queued, so as not to hold up the others of its
	// group.
	early := len(events) > signQueued
	if early {
		req.prepare(s)
		if req.err != nil {
			return nil, req.err
		}
	} else {
		req.signed = make(chan struct{})
	}
	select {
	case s.appends <- req:
	case <-s.stop:
		return nil, errs.New(errs.CodeUnavailable, "the ledger is shutting down")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !early {
		req.prepare(s)
		close(req.signed)
	}
	select {
	case <-req.done:
		return req.results, req.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// signQueued is the most events a request may have to be signed while it
// is queued.
const signQueued = 8

// prepare signs the receipts of r's events and commits to their subjects or
// devices, setting r.err if it cannot. The salts, commitments and receipt
// hashes of a request share one allocation.
func (r *appendRequest) prepare(s *Service) {
	const each = saltSize + 2*sha256.Size
	buf := make([]byte, each*len(r.events))
	if _, err := rand.Read(buf[:saltSize*len(r.events)]); err != nil {
		r.prepErr = fmt.Errorf("principal salt: %w", err)
		r.err = r.prepErr
		return
	}
	macs := buf[saltSize*len(r.events):]
	for i := range r.events {
		e := &r.events[i]
		principalID := principal(e)
		jws, sum := s.sign(e, principalID)
		salt := buf[i*saltSize : (i+1)*saltSize : (i+1)*saltSize]
		own := macs[i*2*sha256.Size : (i+1)*2*sha256.Size : (i+1)*2*sha256.Size]
		mac := appendMAC(own[:0:sha256.Size], salt, principalID)
		receiptHash := append(own[sha256.Size:sha256.Size], sum[:]...)
		r.chain[i] = chainData{salt: salt, mac: mac, receipt: jws, receiptHash: receiptHash}
	}
}

// Group commit tuning: when the previous group had at least lingerSiblings
// requests, wait for more as long as each arrives within lingerGap of the
// last, for at most lingerMax.
const (
	lingerGap      = 200 * time.Microsecond
	lingerMax      = time.Millisecond
	lingerSiblings = 4
)

// waitTimer waits up to d for one request from ch and hands it to take; it
// reports whether one came.
func waitTimer(t *time.Timer, d time.Duration, ch <-chan *appendRequest, take func(*appendRequest)) bool {
	t.Reset(d)
	select {
	case r := <-ch:
		t.Stop() // since Go 1.23 a stopped timer delivers no stale tick
		take(r)
		return true
	case <-t.C:
		return false
	}
}

func (s *Service) commitLoop() {
	defer s.wg.Done()
	defer close(s.loopDone)
	lastRequests := 0
	gapTimer := time.NewTimer(time.Hour)
	gapTimer.Stop()
	// idleTimer tells the loop, with rollups pending (SQLite), that no
	// append came for rollupIdle: it writes them then.
	idleTimer := time.NewTimer(time.Hour)
	idleTimer.Stop()
	// idleWait is rollupIdle, or rollupEvery after a failed write: a
	// store that refuses them is not asked again every rollupIdle.
	idleWait := rollupIdle
	// carry holds requests whose callers were still signing them when their
	// group was written: they go with the next group.
	var carry []*appendRequest
	for {
		var group []*appendRequest
		if len(carry) > 0 {
			group, carry = carry, nil
		} else {
			var idle <-chan time.Time
			if s.rollups != nil && s.rollups.pending.Load() {
				idleTimer.Reset(idleWait)
				idle = idleTimer.C
			}
			select {
			case first := <-s.appends:
				group = []*appendRequest{first}
			case reply := <-s.flushes:
				idleTimer.Stop()
				reply <- s.writeRollups()
				continue
			case <-idle:
				idleWait = rollupIdle
				if s.writeRollups() != nil {
					idleWait = rollupEvery
				}
				continue
			case <-s.stop:
				// Finish what is queued, write the rollups, then stop.
				for {
					select {
					case r := <-s.appends:
						s.commitGroup([]*appendRequest{r})
					default:
						if s.rollups != nil && s.rollups.pending.Load() && !s.rollups.skipClose.Load() {
							_ = s.writeRollups()
						}
						return
					}
				}
			}
			idleTimer.Stop()
		}
		n := 0
		for _, r := range group {
			n += len(r.events)
		}
		// Under concurrent load (the last group had several requests), keep
		// gathering while requests keep arriving (each within lingerGap of
		// the last, lingerMax in all), as PostgreSQL's commit_delay does: one
		// commit and one fsync then serve more events, and they are what
		// bounds throughput. A lone request never waits.
		lingering := lastRequests >= lingerSiblings
		deadline := time.Now().Add(lingerMax)
		for n < maxGroup {
			select {
			case r := <-s.appends:
				group = append(group, r)
				n += len(r.events)
				continue
			default:
			}
			wait := min(lingerGap, time.Until(deadline))
			if !lingering || wait <= 0 {
				break
			}
			if !waitTimer(gapTimer, wait, s.appends, func(r *appendRequest) { group = append(group, r); n += len(r.events) }) {
				break
			}
		}
		lastRequests = len(group)
		// Write the requests already signed; those still being signed go
		// with the next group, so that their signing overlaps this commit
		// instead of holding it up. With none signed, wait for the first.
		ready := make([]*appendRequest, 0, len(group))
		for _, r := range group {
			if signedYet(r) {
				ready = append(ready, r)
			} else {
				carry = append(carry, r)
			}
		}
		if len(ready) == 0 {
			<-carry[0].signed
			ready, carry = carry[:1], carry[1:]
		}
		s.commitGroup(ready)
		if s.rollups != nil && s.rollups.due() {
			_ = s.writeRollups()
		}
	}
}

// signedYet reports whether r's receipts are signed.
func signedYet(r *appendRequest) bool {
	if r.signed == nil {
		return true
	}
	select {
	case <-r.signed:
		return true
	default:
		return false
	}
}

// commitGroup writes a group; a request that conflicts with the ledger
// fails alone (writeGroup sets its error), and so does one whose write
// fails.
func (s *Service) commitGroup(group []*appendRequest) {
	for _, r := range group {
		if r.signed != nil {
			<-r.signed
			r.err = r.prepErr
		}
	}
	err := s.writeGroup(group)
	if err != nil && len(group) > 1 && !errs.Is(err, errs.CodeUnavailable) {
		// One request's fault must not fail the others: retry one by one.
		for _, r := range group {
			if r.err == nil {
				r.err = s.writeGroup([]*appendRequest{r})
			}
			close(r.done)
		}
		return
	}
	for _, r := range group {
		if r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}

type eventKey struct{ property, id string }

// sameEvent reports whether b repeats a: the same content, the time aside
// (see Append).
func sameEvent(a, b *Event) bool {
	return a.Property == b.Property && a.ID == b.ID && a.Subject == b.Subject && a.Device == b.Device &&
		a.Purpose == b.Purpose && a.Vendor == b.Vendor && a.Action == b.Action && a.Source == b.Source &&
		a.NoticeVersion == b.NoticeVersion && a.Jurisdiction == b.Jurisdiction && a.GPC == b.GPC && a.DNT == b.DNT &&
		a.TCString == b.TCString && a.GPPString == b.GPPString && a.Channel == b.Channel
}

// conflictError names the event of a request that repeats a recorded id
// with other content. It says nothing of the stored content.
func conflictError(i int) error {
	return errs.Invalid(fmt.Sprintf("events[%d].id", i),
		"an event with this id was already recorded with other content; give each event a new id").WithCode(errs.CodeConflict)
}

func (s *Service) writeGroup(group []*appendRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		// Deduplicate within the group: a beacon retried while its first
		// copy is still queued makes one event. A request that repeats an
		// id of an earlier one with other content fails alone.
		var unique []*Event
		var data []*chainData
		firstOf := map[eventKey]int{}
		owner := map[eventKey]*appendRequest{}
		for _, r := range group {
			if r.err != nil {
				continue
			}
			r.results = make([]AppendResult, len(r.events))
			for i := range r.events {
				k := eventKey{r.events[i].Property, r.events[i].ID}
				if u, seen := firstOf[k]; seen && !sameEvent(unique[u], &r.events[i]) {
					r.err = conflictError(i)
					break
				}
			}
			if r.err != nil {
				continue
			}
			for i := range r.events {
				k := eventKey{r.events[i].Property, r.events[i].ID}
				if _, seen := firstOf[k]; !seen {
					firstOf[k] = len(unique)
					owner[k] = r
					unique = append(unique, &r.events[i])
					data = append(data, &r.chain[i])
				}
			}
		}
		if len(unique) == 0 {
			return nil
		}
		recorded := fromMicros(micros(s.now()))
		stored := make([]Event, len(unique))
		for i, e := range unique {
			stored[i] = *e
			stored[i].RecordedAt = recorded
			stored[i].Receipt = data[i].receipt
		}
		inserted := make([]bool, len(unique))
		var conflicts []int
		var err error
		if s.db.Dialect == db.Postgres {
			conflicts, err = s.insertPostgres(ctx, stored, data, inserted)
		} else {
			conflicts, err = s.insertSQLite(ctx, stored, data, inserted)
		}
		if err != nil {
			return db.Classify(err)
		}
		if len(conflicts) > 0 {
			// Nothing was written: fail the requests that brought the
			// conflicting events and write the others again.
			for _, u := range conflicts {
				k := eventKey{stored[u].Property, stored[u].ID}
				r := owner[k]
				for i := range r.events {
					if r.events[i].Property == k.property && r.events[i].ID == k.id {
						r.err = conflictError(i)
						break
					}
				}
			}
			continue
		}
		cat := s.catalog.load()
		fresh := make([]indexedEvent, 0, len(stored))
		for i, e := range stored {
			if inserted[i] {
				fresh = append(fresh, s.index.toIndexed(&e, cat))
			}
		}
		s.index.apply(fresh)
		s.observe(len(fresh))
		for _, r := range group {
			if r.err != nil {
				continue
			}
			for i := range r.events {
				u := firstOf[eventKey{r.events[i].Property, r.events[i].ID}]
				r.results[i] = AppendResult{Event: stored[u], Duplicate: !inserted[u] || unique[u] != &r.events[i]}
			}
		}
		return nil
	}
}

func (x *Index) toIndexed(e *Event, cat *catalog) indexedEvent {
	ie := indexedEvent{Seq: e.Seq, Purpose: e.Purpose, Vendor: e.Vendor, Channel: string(e.Channel), Action: actionCode(e.Action), At: unixSeconds(e.At),
		Imported: e.Source == SourceImport, Portal: e.Source == SourcePortal}
	if e.Subject != "" {
		ie.Ident, ie.IsSubject = x.key(e.Subject), true
	} else {
		ie.Ident = x.key(e.Device)
	}
	if n, ok := cat.notices[e.NoticeVersion]; ok {
		ie.Notice = uint16(n.Ordinal)
	}
	return ie
}
