package consent

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/db"
)

// The consent ledger is a hash chain, so that someone who edits the
// database cannot change what was consented unnoticed (see the trust table
// in ARCHITECTURE.md).
//
// Chain entries are consent events and erasures, in sequence order. Each
// entry stores the seq of the entry before it (prev_seq) and its hash:
// SHA-256 over a domain tag, the previous entry's hash and a canonical
// encoding of everything stored for the entry (every field length-prefixed,
// so no two entries encode alike). ledger_head holds the last entry's seq
// (chain_seq) and hash; signed checkpoints of it are kept outside the
// database (checkpoint.go), so that even a chain recomputed after an edit
// shows.
//
// Device links take sequence numbers from ledger_head too (so that replicas
// apply links and events in one order) but are not chain entries:
// subject_devices is current state, a relink overwrites its row, and a link
// records no consent. prev_seq skips their numbers.
//
// Erasure must not look like tampering, and the chain must not keep the
// subject's id. So an event's hash covers not the subject or device id but
// principal_mac, HMAC-SHA256 of "subject:<id>" (or "device:<id>") under a
// random salt stored in the row. Erasing a subject (Pseudonymise) sets its
// rows' subject to a pseudonym and destroys the salt and the stored receipt
// (which names the subject); principal_mac and the receipt's hash stay, so
// the chain still verifies and nothing links the rows to the subject. The
// erasure itself is a chain entry that records how many events it erased.
// The verifier checks every row that still has a salt against its subject
// or device and its receipt, and accounts for the rows without one: they
// must hold a pseudonym and no receipt, and the numbers of rows under each
// pseudonym must be the numbers of events the erasure entries recorded. An
// attacker who "erases" rows to hide them makes those numbers disagree; one
// who forges an erasure entry breaks the chain. The erasure entry does not
// cover consent_erasures.subject_id, the id replicas use to forget the
// subject (covering it, even hashed, would keep a guessable trace of them).

// chainDomain separates ledger hashes from every other use of SHA-256.
const chainDomain = "steward/consent-ledger/v1"

const (
	entryEvent   byte = 'e'
	entryErasure byte = 'x'
)

// saltSize is the length of a row's principal salt.
const saltSize = 16

// encoder is the canonical encoding of a chain entry.
type encoder struct{ buf []byte }

func (e *encoder) bytes(b []byte) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) str(s string) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) int(n int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(n)) }

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) sum() []byte {
	h := sha256.Sum256(e.buf)
	return h[:]
}

func newEncoder(kind byte, prevHash []byte, seq, prevSeq int64, size int) *encoder {
	e := &encoder{buf: make([]byte, 0, size)}
	e.str(chainDomain)
	e.buf = append(e.buf, kind)
	e.bytes(prevHash)
	e.int(seq)
	e.int(prevSeq)
	return e
}

// principalKind is 's' for a subject's event and 'd' for a device's.
func principalKind(e *Event) byte {
	if e.Subject != "" {
		return 's'
	}
	return 'd'
}

// principalMAC commits to the subject or device of e under salt.
func principalMAC(salt []byte, e *Event) []byte {
	mac := appendMAC(make([]byte, 0, sha256.Size), salt, principal(e))
	return mac
}

// appendMAC appends HMAC-SHA256 (RFC 2104) of message under key, written
// out over stack buffers: crypto/hmac makes two hash states and their pads
// on the heap each call, and Append commits to a principal for every event.
// A test holds it equal to crypto/hmac.
func appendMAC(dst, key []byte, message string) []byte {
	var block [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		copy(block[:], sum[:])
	} else {
		copy(block[:], key)
	}
	var inner [sha256.BlockSize + 96]byte // the principal fits, usually
	in := inner[:sha256.BlockSize]
	for i, b := range block {
		in[i] = b ^ 0x36
	}
	innerSum := sha256.Sum256(append(in, message...))
	var outer [sha256.BlockSize + sha256.Size]byte
	for i, b := range block {
		outer[i] = b ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], innerSum[:])
	sum := sha256.Sum256(outer[:])
	return append(dst, sum[:]...)
}

// eventHash is the chain hash of the event e stored at e.Seq after the entry
// prevSeq whose hash is prevHash.
func eventHash(prevHash []byte, prevSeq int64, e *Event, mac, receiptHash []byte) []byte {
	enc := newEncoder(entryEvent, prevHash, e.Seq, prevSeq, 256+len(e.TCString)+len(e.GPPString))
	enc.str(e.Property)
	enc.str(e.ID)
	enc.buf = append(enc.buf, principalKind(e))
	enc.bytes(mac)
	enc.str(e.Purpose)
	enc.str(e.Vendor)
	enc.str(string(e.Action))
	enc.str(string(e.Source))
	enc.str(e.NoticeVersion)
	enc.str(e.Jurisdiction)
	enc.bool(e.GPC)
	enc.bool(e.DNT)
	enc.str(e.TCString)
	enc.int(micros(e.At))
	enc.int(micros(e.RecordedAt))
	enc.bytes(receiptHash)
	if e.GPPString != "" {
		// Added after the chain's first entries: an event without a GPP
		// string hashes as it did before there was one. Every field before
		// it has a fixed size or a length prefix, so the encoding stays
		// unambiguous.
		enc.str(e.GPPString)
	}
	if e.Channel != "" {
		// Added after GPP strings: an event without a channel hashes as it
		// did before. One with a channel always carries the GPP string
		// field first, even empty, so that a value cannot move between the
		// two: the encoding then ends in two length-prefixed strings where
		// one without a channel ends in at most one, and every length is
		// fixed by its prefix.
		if e.GPPString == "" {
			enc.str("")
		}
		enc.str(string(e.Channel))
	}
	return enc.sum()
}

// erasureHash is the chain hash of an erasure at seq that erased events
// (chained) consent events.
func erasureHash(prevHash []byte, seq, prevSeq, erasedAt, events int64) []byte {
	enc := newEncoder(entryErasure, prevHash, seq, prevSeq, 96)
	enc.int(erasedAt)
	enc.int(events)
	return enc.sum()
}

func receiptHash(jws string) []byte {
	h := sha256.Sum256([]byte(jws))
	return h[:]
}

// Problem kinds, as Verify names them.
const (
	ProblemChanged    = "changed"
	ProblemRemoved    = "removed"
	ProblemInserted   = "inserted"
	ProblemReordered  = "reordered"
	ProblemErased     = "erased without an erasure"
	ProblemHead       = "head differs"
	ProblemCheckpoint = "contradicts a checkpoint"
)

// Problem is a fault of the ledger: the first entry found changed, removed,
// inserted or reordered, or a checkpoint the ledger contradicts. It names
// entries by sequence number and event id, never by subject.
type Problem struct {
	Kind    string
	Seq     int64
	EventID string // "" for an erasure or an entry that is gone
	Detail  string
}

func (p *Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entry %d", p.Seq)
	if p.EventID != "" {
		fmt.Fprintf(&b, " (event %q)", p.EventID)
	}
	fmt.Fprintf(&b, " %s", p.Kind)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	return b.String()
}

// chainRow is a chain entry as stored.
type chainRow struct {
	kind     byte
	event    Event // for events; Seq is set for both kinds
	prevSeq  sql.NullInt64
	hash     []byte
	salt     []byte
	mac      []byte
	receipt  sql.NullString
	rHash    []byte
	erasedAt int64
	count    int64
}

func (r *chainRow) seq() int64 { return r.event.Seq }

// computed returns the hash r should have after prevHash.
func (r *chainRow) computed(prevHash []byte) []byte {
	if r.kind == entryErasure {
		return erasureHash(prevHash, r.seq(), r.prevSeq.Int64, r.erasedAt, r.count)
	}
	return eventHash(prevHash, r.prevSeq.Int64, &r.event, r.mac, r.rHash)
}

const chainEventColumns = eventColumns + `, prev_seq, hash, salt, principal_mac, receipt, receipt_hash`

// chainLinkColumns are what the hashes cover: enough to check the links of
// the chain, without the salt and the receipt text.
const chainLinkColumns = eventColumns + `, prev_seq, hash, NULL, principal_mac, NULL, receipt_hash`

func scanChainEvent(scan func(...any) error) (chainRow, error) {
	r := chainRow{kind: entryEvent}
	var subject, device sql.NullString
	var action, source, channel string
	var at, recorded int64
	err := scan(&r.event.Seq, &r.event.Property, &r.event.ID, &subject, &device, &r.event.Purpose, &r.event.Vendor, &action, &source,
		&r.event.NoticeVersion, &r.event.Jurisdiction, &r.event.GPC, &r.event.DNT, &r.event.TCString, &at, &recorded, &r.event.GPPString,
		&channel, &r.prevSeq, &r.hash, &r.salt, &r.mac, &r.receipt, &r.rHash)
	r.event.Subject, r.event.Device = subject.String, device.String
	r.event.Action, r.event.Source, r.event.Channel = Action(action), Source(source), Channel(channel)
	r.event.At, r.event.RecordedAt = fromMicros(at), fromMicros(recorded)
	return r, err
}

// ledgerHead is the row of ledger_head.
type ledgerHead struct {
	seq, chainSeq, chainFrom int64
	hash                     []byte
}

func readHead(ctx context.Context, q db.Querier) (ledgerHead, error) {
	var h ledgerHead
	err := q.QueryRowContext(ctx, `SELECT seq, chain_seq, chain_from, hash FROM ledger_head WHERE id = 1`).
		Scan(&h.seq, &h.chainSeq, &h.chainFrom, &h.hash)
	if err != nil {
		return h, fmt.Errorf("read ledger head: %w", err)
	}
	return h, nil
}

// readChain reads the chain entries after seq and up to upTo, in sequence
// order: at most limit events, and the erasures among them; with
// linksOnly, without the events' salts and receipts (see walker.linksOnly).
// more reports that the limit cut the read short.
func readChain(ctx context.Context, q db.Querier, after, upTo int64, limit int, linksOnly bool) (rows []chainRow, more bool, err error) {
	columns := chainEventColumns
	if linksOnly {
		columns = chainLinkColumns
	}
	events, err := db.QueryAll(ctx, q, `SELECT `+columns+` FROM consent_events WHERE seq > $1 AND seq <= $2
		ORDER BY seq LIMIT $3`, []any{after, upTo, limit}, scanChainEvent)
	if err != nil {
		return nil, false, fmt.Errorf("read ledger: %w", err)
	}
	end := upTo
	if len(events) == limit {
		end, more = events[len(events)-1].seq(), true
	}
	erasures, err := db.QueryAll(ctx, q, `SELECT seq, prev_seq, hash, erased_at, events FROM consent_erasures
		WHERE seq > $1 AND seq <= $2 ORDER BY seq`, []any{after, end}, func(scan func(...any) error) (chainRow, error) {
		r := chainRow{kind: entryErasure}
		var count sql.NullInt64
		err := scan(&r.event.Seq, &r.prevSeq, &r.hash, &r.erasedAt, &count)
		r.count = count.Int64
		return r, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("read erasures: %w", err)
	}
	if len(erasures) == 0 {
		return events, more, nil
	}
	all := append(events, erasures...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].seq() < all[j].seq() })
	return all, more, nil
}

// walker follows the chain entry by entry and finds its first fault.
type walker struct {
	prevSeq  int64
	prevHash []byte
	prevID   string
	verified int64
	// pending is an entry whose hash did not match: changed, unless the
	// next entry chains from before it, which makes it inserted.
	pending *chainRow
	problem *Problem
	// erased counts the chained events without a salt by pseudonym; counts
	// are the event counts of the erasures walked.
	erased map[string]*erasedGroup
	counts []int64
	// at, when set, is told the hash of every entry verified.
	at func(seq int64, hash []byte)
	// receipt, when set, checks an event's stored receipt against the row
	// and returns what differs.
	receipt func(r *chainRow) string
	// linksOnly checks the hashes and links only, not the subject or
	// device against its commitment, the receipt against its hash, nor
	// erasures: what the checkpointer does before it signs, every second,
	// on what was just appended (`steward ledger verify` checks it all).
	linksOnly bool
}

type erasedGroup struct {
	first   int64
	firstID string
	n       int64
}

func newWalker(seq int64, hash []byte) *walker {
	return &walker{prevSeq: seq, prevHash: hash, erased: map[string]*erasedGroup{}}
}

// step checks the next entry; it reports false once a problem is found.
func (w *walker) step(r *chainRow) bool {
	if w.problem != nil {
		return false
	}
	if p := w.pending; p != nil {
		w.pending = nil
		if r.prevSeq.Valid && r.prevSeq.Int64 == w.prevSeq && r.hash != nil {
			w.problem = &Problem{Kind: ProblemInserted, Seq: p.seq(), EventID: p.event.ID, Detail: "the next entry chains from the one before it"}
		} else {
			w.problem = &Problem{Kind: ProblemChanged, Seq: p.seq(), EventID: p.event.ID, Detail: "its content does not match its hash"}
		}
		return false
	}
	id := r.event.ID
	switch {
	case r.hash == nil || !r.prevSeq.Valid:
		w.problem = &Problem{Kind: ProblemInserted, Seq: r.seq(), EventID: id, Detail: "it has no chain hash: the ledger did not write it"}
	case r.prevSeq.Int64 >= r.seq():
		w.problem = &Problem{Kind: ProblemReordered, Seq: r.seq(), EventID: id,
			Detail: fmt.Sprintf("it was written after entry %d", r.prevSeq.Int64)}
	case r.prevSeq.Int64 > w.prevSeq:
		w.problem = &Problem{Kind: ProblemRemoved, Seq: r.prevSeq.Int64,
			Detail: fmt.Sprintf("entry %d follows it, but the entry before is %d", r.seq(), w.prevSeq)}
	case r.prevSeq.Int64 < w.prevSeq:
		w.problem = &Problem{Kind: ProblemInserted, Seq: w.prevSeq, EventID: w.prevID,
			Detail: fmt.Sprintf("entry %d chains from entry %d, before it", r.seq(), r.prevSeq.Int64)}
	case !bytes.Equal(r.computed(w.prevHash), r.hash):
		w.pending = r
		return true
	case w.linksOnly:
	case r.kind == entryEvent && r.salt != nil && !hmac.Equal(principalMAC(r.salt, &r.event), r.mac):
		w.problem = &Problem{Kind: ProblemChanged, Seq: r.seq(), EventID: id, Detail: "its subject or device was changed"}
	case r.kind == entryEvent && r.salt != nil && (!r.receipt.Valid || !bytes.Equal(receiptHash(r.receipt.String), r.rHash)):
		w.problem = &Problem{Kind: ProblemChanged, Seq: r.seq(), EventID: id, Detail: "its stored receipt was changed"}
	case r.kind == entryEvent && r.salt == nil && (r.receipt.Valid || !strings.HasPrefix(r.event.Subject, pseudonymPrefix)):
		w.problem = &Problem{Kind: ProblemErased, Seq: r.seq(), EventID: id, Detail: "its salt is gone but it is not pseudonymised"}
	case r.kind == entryEvent && r.salt != nil && w.receipt != nil:
		if differs := w.receipt(r); differs != "" {
			w.problem = &Problem{Kind: ProblemChanged, Seq: r.seq(), EventID: id, Detail: differs}
		}
	}
	if w.problem != nil {
		return false
	}
	if r.kind == entryErasure {
		w.counts = append(w.counts, r.count)
	} else if r.salt == nil && !w.linksOnly {
		g := w.erased[r.event.Subject]
		if g == nil {
			g = &erasedGroup{first: r.seq(), firstID: id}
			w.erased[r.event.Subject] = g
		}
		g.n++
	}
	w.prevSeq, w.prevHash, w.prevID = r.seq(), r.hash, id
	w.verified++
	if w.at != nil {
		w.at(r.seq(), r.hash)
	}
	return true
}

// finish ends the walk at head: a pending entry is changed, and the last
// entry must be the head's.
func (w *walker) finish(head ledgerHead) {
	if p := w.pending; p != nil && w.problem == nil {
		w.pending = nil
		w.problem = &Problem{Kind: ProblemChanged, Seq: p.seq(), EventID: p.event.ID, Detail: "its content does not match its hash"}
	}
	if w.problem != nil {
		return
	}
	switch {
	case head.chainSeq > w.prevSeq:
		w.problem = &Problem{Kind: ProblemRemoved, Seq: head.chainSeq,
			Detail: fmt.Sprintf("the ledger head names entry %d, but the chain ends at %d", head.chainSeq, w.prevSeq)}
	case head.chainSeq < w.prevSeq:
		w.problem = &Problem{Kind: ProblemHead, Seq: w.prevSeq, EventID: w.prevID,
			Detail: fmt.Sprintf("the chain goes on after the head's entry %d", head.chainSeq)}
	case !bytes.Equal(head.hash, w.prevHash):
		w.problem = &Problem{Kind: ProblemHead, Seq: head.chainSeq, Detail: "the ledger head holds another hash"}
	}
}

// checkErasures checks that the events without a salt are those the
// erasures erased: as many groups (one pseudonym each) as erasures that
// erased any, of the same sizes.
func (w *walker) checkErasures() {
	if w.problem != nil {
		return
	}
	want := map[int64]int{}
	for _, n := range w.counts {
		if n > 0 {
			want[n]++
		}
	}
	groups := make([]*erasedGroup, 0, len(w.erased))
	for _, g := range w.erased {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].first < groups[j].first })
	for _, g := range groups {
		if want[g.n] == 0 {
			w.problem = &Problem{Kind: ProblemErased, Seq: g.first, EventID: g.firstID,
				Detail: fmt.Sprintf("%d events share its pseudonym, which no recorded erasure accounts for", g.n)}
			return
		}
		want[g.n]--
	}
}
