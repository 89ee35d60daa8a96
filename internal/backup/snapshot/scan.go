package snapshot

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
)

// Row is one row of a snapshot's table.
type Row struct {
	// Columns are the table's columns, shared by its rows: do not change them.
	Columns []Column
	// Values hold one value per column, in the columns' order: nil,
	// int64, float64, string, []byte or bool, by the column's Kind.
	Values []any
}

// Value returns the value of the column named name, and whether the row has
// such a column.
func (r Row) Value(name string) (any, bool) {
	for i, c := range r.Columns {
		if c.Name == name {
			return r.Values[i], true
		}
	}
	return nil, false
}

// Scan reads a snapshot without a database, calling fn for every row (for
// verify and for the lead's checks). It returns the snapshot's Summary once
// the trailer has confirmed the counts and the hash of everything before
// it; a truncated or damaged stream is an error that wraps ErrCorrupt,
// possibly after fn has seen rows. An error of fn stops the scan and is
// returned.
func Scan(r io.Reader, fn func(table string, row Row) error) (Summary, error) {
	return readWith(r, nil, nil, func(t *tableRecord, values []any) error {
		if fn == nil {
			return nil
		}
		return fn(t.Name, Row{Columns: t.Columns, Values: values})
	})
}

// readWith reads a snapshot, calling onHeader (when not nil) with its
// header, onTable (when not nil) at each table record and onRow for each
// row, and checks it whole.
func readWith(r io.Reader, onHeader func(header) error, onTable func(*tableRecord) error, onRow func(*tableRecord, []any) error) (Summary, error) {
	dec, err := newDecoder(r)
	if err != nil {
		return Summary{}, err
	}
	kind, payload, err := dec.next()
	if err != nil {
		return Summary{}, err
	}
	if kind != recordHeader {
		return Summary{}, corrupt("the first record is not the header")
	}
	var h header
	if err := json.Unmarshal(payload, &h); err != nil {
		return Summary{}, corrupt("header: %v", err)
	}
	if h.Format != formatVersion {
		return Summary{}, fmt.Errorf("snapshot format %d: this binary reads format %d", h.Format, formatVersion)
	}
	if onHeader != nil {
		if err := onHeader(h); err != nil {
			return Summary{}, err
		}
	}
	sum := Summary{SchemaVersion: h.SchemaVersion, Dialect: h.Dialect, TakenAt: h.TakenAt,
		AuditHead: h.AuditHead, Checkpoint: h.Checkpoint, Tables: map[string]int64{}}

	var current *tableRecord
	for {
		kind, payload, err := dec.next()
		if err != nil {
			return Summary{}, err
		}
		switch kind {
		case recordTable:
			var t tableRecord
			if err := json.Unmarshal(payload, &t); err != nil {
				return Summary{}, corrupt("table record: %v", err)
			}
			if _, seen := sum.Tables[t.Name]; seen || t.Name == "" || len(t.Columns) == 0 {
				return Summary{}, corrupt("table record %q repeated, unnamed or without columns", t.Name)
			}
			for _, c := range t.Columns {
				if !c.Kind.valid() {
					return Summary{}, corrupt("table %s: column %s of unknown type %q", t.Name, c.Name, c.Kind)
				}
			}
			current = &t
			sum.Tables[t.Name] = 0
			if onTable != nil {
				if err := onTable(current); err != nil {
					return Summary{}, err
				}
			}
		case recordRow:
			if current == nil {
				return Summary{}, corrupt("a row before any table record")
			}
			values, err := decodeRow(payload, current.Columns)
			if err != nil {
				return Summary{}, fmt.Errorf("table %s, row %d: %w", current.Name, sum.Tables[current.Name]+1, err)
			}
			sum.Tables[current.Name]++
			if err := onRow(current, values); err != nil {
				return Summary{}, err
			}
		case recordTrailer:
			var t trailer
			if err := json.Unmarshal(payload, &t); err != nil {
				return Summary{}, corrupt("trailer: %v", err)
			}
			if got := fmt.Sprintf("%x", dec.hash.Sum(nil)); got != t.SHA256 {
				return Summary{}, corrupt("the stream's SHA-256 is %s, its trailer says %s", got, t.SHA256)
			}
			if !maps.Equal(t.Tables, sum.Tables) {
				return Summary{}, corrupt("the trailer counts %v rows, the stream holds %v", t.Tables, sum.Tables)
			}
			if err := dec.checkEnd(); err != nil {
				return Summary{}, err
			}
			return sum, nil
		default:
			return Summary{}, corrupt("unknown record kind %q", kind)
		}
	}
}

func (k Kind) valid() bool {
	switch k {
	case KindInt, KindReal, KindText, KindBytes, KindBool:
		return true
	}
	return false
}
