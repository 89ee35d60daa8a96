package audit

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite the table of audit actions in docs/operations.md from the registry")

const (
	actionsBegin = "<!-- audit-actions:begin (generated from internal/audit/actions.go: go test ./internal/audit -run TestActionsDocumented -update) -->\n"
	actionsEnd   = "<!-- audit-actions:end -->\n"
)

// actionsTable renders the registry as the Markdown table of the docs.
func actionsTable() string {
	var b strings.Builder
	b.WriteString("| action | what it records | written by |\n| --- | --- | --- |\n")
	for _, a := range Actions() {
		b.WriteString("| `" + a.Name + "` | " + a.Description + " | `" + strings.Join(a.Emitters, "`, `") + "` |\n")
	}
	return b.String()
}

// replaceGenerated returns doc with the text between begin and end
// replaced by body; ok is false when the markers are missing.
func replaceGenerated(doc, begin, end, body string) (string, bool) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return doc, false
	}
	return doc[:i+len(begin)] + body + doc[j:], true
}

// TestActionsDocumented fails when the table of audit actions in
// docs/operations.md differs from the registry: an action missing, extra,
// or described differently.
func TestActionsDocumented(t *testing.T) {
	root, _ := moduleRoot(t)
	path := filepath.Join(root, "docs", "operations.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	want, ok := replaceGenerated(doc, actionsBegin, actionsEnd, actionsTable())
	if !ok {
		t.Fatalf("docs/operations.md lacks the markers of the audit actions table:\n%s%s", actionsBegin, actionsEnd)
	}
	if want == doc {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	// Name the rows that differ, so the failure says what to do.
	have := doc[strings.Index(doc, actionsBegin)+len(actionsBegin) : strings.Index(doc, actionsEnd)]
	haveRows, wantRows := map[string]bool{}, map[string]bool{}
	for _, row := range strings.Split(have, "\n") {
		haveRows[row] = true
	}
	for _, row := range strings.Split(actionsTable(), "\n") {
		wantRows[row] = true
		if !haveRows[row] {
			t.Errorf("docs/operations.md lacks the row %s", row)
		}
	}
	for _, row := range strings.Split(have, "\n") {
		if !wantRows[row] {
			t.Errorf("docs/operations.md has the row %s, which the registry does not", row)
		}
	}
	t.Error("the audit actions table of docs/operations.md is stale: go test ./internal/audit -run TestActionsDocumented -update")
}

func TestReplaceGenerated(t *testing.T) {
	tests := []struct {
		name, doc, want string
		ok              bool
	}{
		{"replaced", "a\n<b>\nold\n<e>\nz\n", "a\n<b>\nnew\n<e>\nz\n", true},
		{"no begin", "a\nold\n<e>\n", "a\nold\n<e>\n", false},
		{"end before begin", "<e>\n<b>\n", "<e>\n<b>\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := replaceGenerated(tt.doc, "<b>\n", "<e>\n", "new\n")
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestActionsInOpenAPI: the OpenAPI document's audit entries (Access) name
// the registry for their action, and its example is a registered action.
func TestActionsInOpenAPI(t *testing.T) {
	root, _ := moduleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "internal", "web", "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
					Example     any    `json:"example"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	action, ok := doc.Components.Schemas["Access"].Properties["action"]
	if !ok {
		t.Fatal("openapi.json has no Access.action")
	}
	if example, _ := action.Example.(string); !ActionRegistered(example) {
		t.Errorf("Access.action's example %v is not a registered action", action.Example)
	}
	if !strings.Contains(action.Description, "Audit actions") {
		t.Errorf("Access.action's description %q does not point to the table of audit actions", action.Description)
	}
}
