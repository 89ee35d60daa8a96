package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"time"
)

// The stream (docs/backup-format.md, "Snapshot stream"):
//
//	magic "STEWSNAP"
//	record*  each: kind byte, uvarint payload length, payload
//	  'H' header   JSON: format, schema version, dialect, taken_at, audit head, checkpoint
//	  'T' table    JSON: name and columns (name, neutral type, null-able)
//	  'R' row      binary: one tagged value per column of the last table record
//	  'E' trailer  JSON: rows per table and the SHA-256 of every record before it
//
// then nothing. A stream without its trailer, with counts that differ from
// its rows, or with any byte changed before the trailer is refused.

const (
	magic         = "STEWSNAP"
	formatVersion = 1
	// maxRecord bounds one record, so that a damaged length cannot make a
	// reader allocate without limit. Steward's largest value is an
	// imported Global Vendor List, a few MiB.
	maxRecord = 256 << 20
)

const (
	recordHeader  byte = 'H'
	recordTable   byte = 'T'
	recordRow     byte = 'R'
	recordTrailer byte = 'E'
)

// Value tags in a row record.
const (
	tagNull  byte = iota
	tagInt        // zigzag varint
	tagReal       // 8 bytes, IEEE 754 big-endian
	tagText       // uvarint length, UTF-8 bytes
	tagBytes      // uvarint length, bytes
	tagFalse
	tagTrue
)

// ErrCorrupt is wrapped by every error that says the stream itself is
// wrong: truncated, damaged or not a snapshot.
var ErrCorrupt = errors.New("snapshot stream is corrupt or incomplete")

type header struct {
	Format        int             `json:"format"`
	SchemaVersion int             `json:"schema_version"`
	Dialect       string          `json:"dialect"`
	TakenAt       time.Time       `json:"taken_at"`
	AuditHead     json.RawMessage `json:"audit_head,omitempty"`
	Checkpoint    json.RawMessage `json:"checkpoint,omitempty"`
}

type tableRecord struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
}

type trailer struct {
	Tables map[string]int64 `json:"tables"`
	SHA256 string           `json:"sha256"`
}

// encoder writes records to a buffered writer, hashing them.
type encoder struct {
	w    *bufio.Writer
	hash hash.Hash
	buf  []byte
	lenb [binary.MaxVarintLen64]byte
}

func newEncoder(w io.Writer) (*encoder, error) {
	e := &encoder{w: bufio.NewWriterSize(w, 256<<10), hash: sha256.New()}
	if _, err := e.w.WriteString(magic); err != nil {
		return nil, err
	}
	e.hash.Write([]byte(magic))
	return e, nil
}

func (e *encoder) record(kind byte, payload []byte) error {
	n := binary.PutUvarint(e.lenb[:], uint64(len(payload)))
	e.hash.Write([]byte{kind})
	e.hash.Write(e.lenb[:n])
	e.hash.Write(payload)
	if err := e.w.WriteByte(kind); err != nil {
		return err
	}
	if _, err := e.w.Write(e.lenb[:n]); err != nil {
		return err
	}
	_, err := e.w.Write(payload)
	return err
}

func (e *encoder) json(kind byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.record(kind, raw)
}

// row encodes values, which must already be of the columns' kinds (see
// normalise).
func (e *encoder) row(values []any) error {
	b := e.buf[:0]
	for _, v := range values {
		switch v := v.(type) {
		case nil:
			b = append(b, tagNull)
		case int64:
			b = append(b, tagInt)
			b = binary.AppendVarint(b, v)
		case float64:
			b = append(b, tagReal)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
		case string:
			b = append(b, tagText)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, tagBytes)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case bool:
			if v {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		default:
			return fmt.Errorf("encode row: value of type %T", v)
		}
	}
	e.buf = b
	return e.record(recordRow, b)
}

func (e *encoder) trailer(counts map[string]int64) error {
	t := trailer{Tables: counts, SHA256: hex.EncodeToString(e.hash.Sum(nil))}
	if err := e.json(recordTrailer, t); err != nil {
		return err
	}
	return e.w.Flush()
}

// normalise turns a value read from a store into the kind of its column:
// nil, int64, float64, string, []byte or bool. A value that does not fit
// its column is an error, never silently changed.
func normalise(v any, kind Kind) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case KindInt:
		switch v := v.(type) {
		case int64:
			return v, nil
		case int32:
			return int64(v), nil
		case bool: // never from Steward's stores, but exact either way
			if v {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case KindBool:
		switch v := v.(type) {
		case bool:
			return v, nil
		case int64:
			if v == 0 || v == 1 {
				return v == 1, nil
			}
		}
	case KindReal:
		switch v := v.(type) {
		case float64:
			return v, nil
		case float32:
			return float64(v), nil
		case int64:
			return float64(v), nil
		}
	case KindText:
		switch v := v.(type) {
		case string:
			return v, nil
		case []byte:
			return string(v), nil
		}
	case KindBytes:
		switch v := v.(type) {
		case []byte:
			// Scanned into an *any, so database/sql has copied it
			// already: another copy would only feed the collector,
			// which takes its time from the server's writers.
			return v, nil
		case string:
			return []byte(v), nil
		}
	}
	return nil, fmt.Errorf("a %T value in a %s column", v, kind)
}

// decoder reads records, hashing them for the trailer's check.
type decoder struct {
	r    *bufio.Reader
	hash hash.Hash
	buf  []byte
	lenb [binary.MaxVarintLen64]byte
}

func newDecoder(r io.Reader) (*decoder, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 256<<10), hash: sha256.New()}
	var m [len(magic)]byte
	if _, err := io.ReadFull(d.r, m[:]); err != nil {
		return nil, corrupt("read the start: %v", err)
	}
	if string(m[:]) != magic {
		return nil, corrupt("not a Steward snapshot (no %q at the start)", magic)
	}
	d.hash.Write(m[:])
	return d, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// next reads one record. The payload is valid until the next call. The
// end of the stream before a trailer is ErrCorrupt.
func (d *decoder) next() (kind byte, payload []byte, err error) {
	kind, err = d.r.ReadByte()
	if err == io.EOF {
		return 0, nil, corrupt("the stream ends without its trailer (truncated)")
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read snapshot: %w", err)
	}
	size, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, nil, corrupt("truncated record length: %v", err)
	}
	if size > maxRecord {
		return 0, nil, corrupt("a record of %d bytes (at most %d)", size, maxRecord)
	}
	if uint64(cap(d.buf)) >= size {
		d.buf = d.buf[:size]
		if _, err := io.ReadFull(d.r, d.buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, nil, corrupt("truncated record")
			}
			return 0, nil, fmt.Errorf("read snapshot: %w", err)
		}
	} else {
		// Grown as the bytes arrive, not to the length the record claims:
		// a damaged length of a few bytes must not allocate 256 MiB that
		// the stream does not hold.
		b := bytes.NewBuffer(d.buf[:0])
		n, err := b.ReadFrom(io.LimitReader(d.r, int64(size)))
		if err != nil {
			return 0, nil, fmt.Errorf("read snapshot: %w", err)
		}
		if uint64(n) < size {
			return 0, nil, corrupt("truncated record")
		}
		d.buf = b.Bytes()
	}
	if kind != recordTrailer {
		n := binary.PutUvarint(d.lenb[:], size)
		d.hash.Write([]byte{kind})
		d.hash.Write(d.lenb[:n])
		d.hash.Write(d.buf)
	}
	return kind, d.buf, nil
}

// checkEnd makes sure nothing follows the trailer.
func (d *decoder) checkEnd() error {
	if _, err := d.r.ReadByte(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("read snapshot: %w", err)
		}
		return corrupt("bytes after the trailer")
	}
	return nil
}

// row decodes a row record of a table with cols.
func decodeRow(payload []byte, cols []Column) ([]any, error) {
	values := make([]any, len(cols))
	p := payload
	for i, c := range cols {
		if len(p) == 0 {
			return nil, corrupt("row ends before column %s", c.Name)
		}
		tag := p[0]
		p = p[1:]
		switch tag {
		case tagNull:
			if !c.Nullable {
				return nil, corrupt("NULL in the NOT NULL column %s", c.Name)
			}
			values[i] = nil
		case tagInt:
			v, n := binary.Varint(p)
			if n <= 0 {
				return nil, corrupt("bad integer in column %s", c.Name)
			}
			values[i], p = v, p[n:]
		case tagReal:
			if len(p) < 8 {
				return nil, corrupt("short real in column %s", c.Name)
			}
			values[i], p = math.Float64frombits(binary.BigEndian.Uint64(p)), p[8:]
		case tagText, tagBytes:
			size, n := binary.Uvarint(p)
			if n <= 0 || size > uint64(len(p)-n) {
				return nil, corrupt("bad length in column %s", c.Name)
			}
			raw := p[n : n+int(size)]
			p = p[n+int(size):]
			if tag == tagText {
				values[i] = string(raw)
			} else {
				values[i] = append([]byte{}, raw...)
			}
		case tagFalse, tagTrue:
			values[i] = tag == tagTrue
		default:
			return nil, corrupt("unknown value tag %d in column %s", tag, c.Name)
		}
		if !tagFits(tag, c.Kind) {
			return nil, corrupt("a value of tag %d in the %s column %s", tag, c.Kind, c.Name)
		}
	}
	if len(p) != 0 {
		return nil, corrupt("%d bytes after the last column", len(p))
	}
	return values, nil
}

func tagFits(tag byte, kind Kind) bool {
	switch tag {
	case tagNull:
		return true
	case tagInt:
		return kind == KindInt
	case tagReal:
		return kind == KindReal
	case tagText:
		return kind == KindText
	case tagBytes:
		return kind == KindBytes
	case tagFalse, tagTrue:
		return kind == KindBool
	}
	return false
}
