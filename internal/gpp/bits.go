package gpp

import "strings"

// The base64url alphabet, one character per 6 bits, as the GPP specification
// and iabgpp-es use it (RFC 4648 §5, without "=" padding).
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// sextet maps a character to its 6-bit value, or 0xff.
var sextet = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// bitReader reads big-endian bit fields straight from base64url text.
type bitReader struct {
	text string // base64url characters only
	pos  int    // next bit
	size int    // 6 bits per character
}

// newBitReader checks that s is base64url text, tolerating up to two
// trailing "=" (some writers pad), and returns a reader over it. On a bad
// character it returns its 1-based position instead of 0.
func newBitReader(s string) (bitReader, int) {
	trimmed := strings.TrimRight(s, "=")
	if len(s)-len(trimmed) > 2 {
		return bitReader{}, len(trimmed) + 3
	}
	for i := 0; i < len(trimmed); i++ {
		if sextet[trimmed[i]] == 0xff {
			return bitReader{}, i + 1
		}
	}
	return bitReader{text: trimmed, size: 6 * len(trimmed)}, 0
}

func (r *bitReader) remaining() int { return r.size - r.pos }

func (r *bitReader) bit() int {
	b := sextet[r.text[r.pos/6]] >> (5 - uint(r.pos%6)) & 1
	r.pos++
	return int(b)
}

// read returns the next width bits (width ≤ 62), or false when fewer remain.
func (r *bitReader) read(width int) (int, bool) {
	if width > r.remaining() {
		return 0, false
	}
	v := 0
	for i := 0; i < width; i++ {
		v = v<<1 | r.bit()
	}
	return v, true
}

// maxFibonacciBits bounds a Fibonacci code word: 30 data bits reach values
// over a million, far above any section id or offset this package accepts.
const maxFibonacciBits = 31

// fibonacci holds F(2), F(3), ... = 1, 2, 3, 5, 8, ...: bit i of a code word
// stands for fibonacci[i].
var fibonacci = func() [maxFibonacciBits]int {
	var f [maxFibonacciBits]int
	f[0], f[1] = 1, 2
	for i := 2; i < len(f); i++ {
		f[i] = f[i-1] + f[i-2]
	}
	return f
}()

// readFibonacci reads one Fibonacci code word (ending in "11"). It reports
// false when the text ends first, and tooLong when the word runs past
// maxFibonacciBits.
func (r *bitReader) readFibonacci() (v int, ok, tooLong bool) {
	prev := 0
	for i := 0; ; i++ {
		if r.remaining() == 0 {
			return 0, false, false
		}
		b := r.bit()
		if b == 1 && prev == 1 {
			return v, true, false
		}
		if i >= maxFibonacciBits {
			return 0, false, true
		}
		if b == 1 {
			v += fibonacci[i]
		}
		prev = b
	}
}

// bitWriter appends big-endian bit fields.
type bitWriter struct {
	buf []byte
	n   int // bits written
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

// write appends the low width bits of v, most significant first.
func (w *bitWriter) write(v, width int) {
	for i := width - 1; i >= 0; i-- {
		w.writeBit(v>>uint(i)&1 == 1)
	}
}

// writeFibonacci appends the Fibonacci code word of v ≥ 1 (its Zeckendorf
// representation, lowest term first, and a closing 1).
func (w *bitWriter) writeFibonacci(v int) {
	top := 0
	for top+1 < len(fibonacci) && fibonacci[top+1] <= v {
		top++
	}
	var word [maxFibonacciBits + 1]bool
	for i := top; i >= 0; i-- {
		if fibonacci[i] <= v {
			word[i] = true
			v -= fibonacci[i]
		}
	}
	for i := 0; i <= top; i++ {
		w.writeBit(word[i])
	}
	w.writeBit(true)
}

// String returns the bits as base64url text the way iabgpp-es writes it:
// zeros are added up to a whole number of bytes, then up to a whole number
// of 6-bit characters.
func (w *bitWriter) String() string {
	bits := (w.n + 7) / 8 * 8
	chars := (bits + 5) / 6
	var sb strings.Builder
	sb.Grow(chars)
	for c := 0; c < chars; c++ {
		v := 0
		for i := 0; i < 6; i++ {
			p := c*6 + i
			bit := 0
			if p < w.n {
				bit = int(w.buf[p/8] >> (7 - uint(p%8)) & 1)
			}
			v = v<<1 | bit
		}
		sb.WriteByte(alphabet[v])
	}
	return sb.String()
}
