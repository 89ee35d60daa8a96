package audit

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The scan below reads the module's non-test Go source, finds every
// audit.Entry composite literal (Entry inside this package) and works out
// the values its Action field can take, following what a reader would:
// string literals; constants, of the package or imported; parameters, to
// the arguments of every call of the function in its package; local
// variables, to their assignments, and a variable assigned from a call of
// a function parameter to the return statements of the closures passed for
// it; concatenations, whose unknown tail leaves a prefix. Anything else is
// unresolved and fails the test: write the action as a literal or a
// constant, or build it from a registered prefix.

// actionValue is a value an Action expression can take: the whole action,
// or (prefix) the start of it, completed at run time; or unknown, saying
// why the source does not tell.
type actionValue struct {
	s       string
	prefix  bool
	unknown string
}

type scanFile struct {
	file    *ast.File
	imports map[string]string // local name → package dir relative to the module root
}

type scanPkg struct {
	dir    string
	files  []*scanFile
	consts map[string]ast.Expr
	calls  map[string][]callSite // by the called function's name; methods of any receiver share it
}

type callSite struct {
	call  *ast.CallExpr
	file  *scanFile
	stack []ast.Node // enclosing FuncDecl and FuncLit nodes, outermost first
}

type actionSite struct {
	pos    string
	pkg    *scanPkg
	values []actionValue
	errs   []string
}

type scanner struct {
	fset *token.FileSet
	root string
	pkgs map[string]*scanPkg // by dir
	seen map[string]bool     // parameters being resolved, against recursion
	// A function bound to one of its calls, while a concatenation of its
	// parameters is resolved.
	bound   map[*ast.FuncDecl]bool
	binding map[*ast.FuncDecl]callSite
}

func moduleRoot(tb testing.TB) (root, module string) {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return dir, strings.TrimSpace(rest)
				}
			}
			tb.Fatal("go.mod without a module line")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// loadModule parses the module's non-test Go files.
func loadModule(tb testing.TB) *scanner {
	tb.Helper()
	root, module := moduleRoot(tb)
	s := &scanner{fset: token.NewFileSet(), root: root, pkgs: map[string]*scanPkg{}, seen: map[string]bool{},
		bound: map[*ast.FuncDecl]bool{}, binding: map[*ast.FuncDecl]callSite{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// Test-support packages (apptest, snaptest, ...) write entries to
			// fill stores for tests and benchmarks; they emit nothing in
			// production, so the registry does not name them.
			testSupport := strings.HasSuffix(name, "test") && name != "test"
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || testSupport) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(s.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		dir := filepath.ToSlash(rel)
		p := s.pkgs[dir]
		if p == nil {
			p = &scanPkg{dir: dir, consts: map[string]ast.Expr{}, calls: map[string][]callSite{}}
			s.pkgs[dir] = p
		}
		sf := &scanFile{file: f, imports: map[string]string{}}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			local, ok := strings.CutPrefix(ip, module+"/")
			if !ok {
				continue
			}
			alias := ip[strings.LastIndex(ip, "/")+1:]
			if imp.Name != nil {
				alias = imp.Name.Name
			}
			sf.imports[alias] = local
		}
		p.files = append(p.files, sf)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range s.pkgs {
		for _, sf := range p.files {
			for _, decl := range sf.file.Decls {
				if gen, ok := decl.(*ast.GenDecl); ok && gen.Tok == token.CONST {
					for _, spec := range gen.Specs {
						vs := spec.(*ast.ValueSpec)
						for i, n := range vs.Names {
							if i < len(vs.Values) {
								p.consts[n.Name] = vs.Values[i]
							}
						}
					}
				}
			}
			walkWithStack(sf.file, func(n ast.Node, stack []ast.Node) {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return
				}
				var name string
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					name = fun.Name
				case *ast.SelectorExpr:
					name = fun.Sel.Name
				default:
					return
				}
				p.calls[name] = append(p.calls[name], callSite{call: call, file: sf, stack: slices.Clone(stack)})
			})
		}
	}
	return s
}

// walkWithStack calls fn for every node of f with the functions (FuncDecl,
// FuncLit) that enclose it, outermost first.
func walkWithStack(f *ast.File, fn func(n ast.Node, stack []ast.Node)) {
	var nodes, funcs []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			top := nodes[len(nodes)-1]
			nodes = nodes[:len(nodes)-1]
			switch top.(type) {
			case *ast.FuncDecl, *ast.FuncLit:
				funcs = funcs[:len(funcs)-1]
			}
			return true
		}
		fn(n, funcs)
		nodes = append(nodes, n)
		switch n.(type) {
		case *ast.FuncDecl, *ast.FuncLit:
			funcs = append(funcs, n)
		}
		return true
	})
}

// isEntryType reports whether a composite literal's type is audit.Entry
// (Entry inside package audit).
func isEntryType(p *scanPkg, sf *scanFile, typ ast.Expr) bool {
	switch typ := typ.(type) {
	case *ast.SelectorExpr:
		x, ok := typ.X.(*ast.Ident)
		return ok && typ.Sel.Name == "Entry" && sf.imports[x.Name] == "internal/audit"
	case *ast.Ident:
		return typ.Name == "Entry" && p.dir == "internal/audit"
	}
	return false
}

// sites finds the Action field of every audit.Entry literal and resolves
// its values.
func (s *scanner) sites() []*actionSite {
	var out []*actionSite
	for _, p := range s.pkgs {
		for _, sf := range p.files {
			walkWithStack(sf.file, func(n ast.Node, stack []ast.Node) {
				lit, ok := n.(*ast.CompositeLit)
				if !ok || !isEntryType(p, sf, lit.Type) {
					return
				}
				for _, elt := range lit.Elts {
					kv, ok := elt.(*ast.KeyValueExpr)
					if key, isIdent := kv.Key.(*ast.Ident); !ok || !isIdent || key.Name != "Action" {
						continue
					}
					site := &actionSite{pos: s.pos(kv.Value), pkg: p}
					for _, v := range s.resolve(p, sf, slices.Clone(stack), kv.Value) {
						if v.unknown != "" {
							site.errs = append(site.errs, v.unknown)
						} else {
							site.values = append(site.values, v)
						}
					}
					out = append(out, site)
				}
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pos < out[j].pos })
	return out
}

func (s *scanner) pos(n ast.Node) string {
	p := s.fset.Position(n.Pos())
	rel, err := filepath.Rel(s.root, p.Filename)
	if err != nil {
		rel = p.Filename
	}
	return fmt.Sprintf("%s:%d", filepath.ToSlash(rel), p.Line)
}

func (s *scanner) unknown(n ast.Node, format string, args ...any) []actionValue {
	return []actionValue{{unknown: s.pos(n) + ": " + fmt.Sprintf(format, args...)}}
}

// resolve returns the values e can take, in package p, file sf, inside the
// functions of stack.
func (s *scanner) resolve(p *scanPkg, sf *scanFile, stack []ast.Node, e ast.Expr) []actionValue {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return s.resolve(p, sf, stack, e.X)
	case *ast.BasicLit:
		v, err := strconv.Unquote(e.Value)
		if e.Kind != token.STRING || err != nil {
			return s.unknown(e, "not a string")
		}
		return []actionValue{{s: v}}
	case *ast.CallExpr:
		// string(x) converts a typed constant or value: follow x.
		if fun, ok := e.Fun.(*ast.Ident); ok && fun.Name == "string" && len(e.Args) == 1 {
			return s.resolve(p, sf, stack, e.Args[0])
		}
		return s.unknown(e, "a call, whose result the source does not tell")
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return s.unknown(e, "not a concatenation")
		}
		if decl := s.unboundParam(stack, e); decl != nil {
			// The parts of a concatenation that are parameters of one
			// function take their values from the same call: resolve
			// the whole once per call, not each part across all calls.
			return s.fromCallers(p, decl, -1, func(_ ast.Expr, cs callSite) []actionValue {
				s.bound[decl] = true
				defer delete(s.bound, decl)
				s.binding[decl] = cs
				return s.resolve(p, sf, stack, e)
			})
		}
		left, right := s.resolve(p, sf, stack, e.X), s.resolve(p, sf, stack, e.Y)
		var out []actionValue
		for _, l := range left {
			if l.unknown != "" || l.prefix {
				out = append(out, l)
				continue
			}
			for _, r := range right {
				if r.unknown != "" {
					// An unknown tail: the left side is a prefix.
					out = append(out, actionValue{s: l.s, prefix: true})
				} else {
					out = append(out, actionValue{s: l.s + r.s, prefix: r.prefix})
				}
			}
		}
		return out
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		if !ok || sf.imports[x.Name] == "" {
			return s.unknown(e, "a field, whose value the source does not tell")
		}
		other := s.pkgs[sf.imports[x.Name]]
		if other == nil || other.consts[e.Sel.Name] == nil {
			return s.unknown(e, "%s.%s is not a constant", x.Name, e.Sel.Name)
		}
		return s.resolve(other, other.files[0], nil, other.consts[e.Sel.Name])
	case *ast.Ident:
		return s.resolveIdent(p, sf, stack, e)
	}
	return s.unknown(e, "an expression the scan does not follow (%T)", e)
}

func (s *scanner) resolveIdent(p *scanPkg, sf *scanFile, stack []ast.Node, id *ast.Ident) []actionValue {
	// The innermost function first: its locals and parameters shadow the
	// outer ones and the package's constants.
	for i := len(stack) - 1; i >= 0; i-- {
		fnType, body := funcParts(stack[i])
		if values, found := s.fromAssignments(p, sf, stack[:i+1], body, id.Name); found {
			return values
		}
		if idx, ok := paramIndex(fnType, id.Name); ok {
			decl, isDecl := stack[i].(*ast.FuncDecl)
			if !isDecl {
				return s.unknown(id, "%s is a parameter of a function literal", id.Name)
			}
			if s.bound[decl] {
				cs := s.binding[decl]
				if idx >= len(cs.call.Args) {
					return s.unknown(id, "%s is not passed", id.Name)
				}
				return s.resolve(p, cs.file, cs.stack, cs.call.Args[idx])
			}
			return s.fromCallers(p, decl, idx, func(arg ast.Expr, cs callSite) []actionValue {
				return s.resolve(p, cs.file, cs.stack, arg)
			})
		}
	}
	if c, ok := p.consts[id.Name]; ok {
		return s.resolve(p, sf, nil, c)
	}
	return s.unknown(id, "%s is neither a constant, a parameter nor a local assigned in the function", id.Name)
}

// fromCallers resolves argument idx of every call of decl in its package.
func (s *scanner) fromCallers(p *scanPkg, decl *ast.FuncDecl, idx int, each func(ast.Expr, callSite) []actionValue) []actionValue {
	key := p.dir + "." + decl.Name.Name + "#" + strconv.Itoa(idx)
	if s.seen[key] {
		return nil // recursion: the other callers give the values
	}
	s.seen[key] = true
	defer delete(s.seen, key)
	calls := p.calls[decl.Name.Name]
	if len(calls) == 0 {
		return s.unknown(decl, "%s is not called in its package", decl.Name.Name)
	}
	var out []actionValue
	for _, cs := range calls {
		switch {
		case idx < 0:
			out = append(out, each(nil, cs)...)
		case idx < len(cs.call.Args):
			out = append(out, each(cs.call.Args[idx], cs)...)
		}
	}
	return out
}

// fromAssignments resolves the assignments to name directly in body (not
// in nested function literals).
func (s *scanner) fromAssignments(p *scanPkg, sf *scanFile, stack []ast.Node, body *ast.BlockStmt, name string) ([]actionValue, bool) {
	if body == nil {
		return nil, false
	}
	var out []actionValue
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ValueSpec:
			for i, nm := range n.Names {
				if nm.Name == name && i < len(n.Values) {
					found = true
					out = append(out, s.resolve(p, sf, stack, n.Values[i])...)
				}
			}
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if lid, ok := lhs.(*ast.Ident); !ok || lid.Name != name {
					continue
				}
				found = true
				switch {
				case len(n.Rhs) == len(n.Lhs):
					out = append(out, s.resolve(p, sf, stack, n.Rhs[i])...)
				default:
					out = append(out, s.fromResult(p, stack, n.Rhs[0], i)...)
				}
			}
		}
		return true
	})
	return out, found
}

// fromResult resolves result i of rhs, a call of a function parameter:
// the return statements of the function literals its callers pass for it.
func (s *scanner) fromResult(p *scanPkg, stack []ast.Node, rhs ast.Expr, i int) []actionValue {
	call, ok := rhs.(*ast.CallExpr)
	if !ok {
		return s.unknown(rhs, "a multi-value expression the scan does not follow")
	}
	if fun, ok := call.Fun.(*ast.Ident); ok {
		for j := len(stack) - 1; j >= 0; j-- {
			decl, isDecl := stack[j].(*ast.FuncDecl)
			if !isDecl {
				continue
			}
			if idx, ok := paramIndex(decl.Type, fun.Name); ok {
				return s.fromCallers(p, decl, idx, func(arg ast.Expr, cs callSite) []actionValue {
					lit, ok := arg.(*ast.FuncLit)
					if !ok {
						return s.unknown(arg, "not a function literal")
					}
					return s.returned(p, cs, lit, i)
				})
			}
		}
	}
	return s.unknown(rhs, "a call, whose result the source does not tell")
}

// returned resolves result i of the return statements of lit.
func (s *scanner) returned(p *scanPkg, cs callSite, lit *ast.FuncLit, i int) []actionValue {
	var out []actionValue
	inner := append(slices.Clone(cs.stack), lit)
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if i >= len(n.Results) {
				return true
			}
			if b, ok := n.Results[i].(*ast.BasicLit); ok && b.Value == `""` {
				return true // returned with an error: no entry is written
			}
			out = append(out, s.resolve(p, cs.file, inner, n.Results[i])...)
		}
		return true
	})
	return out
}

// unboundParam returns the innermost function of stack, not bound to a
// call yet, one of whose parameters e names.
func (s *scanner) unboundParam(stack []ast.Node, e ast.Expr) *ast.FuncDecl {
	for i := len(stack) - 1; i >= 0; i-- {
		decl, ok := stack[i].(*ast.FuncDecl)
		if !ok || s.bound[decl] {
			continue
		}
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && !found {
				_, found = paramIndex(decl.Type, id.Name)
			}
			return !found
		})
		if found {
			return decl
		}
	}
	return nil
}

func funcParts(n ast.Node) (*ast.FuncType, *ast.BlockStmt) {
	switch n := n.(type) {
	case *ast.FuncDecl:
		return n.Type, n.Body
	case *ast.FuncLit:
		return n.Type, n.Body
	}
	return nil, nil
}

func paramIndex(ft *ast.FuncType, name string) (int, bool) {
	if ft == nil || ft.Params == nil {
		return 0, false
	}
	i := 0
	for _, field := range ft.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i, true
			}
			i++
		}
	}
	return 0, false
}

// TestActionsRegistered proves the registry complete: every action the
// module's code can write is registered, under the package that writes it;
// every action built at run time starts with a prefix of registered
// actions of its package; and every registered action is written
// somewhere.
func TestActionsRegistered(t *testing.T) {
	sites := loadModule(t).sites()
	if len(sites) < 40 {
		t.Fatalf("found %d audit.Entry literals with an Action; the scan is missing most of them", len(sites))
	}
	emitted := map[string]bool{}
	for _, site := range sites {
		for _, e := range site.errs {
			t.Errorf("%s: the action cannot be read from the source (%s): write a literal or a constant, or build it from a registered prefix", site.pos, e)
		}
		if len(site.errs) == 0 && len(site.values) == 0 {
			t.Errorf("%s: the scan finds no value of the action", site.pos)
		}
		for _, v := range site.values {
			if v.prefix {
				family := ActionsWithPrefix(v.s)
				ours := false
				for _, a := range family {
					if slices.Contains(a.Emitters, site.pkg.dir) {
						ours, emitted[a.Name] = true, true
					}
				}
				if !ours {
					t.Errorf("%s: actions built as %q+…: no registered action starts so with emitter %s", site.pos, v.s, site.pkg.dir)
				}
				continue
			}
			a, ok := LookupAction(v.s)
			switch {
			case !ok:
				t.Errorf("%s: action %q is not registered in internal/audit/actions.go", site.pos, v.s)
			case !slices.Contains(a.Emitters, site.pkg.dir):
				t.Errorf("%s: action %q is written by %s, which its registry entry does not name (%v)", site.pos, v.s, site.pkg.dir, a.Emitters)
			default:
				emitted[v.s] = true
			}
		}
	}
	for _, a := range Actions() {
		if !emitted[a.Name] {
			t.Errorf("action %q is registered but no code of %v writes it", a.Name, a.Emitters)
		}
	}
}

// TestActionScanResolves pins what the scan follows, so that a change that
// makes it resolve less fails here rather than pass silently.
func TestActionScanResolves(t *testing.T) {
	found := map[string]bool{}
	for _, site := range loadModule(t).sites() {
		for _, v := range site.values {
			if v.prefix {
				found[v.s+"…"] = true
			} else {
				found[v.s] = true
			}
		}
	}
	for _, want := range []string{
		"vault.reveal",               // a literal passed to a parameter (web/api)
		"vault.put",                  // a constant passed through two functions (vault)
		"webhook.endpoint_disable",   // an unexported constant (outbox)
		"vendor.assessment_revoked",  // returned by a closure (vendor)
		"vendor.assessment_approved", // a local reassigned in a closure (vendor)
		"catalog.notice.publish",     // literal + parameter + literal + parameter (consent)
		"catalog.purpose.…",          // ... whose tail is a call: a prefix
		"dsr.…",                      // a literal and a field: a prefix
		"consent.lift",               // a literal through a parameter (consent)
		"alert.reveal_burst",         // a package constant (reveal)
		"staff.role",                 // an Entry passed as an argument (staff)
		"keys.retire",                // cmd/steward
	} {
		if !found[want] {
			t.Errorf("the scan did not find %q", want)
		}
	}
}
