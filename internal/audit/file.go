package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The checkpoint file: a sequence of records, each one signed note (which
// ends in a newline) followed by one empty line:
//
//	steward.example/audit
//	1000
//	q1l0nuHJvxs0yXEJ2y1kGcVxrxZq5pbLX8vlzqzHeJU=
//
//	— steward.example/audit 8Bm2xVV0Y0w5...==
//
//	steward.example/audit
//	2000
//	...
//
// So the file splits into blocks of non-empty lines, and a record is a block
// of text lines followed by a block of signature lines (each starting with
// "— "). A record is appended with a single write on a file opened for
// appending and fsynced before the checkpoint counts as written. A crash can
// tear only the last record; the next append starts a fresh block after it.
// Readers skip a damaged record (blocks that do not pair up, or a note that
// is malformed, such as a cut signature line) with a warning rather than
// failing, so one torn write never hides the records after it; a well-formed
// note whose signature does not verify is a fault, not a warning. Appending is the only
// change Steward makes: operators may ship, copy or rotate the file at any
// time (a rotated-away file is simply not appended to again).

// fileRecord is one checkpoint note read from a checkpoint file.
type fileRecord struct {
	line int // 1-based line of the record's first line
	note []byte
}

// maxTail is how much of the end of a checkpoint file the Checkpointer reads
// to find the last record.
const maxTail = 64 << 10

// readCheckpointFile returns the records of the checkpoint file at path and
// warnings about damaged records. A missing file has no records.
func readCheckpointFile(path string) ([]fileRecord, []string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read checkpoint file: %w", err)
	}
	recs, warnings := parseRecords(data, 1, false)
	return recs, warnings, nil
}

// lastFileRecords returns the records at the end of the checkpoint file (at
// least the last complete one, if there is any).
func lastFileRecords(path string) ([]fileRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read checkpoint file: %w", err)
	}
	start := max(st.Size()-maxTail, 0)
	data := make([]byte, st.Size()-start)
	if _, err := f.ReadAt(data, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read checkpoint file: %w", err)
	}
	recs, _ := parseRecords(data, 0, start > 0)
	return recs, nil
}

// parseRecords splits data into records. firstLine numbers the lines (0:
// unknown); partial says that data starts somewhere inside the file, so its
// first block may be cut.
func parseRecords(data []byte, firstLine int, partial bool) ([]fileRecord, []string) {
	type block struct {
		line  int
		lines []string
		sigs  bool // every line is a signature line
		mixed bool
	}
	var warnings []string
	where := func(line int) string {
		if firstLine == 0 {
			return "near the end"
		}
		return fmt.Sprintf("at line %d", line)
	}
	text := string(data)
	torn := false
	if i := strings.LastIndexByte(text, '\n'); i != len(text)-1 {
		torn = strings.TrimSpace(text[i+1:]) != ""
		text = text[:i+1]
	}
	var blocks []block
	var cur *block
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			cur = nil
			continue
		}
		isSig := strings.HasPrefix(line, emDash)
		if cur == nil {
			blocks = append(blocks, block{line: firstLine + n, sigs: isSig})
			cur = &blocks[len(blocks)-1]
		} else if cur.sigs != isSig {
			cur.mixed = true
		}
		cur.lines = append(cur.lines, line)
	}
	if partial && len(blocks) > 0 {
		blocks = blocks[1:]
		if len(blocks) > 0 && blocks[0].sigs {
			blocks = blocks[1:]
		}
	}
	var recs []fileRecord
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if !b.sigs && !b.mixed && i+1 < len(blocks) && blocks[i+1].sigs && !blocks[i+1].mixed {
			note := strings.Join(b.lines, "\n") + "\n\n" + strings.Join(blocks[i+1].lines, "\n") + "\n"
			recs = append(recs, fileRecord{line: b.line, note: []byte(note)})
			i++
			continue
		}
		warnings = append(warnings, fmt.Sprintf("checkpoint file: damaged record %s ignored", where(b.line)))
		if i == len(blocks)-1 {
			torn = false // the warning covers the torn line too
		}
	}
	if torn {
		warnings = append(warnings, "checkpoint file: torn last line ignored")
	}
	return recs, warnings
}

// appendCheckpointFile appends note as a record to the file at path,
// creating it (and its directory) if need be, and syncs it. When the file
// does not end in an empty line (a torn record), the record starts a new
// block after it.
func appendCheckpointFile(path string, note []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create checkpoint directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open checkpoint file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open checkpoint file: %w", err)
	}
	var record bytes.Buffer
	if size := st.Size(); size > 0 {
		tail := make([]byte, min(size, 2))
		if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
			f.Close()
			return fmt.Errorf("read checkpoint file: %w", err)
		}
		switch {
		case bytes.Equal(tail, []byte("\n\n")):
		case tail[len(tail)-1] == '\n':
			record.WriteByte('\n')
		default:
			record.WriteString("\n\n")
		}
	}
	record.Write(note)
	record.WriteByte('\n')
	if _, err := f.Write(record.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("write checkpoint file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync checkpoint file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close checkpoint file: %w", err)
	}
	if st.Size() == 0 { // a new file: make its directory entry durable too
		if dir, err := os.Open(filepath.Dir(path)); err == nil {
			_ = dir.Sync()
			dir.Close()
		}
	}
	return nil
}
