package tcf

import "fmt"

// bitWriter appends big-endian bit fields to a byte slice.
type bitWriter struct {
	buf []byte
	n   int // number of bits written
}

func (w *bitWriter) writeBit(b bool) {
	if w.n%8 == 0 {
		w.buf = append(w.buf, 0)
	}
	if b {
		w.buf[w.n/8] |= 0x80 >> uint(w.n%8)
	}
	w.n++
}

// writeInt writes the low width bits of v, most significant bit first.
func (w *bitWriter) writeInt(v uint64, width int) {
	for i := width - 1; i >= 0; i-- {
		w.writeBit(v>>uint(i)&1 == 1)
	}
}

func (w *bitWriter) writeBool(b bool) { w.writeBit(b) }

// bitReader reads big-endian bit fields from a decoded segment. Every read
// is bounds-checked and reports the segment name, bit offset and field.
type bitReader struct {
	data    []byte
	pos     int // next bit to read
	size    int // total bits available
	segment string
}

func newBitReader(data []byte, segment string) *bitReader {
	return &bitReader{data: data, size: len(data) * 8, segment: segment}
}

func (r *bitReader) remaining() int { return r.size - r.pos }

func (r *bitReader) truncated(field string) error {
	return fmt.Errorf("tcf: %s segment truncated at bit %d (%s)", r.segment, r.pos, field)
}

// invalid reports a bad value for a field that started at bit pos.
func (r *bitReader) invalid(pos int, field, format string, args ...any) error {
	return fmt.Errorf("tcf: %s segment invalid at bit %d (%s): %s", r.segment, pos, field, fmt.Sprintf(format, args...))
}

// readInt reads width (at most 64) bits as an unsigned integer.
func (r *bitReader) readInt(width int, field string) (uint64, error) {
	if width > r.remaining() {
		return 0, r.truncated(field)
	}
	var v uint64
	for i := 0; i < width; i++ {
		bit := r.data[r.pos/8] >> (7 - uint(r.pos%8)) & 1
		v = v<<1 | uint64(bit)
		r.pos++
	}
	return v, nil
}

func (r *bitReader) readIntn(width int, field string) (int, error) {
	v, err := r.readInt(width, field)
	return int(v), err
}

func (r *bitReader) readBool(field string) (bool, error) {
	v, err := r.readInt(1, field)
	return v == 1, err
}

// readBitfield reads width bits and returns the 1-based positions of the set
// bits in ascending order (never nil).
func (r *bitReader) readBitfield(width int, field string) ([]int, error) {
	if width > r.remaining() {
		return nil, r.truncated(field)
	}
	ids := []int{}
	for i := 1; i <= width; i++ {
		if r.data[r.pos/8]>>(7-uint(r.pos%8))&1 == 1 {
			ids = append(ids, i)
		}
		r.pos++
	}
	return ids, nil
}
