package connector

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Limits of a dataset file, checked before the YAML parser sees it: the
// parser's memory grows far faster than the file with nesting (a 200 KB
// file nested a few thousand levels deep took 15 GB), and aliases expand a
// small file into a huge document (the "billion laughs"). A dataset is a
// few tables of a few columns: these bounds are far above any real one.
const (
	MaxDatasetBytes = 1 << 20
	MaxDatasetDepth = 32
)

// ReadFile reads a dataset file, refusing one larger than MaxDatasetBytes
// without reading more than that.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDatasetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	if err := CheckLimits(path, data); err != nil {
		return nil, err
	}
	return data, nil
}

// CheckLimits refuses a dataset file larger than MaxDatasetBytes, nested
// deeper than MaxDatasetDepth (block indentation, sequence dashes and flow
// brackets together), using anchors, aliases or tags, or with a quoted text
// that runs past its line, before any YAML parser reads it. The error is
// that of Parse (an *errs.Error of code invalid wrapping Problems), naming
// the file, the line and the limit.
func CheckLimits(file string, data []byte) error {
	if len(data) > MaxDatasetBytes {
		return Problems{{File: file, Field: "yaml", Message: fmt.Sprintf("the file is larger than %d bytes, the limit of a dataset file", MaxDatasetBytes)}}.Invalid()
	}
	if p, ok := scanYAML(data); !ok {
		p.File = file
		return Problems{p}.Invalid()
	}
	return nil
}

// scanYAML walks the lines of a YAML document as a tokenizer would, far
// enough to measure its nesting and find anchors and aliases: a quote, a
// bracket, '&' or '*' counts only where a node may start (or, for brackets,
// inside a flow collection), so that "don't", "[1]" or "*really*" inside a
// plain scalar are text.
func scanYAML(data []byte) (Problem, bool) {
	var (
		indents []int // the indentation of each open block level
		flow    int   // open [ and { brackets
		quote   byte  // the open quote
		// scalarIndent is the indentation of the line that opened a block
		// scalar (| or >), whose content lines, indented further, are
		// text: a quote or bracket there is no token. -1 outside one.
		scalarIndent = -1
	)
	refuse := func(line int, format string, args ...any) (Problem, bool) {
		return Problem{Line: line, Field: "yaml", Message: fmt.Sprintf(format, args...)}, false
	}
	tooDeep := func(line int) (Problem, bool) {
		return refuse(line, "nested deeper than %d levels, the limit of a dataset file", MaxDatasetDepth)
	}
	// Line by line without splitting, so that the scan allocates nothing
	// in proportion to the file.
	for lineNo, next := 1, data; len(next) > 0; lineNo++ {
		line := next
		if end := bytes.IndexByte(next, '\n'); end >= 0 {
			line, next = next[:end], next[end+1:]
		} else {
			next = nil
		}
		// Indentation counts inside flow collections too: a parser that
		// saw no flow where the scan did must not hide nesting from it.
		i := 0
		for i < len(line) && line[i] == ' ' {
			i++
		}
		content := bytes.TrimSpace(line[i:])
		if scalarIndent >= 0 && (len(content) == 0 || i > scalarIndent) {
			continue // a line of the block scalar's text
		}
		scalarIndent = -1
		if len(content) == 0 || content[0] == '#' {
			continue
		}
		for len(indents) > 0 && indents[len(indents)-1] >= i {
			indents = indents[:len(indents)-1]
		}
		indents = append(indents, i)
		depth := len(indents)
		// tokenStart: a new node may start here (the line's start, after
		// "- ", ": ", or a flow indicator); elsewhere a character is part
		// of a plain scalar. afterSpace: a '#' starts a comment.
		tokenStart, afterSpace := true, true
		for ; i < len(line); i++ {
			c := line[i]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					i++
				case c == quote:
					quote = 0
					tokenStart, afterSpace = false, false
				}
				continue
			}
			following := byte(' ')
			if i+1 < len(line) {
				following = line[i+1]
			}
			spaceNext := following == ' ' || following == '\t' || following == '\r'
			switch {
			case c == ' ' || c == '\t' || c == '\r':
				afterSpace = true
				continue
			case c == '#' && afterSpace:
				i = len(line) // a comment to the end of the line
				continue
			case tokenStart && (c == '"' || c == '\''):
				quote = c
				continue
			case tokenStart && flow == 0 && (c == '|' || c == '>'):
				// A block scalar: the rest of the line holds its indicators,
				// the lines indented further its text.
				scalarIndent = 0
				if len(indents) > 0 {
					scalarIndent = indents[len(indents)-1]
				}
				i = len(line)
				continue
			case tokenStart && (c == '&' || c == '*') && !spaceNext:
				return refuse(lineNo, "anchors and aliases (&name, *name) are not allowed in a dataset file: write each value out")
			case tokenStart && c == '!':
				// A tag puts the node after it, where the scan would not
				// look for one; a dataset needs none.
				return refuse(lineNo, "tags (!name) are not allowed in a dataset file")
			case (tokenStart || flow > 0) && (c == '[' || c == '{'):
				flow++
				tokenStart, afterSpace = true, false
			case flow > 0 && (c == ']' || c == '}'):
				flow--
				tokenStart, afterSpace = false, false
			case flow > 0 && c == ',':
				tokenStart, afterSpace = true, false
			case (c == '-' || c == '?') && tokenStart && spaceNext:
				depth++ // "- - x" nests on one line
				tokenStart, afterSpace = true, false
			case c == ':' && spaceNext:
				tokenStart, afterSpace = true, false
			default:
				tokenStart, afterSpace = false, false
			}
			if depth+flow > MaxDatasetDepth {
				return tooDeep(lineNo)
			}
		}
		if depth+flow > MaxDatasetDepth {
			return tooDeep(lineNo)
		}
		if quote != 0 {
			// A quote that runs on could hide, from this scan, what a
			// parser reads as structure (or the reverse): a dataset's
			// long texts are block scalars.
			return refuse(lineNo, "a quoted text must end on its line in a dataset file; write a longer text as a block scalar (| or >)")
		}
	}
	return Problem{}, true
}
