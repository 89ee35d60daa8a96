package consentrules

import (
	"math/bits"
	"math/rand/v2"
)

// identTable finds an identity's number by its key: open addressing with
// linear probing over a power-of-two array of identity numbers (0: an
// empty slot), the keys themselves kept in the identities' identInfo. A
// slot costs 4 bytes, where a Go map of Key to uint32 costs a 24-byte slot
// and a control byte (about 36 bytes an identity once its growth is
// counted); and a lookup hashes no string, as a key is a hash already.
//
// The slot is chosen by a hash of the key under random seeds: a key is a
// public function of the id in the SDK (RefKey), and ids are chosen by
// anyone with a browser, so that without the seeds someone could grind
// ids whose keys crowd one run of slots and slow every lookup that lands
// there. It is kept at most half full, so that a lookup visits about 1.3
// slots when the key is held and 1.8 when it is not.
type identTable struct {
	slots  []uint32
	count  int
	seedA  uint64
	seedB  uint64
	shift  uint // 64 - log2(len(slots))
	lenCap int  // count that makes the table grow
}

const identTableMin = 1024

func newIdentTable() identTable {
	t := identTable{seedA: rand.Uint64(), seedB: rand.Uint64() | 1}
	t.alloc(identTableMin)
	return t
}

func (t *identTable) alloc(size int) {
	t.slots = make([]uint32, size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	t.lenCap = size / 2
}

// home is the slot where a search for k starts: the high bits of a
// 128-bit product of the key's halves mixed with the seeds.
func (t *identTable) home(k Key) int {
	hi, lo := bits.Mul64(k.A^t.seedA, k.B^t.seedB)
	return int((hi ^ lo) >> t.shift)
}

// find returns the identity number of k (0: none) and the slot where the
// search ended (k's slot, or the empty one where it would go).
func (t *identTable) find(x *Index, k Key) (uint32, int) {
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		n := t.slots[i]
		if n == 0 || x.idents.at(n).key == k {
			return n, i
		}
	}
}

// get returns the identity number of k (0: none).
func (t *identTable) get(x *Index, k Key) uint32 {
	n, _ := t.find(x, k)
	return n
}

// insert records n as the number of its key, which the table does not
// hold yet (x.idents.at(n).key is set).
func (t *identTable) insert(x *Index, n uint32) {
	if t.count+1 > t.lenCap {
		old := t.slots
		t.alloc(len(old) * 2)
		for _, m := range old {
			if m != 0 {
				t.place(x, m)
			}
		}
	}
	t.place(x, n)
	t.count++
}

func (t *identTable) place(x *Index, n uint32) {
	_, i := t.find(x, x.idents.at(n).key)
	t.slots[i] = n
}

// remove drops k, moving the entries after it back so that no search
// stops early at the slot it leaves (backward-shift deletion).
func (t *identTable) remove(x *Index, k Key) {
	n, hole := t.find(x, k)
	if n == 0 {
		return
	}
	mask := len(t.slots) - 1
	for j := (hole + 1) & mask; t.slots[j] != 0; j = (j + 1) & mask {
		m := t.slots[j]
		// m may move back to the hole when its home is not after the
		// hole (cyclically, between the hole and j).
		if (j-t.home(x.idents.at(m).key))&mask >= (j-hole)&mask {
			t.slots[hole] = m
			hole = j
		}
	}
	t.slots[hole] = 0
	t.count--
}

// each calls f with every identity number the table holds.
func (t *identTable) each(f func(n uint32)) {
	for _, n := range t.slots {
		if n != 0 {
			f(n)
		}
	}
}
