package tcf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxJSONInput bounds the JSON read by EncodeCommand.
const maxJSONInput = 64 << 20

// DecodeCommand writes the decoded string as indented JSON to w.
// Surrounding white space in s is ignored.
func DecodeCommand(w io.Writer, s string) error {
	tc, err := Decode(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(tc)
}

// EncodeCommand reads the JSON form from r (unknown fields refused) and writes the TC string and a newline to w.
func EncodeCommand(w io.Writer, r io.Reader) error {
	lr := &io.LimitedReader{R: r, N: maxJSONInput + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	var tc TCString
	if err := dec.Decode(&tc); err != nil {
		if lr.N <= 0 {
			return fmt.Errorf("tcf: json input larger than %d bytes", maxJSONInput)
		}
		if errors.Is(err, io.EOF) {
			return errors.New("tcf: invalid json input: empty input")
		}
		return fmt.Errorf("tcf: invalid json input: %v", err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("tcf: invalid json input: unexpected data after the object")
	}
	s, err := Encode(&tc)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, s+"\n")
	return err
}
