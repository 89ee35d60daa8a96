package assurance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/errs"
)

// scored is a small template: a must-pass yes/no, a choice with two
// passing options, a text and a file reference.
func scored(passMark int) assurance.Template {
	return assurance.Template{Key: "small", Name: "Small", PassMark: passMark, Questions: []assurance.Question{
		{ID: "mfa", Text: "MFA?", Kind: assurance.KindYesNo, Weight: 10, Pass: []string{assurance.Yes}, MustPass: true},
		{ID: "notice", Text: "Breach notice?", Kind: assurance.KindChoice, Weight: 40, Options: []string{"24h", "48h", "never"}, Pass: []string{"24h", "48h"}},
		{ID: "retention", Text: "Retention?", Kind: assurance.KindText, Weight: 30},
		{ID: "cert", Text: "Certificate?", Kind: assurance.KindFileReference, Weight: 20},
	}}
}

func TestScore(t *testing.T) {
	all := map[string]string{"mfa": "yes", "notice": "48h", "retention": "30 days", "cert": "https://v.example/iso.pdf"}
	with := func(changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range all {
			out[k] = v
		}
		for k, v := range changes {
			if v == "-" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	cases := []struct {
		name     string
		passMark int
		answers  map[string]string
		earned   int
		percent  int
		passed   bool
		failed   []string
		mustPass []string
	}{
		{"every answer passes", 70, all, 100, 100, true, nil, nil},
		{"a failed must-pass fails whatever the score", 70, with(map[string]string{"mfa": "no"}), 90, 90, false, []string{"mfa"}, []string{"mfa"}},
		{"an unanswered must-pass fails", 70, with(map[string]string{"mfa": "-"}), 90, 90, false, []string{"mfa"}, []string{"mfa"}},
		{"a missing file reference costs its weight", 70, with(map[string]string{"cert": "-"}), 80, 80, true, []string{"cert"}, nil},
		{"exactly the pass mark passes", 70, with(map[string]string{"retention": "  "}), 70, 70, true, []string{"retention"}, nil},
		{"below the pass mark fails", 71, with(map[string]string{"retention": ""}), 70, 70, false, []string{"retention"}, nil},
		{"a choice outside the passing answers fails", 70, with(map[string]string{"notice": "never"}), 60, 60, false, []string{"notice"}, nil},
		{"an answer that is no option fails", 70, with(map[string]string{"notice": "24 hours"}), 60, 60, false, []string{"notice"}, nil},
		{"nothing answered", 70, map[string]string{}, 0, 0, false, []string{"mfa", "notice", "retention", "cert"}, []string{"mfa"}},
		{"answers are trimmed", 70, with(map[string]string{"mfa": " yes ", "notice": "24h\n"}), 100, 100, true, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := scored(c.passMark).Score(c.answers)
			if sc.Earned != c.earned || sc.Possible != 100 || sc.Percent != c.percent || sc.Passed != c.passed || sc.PassMark != c.passMark ||
				!slices.Equal(sc.Failed, orEmpty(c.failed)) || !slices.Equal(sc.MustPassFailed, orEmpty(c.mustPass)) {
				t.Fatalf("Score = %+v", sc)
			}
		})
	}

	// The pass mark is compared exactly, not on the rounded percentage:
	// 2 of 3 equal weights is 66.7%, shown as 66.
	thirds := assurance.Template{Key: "thirds", Name: "Thirds", Questions: []assurance.Question{
		{ID: "a", Text: "A?", Kind: assurance.KindYesNo, Weight: 1, Pass: []string{assurance.Yes}},
		{ID: "b", Text: "B?", Kind: assurance.KindYesNo, Weight: 1, Pass: []string{assurance.Yes}},
		{ID: "c", Text: "C?", Kind: assurance.KindYesNo, Weight: 1, Pass: []string{assurance.No}},
	}}
	for _, c := range []struct {
		passMark int
		passed   bool
	}{{66, true}, {67, false}} {
		thirds.PassMark = c.passMark
		sc := thirds.Score(map[string]string{"a": "yes", "b": "yes", "c": "yes"})
		if sc.Percent != 66 || sc.Passed != c.passed || !slices.Equal(sc.Failed, []string{"c"}) {
			t.Fatalf("pass mark %d: %+v", c.passMark, sc)
		}
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestTemplateValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*assurance.Template)
		field string
	}{
		{"a key with capitals", func(t *assurance.Template) { t.Key = "Small" }, "key"},
		{"no name", func(t *assurance.Template) { t.Name = "" }, "name"},
		{"a pass mark of 0", func(t *assurance.Template) { t.PassMark = 0 }, "pass_mark"},
		{"a pass mark over 100", func(t *assurance.Template) { t.PassMark = 101 }, "pass_mark"},
		{"no questions", func(t *assurance.Template) { t.Questions = nil }, "questions"},
		{"a repeated id", func(t *assurance.Template) { t.Questions[1].ID = "mfa" }, "questions[1].id"},
		{"an id with spaces", func(t *assurance.Template) { t.Questions[0].ID = "m f a" }, "questions[0].id"},
		{"no text", func(t *assurance.Template) { t.Questions[0].Text = " " }, "questions[0].text"},
		{"a weight of 0", func(t *assurance.Template) { t.Questions[2].Weight = 0 }, "questions[2].weight"},
		{"a negative weight", func(t *assurance.Template) { t.Questions[2].Weight = -5 }, "questions[2].weight"},
		{"an unknown kind", func(t *assurance.Template) { t.Questions[2].Kind = "upload" }, "questions[2].kind"},
		{"a choice without options", func(t *assurance.Template) { t.Questions[1].Options = nil }, "questions[1].options"},
		{"a choice with one option", func(t *assurance.Template) { t.Questions[1].Options = []string{"24h"} }, "questions[1].options"},
		{"a repeated option", func(t *assurance.Template) { t.Questions[1].Options = []string{"24h", "48h", "24h"} }, "questions[1].options[2]"},
		{"an empty option", func(t *assurance.Template) { t.Questions[1].Options = []string{"24h", "48h", ""} }, "questions[1].options[2]"},
		{"a passing answer that is no option", func(t *assurance.Template) { t.Questions[1].Pass = []string{"12h"} }, "questions[1].pass[0]"},
		{"a choice without a passing answer", func(t *assurance.Template) { t.Questions[1].Pass = nil }, "questions[1].pass"},
		{"a yes/no passing on maybe", func(t *assurance.Template) { t.Questions[0].Pass = []string{"maybe"} }, "questions[0].pass[0]"},
		{"a yes/no with options", func(t *assurance.Template) { t.Questions[0].Options = []string{"yes", "no"} }, "questions[0].options"},
		{"a text with passing answers", func(t *assurance.Template) { t.Questions[2].Pass = []string{"30 days"} }, "questions[2].pass"},
		{"a file reference with options", func(t *assurance.Template) { t.Questions[3].Options = []string{"a", "b"} }, "questions[3].options"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl := scored(70)
			tmpl.Questions = slices.Clone(tmpl.Questions)
			c.edit(&tmpl)
			err := tmpl.Validate()
			e, ok := errs.As(err)
			if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
				t.Fatalf("Validate = %v, want a problem with %s", err, c.field)
			}
		})
	}
	ok := scored(70)
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid template: %v", err)
	}
}

func TestBuiltinTemplate(t *testing.T) {
	builtins := assurance.BuiltinTemplates()
	if len(builtins) != 1 || builtins[0].Key != assurance.SecurityBaseline || !builtins[0].Builtin || builtins[0].PassMark != 80 {
		t.Fatalf("built-ins %+v", builtins)
	}
	b := builtins[0]
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Questions); n < 15 || n > 25 {
		t.Fatalf("%d questions", n)
	}
	var topics []string
	mustPass := 0
	kinds := map[assurance.Kind]bool{}
	for _, q := range b.Questions {
		topics = append(topics, strings.ToLower(q.Topic+" "+q.Text))
		kinds[q.Kind] = true
		if q.MustPass {
			mustPass++
		}
	}
	all := strings.Join(topics, "\n")
	for _, topic := range []string{"at rest", "in transit", "multi-factor", "training", "incident", "breach", "sub-processor",
		"stored and processed", "backup", "certif", "delete", "how long"} {
		if !strings.Contains(all, topic) {
			t.Errorf("no question on %q", topic)
		}
	}
	if len(kinds) != 4 || mustPass < 3 {
		t.Errorf("kinds %v, %d must-pass questions", kinds, mustPass)
	}
	if sc := b.Score(passing(t)); !sc.Passed || sc.Percent != 100 {
		t.Errorf("passing answers score %+v", sc)
	}
}
