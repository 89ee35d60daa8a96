package consent

import (
	"hash/maphash"
	"time"

	"github.com/steward-dev/steward/internal/consentrules"
)

// state is the latest decision of one identity for one (purpose, vendor);
// hold is what stops a subject's processing whatever their consents say.
// Both, and the rules that read them, live in package consentrules, which
// the SDK's local Decider shares.
type (
	state = consentrules.State
	hold  = consentrules.Hold
)

const (
	actionNone     = consentrules.ActionNone
	actionGrant    = consentrules.ActionGrant
	actionDeny     = consentrules.ActionDeny
	actionWithdraw = consentrules.ActionWithdraw
	actionObject   = consentrules.ActionObject

	holdRestricted = consentrules.HoldRestricted
	holdObjected   = consentrules.HoldObjected
)

func actionCode(a Action) uint8 { return consentrules.ActionCode(string(a)) }

// Supersedes reports whether e replaces other as the latest choice, by the
// rule decisions follow (ledger order; an import does not replace a later
// state). Both must be ledger entries (Seq set).
func (e *Event) Supersedes(other *Event) bool {
	return stateOf(e).Newer(stateOf(other))
}

func stateOf(e *Event) state {
	return state{Seq: uint64(e.Seq), At: unixSeconds(e.At), Imported: e.Source == SourceImport}
}

// Index holds the latest consent state per (identity, purpose, vendor) in
// memory (consentrules.Index), keyed by 128 bits of two independently
// seeded hashes of each id: with random per-process seeds, two of a
// billion ids share a key with a probability of about 10^-21, and nobody
// outside the process can aim for it.
type Index struct {
	seedA, seedB maphash.Seed
	*consentrules.Index
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	x := &Index{seedA: maphash.MakeSeed(), seedB: maphash.MakeSeed()}
	x.Index = consentrules.NewIndex(x.key)
	return x
}

// key returns the index key of a subject or device id.
func (x *Index) key(id string) consentrules.Key {
	return consentrules.Key{A: maphash.String(x.seedA, id), B: maphash.String(x.seedB, id)}
}

// keyBytes is key for an id in a byte slice, which it does not keep.
func (x *Index) keyBytes(id []byte) consentrules.Key {
	return consentrules.Key{A: maphash.Bytes(x.seedA, id), B: maphash.Bytes(x.seedB, id)}
}

// indexedEvent is the part of an event the index keeps.
type indexedEvent = consentrules.Event

// apply records events.
func (x *Index) apply(events []indexedEvent) { x.Apply(events) }

// applyLinks records device-to-subject links; the link with the highest
// sequence number wins for each device.
func (x *Index) applyLinks(links []Link) {
	keyed := make([]consentrules.Link, len(links))
	for i, l := range links {
		keyed[i] = consentrules.Link{Device: x.key(l.Device), Subject: x.key(l.Subject), Seq: l.Seq}
	}
	x.ApplyLinks(keyed)
}

// applyRestrictions records placings and liftings (see
// consentrules.Index.ApplyRestrictions).
func (x *Index) applyRestrictions(rows []restrictionRow) {
	keyed := make([]consentrules.Restriction, len(rows))
	for i, r := range rows {
		keyed[i] = consentrules.Restriction{Seq: r.seq, Subject: x.key(r.subject), Purpose: r.purpose, Lift: r.lift}
	}
	x.ApplyRestrictions(keyed)
}

// forget drops erased subjects from the index.
func (x *Index) forget(subjects []string, seq int64) {
	if len(subjects) == 0 {
		return
	}
	keys := make([]consentrules.Key, len(subjects))
	for i, s := range subjects {
		keys[i] = x.key(s)
	}
	x.Forget(keys, seq)
}

// latest is consentrules.Index.Latest.
func (x *Index) latest(subject, device string, purpose, vendor uint16) (state, bool, hold) {
	return x.Latest(subject, device, purpose, vendor)
}

func unixSeconds(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}
