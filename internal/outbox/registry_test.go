package outbox

import (
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var epochForRegistry = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

var updateDocs = flag.Bool("update", false, "rewrite the table of webhook event types in docs/api.md from the registry")

const (
	eventsBegin = "<!-- webhook-events:begin (generated from internal/outbox/events.go: go test ./internal/outbox -run TestEventTypesDocumented -update) -->\n"
	eventsEnd   = "<!-- webhook-events:end -->\n"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

func eventsTable() string {
	var b strings.Builder
	b.WriteString("| event type | what happened | `data` keys | emitted by |\n| --- | --- | --- | --- |\n")
	for _, e := range EventTypeInfos() {
		b.WriteString("| `" + e.Name + "` | " + e.Description + " | `" + strings.Join(e.Fields, "`, `") + "` | `" +
			strings.Join(e.Emitters, "`, `") + "` |\n")
	}
	return b.String()
}

func TestEventRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range EventTypeInfos() {
		switch {
		case seen[e.Name]:
			t.Errorf("%s registered twice", e.Name)
		case !strings.Contains(e.Name, "."):
			t.Errorf("%s: want area.verb", e.Name)
		case e.Description == "" || !strings.HasSuffix(e.Description, "."):
			t.Errorf("%s: the description is a sentence", e.Name)
		case len(e.Emitters) == 0 || len(e.Fields) == 0:
			t.Errorf("%s: name who emits it and its data keys", e.Name)
		}
		seen[e.Name] = true
		for _, f := range e.Fields {
			if !keyPattern.MatchString(f) || forbiddenKey(f) {
				t.Errorf("%s: data key %q is not a key an event may carry", e.Name, f)
			}
		}
		if got, ok := LookupEventType(e.Name); !ok || got.Description != e.Description {
			t.Errorf("LookupEventType(%q) = %v, %v", e.Name, got, ok)
		}
	}
	if _, ok := LookupEventType("changed.by.caller"); ok {
		t.Error("an unregistered type was found")
	}
	// The outbox refuses to emit an unregistered type.
	if _, err := encodeEvent(Event{Type: "consent.copied"}, epochForRegistry); err == nil || !strings.Contains(err.Error(), "unknown event type") {
		t.Errorf("encodeEvent of an unregistered type: %v", err)
	}
}

// TestEventTypesInOpenAPI: every enum of event types in the OpenAPI
// document lists exactly the registry, in its order.
func TestEventTypesInOpenAPI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "web", "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var enums [][]string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if k == "event_types" {
					items, _ := child.(map[string]any)["items"].(map[string]any)
					if enum, ok := items["enum"].([]any); ok {
						var list []string
						for _, e := range enum {
							list = append(list, e.(string))
						}
						enums = append(enums, list)
					} else if path != "" && strings.Contains(path, "requestBody") {
						t.Errorf("%s.event_types: a request body's event types want an enum of the registry", path)
					}
				}
				walk(path+"."+k, child)
			}
		case []any:
			for i, child := range v {
				walk(path+"["+strconv.Itoa(i)+"]", child)
			}
		}
	}
	walk("", doc)
	if len(enums) < 2 {
		t.Fatalf("found %d enums of event_types in openapi.json, want those of the endpoint's create and update", len(enums))
	}
	for _, enum := range enums {
		if !slices.Equal(enum, EventTypes()) {
			t.Errorf("openapi.json lists event types %v, the registry %v", enum, EventTypes())
		}
	}
}

// TestEventTypesDocumented fails when the table of event types in
// docs/api.md differs from the registry.
func TestEventTypesDocumented(t *testing.T) {
	path := filepath.Join(repoRoot(t), "docs", "api.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, eventsBegin), strings.Index(doc, eventsEnd)
	if i < 0 || j < i {
		t.Fatalf("docs/api.md lacks the markers of the event types table:\n%s%s", eventsBegin, eventsEnd)
	}
	have := doc[i+len(eventsBegin) : j]
	if have == eventsTable() {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc[:i+len(eventsBegin)]+eventsTable()+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	haveRows := strings.Split(have, "\n")
	wantRows := strings.Split(eventsTable(), "\n")
	for _, row := range wantRows {
		if !slices.Contains(haveRows, row) {
			t.Errorf("docs/api.md lacks the row %s", row)
		}
	}
	for _, row := range haveRows {
		if !slices.Contains(wantRows, row) {
			t.Errorf("docs/api.md has the row %s, which the registry does not", row)
		}
	}
	t.Error("the event types table of docs/api.md is stale: go test ./internal/outbox -run TestEventTypesDocumented -update")
}

// TestEventTypesEmitted: each registered type is named, by its constant or
// its string, in the non-test source of a package the registry says emits
// it, and no other package of the module names it in an outbox.Event.
func TestEventTypesEmitted(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	constOf := map[string]string{} // constant name → type, from this package's source
	events, err := parser.ParseFile(fset, filepath.Join(root, "internal", "outbox", "events.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range events.Decls {
		if gen, ok := decl.(*ast.GenDecl); ok && gen.Tok == token.CONST {
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, _ := strconv.Unquote(lit.Value); KnownEventType(v) {
							constOf[name.Name] = v
						}
					}
				}
			}
		}
	}
	if len(constOf) != len(eventRegistry) {
		t.Fatalf("%d constants for %d registered types: declare a constant for each", len(constOf), len(eventRegistry))
	}
	namedBy := map[string][]string{} // type → packages naming it
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		own := pkg == "internal/outbox" // its registry names every type: only its other files count
		if own && filepath.Base(path) == "events.go" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if v, ok := constOf[n.Name]; ok && own {
					namedBy[v] = append(namedBy[v], pkg)
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "outbox" {
					if v, ok := constOf[n.Sel.Name]; ok {
						namedBy[v] = append(namedBy[v], pkg)
					}
				}
			case *ast.BasicLit:
				if v, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && KnownEventType(v) {
					namedBy[v] = append(namedBy[v], pkg)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range EventTypeInfos() {
		emitted := false
		for _, pkg := range namedBy[e.Name] {
			if slices.Contains(e.Emitters, pkg) {
				emitted = true
			}
		}
		if !emitted {
			t.Errorf("%s: none of its emitters %v names it (named in %v)", e.Name, e.Emitters, namedBy[e.Name])
		}
	}
}
