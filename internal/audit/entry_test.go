package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// referenceHash implements the hash as the package comment words it, apart
// from the code under test, as an outside verifier would.
func referenceHash(s *Stored) Hash {
	var b bytes.Buffer
	b.WriteString("steward.audit.entry.v1")
	b.WriteByte(0)
	binary.Write(&b, binary.BigEndian, s.Seq)
	binary.Write(&b, binary.BigEndian, s.At.UnixMicro())
	for _, f := range []string{s.Actor.Kind, s.Actor.ID, s.Action, s.Target.Kind, s.Target.ID, s.Details.String()} {
		binary.Write(&b, binary.BigEndian, uint32(len(f)))
		b.WriteString(f)
	}
	b.Write(s.PrevHash[:])
	return sha256.Sum256(b.Bytes())
}

// exampleEntry is the entry of the package comment's test vector.
func exampleEntry() Stored {
	return Stored{
		Seq: 1,
		At:  time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Entry: Entry{
			Actor: Staff("42"), Action: "vault.reveal", Target: Subject("cust-42"),
			Details: MustDetails(map[string]any{"purpose": "refund ticket 7", "field": "iban"}),
		},
		PrevHash: GenesisHash,
	}
}

func TestHashDefinition(t *testing.T) {
	s := exampleEntry()
	if got := s.Details.String(); got != `{"field":"iban","purpose":"refund ticket 7"}` {
		t.Fatalf("details encode as %s", got)
	}
	// The test vector printed in the package comment.
	const want = "c9e46d5ee865a8a8d7ccc99aaa9fe361effa82a1e435c8702720583776ce54ca"
	if got := s.ComputeHash().String(); got != want {
		t.Errorf("hash of the example entry = %s, want %s (update the package comment if the definition changed on purpose)", got, want)
	}
	// Every field counts, and lengths keep fields apart.
	variants := map[string]func(*Stored){
		"seq":          func(s *Stored) { s.Seq = 2 },
		"at":           func(s *Stored) { s.At = s.At.Add(time.Microsecond) },
		"actor kind":   func(s *Stored) { s.Actor.Kind = "api_key" },
		"actor id":     func(s *Stored) { s.Actor.ID = "43" },
		"action":       func(s *Stored) { s.Action = "vault.export" },
		"target kind":  func(s *Stored) { s.Target.Kind = "staff" },
		"target id":    func(s *Stored) { s.Target.ID = "cust-43" },
		"details":      func(s *Stored) { s.Details = MustDetails(map[string]any{"field": "name_of_bank"}) },
		"prev hash":    func(s *Stored) { s.PrevHash[31] = 1 },
		"shifted byte": func(s *Stored) { s.Actor.ID, s.Action = "4", "2vault.reveal" },
	}
	base := s.ComputeHash()
	for name, change := range variants {
		v := exampleEntry()
		change(&v)
		if got := v.ComputeHash(); got == base {
			t.Errorf("changing %s does not change the hash", name)
		}
		if v.ComputeHash() != referenceHash(&v) {
			t.Errorf("%s: ComputeHash and the reference disagree", name)
		}
	}
	if s.ComputeHash() != referenceHash(&s) {
		t.Error("ComputeHash and the reference disagree")
	}
}

func TestEntryValidate(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		bad   string // field named in the error, "" for valid
	}{
		{"staff reveal", Entry{Actor: Staff("42"), Action: "vault.reveal", Target: Subject("cust-42")}, ""},
		{"system job without target", Entry{Actor: System(), Action: "keys.rotate"}, ""},
		{"api key", Entry{Actor: APIKey("key_x"), Action: "vault.detokenize", Target: Subject("c")}, ""},
		{"three-part action", Entry{Actor: System(), Action: "catalog.notice.publish"}, ""},
		{"unregistered action", Entry{Actor: System(), Action: "subject.export"}, "action"},
		{"unregistered action of a registered area", Entry{Actor: System(), Action: "vault.copy"}, "action"},
		{"no actor", Entry{Action: "vault.reveal"}, "actor.kind"},
		{"staff without id", Entry{Actor: Actor{Kind: KindStaff}, Action: "vault.reveal"}, "actor.id"},
		{"upper-case kind", Entry{Actor: Actor{Kind: "Staff", ID: "1"}, Action: "vault.reveal"}, "actor.kind"},
		{"undotted action", Entry{Actor: System(), Action: "reveal"}, "action"},
		{"action with spaces", Entry{Actor: System(), Action: "vault. reveal"}, "action"},
		{"target without kind", Entry{Actor: System(), Action: "keys.rotate", Target: Target{ID: "x"}}, "target.kind"},
		{"target without id", Entry{Actor: System(), Action: "keys.rotate", Target: Target{Kind: "subject"}}, "target.id"},
		{"control character in id", Entry{Actor: Staff("4\n2"), Action: "vault.reveal"}, "actor.id"},
		{"long id", Entry{Actor: Staff(strings.Repeat("x", 300)), Action: "vault.reveal"}, "actor.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.entry.Validate()
			if tt.bad == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[tt.bad] == "" {
				t.Fatalf("Validate: %v, want an invalid-input error naming %s", err, tt.bad)
			}
		})
	}
}

func TestNewDetailsRefusesPersonalData(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		path   string // field path named in the error, "" for accepted
		want   string // encoding when accepted
	}{
		{"field name and purpose", map[string]any{"field": "iban", "purpose": "refund"}, "", `{"field":"iban","purpose":"refund"}`},
		{"nested ids and numbers", map[string]any{"request": map[string]any{"id": "req-1", "fields": []string{"iban", "dob"}}, "n": 3}, "",
			`{"n":3,"request":{"fields":["iban","dob"],"id":"req-1"}}`},
		{"html kept readable", map[string]any{"reason": "a<b & c>d"}, "", `{"reason":"a<b & c>d"}`},
		{"empty", nil, "", `{}`},
		{"value", map[string]any{"value": "DE89 3704 0044 0532 0130 00"}, "details.value", ""},
		{"plaintext in another case", map[string]any{"PlainText": "x"}, "details.PlainText", ""},
		{"old_value", map[string]any{"old_value": "x"}, "details.old_value", ""},
		{"nested e-mail key", map[string]any{"subject": map[string]any{"e-mail": "x"}}, "details.subject.e-mail", ""},
		{"nested email_address key", map[string]any{"subject": map[string]any{"email_address": "x"}}, "details.subject.email_address", ""},
		{"password in a longer key", map[string]any{"new_password_hash": "x"}, "details.new_password_hash", ""},
		{"email-like value", map[string]any{"recipient": "jane@example.com"}, "details.recipient", ""},
		{"email-like value in a list", map[string]any{"to": []any{"ok", " jane@example.com "}}, "details.to[1]", ""},
		{"iban key", map[string]any{"IBAN": "x"}, "details.IBAN", ""},
		{"too large", map[string]any{"note": strings.Repeat("x", MaxDetailsBytes)}, "details", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDetails(tt.fields)
			if tt.path == "" {
				if tt.want == "" { // accepted, encoding not pinned
					if err != nil {
						t.Fatalf("NewDetails: %v", err)
					}
					return
				}
				if err != nil || d.String() != tt.want {
					t.Fatalf("NewDetails = %s, %v; want %s", d, err, tt.want)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[tt.path] == "" {
				t.Fatalf("NewDetails: %v, want an invalid-input error naming %s", err, tt.path)
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	tests := []struct {
		raw, want string // want "" means refused
	}{
		{`{"b": 1.50, "a": "x"}`, `{"a":"x","b":1.50}`},
		{`{}`, `{}`},
		{`[1]`, ""},
		{`"x"`, ""},
		{`{"plaintext": "x"}`, ""},
		{`{"a": 1} trailing`, ""},
		{`{"a": 1}` + "\n", `{"a":1}`},
		{`{`, ""},
	}
	for _, tt := range tests {
		d, err := ParseDetails([]byte(tt.raw))
		switch {
		case tt.want == "" && !errs.Is(err, errs.CodeInvalid):
			t.Errorf("ParseDetails(%s) = %s, %v; want an invalid-input error", tt.raw, d, err)
		case tt.want != "" && (err != nil || d.String() != tt.want):
			t.Errorf("ParseDetails(%s) = %s, %v; want %s", tt.raw, d, err, tt.want)
		}
	}
}
