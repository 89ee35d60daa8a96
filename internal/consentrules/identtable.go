package consentrules

import (
	"math/bits"
	"math/rand/v2"
)

// identTable finds an identity's number by its key: open addressing with
// linear probing over arrays of identity numbers (0: an empty slot), the
// keys themselves kept in the identities' identInfo. A slot costs 4 bytes,
// where a Go map of Key to uint32 costs a 24-byte slot and a control byte
// (about 36 bytes an identity once its growth is counted); and a lookup
// hashes no string, as a key is a hash already.
//
// The table is split into parts of at most maxPart slots, chosen by the
// top bits of the hash (extendible hashing): a part that fills up doubles,
// or splits in two once it has maxPart slots, so that growing never
// rehashes more than one part while it holds the index's write lock
// (every decision waits for it), however many identities the index holds.
// Each part is kept at most half full, so that a lookup visits about 1.3
// slots when the key is held and 1.8 when it is not.
//
// The hash mixes the key with random seeds: a key is a public function of
// the id in the SDK (RefKey), and ids are chosen by anyone with a browser,
// so that without the seeds someone could grind ids whose keys crowd one
// run of slots and slow every lookup that lands there.
type identTable struct {
	dir          []*identPart // by the hash's top depth bits
	depth        uint
	count        int
	maxPart      int // slots; a power of two
	seedA, seedB uint64
}

// identPart is one part of an identTable: the keys whose hashes share its
// top depth bits.
type identPart struct {
	slots []uint32
	depth uint
	count int
}

const (
	identPartMin = 1024
	identPartMax = 1 << 16 // 256 KiB: a part's growth rehashes at most 32,768 keys
)

func newIdentTable() identTable {
	return newIdentTableOf(identPartMax)
}

func newIdentTableOf(maxPart int) identTable {
	t := identTable{maxPart: maxPart, seedA: rand.Uint64(), seedB: rand.Uint64() | 1}
	t.dir = []*identPart{{slots: make([]uint32, min(identPartMin, maxPart))}}
	return t
}

// hash mixes the key with the seeds: the two halves of a 128-bit product.
func (t *identTable) hash(k Key) uint64 {
	hi, lo := bits.Mul64(k.A^t.seedA, k.B^t.seedB)
	return hi ^ lo
}

// part returns the part of a hash.
func (t *identTable) part(h uint64) *identPart {
	return t.dir[h>>(64-t.depth)&(1<<t.depth-1)]
}

// find returns the identity number of k in p (0: none) and the slot where
// the search ended (k's slot, or the empty one where it would go).
func (p *identPart) find(x *Index, h uint64, k Key) (uint32, int) {
	mask := len(p.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		n := p.slots[i]
		if n == 0 || x.idents.at(n).key == k {
			return n, i
		}
	}
}

// get returns the identity number of k (0: none).
func (t *identTable) get(x *Index, k Key) uint32 {
	h := t.hash(k)
	n, _ := t.part(h).find(x, h, k)
	return n
}

// insert records n as the number of its key, which the table does not
// hold yet (x.idents.at(n).key is set).
func (t *identTable) insert(x *Index, n uint32) {
	h := t.hash(x.idents.at(n).key)
	p := t.part(h)
	if p.count+1 > len(p.slots)/2 {
		t.grow(x, p)
		p = t.part(h)
	}
	p.place(x, h, n)
	t.count++
}

// place puts n into p at the end of its run; p holds no key of n's.
func (p *identPart) place(x *Index, h uint64, n uint32) {
	mask := len(p.slots) - 1
	i := int(h) & mask
	for p.slots[i] != 0 {
		i = (i + 1) & mask
	}
	p.slots[i] = n
	p.count++
}

// grow doubles p, or splits it in two by the next bit of the hash once it
// has maxPart slots (doubling the directory when p's depth is its).
func (t *identTable) grow(x *Index, p *identPart) {
	if len(p.slots) < t.maxPart {
		old := p.slots
		p.slots, p.count = make([]uint32, 2*len(old)), 0
		for _, n := range old {
			if n != 0 {
				p.place(x, t.hash(x.idents.at(n).key), n)
			}
		}
		return
	}
	if p.depth == t.depth {
		dir := make([]*identPart, 2*len(t.dir))
		for i, q := range t.dir {
			dir[2*i], dir[2*i+1] = q, q
		}
		t.dir, t.depth = dir, t.depth+1
	}
	halves := [2]*identPart{{slots: make([]uint32, len(p.slots)), depth: p.depth + 1},
		{slots: make([]uint32, len(p.slots)), depth: p.depth + 1}}
	for _, n := range p.slots {
		if n != 0 {
			h := t.hash(x.idents.at(n).key)
			halves[h>>(63-p.depth)&1].place(x, h, n)
		}
	}
	// The directory's entries for p: those that share its top depth bits;
	// the next bit chooses the half.
	for i, q := range t.dir {
		if q == p {
			t.dir[i] = halves[i>>(t.depth-p.depth-1)&1]
		}
	}
}

// remove drops k, moving the entries after it back so that no search
// stops early at the slot it leaves (backward-shift deletion).
func (t *identTable) remove(x *Index, k Key) {
	h := t.hash(k)
	p := t.part(h)
	n, hole := p.find(x, h, k)
	if n == 0 {
		return
	}
	mask := len(p.slots) - 1
	for j := (hole + 1) & mask; p.slots[j] != 0; j = (j + 1) & mask {
		m := p.slots[j]
		// m may move back to the hole unless its home is after the hole
		// (cyclically, between the hole and j).
		if (j-int(t.hash(x.idents.at(m).key))&mask)&mask >= (j-hole)&mask {
			p.slots[hole] = m
			hole = j
		}
	}
	p.slots[hole] = 0
	p.count--
	t.count--
}

// each calls f with every identity number the table holds.
func (t *identTable) each(f func(n uint32)) {
	for i, p := range t.dir {
		if i > 0 && t.dir[i-1] == p {
			continue // a part appears in a run of directory entries
		}
		for _, n := range p.slots {
			if n != 0 {
				f(n)
			}
		}
	}
}
