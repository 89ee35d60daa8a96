package gpp

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// maxJSONInput bounds the JSON read by EncodeCommand.
const maxJSONInput = 4 << 20

// DecodeCommand writes the decoded string as indented JSON to w.
// Surrounding white space in s is ignored.
func DecodeCommand(w io.Writer, s string) error {
	decoded, err := Decode(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(decoded)
}

// EncodeCommand reads the JSON form (as DecodeCommand writes it; unknown
// fields refused) from r and writes the GPP string and a newline to w.
func EncodeCommand(w io.Writer, r io.Reader) error {
	lr := &io.LimitedReader{R: r, N: maxJSONInput + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	var in String
	if err := dec.Decode(&in); err != nil {
		switch {
		case lr.N <= 0:
			return invalid("json", "input larger than %d bytes", maxJSONInput)
		case errors.Is(err, io.EOF):
			return invalid("json", "empty input")
		}
		return invalid("json", "%v", err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return invalid("json", "unexpected data after the object")
	}
	out, err := Encode(&in)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out+"\n")
	return err
}
