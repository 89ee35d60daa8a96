package i18n_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/i18n"
)

// errorKeyUse is one place the code names an error.* message.
type errorKeyUse struct {
	at   string   // file:line
	key  string   // without "error."
	args []string // the placeholder names passed; nil when not all literal
}

// errorKeyUses finds the error.* keys the module's code passes as literals:
// (*errs.Error).Keyed(key, args...), errs.InvalidKeyed(field, key, args...)
// and errs.Problems.Add(field, key, args...) (an Add with a literal second
// argument, in a file that imports errs).
func errorKeyUses(t *testing.T) []errorKeyUse {
	t.Helper()
	root := filepath.Join("..", "..")
	var uses []errorKeyUse
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		importsErrs := slices.ContainsFunc(file.Imports, func(s *ast.ImportSpec) bool {
			return s.Path.Value == `"github.com/steward-dev/steward/internal/errs"`
		})
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			keyAt := -1
			switch sel.Sel.Name {
			case "Keyed":
				keyAt = 0
			case "InvalidKeyed":
				keyAt = 1
			case "Add":
				if importsErrs {
					keyAt = 1
				}
			}
			if keyAt < 0 || len(call.Args) <= keyAt {
				return true
			}
			key, ok := stringLit(call.Args[keyAt])
			if ok && sel.Sel.Name == "Add" && !keyPattern.MatchString(key) {
				return true // http.Header.Add, url.Values.Add
			}
			if !ok {
				if sel.Sel.Name != "Add" {
					t.Errorf("%s: the key of %s is not a literal; the catalog test cannot check it", fset.Position(call.Pos()), sel.Sel.Name)
				}
				return true
			}
			use := errorKeyUse{at: fset.Position(call.Pos()).String(), key: key}
			rest := call.Args[keyAt+1:]
			if call.Ellipsis == token.NoPos {
				use.args = []string{}
				for i := 0; i < len(rest); i += 2 {
					name, ok := stringLit(rest[i])
					if !ok {
						use.args = nil
						break
					}
					use.args = append(use.args, name)
				}
			}
			uses = append(uses, use)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses
}

// keyPattern is what a catalog key of errs looks like.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// TestErrorKeysInTheCatalog: every error.* key the code names exists (in
// English, and so, by TestCatalogComplete, in every language with the same
// placeholders), the code passes exactly the placeholders the message
// says, and the catalog holds no error.* key the code no longer names.
func TestErrorKeysInTheCatalog(t *testing.T) {
	c := i18n.Default()
	uses := errorKeyUses(t)
	used := map[string]bool{}
	for _, u := range uses {
		used[u.key] = true
		m, ok := c.Lookup(i18n.English, "error."+u.key)
		if !ok {
			t.Errorf("%s: error.%s is not in the catalog", u.at, u.key)
			continue
		}
		if u.args == nil {
			continue
		}
		text := m.Text
		for _, form := range m.Plural {
			text += " " + form
		}
		args := slices.Clone(u.args)
		slices.Sort(args)
		if want := i18n.Placeholders(text); !slices.Equal(slices.Compact(args), want) {
			t.Errorf("%s: error.%s is given %v, its message says %v", u.at, u.key, args, want)
		}
	}
	// The scan must see the keys the code is known to use, or it proves
	// nothing.
	for _, key := range []string{"signin_refused", "quiz_answer_each", "too_long", "catalog_key", "domain_name", "contrast"} {
		if !used[key] {
			t.Errorf("the scan did not find error.%s", key)
		}
	}
	for _, key := range c.Keys(i18n.English) {
		if rest, ok := strings.CutPrefix(key, "error."); ok && !used[rest] {
			t.Errorf("%s is in the catalog but no code names it", key)
		}
	}
	t.Logf("%d uses of %d error keys", len(uses), len(used))
}
