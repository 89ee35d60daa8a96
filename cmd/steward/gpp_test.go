package main

import (
	"errors"
	"strings"
	"testing"
)

// TestGPPDecodeEncode: decode prints JSON that encode turns back into the
// same string; bad input fails with one line and no output.
func TestGPPDecodeEncode(t *testing.T) {
	t.Parallel()
	const s = "DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"
	js, errOut, err := runCLI(t, "", "gpp", "decode", s)
	if err != nil || errOut != "" {
		t.Fatalf("decode: %v, stderr %q", err, errOut)
	}
	for _, want := range []string{`"id": 2`, `"name": "tcfeuv2"`, `"cmpId": 31`, `"id": 6`, `"raw": "1YNN"`} {
		if !strings.Contains(js, want) {
			t.Errorf("decode output lacks %s:\n%s", want, js)
		}
	}
	out, _, err := runCLI(t, js, "gpp", "encode")
	if err != nil || out != s+"\n" {
		t.Fatalf("encode = %q, %v; want %q", out, err, s)
	}

	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"decode garbage", "", []string{"gpp", "decode", "DBABLA~CAAA"}, "gpp: usnat.SensitiveDataProcessing: truncated at bit 24"},
		{"decode without a string", "", []string{"gpp", "decode"}, "usage"},
		{"encode bad json", "{", []string{"gpp", "encode"}, "gpp: json:"},
		{"encode unknown field", `{"version":1,"sections":[],"extra":1}`, []string{"gpp", "encode"}, "unknown field"},
		{"encode bad value", `{"version":1,"sections":[{"id":9,"usva":{"Version":1,"SensitiveDataProcessing":[0,0,0,0,0,0,0,0],"MspaCoveredTransaction":0}}]}`,
			[]string{"gpp", "encode"}, "gpp: sections[0].usva.MspaCoveredTransaction: value 0 out of range (1-2)"},
		{"encode with an argument", "", []string{"gpp", "encode", "x"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, tt.stdin, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q on error", out)
			}
			if tt.want == "usage" && !errors.Is(err, errUsage) {
				t.Errorf("err = %v, want errUsage", err)
			}
		})
	}
}
