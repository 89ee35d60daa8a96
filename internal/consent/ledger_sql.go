// The ledger's SQL: the chained inserts of a group on SQLite and PostgreSQL,
// and scanning events back.

package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

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
// fast way. The group's analytics rollups are not written here: they are
// summed in memory and written about once a second (rollupBuffer).
func (s *Service) insertSQLite(ctx context.Context, events []Event, data []*chainData, inserted []bool) ([]int, error) {
	var conflicts []int
	errConflict := errors.New("conflict")
	var start, end ledgerHead
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Updating the head first takes SQLite's write lock before anything
		// is read.
		var head ledgerHead
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, chain_seq, hash`).
			Scan(&head.seq, &head.chainSeq, &head.hash); err != nil {
			return fmt.Errorf("read ledger head: %w", err)
		}
		start = head
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO consent_events (`+eventColumns+`, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)
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
				e.GPPString, string(e.Channel), head.chainSeq, hash, d.salt, d.mac, d.receipt, d.receiptHash)
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
		end = head
		return nil
	})
	if len(conflicts) > 0 {
		return conflicts, nil
	}
	if err == nil {
		s.written.extend(start, end)
		// The analytics rollups of the group: summed in memory, written by
		// the commit loop later (rollup.go).
		if s.rollupsOff {
			s.rollups.skipped(start.seq, end.seq)
		} else {
			s.rollups.committed(start.seq, end.seq, events, inserted)
		}
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
//
// The same statement adds the group's choices, summed by cell, to each
// analytics rollup table ($29 on, rollupCTEs and rollupArrays): only when
// the head moved, since the cells join it, and with the events or not at
// all. insertPostgresNoRollupsSQL is the statement without them (the
// diagnostic switch Service.rollupsOff).
//
// The head's RETURNING also notifies the other replicas (notifyChannel,
// payload $27): PostgreSQL delivers the notification when the transaction
// commits, and not at all if it rolls back or the head had moved, at no
// round trip of its own.
//
// The events' channels are $28, after the notification's payload, so that
// the statements with and without rollups number them alike.
var insertPostgresSQL = insertPostgres(true)

var insertPostgresNoRollupsSQL = insertPostgres(false)

func insertPostgres(rollups bool) string {
	with := `WITH head AS (UPDATE ledger_head SET seq = $1, chain_seq = $1, hash = $3 WHERE id = 1 AND seq = $2
	RETURNING seq, pg_notify('` + notifyChannel + `', $27))`
	if rollups {
		with += rollupCTEs(29)
	}
	return with + `
INSERT INTO consent_events (` + eventColumns + `, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
SELECT e.seq, e.property, e.event_id, e.subject_id, e.device_id, e.purpose, e.vendor, e.action, e.source,
	e.notice_version, e.jurisdiction, e.gpc, e.dnt, e.tc_string, e.at, e.recorded_at, e.gpp_string, e.channel, e.prev_seq, e.hash, e.salt,
	e.principal_mac, e.receipt, e.receipt_hash
FROM head, unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
	$12::text[], $13::text[], $14::text[], $15::boolean[], $16::boolean[], $17::text[], $18::bigint[], $19::bigint[],
	$20::text[], $28::text[], $21::bigint[], $22::bytea[], $23::bytea[], $24::bytea[], $25::text[], $26::bytea[])
	AS e(seq, property, event_id, subject_id, device_id, purpose, vendor, action, source, notice_version,
		jurisdiction, gpc, dnt, tc_string, at, recorded_at, gpp_string, channel, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)`
}

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
		gppStrings, channels                                 = make([]string, n), make([]string, n)
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
		gppStrings[i], channels[i] = e.GPPString, string(e.Channel)
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
	args := []any{last, head.seq, prevHash, seqs, properties, ids, subjects, devices, purposes,
		vendors, actions, sources, notices, jurisdictions, gpcs, dnts, tcStrings, ats, recorded, gppStrings, prevSeqs, hashes, salts, macs,
		receipts, receiptHashes, s.notifyPayload(readEvents), channels} // $27, $28
	query := insertPostgresNoRollupsSQL
	if !s.rollupsOff {
		query, args = insertPostgresSQL, append(args, rollupArrays(events)...)
	}
	res, err := q.ExecContext(ctx, query, args...)
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
		// Under the head's lock the transaction may still roll back: the
		// checkpointer then finds the store's head short of this one and
		// reads what is there.
		s.written.extend(head, s.pgHead)
	}
	return int(affected), nil
}

func scanEvent(scan func(...any) error) (Event, error) {
	var e Event
	var subject, device sql.NullString
	var action, source, channel string
	var at, recorded int64
	err := scan(&e.Seq, &e.Property, &e.ID, &subject, &device, &e.Purpose, &e.Vendor, &action, &source,
		&e.NoticeVersion, &e.Jurisdiction, &e.GPC, &e.DNT, &e.TCString, &at, &recorded, &e.GPPString, &channel)
	e.Subject, e.Device = subject.String, device.String
	e.Action, e.Source, e.Channel = Action(action), Source(source), Channel(channel)
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
