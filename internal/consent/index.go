package consent

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// state is the latest decision of one identity for one (purpose, vendor).
// It is kept to 16 bytes: the index holds one per recorded combination.
type state struct {
	seq      uint64
	at       uint32 // Unix seconds: the server's receive time, or an import's original time
	notice   uint16 // ordinal of the notice the decision was made under
	action   uint8
	imported bool // source import: a historical consent with its original time
}

const (
	actionNone uint8 = iota
	actionGrant
	actionDeny
	actionWithdraw
	actionObject
)

func actionCode(a Action) uint8 {
	switch a {
	case ActionGrant:
		return actionGrant
	case ActionDeny:
		return actionDeny
	case ActionWithdraw:
		return actionWithdraw
	case ActionObject:
		return actionObject
	}
	return actionNone
}

// newer reports whether s is later than other. The order of choices is
// the ledger's (the order the server received them), never a time a client
// supplied: of two events, the one with the higher sequence number wins,
// except that an import (a historical consent with its original time) does
// not replace a state whose time is later than its own. So an import never
// overrides a choice recorded after it arrived, nor one made after the
// consent it imports. Events are applied in ledger order, live and when the
// index is rebuilt, and re-applying one is harmless.
func (s state) newer(other state) bool {
	switch {
	case s.seq > other.seq:
		return !s.imported || s.at >= other.at
	case s.seq < other.seq:
		return other.imported && other.at < s.at
	}
	return false
}

// Supersedes reports whether e replaces other as the latest choice, by the
// rule decisions follow (ledger order; an import does not replace a later
// state). Both must be ledger entries (Seq set).
func (e *Event) Supersedes(other *Event) bool {
	return stateOf(e).newer(stateOf(other))
}

func stateOf(e *Event) state {
	return state{seq: uint64(e.Seq), at: unixSeconds(e.At), imported: e.Source == SourceImport}
}

// identInfo is what the index knows of an identity beyond its states,
// kept in a slice indexed by the identity's number.
type identInfo struct {
	subject       uint32 // for a linked device: the subject's identity
	hasDevices    bool   // for a subject: devices are linked to it
	vendorChoices bool   // some of its states name a vendor
}

// idKey stands for a subject or device id in the index: the 128-bit
// SipHash of the id under the index's random key. Holding ids as strings
// would cost more than the states themselves (a 36-character device id
// takes a 48-byte allocation); two of a billion ids share a key with a
// probability of about 10^-21, and nobody without the key (the process's,
// and the snapshot file's, see snapshot.go) can aim for it.
type idKey struct{ a, b uint64 }

// Index holds the latest consent state per (identity, purpose, vendor) in
// memory. Identities, purposes and vendors are interned to small integers so
// that a state costs one map slot of 24 bytes. Lookups take a read lock and
// do not allocate.
type Index struct {
	hashKey [2]uint64 // SipHash key of identities, random (or a snapshot's)

	mu sync.RWMutex
	// encoding is set while a snapshot holds the read lock (see
	// lockWrite).
	encoding  atomic.Bool
	subjects  map[idKey]uint32
	devices   map[idKey]uint32
	purposes  map[string]uint16
	vendors   map[string]uint16 // vendor 0 is "no vendor"
	states    map[uint64]state
	idents    []identInfo         // by identity number; 0 is unused
	linkSeq   map[uint32]uint64   // device identity → sequence number of its link
	devicesOf map[uint32][]uint32 // subject identity → device identities
	maxSeq    uint64
	// restricted holds the restrictions in force (restrict.go): by
	// stateKey(subject, purpose, 0), purpose 0 for all purposes, the
	// sequence number of the restriction.
	restricted map[uint64]uint64
	liftedAll  map[uint32]uint64 // subject identity → its last lifting of all restrictions
	// objections holds, by stateKey(subject, purpose, 0), the subject's
	// latest objection or own grant (source portal) after one: an
	// objection stands until the subject grants the purpose again.
	objections map[uint64]state
}

// hold is what stops a subject's processing whatever their consents say.
type hold struct {
	kind uint8
	seq  uint64 // the restriction's or the objection's sequence number
}

const (
	holdNone uint8 = iota
	holdRestricted
	holdObjected
)

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		hashKey:   randomHashKey(),
		subjects:  map[idKey]uint32{},
		devices:   map[idKey]uint32{},
		purposes:  map[string]uint16{},
		vendors:   map[string]uint16{"": 0},
		states:    map[uint64]state{},
		idents:    make([]identInfo, 1, 1024),
		linkSeq:   map[uint32]uint64{},
		devicesOf: map[uint32][]uint32{},

		restricted: map[uint64]uint64{},
		liftedAll:  map[uint32]uint64{},
		objections: map[uint64]state{},
	}
}

// lockWrite takes the write lock. While a snapshot is encoded (for
// seconds, holding the read lock), it polls for the lock instead of
// queueing for it: a writer queued on a sync.RWMutex holds back every new
// reader, and decisions would wait for the whole snapshot; this way only
// the writer does.
func (x *Index) lockWrite() {
	for x.encoding.Load() {
		if x.mu.TryLock() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	x.mu.Lock()
}

func randomHashKey() [2]uint64 {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return [2]uint64{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}
}

func stateKey(ident uint32, purpose, vendor uint16) uint64 {
	return uint64(ident)<<32 | uint64(purpose)<<16 | uint64(vendor)
}

// key returns the index key of a subject or device id.
func (x *Index) key(id string) idKey {
	a, b := sipHash128(x.hashKey[0], x.hashKey[1], id)
	return idKey{a, b}
}

// keyBytes is key for an id in a byte slice, which it does not keep.
func (x *Index) keyBytes(id []byte) idKey {
	a, b := sipHash128(x.hashKey[0], x.hashKey[1], id)
	return idKey{a, b}
}

func (x *Index) intern(m map[idKey]uint32, id idKey) uint32 {
	if n, ok := m[id]; ok {
		return n
	}
	n := uint32(len(x.idents))
	x.idents = append(x.idents, identInfo{})
	m[id] = n
	return n
}

func intern16(m map[string]uint16, key string, first uint16) uint16 {
	if n, ok := m[key]; ok {
		return n
	}
	n := uint16(len(m)) + first
	m[key] = n
	return n
}

// catalogIDs interns the catalog's purposes and vendors, so that decisions
// carry their numbers instead of looking keys up again.
func (x *Index) catalogIDs(purposes, vendors []string) (map[string]uint16, map[string]uint16) {
	x.lockWrite()
	defer x.mu.Unlock()
	p := make(map[string]uint16, len(purposes))
	for _, k := range purposes {
		p[k] = intern16(x.purposes, k, 1)
	}
	v := make(map[string]uint16, len(vendors))
	for _, k := range vendors {
		v[k] = intern16(x.vendors, k, 0)
	}
	return p, v
}

// indexedEvent is the part of an event the index keeps.
type indexedEvent struct {
	seq       int64
	ident     idKey // of the subject, or else of the device
	isSubject bool
	purpose   string
	vendor    string
	action    Action
	at        time.Time
	noticeNo  int
	imported  bool  // source import
	portal    bool  // source portal: the subject's own choice
	recorded  int64 // when the ledger recorded it, Unix microseconds (read by the follower only, for its lag)
}

// apply records events; callers hold no lock.
func (x *Index) apply(events []indexedEvent) {
	x.lockWrite()
	defer x.mu.Unlock()
	for _, e := range events {
		var ident uint32
		if e.isSubject {
			ident = x.intern(x.subjects, e.ident)
		} else {
			ident = x.intern(x.devices, e.ident)
		}
		purpose := intern16(x.purposes, e.purpose, 1)
		vendor := intern16(x.vendors, e.vendor, 0)
		s := state{seq: uint64(e.seq), at: unixSeconds(e.at), notice: uint16(e.noticeNo), action: actionCode(e.action), imported: e.imported}
		if vendor != 0 {
			x.idents[ident].vendorChoices = true
		}
		k := stateKey(ident, purpose, vendor)
		switch {
		case s.action == actionObject:
			// Kept apart from the choices: a later grant by anyone but
			// the subject does not end it.
			if old, ok := x.objections[k]; !ok || s.newer(old) {
				x.objections[k] = s
			}
		case e.portal && e.isSubject && vendor == 0 && s.action == actionGrant:
			if old, ok := x.objections[k]; ok && s.newer(old) {
				x.objections[k] = s // the subject's own grant ends their objection
			}
		}
		if s.action != actionObject {
			if old, ok := x.states[k]; !ok || s.newer(old) {
				x.states[k] = s
			}
		}
		if uint64(e.seq) > x.maxSeq {
			x.maxSeq = uint64(e.seq)
		}
	}
}

// applyLinks records device-to-subject links; the link with the highest
// sequence number wins for each device.
func (x *Index) applyLinks(links []Link) {
	x.lockWrite()
	defer x.mu.Unlock()
	for _, l := range links {
		device := x.intern(x.devices, x.key(l.Device))
		subject := x.intern(x.subjects, x.key(l.Subject))
		if seq, had := x.linkSeq[device]; had && seq >= uint64(l.Seq) {
			continue
		}
		x.linkSeq[device] = uint64(l.Seq)
		if uint64(l.Seq) > x.maxSeq {
			x.maxSeq = uint64(l.Seq)
		}
		old := x.idents[device].subject
		if old == subject {
			continue
		}
		if old != 0 {
			list := x.devicesOf[old]
			for i, d := range list {
				if d == device {
					list = append(list[:i], list[i+1:]...)
					break
				}
			}
			x.devicesOf[old] = list
			x.idents[old].hasDevices = len(list) > 0
		}
		x.idents[device].subject = subject
		x.devicesOf[subject] = append(x.devicesOf[subject], device)
		x.idents[subject].hasDevices = true
	}
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

// MaxSeq returns the highest ledger sequence number applied.
func (x *Index) MaxSeq() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int64(x.maxSeq)
}

// Len returns the number of states held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.states)
}

// latest returns the latest state that applies to the identity for the
// purpose and vendor (vendor 0: none): its own, or one of a linked identity
// (a subject's devices, or a device's subject and that subject's other
// devices); a purpose-wide decision and a vendor-specific one compete,
// latest wins. It also returns what holds the subject's (or the linked
// subject's) processing for the purpose: a restriction, else an
// objection. Callers hold the read lock.
func (x *Index) latest(subject, device string, purpose, vendor uint16) (state, bool, hold) {
	var ident uint32
	if subject != "" {
		ident = x.subjects[x.key(subject)]
	} else if d, ok := x.devices[x.key(device)]; ok {
		ident = d
		if linked := x.idents[d].subject; linked != 0 {
			ident = linked
		}
	}
	if ident == 0 {
		return state{}, false, hold{}
	}
	var h hold
	if len(x.restricted) > 0 {
		if seq, ok := x.restricted[stateKey(ident, 0, 0)]; ok && seq&liftedBit == 0 {
			h = hold{holdRestricted, seq}
		} else if seq, ok := x.restricted[stateKey(ident, purpose, 0)]; ok && seq&liftedBit == 0 {
			h = hold{holdRestricted, seq}
		}
	}
	if h.kind == holdNone && len(x.objections) > 0 {
		if o, ok := x.objections[stateKey(ident, purpose, 0)]; ok && o.action == actionObject {
			h = hold{holdObjected, o.seq}
		}
	}
	best, found := x.lookup(ident, purpose, vendor)
	if x.idents[ident].hasDevices {
		for _, d := range x.devicesOf[ident] {
			if s, ok := x.lookup(d, purpose, vendor); ok && (!found || s.newer(best)) {
				best, found = s, true
			}
		}
	}
	return best, found, h
}

func (x *Index) lookup(ident uint32, purpose, vendor uint16) (state, bool) {
	best, found := x.states[stateKey(ident, purpose, 0)]
	if vendor != 0 && x.idents[ident].vendorChoices {
		if s, ok := x.states[stateKey(ident, purpose, vendor)]; ok && (!found || s.newer(best)) {
			best, found = s, true
		}
	}
	return best, found
}
