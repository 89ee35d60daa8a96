package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/tcf"
)

// MaxBatch is the most events one Append call takes.
const MaxBatch = 1000

// maxGroup bounds the events that one group commit writes.
const maxGroup = 2000

// eventColumns are the stored columns of an event, in insert order.
const eventColumns = `seq, property, event_id, subject_id, device_id, purpose, vendor, action, source, notice_version,
	jurisdiction, gpc, dnt, tc_string, at, recorded_at`

// earliestEventTime bounds event times from below: nothing older can be a
// real consent, and index times fit 32 bits.
var earliestEventTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// AuthorKind is the kind of credential that asserts consent events.
type AuthorKind uint8

// The authors of consent events (the trust table of ARCHITECTURE.md). The
// zero kind may assert nothing.
const (
	_ AuthorKind = iota // the zero kind: no author, may assert nothing
	// AuthorIngestKey is a property's public ingest key, readable in every
	// page of the property: device events of that property from the banner
	// or GPC, nothing else.
	AuthorIngestKey
	// AuthorRecordKey is a back end's record key (never public): events of
	// subjects or devices with source api.
	AuthorRecordKey
	// AuthorAdminKey may do what a record key does, and import historical
	// consents (source import) with their original times.
	AuthorAdminKey
	// AuthorPortal is the customer's portal, in process, in the customer's
	// own session: the subject's events with source portal. No API
	// credential is this author.
	AuthorPortal
)

// Author is who asserts a batch of consent events; ValidateEvents refuses
// what the author may not say.
type Author struct {
	Kind AuthorKind
	// Property is the one property an ingest key records events for.
	Property string
}

// sources returns the sources the author may record, for ValidateEvents and
// its problems.
func (a Author) sources() []Source {
	switch a.Kind {
	case AuthorIngestKey:
		return []Source{SourceBanner, SourceGPC}
	case AuthorRecordKey:
		return []Source{SourceAPI}
	case AuthorAdminKey:
		return []Source{SourceAPI, SourceImport}
	case AuthorPortal:
		return []Source{SourcePortal}
	}
	return nil
}

func (a Author) String() string {
	switch a.Kind {
	case AuthorIngestKey:
		return "a public ingest key"
	case AuthorRecordKey:
		return "a record key"
	case AuthorAdminKey:
		return "an admin key"
	case AuthorPortal:
		return "the privacy portal"
	}
	return "nobody"
}

// ValidateEvents checks events against the catalog and against what their
// author may assert, and fills defaults (the property's default
// jurisdiction). The order of choices is the server's: every event but an
// import gets the server's time as its time, whatever time the client gave
// (which is still checked); an import keeps its original time, which must
// not lie in the future. Problems are named by path: "events[2].purpose".
func (s *Service) ValidateEvents(events []Event, by Author) error {
	if len(events) == 0 {
		return errs.Invalid("events", "send at least one event")
	}
	if len(events) > MaxBatch {
		return errs.Invalid("events", "at most %d events per request", MaxBatch)
	}
	allowed := by.sources()
	if len(allowed) == 0 {
		return errs.New(errs.CodeForbidden, "nobody may record consent events here")
	}
	cat := s.catalog.load()
	now := s.now()
	problems := map[string]string{}
	lastTC := "" // a banner's batch carries one TC string many times: decode it once
	for i := range events {
		e := &events[i]
		bad := func(field, format string, args ...any) {
			problems[fmt.Sprintf("events[%d].%s", i, field)] = fmt.Sprintf(format, args...)
		}
		if !ValidID(e.ID) {
			bad("id", "must be 1 to 128 letters, digits or ._:@+=- (a UUID is best)")
		}
		prop, ok := cat.properties[e.Property]
		switch {
		case !ok:
			bad("property", "unknown property %q", e.Property)
		case by.Kind == AuthorIngestKey && e.Property != by.Property:
			bad("property", "this key may only record events for property %q", by.Property)
		}
		switch {
		case (e.Subject == "") == (e.Device == ""):
			bad("subject", "give exactly one of subject and device")
		case e.Subject != "" && by.Kind == AuthorIngestKey:
			bad("subject", "a public ingest key records device events only; record a subject's consent from your back end with a record key")
		case e.Device != "" && by.Kind == AuthorPortal:
			bad("device", "the portal records the signed-in customer's own consent only")
		case e.Subject != "" && !ValidID(e.Subject):
			bad("subject", "must be 1 to 128 letters, digits or ._:@+=-")
		case e.Device != "" && !ValidID(e.Device):
			bad("device", "must be 1 to 128 letters, digits or ._:@+=-")
		}
		purpose, purposeOK := cat.purposes[e.Purpose]
		if !purposeOK {
			bad("purpose", "unknown purpose %q", e.Purpose)
		}
		if e.Vendor != "" {
			if v, ok := cat.vendors[e.Vendor]; !ok {
				bad("vendor", "unknown vendor %q", e.Vendor)
			} else if _, declared := v.purposes[e.Purpose]; !declared {
				bad("vendor", "vendor %q is not declared for purpose %q", e.Vendor, e.Purpose)
			}
		}
		switch {
		case actionCode(e.Action) == actionNone:
			bad("action", "must be grant, deny, withdraw or object")
		case e.Action != ActionObject:
		case e.Subject == "":
			bad("action", "only a subject objects; an objection names the subject, not a device")
		case e.Vendor != "":
			bad("vendor", "an objection is to a purpose, whatever the vendor")
		case purposeOK && (purpose.Necessary || (purpose.LegalBasis != BasisLegitimateInterest && purpose.LegalBasis != BasisConsent)):
			bad("purpose", "an objection is to a legitimate-interest or marketing purpose; %q rests on %s", e.Purpose, purpose.LegalBasis)
		}
		sourceOK := slices.Contains(allowed, e.Source)
		if !sourceOK {
			names := make([]string, len(allowed))
			for i, src := range allowed {
				names[i] = string(src)
			}
			bad("source", "%s may record only source %s", by, strings.Join(names, " or "))
		}
		if e.NoticeVersion != "" {
			if _, ok := cat.notices[e.NoticeVersion]; !ok {
				bad("notice_version", "no published notice %q", e.NoticeVersion)
			}
		}
		if e.Jurisdiction == "" && ok {
			e.Jurisdiction = prop.DefaultJurisdiction
		}
		if e.Jurisdiction != "" && !ValidJurisdiction(e.Jurisdiction) {
			bad("jurisdiction", "must be a country (DE) or subdivision (US-CA) code")
		}
		switch {
		case len(e.TCString) > 10000:
			bad("tc_string", "at most 10000 characters")
		case e.TCString != "" && e.TCString != lastTC:
			// The codec the banner's TC strings are checked against; it
			// accepts what IAB's own libraries write.
			if _, err := tcf.Decode(e.TCString); err != nil {
				bad("tc_string", "not a TC string: %s", strings.TrimPrefix(err.Error(), "tcf: "))
			} else {
				lastTC = e.TCString
			}
		}
		if e.Source == SourceImport && sourceOK {
			switch {
			case e.At.IsZero():
				bad("at", "an import needs the time of the original consent")
			case e.At.After(now):
				bad("at", "lies in the future; an import records a consent already given")
			case e.At.Before(earliestEventTime):
				bad("at", "lies before 2000")
			}
		} else {
			// A time the client gave is checked but orders nothing: the
			// ledger's order is the order of choices.
			switch {
			case e.At.IsZero():
			case e.At.After(now.Add(s.skew)):
				bad("at", "lies in the future (more than %s ahead of the server clock)", s.skew)
			case e.At.Before(earliestEventTime):
				bad("at", "lies before 2000")
			}
			e.At = now
		}
		e.At = e.At.UTC().Truncate(time.Microsecond)
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

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
// devices, setting r.err if it cannot.
func (r *appendRequest) prepare(s *Service) {
	salts := make([]byte, saltSize*len(r.events))
	if _, err := rand.Read(salts); err != nil {
		r.prepErr = fmt.Errorf("principal salt: %w", err)
		r.err = r.prepErr
		return
	}
	for i := range r.events {
		jws, err := s.sign(&r.events[i])
		if err != nil {
			r.prepErr, r.err = err, err
			return
		}
		salt := salts[i*saltSize : (i+1)*saltSize : (i+1)*saltSize]
		r.chain[i] = chainData{salt: salt, mac: principalMAC(salt, &r.events[i]), receipt: jws, receiptHash: receiptHash(jws)}
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
	lastRequests := 0
	gapTimer := time.NewTimer(time.Hour)
	gapTimer.Stop()
	// carry holds requests whose callers were still signing them when their
	// group was written: they go with the next group.
	var carry []*appendRequest
	for {
		var group []*appendRequest
		if len(carry) > 0 {
			group, carry = carry, nil
		} else {
			select {
			case first := <-s.appends:
				group = []*appendRequest{first}
			case <-s.stop:
				// Finish what is queued, then stop.
				for {
					select {
					case r := <-s.appends:
						s.commitGroup([]*appendRequest{r})
					default:
						return
					}
				}
			}
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
		a.TCString == b.TCString
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
	ie := indexedEvent{seq: e.Seq, purpose: e.Purpose, vendor: e.Vendor, action: e.Action, at: e.At, imported: e.Source == SourceImport,
		portal: e.Source == SourcePortal}
	if e.Subject != "" {
		ie.ident, ie.isSubject = x.key(e.Subject), true
	} else {
		ie.ident = x.key(e.Device)
	}
	if n, ok := cat.notices[e.NoticeVersion]; ok {
		ie.noticeNo = n.Ordinal
	}
	return ie
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertSQLite chains and inserts events in one transaction, marking in
// inserted those that were new. An event whose (property, id) exists is
// replaced in events by the stored one, or, when its content differs,
// returned in conflicts, and then nothing is written. Sequence numbers are
// taken only by the events inserted. SQLite has no round trips to save, and
// its driver resolves each bound parameter by a linear search, quadratic in
// a many-row statement: one prepared single-row insert per event is the
// fast way.
func (s *Service) insertSQLite(ctx context.Context, events []Event, data []*chainData, inserted []bool) ([]int, error) {
	var conflicts []int
	errConflict := errors.New("conflict")
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Updating the head first takes SQLite's write lock before anything
		// is read.
		var head ledgerHead
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, chain_seq, hash`).
			Scan(&head.seq, &head.chainSeq, &head.hash); err != nil {
			return fmt.Errorf("read ledger head: %w", err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO consent_events (`+eventColumns+`, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
			ON CONFLICT (property, event_id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		defer stmt.Close()
		for i := range events {
			e, d := &events[i], data[i]
			e.Seq = head.seq + 1
			hash := eventHash(head.hash, head.chainSeq, e, d.mac, d.receiptHash)
			res, err := stmt.ExecContext(ctx, e.Seq, e.Property, e.ID, nullable(e.Subject), nullable(e.Device), e.Purpose, e.Vendor,
				string(e.Action), string(e.Source), e.NoticeVersion, e.Jurisdiction, e.GPC, e.DNT, e.TCString, micros(e.At), micros(e.RecordedAt),
				head.chainSeq, hash, d.salt, d.mac, d.receipt, d.receiptHash)
			if err != nil {
				return fmt.Errorf("insert events: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("insert events: %w", err)
			} else if n == 1 {
				inserted[i] = true
				head.seq, head.chainSeq, head.hash = e.Seq, e.Seq, hash
				continue
			}
			existing, err := readEvent(ctx, tx, e.Property, e.ID)
			if err != nil {
				return fmt.Errorf("read existing event: %w", err)
			}
			if !sameEvent(&existing, e) {
				conflicts = append(conflicts, i)
			}
			*e = existing
		}
		if len(conflicts) > 0 {
			return errConflict // roll back
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_head SET seq = $1, chain_seq = $2, hash = $3 WHERE id = 1`,
			head.seq, head.chainSeq, head.hash); err != nil {
			return fmt.Errorf("advance ledger head: %w", err)
		}
		return nil
	})
	if len(conflicts) > 0 {
		return conflicts, nil
	}
	return nil, err
}

// insertPostgresSQL inserts a group of chained events in one statement: a
// column array per field (one statement text whatever the group size,
// prepared and planned once). It advances the ledger head in the same
// statement, only if the head is still at $2: the sequence numbers and
// hashes were computed from it. The head's row lock, held to commit, keeps
// sequence order equal to commit order across replicas; a replica that
// waited on it finds the head moved, inserts nothing and chains again.
const insertPostgresSQL = `WITH head AS (UPDATE ledger_head SET seq = $1, chain_seq = $1, hash = $3 WHERE id = 1 AND seq = $2 RETURNING seq)
INSERT INTO consent_events (` + eventColumns + `, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
SELECT e.seq, e.property, e.event_id, e.subject_id, e.device_id, e.purpose, e.vendor, e.action, e.source,
	e.notice_version, e.jurisdiction, e.gpc, e.dnt, e.tc_string, e.at, e.recorded_at, e.prev_seq, e.hash, e.salt,
	e.principal_mac, e.receipt, e.receipt_hash
FROM head, unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
	$12::text[], $13::text[], $14::text[], $15::boolean[], $16::boolean[], $17::text[], $18::bigint[], $19::bigint[],
	$20::bigint[], $21::bytea[], $22::bytea[], $23::bytea[], $24::text[], $25::bytea[])
	AS e(seq, property, event_id, subject_id, device_id, purpose, vendor, action, source, notice_version,
		jurisdiction, gpc, dnt, tc_string, at, recorded_at, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)`

// insertPostgres chains and inserts events; see insertSQLite for what it
// returns. With the head it wrote last (s.pgHead), which holds while this
// process is the only writer, it takes one round trip and no explicit
// transaction. Otherwise, or when an event exists already, it locks the
// head, reads the events that exist, and chains from there.
func (s *Service) insertPostgres(ctx context.Context, events []Event, data []*chainData, inserted []bool) ([]int, error) {
	if s.pgHead.hash != nil {
		n, err := s.execPostgresInsert(ctx, s.db, s.pgHead, events, data, inserted)
		if err == nil && n == len(events) {
			return nil, nil
		}
		if err != nil && db.IsUnavailable(err) {
			return nil, err
		}
		// The head moved (another writer) or an event exists: nothing was
		// written; go the locked way.
		clear(inserted)
	}
	var conflicts []int
	errConflict := errors.New("conflict")
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var head ledgerHead
		if err := tx.QueryRowContext(ctx, `SELECT seq, chain_seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE`).
			Scan(&head.seq, &head.chainSeq, &head.hash); err != nil {
			return fmt.Errorf("lock ledger head: %w", err)
		}
		properties, ids := make([]string, len(events)), make([]string, len(events))
		for i := range events {
			properties[i], ids[i] = events[i].Property, events[i].ID
		}
		existing, err := db.QueryAll(ctx, tx, `SELECT `+eventColumns+`, receipt FROM consent_events
			WHERE (property, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, []any{properties, ids}, scanEventReceipt)
		if err != nil {
			return fmt.Errorf("read existing events: %w", err)
		}
		stored := make(map[eventKey]Event, len(existing))
		for _, e := range existing {
			stored[eventKey{e.Property, e.ID}] = e
		}
		var fresh []Event
		var freshData []*chainData
		var at []int
		for i := range events {
			if e, ok := stored[eventKey{events[i].Property, events[i].ID}]; ok {
				if !sameEvent(&e, &events[i]) {
					conflicts = append(conflicts, i)
				}
				events[i] = e
				continue
			}
			fresh, freshData, at = append(fresh, events[i]), append(freshData, data[i]), append(at, i)
		}
		if len(conflicts) > 0 {
			return errConflict
		}
		if len(fresh) == 0 {
			s.pgHead = head
			return nil
		}
		ok := make([]bool, len(fresh))
		n, err := s.execPostgresInsert(ctx, tx, head, fresh, freshData, ok)
		if err != nil {
			return err
		}
		if n != len(fresh) {
			return fmt.Errorf("insert events: %d of %d inserted under the head's lock", n, len(fresh))
		}
		for j, i := range at {
			events[i], inserted[i] = fresh[j], true
		}
		return nil
	})
	if len(conflicts) > 0 {
		s.pgHead = ledgerHead{}
		return conflicts, nil
	}
	if err != nil {
		s.pgHead = ledgerHead{}
		clear(inserted)
	}
	return nil, err
}

// execPostgresInsert chains events from head, runs insertPostgresSQL and
// returns how many rows it inserted; when all were, s.pgHead is the new
// head. It numbers the events from head.seq + 1 into events.
func (s *Service) execPostgresInsert(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, head ledgerHead, events []Event, data []*chainData, inserted []bool) (int, error) {
	n := len(events)
	var (
		seqs, prevSeqs, ats, recorded                        = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		properties, ids, purposes, vendors, actions          = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		sources, notices, jurisdictions, tcStrings, receipts = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		subjects, devices                                    = make([]*string, n), make([]*string, n)
		gpcs, dnts                                           = make([]bool, n), make([]bool, n)
		hashes, salts, macs, receiptHashes                   = make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		prevSeq, prevHash                                    = head.chainSeq, head.hash
	)
	for i := range events {
		e, d := &events[i], data[i]
		e.Seq = head.seq + int64(i) + 1
		hashes[i] = eventHash(prevHash, prevSeq, e, d.mac, d.receiptHash)
		seqs[i], prevSeqs[i] = e.Seq, prevSeq
		prevSeq, prevHash = e.Seq, hashes[i]
		properties[i], ids[i], purposes[i], vendors[i] = e.Property, e.ID, e.Purpose, e.Vendor
		actions[i], sources[i], notices[i], jurisdictions[i], tcStrings[i] = string(e.Action), string(e.Source), e.NoticeVersion, e.Jurisdiction, e.TCString
		if e.Subject != "" {
			subjects[i] = &e.Subject
		}
		if e.Device != "" {
			devices[i] = &e.Device
		}
		gpcs[i], dnts[i], ats[i], recorded[i] = e.GPC, e.DNT, micros(e.At), micros(e.RecordedAt)
		salts[i], macs[i], receipts[i], receiptHashes[i] = d.salt, d.mac, d.receipt, d.receiptHash
	}
	last := head.seq + int64(n)
	res, err := q.ExecContext(ctx, insertPostgresSQL, last, head.seq, prevHash, seqs, properties, ids, subjects, devices, purposes,
		vendors, actions, sources, notices, jurisdictions, gpcs, dnts, tcStrings, ats, recorded, prevSeqs, hashes, salts, macs,
		receipts, receiptHashes)
	if err != nil {
		return 0, fmt.Errorf("insert events: %w", err)
	}
	affected, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("insert events: %w", err)
	}
	if int(affected) == n {
		for i := range inserted {
			inserted[i] = true
		}
		s.pgHead = ledgerHead{seq: last, chainSeq: last, hash: prevHash}
	}
	return int(affected), nil
}

func scanEvent(scan func(...any) error) (Event, error) {
	var e Event
	var subject, device sql.NullString
	var action, source string
	var at, recorded int64
	err := scan(&e.Seq, &e.Property, &e.ID, &subject, &device, &e.Purpose, &e.Vendor, &action, &source,
		&e.NoticeVersion, &e.Jurisdiction, &e.GPC, &e.DNT, &e.TCString, &at, &recorded)
	e.Subject, e.Device = subject.String, device.String
	e.Action, e.Source = Action(action), Source(source)
	e.At, e.RecordedAt = fromMicros(at), fromMicros(recorded)
	return e, err
}

// scanEventReceipt scans eventColumns and the stored receipt.
func scanEventReceipt(scan func(...any) error) (Event, error) {
	var receipt sql.NullString
	e, err := scanEvent(func(dest ...any) error { return scan(append(dest, &receipt)...) })
	e.Receipt = receipt.String
	return e, err
}

func readEvent(ctx context.Context, q db.Querier, property, id string) (Event, error) {
	list, err := db.QueryAll(ctx, q, `SELECT `+eventColumns+`, receipt FROM consent_events WHERE property = $1 AND event_id = $2`,
		[]any{property, id}, scanEventReceipt)
	if err != nil {
		return Event{}, err
	}
	if len(list) == 0 {
		return Event{}, errs.NotFound("event", id)
	}
	return list[0], nil
}

// EventFilter selects ledger entries.
type EventFilter struct {
	After   int64 // sequence number to start after
	Limit   int   // 1 to 10000; 0 means 1000
	Subject string
	Device  string
	// Receipts reads each event's stored receipt too.
	Receipts bool
}

// Events lists ledger entries in sequence order.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	if f.Limit > 10000 {
		return nil, errs.Invalid("limit", "at most 10000")
	}
	where := []string{"seq > $1"}
	args := []any{f.After}
	if f.Subject != "" {
		args = append(args, f.Subject)
		where = append(where, fmt.Sprintf("subject_id = $%d", len(args)))
	}
	if f.Device != "" {
		args = append(args, f.Device)
		where = append(where, fmt.Sprintf("device_id = $%d", len(args)))
	}
	args = append(args, f.Limit)
	columns, scan := eventColumns, scanEvent
	if f.Receipts {
		columns, scan = eventColumns+", receipt", scanEventReceipt
	}
	list, err := db.QueryAll(ctx, s.db, `SELECT `+columns+` FROM consent_events WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY seq LIMIT $%d`, len(args)), args, scan)
	return list, db.Classify(err)
}

// Event returns one ledger entry by property and client id, with its
// receipt as stored.
func (s *Service) Event(ctx context.Context, property, id string) (Event, error) {
	e, err := readEvent(ctx, s.db, property, id)
	return e, db.Classify(err)
}

// LinkDevice links a device to a subject: the subject's consent then
// includes the device's choices, latest wins. Relinking moves the device.
func (s *Service) LinkDevice(ctx context.Context, subject, device string) (Link, error) {
	problems := map[string]string{}
	if !ValidID(subject) {
		problems["subject"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if !ValidID(device) {
		problems["device"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if len(problems) > 0 {
		return Link{}, errs.Fields(problems)
	}
	now := micros(s.now())
	link := Link{Device: device, Subject: subject, LinkedAt: fromMicros(now)}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT subject_id, seq, linked_at FROM subject_devices WHERE device_id = $1`, device).
			Scan(&current, &link.Seq, &now)
		if err == nil && current == subject {
			link.LinkedAt = fromMicros(now)
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subjects (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
			subject, micros(link.LinkedAt)); err != nil {
			return fmt.Errorf("create subject: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq`).Scan(&link.Seq); err != nil {
			return fmt.Errorf("take sequence number: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO subject_devices (device_id, subject_id, seq, linked_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (device_id) DO UPDATE SET subject_id = excluded.subject_id, seq = excluded.seq, linked_at = excluded.linked_at`,
			device, subject, link.Seq, micros(link.LinkedAt))
		return err
	})
	if err != nil {
		return Link{}, err
	}
	s.index.applyLinks([]Link{link})
	return link, nil
}

// sign returns the signed consent receipt of an event being appended. It
// depends only on what the client sent (after ValidateEvents filled the
// defaults) and the catalog. Only Append calls it: a receipt is issued once,
// stored with its event and chained, and never signed again from a row,
// which someone with the database could have edited.
func (s *Service) sign(e *Event) (string, error) {
	cat := s.catalog.load()
	r := &receipt.Receipt{
		Version:          receipt.Version,
		Jurisdiction:     e.Jurisdiction,
		ConsentTimestamp: e.At.Unix(),
		CollectionMethod: string(e.Source),
		ConsentReceiptID: receiptID(e),
		PIIPrincipalID:   principal(e),
		PIIControllers:   []receipt.Controller{s.ctrl},
		SPICat:           []string{},
		Steward: receipt.Ledger{
			EventID: e.ID, Property: e.Property, Purpose: e.Purpose, Vendor: e.Vendor,
			Action: string(e.Action), Source: string(e.Source), NoticeVersion: e.NoticeVersion, GPC: e.GPC,
		},
	}
	service := receipt.Service{Service: e.Property}
	if p, ok := cat.properties[e.Property]; ok {
		service.Service = p.Name
		r.PolicyURL = p.PolicyURL
	}
	purpose := receipt.Purpose{Purpose: e.Purpose, PurposeCategory: []string{e.Purpose}, PIICategory: []string{},
		ConsentType: "EXPLICIT", Termination: "until withdrawn in the privacy center or the consent banner"}
	if p, ok := cat.purposes[e.Purpose]; ok {
		purpose.Purpose = pickText(p.Names, e.Purpose)
		purpose.PrimaryPurpose = p.Necessary
		if p.LegalBasis != BasisConsent {
			purpose.ConsentType = "IMPLICIT"
		}
	}
	if v, ok := cat.vendors[e.Vendor]; ok {
		purpose.ThirdPartyDisclosure = true
		purpose.ThirdPartyName = v.Name
		purpose.PIICategory = append(purpose.PIICategory, v.DataCategories...)
	}
	service.Purposes = []receipt.Purpose{purpose}
	r.Services = []receipt.Service{service}
	return s.signer.Sign(r)
}

// receiptID derives a stable UUID-shaped id from the event's identity, so a
// retried request gets the same receipt.
func receiptID(e *Event) string {
	sum := sha256.Sum256([]byte(e.Property + "\x00" + e.ID))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: custom
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

func principal(e *Event) string {
	if e.Subject != "" {
		return "subject:" + e.Subject
	}
	return "device:" + e.Device
}

func pickText(texts map[string]string, fallback string) string {
	if t, ok := texts["en"]; ok {
		return t
	}
	best := ""
	for lang, t := range texts {
		if best == "" || lang < best {
			best, fallback = lang, t
		}
	}
	return fallback
}
