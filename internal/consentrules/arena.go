package consentrules

// arenaChunkBits sets the entries of an arena's chunk (4,096: 96 KiB of
// 24-byte entries).
const arenaChunkBits = 12

const arenaChunkLen = 1 << arenaChunkBits

// arena is a growing array of entries numbered from 0, held in chunks of
// fixed size: growing adds a chunk and copies nothing, so that it neither
// holds the index's write lock for the copy of millions of entries (which
// every decision would wait for) nor keeps a quarter of its capacity
// spare, as a slice that grows by appending does.
type arena[T any] struct {
	chunks []*[arenaChunkLen]T
	n      uint32
}

// at returns entry i, which must be below len.
func (a *arena[T]) at(i uint32) *T {
	return &a.chunks[i>>arenaChunkBits][i&(arenaChunkLen-1)]
}

// add appends v and returns its number.
func (a *arena[T]) add(v T) uint32 {
	if int(a.n) == len(a.chunks)<<arenaChunkBits {
		a.chunks = append(a.chunks, new([arenaChunkLen]T))
	}
	i := a.n
	*a.at(i) = v
	a.n++
	return i
}

// len returns the number of entries.
func (a *arena[T]) len() int { return int(a.n) }
