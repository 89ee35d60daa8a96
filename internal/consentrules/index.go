package consentrules

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync"
)

// Key stands for a subject or device id in the index: 128 bits of a hash
// of the id. Holding ids as strings would cost more than the states
// themselves (a 36-character device id takes a 48-byte allocation). The
// server hashes with random per-process seeds (nobody outside the process
// can aim for a collision); the SDK with RefKey, the hash the decision
// stream names identities by.
type Key struct{ A, B uint64 }

// refPrefix separates the stream's hashes from any other use of SHA-256.
const refPrefix = "steward/decider/v1\x00"

// RefKey returns the key of an id as the decision stream names it: the
// first 128 bits of SHA-256("steward/decider/v1\x00" + id). It does not
// allocate for ids of up to 200 bytes.
func RefKey(id string) Key {
	var buf [len(refPrefix) + 200]byte
	var sum [32]byte
	if len(id) <= 200 {
		n := copy(buf[:], refPrefix)
		n += copy(buf[n:], id)
		sum = sha256.Sum256(buf[:n])
	} else {
		sum = sha256.Sum256([]byte(refPrefix + id))
	}
	return Key{binary.BigEndian.Uint64(sum[0:8]), binary.BigEndian.Uint64(sum[8:16])}
}

// Ref returns the name the decision stream gives an id: RefKey in
// unpadded base64url (22 characters). It reveals the id to nobody who does
// not know it already.
func Ref(id string) string { return RefOf(RefKey(id)) }

// RefOf encodes a key as a ref.
func RefOf(k Key) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], k.A)
	binary.BigEndian.PutUint64(b[8:16], k.B)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseRef decodes a ref; ok is false when it is not one.
func ParseRef(ref string) (Key, bool) {
	var b [16]byte
	if len(ref) != 22 {
		return Key{}, false
	}
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(ref)); err != nil || n != 16 {
		return Key{}, false
	}
	return Key{binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16])}, true
}

// identInfo is what the index knows of an identity beyond its states,
// kept in an arena by the identity's number: 24 bytes, its key included
// (the identity tables hold numbers only).
type identInfo struct {
	key   Key
	first uint32 // its latest-added state in Index.states (0: none)
	// link holds, in its low identBits bits, a linked device's subject's
	// identity (0: none), and above them the flags.
	link uint32
}

// identBits bounds identity numbers (to 536,870,911): the bits of
// identInfo.link above them are its flags.
const identBits = 29

// The flags of an identity.
const (
	identMask = 1<<identBits - 1
	// flagHasDevices: for a subject, devices are linked to it.
	flagHasDevices uint32 = 1 << identBits
	// flagVendorChoices: some of its states name a vendor.
	flagVendorChoices uint32 = 1 << (identBits + 1)
	// flagChannelChoices: some of its choices name one channel of a
	// topic (kept in Index.channelStates).
	flagChannelChoices uint32 = 1 << (identBits + 2)
)

// subject is a linked device's subject's identity (0: none).
func (i *identInfo) subject() uint32 { return i.link & identMask }

func (i *identInfo) setSubject(n uint32) { i.link = i.link&^identMask | n }

func (i *identInfo) has(flag uint32) bool { return i.link&flag != 0 }

func (i *identInfo) set(flag uint32, on bool) {
	if on {
		i.link |= flag
	} else {
		i.link &^= flag
	}
}

// stateEntry is one state in the index's arena, chained to the other
// states of its identity: 24 bytes, and no map slot, per state. An
// identity holds a few states (its purposes, and vendors it chose for),
// so that the chain is short; a map of a million states would cost 55
// bytes each, as Go's maps grow by doubling.
type stateEntry struct {
	State
	purpose, vendor uint16
	next            uint32 // the identity's previous state (0: none)
}

// Index holds the latest consent state per (identity, purpose, vendor) in
// memory. Identities, purposes and vendors are interned to small integers,
// and an identity's states are chained in one arena, so that a state costs
// 24 bytes and its share of its identity's (24 bytes and its slot in an
// identity table). Lookups take a read lock and do not allocate.
type Index struct {
	keyOf func(string) Key

	mu        sync.RWMutex
	subjects  identTable
	devices   identTable
	purposes  map[string]uint16
	vendors   map[string]uint16   // vendor 0 is "no vendor"
	states    arena[stateEntry]   // entry 0 is unused
	idents    arena[identInfo]    // by identity number; 0 is unused
	linkSeq   map[uint32]uint64   // device identity → sequence number of its link
	devicesOf map[uint32][]uint32 // subject identity → device identities
	maxSeq    uint64
	// restricted holds the restrictions in force: by stateKey(subject,
	// purpose, 0), purpose 0 for all purposes, the sequence number of the
	// restriction (liftedBit set for a lifting).
	restricted map[uint64]uint64
	liftedAll  map[uint32]uint64 // subject identity → its last lifting of all restrictions
	// objections holds, by stateKey(subject, purpose, 0), the subject's
	// latest objection or own grant (source portal) after one: an
	// objection stands until the subject grants the purpose again.
	objections map[uint64]State
	// channelStates holds the latest choice by one channel of a
	// communication topic, by stateKey(subject, purpose, ChannelCode):
	// few subjects make one, so they are kept apart from the arena and
	// looked up only for identities that did (identInfo.channelChoices).
	channelStates map[uint64]State
	// changed is closed, and replaced, at every change (Changed).
	changed chan struct{}
}

// NewIndex returns an empty index whose identities are keyed by keyOf.
func NewIndex(keyOf func(string) Key) *Index {
	x := &Index{
		keyOf:     keyOf,
		subjects:  newIdentTable(),
		devices:   newIdentTable(),
		purposes:  map[string]uint16{},
		vendors:   map[string]uint16{"": 0},
		linkSeq:   map[uint32]uint64{},
		devicesOf: map[uint32][]uint32{},

		restricted: map[uint64]uint64{},
		liftedAll:  map[uint32]uint64{},
		objections: map[uint64]State{},

		channelStates: map[uint64]State{},
		changed:       make(chan struct{}),
	}
	x.states.add(stateEntry{}) // number 0 is "none"
	x.idents.add(identInfo{})
	return x
}

// Key returns the index's key of an id.
func (x *Index) Key(id string) Key { return x.keyOf(id) }

// Changed returns a channel closed at the index's next change: a decision
// stream waits on it for new ledger entries, written here or followed from
// another replica.
func (x *Index) Changed() <-chan struct{} {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.changed
}

// signal wakes the waiters of Changed; the caller holds the write lock.
func (x *Index) signal() {
	close(x.changed)
	x.changed = make(chan struct{})
}

func stateKey(ident uint32, purpose, vendor uint16) uint64 {
	return uint64(ident)<<32 | uint64(purpose)<<16 | uint64(vendor)
}

// intern returns the identity number of id in t, a new one if t has none;
// the caller holds the write lock.
func (x *Index) intern(t *identTable, id Key) uint32 {
	if n := t.get(x, id); n != 0 {
		return n
	}
	if x.idents.len() > identMask {
		panic("consentrules: more identities than an index holds (536,870,911)")
	}
	n := x.idents.add(identInfo{key: id})
	t.insert(x, n)
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

// CatalogIDs interns the catalog's purposes and vendors, so that decisions
// carry their numbers instead of looking keys up again. Numbers are stable
// for the index's life.
func (x *Index) CatalogIDs(purposes, vendors []string) (map[string]uint16, map[string]uint16) {
	x.mu.Lock()
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

// PurposeID returns the index's number of a purpose (0 when unknown).
func (x *Index) PurposeID(key string) uint16 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.purposes[key]
}

// Event is the part of a consent event the index keeps.
type Event struct {
	Seq       int64
	Ident     Key // of the subject, or else of the device
	IsSubject bool
	Purpose   string
	Vendor    string
	// Channel is the one channel of a communication topic the choice is
	// about ("email", "sms", "post"); "" for every channel.
	Channel  string
	Action   uint8
	At       uint32 // Unix seconds
	Notice   uint16 // the ordinal of its notice
	Imported bool   // source import
	Portal   bool   // source portal: the subject's own choice
}

// Apply records events.
func (x *Index) Apply(events []Event) {
	if len(events) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range events {
		var ident uint32
		if e.IsSubject {
			ident = x.intern(&x.subjects, e.Ident)
		} else {
			ident = x.intern(&x.devices, e.Ident)
		}
		purpose := intern16(x.purposes, e.Purpose, 1)
		vendor := intern16(x.vendors, e.Vendor, 0)
		s := State{Seq: uint64(e.Seq), At: e.At, Notice: e.Notice, Action: e.Action, Imported: e.Imported}
		if vendor != 0 {
			x.idents.at(ident).set(flagVendorChoices, true)
		}
		k := stateKey(ident, purpose, 0)
		switch {
		case s.Action == ActionObject && vendor == 0:
			// Kept apart from the choices: a later grant by anyone but
			// the subject does not end it.
			if old, ok := x.objections[k]; !ok || s.Newer(old) {
				x.objections[k] = s
			}
		case e.Portal && e.IsSubject && vendor == 0 && e.Channel == "" && s.Action == ActionGrant:
			// Only a grant by every channel: one by a single channel
			// is not the subject taking back their objection.
			if old, ok := x.objections[k]; ok && s.Newer(old) {
				x.objections[k] = s // the subject's own grant ends their objection
			}
		}
		if ch := ChannelCode(e.Channel); ch != 0 && s.Action != ActionObject {
			// A choice by one channel (the server validates: a
			// subject's, of a topic that declares the channel, with no
			// vendor) is kept apart: it decides only questions about
			// that channel (LatestChoice).
			x.idents.at(ident).set(flagChannelChoices, true)
			ck := stateKey(ident, purpose, ch)
			if old, ok := x.channelStates[ck]; !ok || s.Newer(old) {
				x.channelStates[ck] = s
			}
		} else if s.Action != ActionObject {
			x.put(ident, purpose, vendor, s)
		}
		x.advance(uint64(e.Seq))
	}
	x.signal()
}

// advance raises maxSeq; the caller holds the write lock.
func (x *Index) advance(seq uint64) {
	if seq > x.maxSeq {
		x.maxSeq = seq
	}
}

// Advance records that the ledger was followed up to seq, though nothing
// of it changed a state (entries the index does not keep).
func (x *Index) Advance(seq int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if uint64(seq) > x.maxSeq {
		x.maxSeq = uint64(seq)
		x.signal()
	}
}

// Link records that a device belongs to a subject.
type Link struct {
	Device, Subject Key
	Seq             int64
}

// ApplyLinks records device-to-subject links; the link with the highest
// sequence number wins for each device.
func (x *Index) ApplyLinks(links []Link) {
	if len(links) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.signal()
	for _, l := range links {
		device := x.intern(&x.devices, l.Device)
		subject := x.intern(&x.subjects, l.Subject)
		if seq, had := x.linkSeq[device]; had && seq >= uint64(l.Seq) {
			continue
		}
		x.linkSeq[device] = uint64(l.Seq)
		x.advance(uint64(l.Seq))
		old := x.idents.at(device).subject()
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
			x.idents.at(old).set(flagHasDevices, len(list) > 0)
		}
		x.idents.at(device).setSubject(subject)
		x.devicesOf[subject] = append(x.devicesOf[subject], device)
		x.idents.at(subject).set(flagHasDevices, true)
	}
}

// Restriction is one placing or lifting of a restriction of a subject's
// processing, for one purpose or (Purpose "") for all.
type Restriction struct {
	Seq     int64
	Subject Key
	Purpose string
	Lift    bool
}

// liftedBit marks an entry of Index.restricted as a lifting (the rest of
// the value is its sequence number): a placing read again after its
// lifting, as a follower may, does not come back.
const liftedBit = 1 << 63

// ApplyRestrictions records placings and liftings; of two for the same
// subject and purpose the higher sequence number wins, so that applying
// one again, or late, changes nothing.
func (x *Index) ApplyRestrictions(rows []Restriction) {
	if len(rows) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.signal()
	for _, r := range rows {
		subject := x.intern(&x.subjects, r.Subject)
		var purpose uint16
		if r.Purpose != "" {
			purpose = intern16(x.purposes, r.Purpose, 1)
		}
		seq := uint64(r.Seq)
		x.advance(seq)
		set := func(k, v uint64) {
			if old, ok := x.restricted[k]; !ok || old&^liftedBit < seq {
				x.restricted[k] = v
			}
		}
		switch {
		case !r.Lift:
			if seq > x.liftedAll[subject] {
				set(stateKey(subject, purpose, 0), seq)
			}
		case purpose != 0:
			set(stateKey(subject, purpose, 0), seq|liftedBit)
		default:
			// Lifting all: every purpose, including those not interned yet.
			x.liftedAll[subject] = max(x.liftedAll[subject], seq)
			set(stateKey(subject, 0, 0), seq|liftedBit)
			for _, p := range x.purposes {
				if _, ok := x.restricted[stateKey(subject, p, 0)]; ok {
					set(stateKey(subject, p, 0), seq|liftedBit)
				}
			}
		}
	}
}

// Forget drops subjects from the index (their erasure): their identities
// become unreachable and their devices unlinked, so decisions find no
// consent. The orphaned states stay in memory until the index is rebuilt.
// seq, when above the index's, is the erasure's sequence number.
func (x *Index) Forget(subjects []Key, seq int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.signal()
	x.advance(uint64(max(seq, 0)))
	for _, key := range subjects {
		ident := x.subjects.get(x, key)
		if ident == 0 {
			continue
		}
		x.subjects.remove(x, key)
		for _, device := range x.devicesOf[ident] {
			x.idents.at(device).setSubject(0)
		}
		delete(x.devicesOf, ident)
		x.idents.at(ident).set(flagHasDevices, false)
	}
}

// MaxSeq returns the highest ledger sequence number applied.
func (x *Index) MaxSeq() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int64(x.maxSeq)
}

// Len returns the number of states held, by one channel included.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.states.len() - 1 + len(x.channelStates)
}

// put records s for the identity, purpose and vendor unless the state held
// is newer; the caller holds the write lock.
func (x *Index) put(ident uint32, purpose, vendor uint16, s State) {
	for i := x.idents.at(ident).first; i != 0; i = x.states.at(i).next {
		e := x.states.at(i)
		if e.purpose == purpose && e.vendor == vendor {
			if s.Newer(e.State) {
				e.State = s
			}
			return
		}
	}
	info := x.idents.at(ident)
	if x.states.len() == 1<<32-1 {
		panic("consentrules: more states than an index holds (4,294,967,294)")
	}
	info.first = x.states.add(stateEntry{State: s, purpose: purpose, vendor: vendor, next: info.first})
}

// Latest returns the latest state that applies to the identity (a
// subject's id when subject is not "", else device) for the purpose,
// vendor and channel (index numbers, vendor 0: none; a ChannelCode, 0:
// none): its own, or one of a linked identity (a subject's devices, or a
// device's subject and that subject's other devices); a purpose-wide
// decision and a vendor-specific or channel-specific one compete, latest
// wins (LatestChoice). It also returns what holds the subject's (or the
// linked subject's) processing for the purpose: a restriction, else an
// objection. It does not allocate.
func (x *Index) Latest(subject, device string, purpose, vendor, channel uint16) (State, bool, Hold) {
	id := x.keyOf(subjectOrDevice(subject, device))
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.latest(x.identOf(subject != "", id), purpose, vendor, channel)
}

func subjectOrDevice(subject, device string) string {
	if subject != "" {
		return subject
	}
	return device
}

// identOf returns the identity a question is about: the subject, or the
// device's linked subject, or the device (0: none known). The caller
// holds the read lock.
func (x *Index) identOf(isSubject bool, id Key) uint32 {
	if isSubject {
		return x.subjects.get(x, id)
	}
	d := x.devices.get(x, id)
	if d == 0 {
		return 0
	}
	if linked := x.idents.at(d).subject(); linked != 0 {
		return linked
	}
	return d
}

// latest is Latest for an identity number; the caller holds the read lock.
func (x *Index) latest(ident uint32, purpose, vendor, channel uint16) (State, bool, Hold) {
	if ident == 0 {
		return State{}, false, Hold{}
	}
	var h Hold
	if len(x.restricted) > 0 {
		if seq, ok := x.restricted[stateKey(ident, 0, 0)]; ok && seq&liftedBit == 0 {
			h = Hold{HoldRestricted, seq}
		} else if seq, ok := x.restricted[stateKey(ident, purpose, 0)]; ok && seq&liftedBit == 0 {
			h = Hold{HoldRestricted, seq}
		}
	}
	if h.Kind == HoldNone && len(x.objections) > 0 {
		if o, ok := x.objections[stateKey(ident, purpose, 0)]; ok && o.Action == ActionObject {
			h = Hold{HoldObjected, o.Seq}
		}
	}
	best, found := x.lookup(ident, purpose, vendor)
	info := x.idents.at(ident)
	if channel != 0 && info.has(flagChannelChoices) {
		// Only subjects choose topics, so only the identity's own
		// channel choices count.
		cs, ok := x.channelStates[stateKey(ident, purpose, channel)]
		best, found = LatestChoice(best, found, cs, ok)
	}
	if info.has(flagHasDevices) {
		for _, d := range x.devicesOf[ident] {
			if s, ok := x.lookup(d, purpose, vendor); ok && (!found || s.Newer(best)) {
				best, found = s, true
			}
		}
	}
	return best, found, h
}

// lookup returns the latest of the identity's purpose-wide state and its
// state for the vendor (vendor 0: the first only).
func (x *Index) lookup(ident uint32, purpose, vendor uint16) (best State, found bool) {
	info := x.idents.at(ident)
	if !info.has(flagVendorChoices) {
		vendor = 0
	}
	for i := info.first; i != 0; i = x.states.at(i).next {
		e := x.states.at(i)
		if e.purpose == purpose && (e.vendor == 0 || e.vendor == vendor) && (!found || e.State.Newer(best)) {
			best, found = e.State, true
		}
	}
	return best, found
}
