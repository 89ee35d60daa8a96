package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fuzzStream writes a whole snapshot of two tables.
func fuzzStream(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc, err := newEncoder(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(enc.json(recordHeader, header{Format: formatVersion, SchemaVersion: 34, Dialect: "sqlite",
		TakenAt: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), AuditHead: json.RawMessage(`{"seq":3,"hash":"ab"}`)}))
	people := tableRecord{Name: "people", Columns: []Column{{Name: "id", Kind: KindInt}, {Name: "name", Kind: KindText, Nullable: true},
		{Name: "score", Kind: KindReal}, {Name: "key", Kind: KindBytes}, {Name: "ok", Kind: KindBool}}}
	must(enc.json(recordTable, people))
	must(enc.row([]any{int64(1), "Zoë", 0.5, []byte{0, 1}, true}))
	must(enc.row([]any{int64(-7), nil, math.Inf(-1), []byte{}, false}))
	must(enc.json(recordTable, tableRecord{Name: "empty", Columns: []Column{{Name: "x", Kind: KindText}}}))
	must(enc.trailer(map[string]int64{"people": 2, "empty": 0}))
	return buf.Bytes()
}

// withTrailer frames body (records after the magic) as a stream whose
// trailer holds the right hash and the given counts, so that the fuzzer's
// records reach the row decoder instead of failing at the hash it cannot
// compute.
func withTrailer(body []byte, counts map[string]int64) []byte {
	h := sha256.New()
	h.Write([]byte(magic))
	h.Write(body)
	t, _ := json.Marshal(trailer{Tables: counts, SHA256: hex.EncodeToString(h.Sum(nil))})
	out := append([]byte(magic), body...)
	out = append(out, recordTrailer)
	out = binaryUvarint(out, uint64(len(t)))
	return append(out, t...)
}

func binaryUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// scanned is what a scan saw: its header, tables and rows in order.
type scanned struct {
	header header
	tables []tableRecord
	rows   [][]any // rows[i] belongs to tables[owner[i]]
	owner  []int
	counts map[string]int64
}

func scanAll(r []byte) (scanned, Summary, error) {
	s := scanned{counts: map[string]int64{}}
	sum, err := readWith(bytes.NewReader(r), func(h header) error { s.header = h; return nil },
		func(t *tableRecord) error { s.tables = append(s.tables, *t); s.counts[t.Name] = 0; return nil },
		func(t *tableRecord, values []any) error {
			s.rows = append(s.rows, append([]any(nil), values...))
			s.owner = append(s.owner, len(s.tables)-1)
			s.counts[t.Name]++
			return nil
		})
	return s, sum, err
}

// FuzzScan checks the snapshot reader on fuzzed streams, as they come from
// a backup (the restore path) and framed with a trailer that matches their
// records. It never panics; it allocates in proportion to the stream, not
// to lengths the stream claims; a refusal wraps ErrCorrupt (or names the
// unknown format); and an accepted stream, written again from what was
// read, reads back the same.
func FuzzScan(f *testing.F) {
	good := fuzzStream(f)
	f.Add(good)
	body := good[len(magic):bytes.LastIndexByte(good, recordTrailer)]
	f.Add(body)
	f.Add(good[:len(good)-5])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte(magic + "H\xff\xff\xff\x7f"))                         // a record claiming 256 MiB
	f.Add([]byte(magic + "H\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02")) // an overlong length
	f.Add([]byte(`H{"format":1}`))
	f.Add([]byte("H\x0c{\"format\":1}T\x25{\"name\":\"t\",\"columns\":[{\"name\":\"c\",\"type\":\"int\"}]}R\x02\x01\x02"))
	f.Add([]byte("H\x0c{\"format\":1}R\x00"))
	f.Add([]byte(""))

	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Scan(bytes.NewReader(data), nil)
		runtime.ReadMemStats(&after)
		// The reader's buffer (256 KiB), the hash, and what the records hold.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(1<<20+64*len(data)) {
			t.Fatalf("a stream of %d bytes made the reader allocate %d bytes", len(data), grew)
		}
		checkScanErr(t, err)

		framed := withTrailer(data, map[string]int64{})
		s, _, err := scanAll(framed)
		if err != nil && strings.Contains(err.Error(), "the trailer counts") {
			framed = withTrailer(data, s.counts)
			s, _, err = scanAll(framed)
		}
		if err != nil {
			checkScanErr(t, err)
			return
		}
		var buf bytes.Buffer
		enc, err := newEncoder(&buf)
		if err != nil {
			t.Fatal(err)
		}
		must := func(err error) {
			if err != nil {
				t.Fatalf("write again: %v", err)
			}
		}
		must(enc.json(recordHeader, s.header))
		next := 0
		for ti, table := range s.tables {
			must(enc.json(recordTable, table))
			for ; next < len(s.rows) && s.owner[next] == ti; next++ {
				must(enc.row(s.rows[next]))
			}
		}
		must(enc.trailer(s.counts))
		s2, _, err := scanAll(buf.Bytes())
		if err != nil {
			t.Fatalf("an accepted stream, written again, is refused: %v", err)
		}
		if !sameScan(s, s2) {
			t.Fatalf("stream changed on a round trip:\n%+v\n%+v", s, s2)
		}
	})
}

func checkScanErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrCorrupt) && !strings.HasPrefix(err.Error(), "snapshot format ") {
		t.Fatalf("refusal does not wrap ErrCorrupt: %v", err)
	}
}

// sameScan compares two scans, reals bit for bit (NaN included).
func sameScan(a, b scanned) bool {
	if !reflect.DeepEqual(a.tables, b.tables) || !reflect.DeepEqual(a.owner, b.owner) || !reflect.DeepEqual(a.counts, b.counts) ||
		len(a.rows) != len(b.rows) {
		return false
	}
	ha, _ := json.Marshal(a.header)
	hb, _ := json.Marshal(b.header)
	if !bytes.Equal(ha, hb) {
		return false
	}
	for i := range a.rows {
		for j := range a.rows[i] {
			x, y := a.rows[i][j], b.rows[i][j]
			if fx, ok := x.(float64); ok {
				if fy, ok := y.(float64); !ok || math.Float64bits(fx) != math.Float64bits(fy) {
					return false
				}
				continue
			}
			if !reflect.DeepEqual(x, y) {
				return false
			}
		}
	}
	return true
}
