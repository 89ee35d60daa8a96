package snapshot

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestRowCodec: every kind round-trips through a row record bit for bit,
// including what no Steward column holds today (reals: NaN, -0, infinities,
// the smallest subnormal), and a value of the wrong kind is refused.
func TestRowCodec(t *testing.T) {
	cols := []Column{
		{Name: "i", Kind: KindInt}, {Name: "j", Kind: KindInt}, {Name: "r", Kind: KindReal}, {Name: "s", Kind: KindText},
		{Name: "b", Kind: KindBytes}, {Name: "t", Kind: KindBool}, {Name: "f", Kind: KindBool}, {Name: "n", Kind: KindText, Nullable: true},
	}
	reals := []float64{math.NaN(), math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, math.MaxFloat64, 0.1}
	for _, r := range reals {
		row := []any{int64(math.MinInt64), int64(math.MaxInt64), r, "Zoë 🙂 \x00 nul", []byte{0, 255, 1}, true, false, nil}
		var buf bytes.Buffer
		enc, err := newEncoder(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.row(row); err != nil {
			t.Fatal(err)
		}
		enc.w.Flush()
		raw := buf.Bytes()[len(magic):]
		// kind byte, length, payload
		got, err := decodeRow(raw[2:], cols)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(got[2].(float64)) != math.Float64bits(r) {
			t.Errorf("real %v came back as %v", r, got[2])
		}
		got[2], row[2] = nil, nil
		if !reflect.DeepEqual(got, row) {
			t.Errorf("row %v came back as %v", row, got)
		}
	}

	// A NULL in a NOT NULL column and an integer in a text column are refused.
	var buf bytes.Buffer
	enc, _ := newEncoder(&buf)
	enc.row([]any{nil})
	enc.w.Flush()
	if _, err := decodeRow(buf.Bytes()[len(magic)+2:], []Column{{Name: "x", Kind: KindText}}); err == nil {
		t.Error("NULL in a NOT NULL column accepted")
	}
	buf.Reset()
	enc, _ = newEncoder(&buf)
	enc.row([]any{int64(7)})
	enc.w.Flush()
	if _, err := decodeRow(buf.Bytes()[len(magic)+2:], []Column{{Name: "x", Kind: KindText}}); err == nil {
		t.Error("an integer in a text column accepted")
	}
}

func TestNormalise(t *testing.T) {
	tests := []struct {
		in      any
		kind    Kind
		want    any
		wantErr bool
	}{
		{int64(1), KindBool, true, false},
		{int64(2), KindBool, nil, true},
		{"x", KindBytes, []byte("x"), false},
		{[]byte("y"), KindText, "y", false},
		{"z", KindInt, nil, true},
		{nil, KindInt, nil, false},
		{int32(-4), KindInt, int64(-4), false},
	}
	for _, tt := range tests {
		got, err := normalise(tt.in, tt.kind)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("normalise(%#v, %s) = %#v, %v; want %#v, error %v", tt.in, tt.kind, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestRecordLengthDoesNotAllocate: a record whose length claims the
// largest size allowed (256 MiB) in a stream of a few bytes is refused as
// truncated without allocating that size (found by FuzzScan: 13 bytes took
// 256 MiB).
func TestRecordLengthDoesNotAllocate(t *testing.T) {
	for name, stream := range map[string]string{
		"header":        magic + "H\xff\xff\xff\x7f",
		"after a table": magic + "H\x0c{\"format\":1}T\xff\xff\xff\x7f" + strings.Repeat("x", 1000),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Scan(strings.NewReader(stream), nil)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated record") {
				t.Fatalf("Scan = %v, want a truncated record", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
				t.Fatalf("a %d-byte stream allocated %d KiB", len(stream), grew>>10)
			}
		})
	}
}
