package vault

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestAADLayout(t *testing.T) {
	got := hex.EncodeToString(valueAAD(nil, "s-1", "iban", 1))
	want := hex.EncodeToString([]byte(valueLabel)) + "01" + "0003" + hex.EncodeToString([]byte("s-1")) +
		"0004" + hex.EncodeToString([]byte("iban")) + "00000001"
	if got != want {
		t.Fatalf("value AAD = %s, want %s", got, want)
	}
	got = hex.EncodeToString(dekAAD(nil, "s-1", 7, 1))
	want = hex.EncodeToString([]byte(dekLabel)) + "01" + "0003" + hex.EncodeToString([]byte("s-1")) + "00000007" + "00000001"
	if got != want {
		t.Fatalf("DEK AAD = %s, want %s", got, want)
	}
	// Length prefixes keep neighbouring strings apart.
	if bytes.Equal(valueAAD(nil, "ab", "c", 1), valueAAD(nil, "a", "bc", 1)) {
		t.Fatal("AAD of (ab, c) equals AAD of (a, bc)")
	}
}

func TestWrapFormat(t *testing.T) {
	ring := NewKeyring()
	if err := ring.Add(3, bytes.Repeat([]byte{7}, KeySize)); err != nil {
		t.Fatal(err)
	}
	k := ring.get(3)
	dek := newDEK()
	want := bytes.Clone(dek)
	wrapped := k.wrap("s-1", 1, dek)
	if len(wrapped) != wrappedSize || wrapped[0] != formatV1 {
		t.Fatalf("wrapped key: %d bytes, format %#x", len(wrapped), wrapped[0])
	}
	if bytes.Contains(wrapped, want) {
		t.Fatal("wrapped key holds the data key")
	}
	got, err := k.unwrap("s-1", 1, wrapped)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("unwrap: %v", err)
	}
	for _, tc := range []struct {
		subject string
		dek     int
	}{{"s-2", 1}, {"s-1", 2}} {
		if _, err := k.unwrap(tc.subject, tc.dek, wrapped); err == nil {
			t.Fatalf("unwrap as (%s, %d) succeeded", tc.subject, tc.dek)
		}
	}
	aead, err := dekCipher(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, make([]byte, KeySize)) {
		t.Fatal("dekCipher left the data key in its buffer")
	}
	blob := sealValue(aead, "s-1", "iban", 1, []byte("x"))
	if len(blob) != blobOverhead+1 || blob[0] != formatV1 {
		t.Fatalf("value blob: %d bytes", len(blob))
	}
	// A value blob never opens as a wrapped key and the other way round.
	if _, err := open(aead, wrapped, dekAAD(nil, "s-1", 3, 1)); err == nil {
		t.Fatal("wrapped key opened under the data key")
	}
}

// The crypto part alone, data key in memory: what a Get or Put costs on top
// of the store. Goal: at least 200,000 operations a second per core (run
// with -cpu 1).
func BenchmarkSealValue64(b *testing.B) {
	aead, err := dekCipher(newDEK())
	if err != nil {
		b.Fatal(err)
	}
	value := bytes.Repeat([]byte("v"), 64)
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		sealValue(aead, "subject-0000001", "email", 1, value)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkOpenValue64(b *testing.B) {
	aead, err := dekCipher(newDEK())
	if err != nil {
		b.Fatal(err)
	}
	blob := sealValue(aead, "subject-0000001", "email", 1, bytes.Repeat([]byte("v"), 64))
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := openValue(aead, "subject-0000001", "email", 1, blob); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkUnwrapDEK is the cost of a cache miss: unwrap and key setup.
func BenchmarkUnwrapDEK(b *testing.B) {
	ring := NewKeyring()
	if err := ring.Add(1, bytes.Repeat([]byte{1}, KeySize)); err != nil {
		b.Fatal(err)
	}
	k := ring.get(1)
	wrapped := k.wrap("subject-0000001", 1, newDEK())
	b.ReportAllocs()
	for b.Loop() {
		dek, err := k.unwrap("subject-0000001", 1, wrapped)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dekCipher(dek); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRewrap is the crypto of rotating one data key.
func BenchmarkRewrap(b *testing.B) {
	ring := NewKeyring()
	if err := ring.Add(1, bytes.Repeat([]byte{1}, KeySize)); err != nil {
		b.Fatal(err)
	}
	if err := ring.Add(2, bytes.Repeat([]byte{2}, KeySize)); err != nil {
		b.Fatal(err)
	}
	from, to := ring.get(1), ring.get(2)
	wrapped := from.wrap("subject-0000001", 1, newDEK())
	b.ReportAllocs()
	for b.Loop() {
		dek, err := from.unwrap("subject-0000001", 1, wrapped)
		if err != nil {
			b.Fatal(err)
		}
		to.wrap("subject-0000001", 1, dek)
		clear(dek)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
