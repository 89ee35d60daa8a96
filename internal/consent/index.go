package consent

import (
	"crypto/rand"
	"encoding/binary"
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
// memory (consentrules.Index), keyed by the 128-bit SipHash of each id
// under the index's random key: two of a billion ids share a key with a
// probability of about 10^-21, and nobody without the key (the process's,
// and its snapshot file's, see snapshot.go) can aim for it. SipHash rather
// than hash/maphash because a snapshot must hold the key, and maphash
// seeds cannot be saved.
type Index struct {
	hashKey [2]uint64
	*consentrules.Index
}

// NewIndex returns an empty index.
func NewIndex() *Index { return newIndexKeyed(randomHashKey()) }

// newIndexKeyed returns an empty index whose identities are keyed by
// hashKey.
func newIndexKeyed(hashKey [2]uint64) *Index {
	x := &Index{hashKey: hashKey}
	x.Index = consentrules.NewIndex(x.key)
	return x
}

func randomHashKey() [2]uint64 {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return [2]uint64{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}
}

// key returns the index key of a subject or device id.
func (x *Index) key(id string) consentrules.Key {
	a, b := sipHash128(x.hashKey[0], x.hashKey[1], id)
	return consentrules.Key{A: a, B: b}
}

// keyBytes is key for an id in a byte slice, which it does not keep.
func (x *Index) keyBytes(id []byte) consentrules.Key {
	a, b := sipHash128(x.hashKey[0], x.hashKey[1], id)
	return consentrules.Key{A: a, B: b}
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

// latest is consentrules.Index.Latest; channel is a consentrules.ChannelCode
// (0: none).
func (x *Index) latest(subject, device string, purpose, vendor, channel uint16) (state, bool, hold) {
	return x.Latest(subject, device, purpose, vendor, channel)
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
