package consent

import (
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"testing"

	"github.com/steward-dev/steward/internal/consentrules"
)

func TestSipHash128(t *testing.T) {
	// The reference implementation's vectors (vectors.h, vectors_sip128):
	// key 00 01 .. 0f, messages 00 01 .. (n-1).
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(i)
	}
	k0, k1 := binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[8:])
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, "a3817f04ba25a8e66df67214c7550293"},
		{1, "da87c1d86b99af44347659119b22fc45"},
	} {
		msg := make([]byte, c.n)
		for i := range msg {
			msg[i] = byte(i)
		}
		a, b := sipHash128(k0, k1, msg)
		got := hex.EncodeToString(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, a), b))
		if got != c.want {
			t.Errorf("%d bytes: %s, want %s", c.n, got, c.want)
		}
		if sa, sb := sipHash128(k0, k1, string(msg)); sa != a || sb != b {
			t.Errorf("%d bytes: the string form differs from the byte form", c.n)
		}
	}
	// The paper's example (appendix A), of the 64-bit output over 15 bytes:
	// it runs the compression of whole words, which the vectors above do not.
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	if got, _ := sipHash(k0, k1, msg, false); got != 0xa129ca6149be45e5 {
		t.Errorf("SipHash-2-4-64 of the paper's example: %x, want a129ca6149be45e5", got)
	}
}

func BenchmarkIdentityKey(b *testing.B) {
	x := NewIndex()
	id := "0000002a-5f1c-4e2a-9b7d-00000000002a"
	var sink consentrules.Key
	for b.Loop() {
		sink = x.key(id)
	}
	_ = sink
}

func BenchmarkIdentityKeyMaphash(b *testing.B) {
	s1, s2 := maphash.MakeSeed(), maphash.MakeSeed()
	id := "0000002a-5f1c-4e2a-9b7d-00000000002a"
	var sink consentrules.Key
	for b.Loop() {
		sink = consentrules.Key{A: maphash.String(s1, id), B: maphash.String(s2, id)}
	}
	_ = sink
}
