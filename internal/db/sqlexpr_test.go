package db_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// This file holds the small SQL lexer that the schema parity test uses to
// pull CHECK constraints and index predicates out of SQLite's stored DDL and
// to bring expressions of both engines to one canonical text: PostgreSQL
// deparses `state IN ('a', 'b')` as `(state = ANY (ARRAY['a'::text,
// 'b'::text]))`, SQLite keeps what was written.

type sqlToken struct {
	kind byte // 'w' word, 's' string, 'x' blob literal, 'n' number, 'p' punctuation
	text string
}

// lexSQL splits src into tokens, dropping whitespace and comments. Words
// are lowercased; quoted identifiers become plain words; X'..' becomes a
// blob token holding its lowercase hex digits.
func lexSQL(src string) ([]sqlToken, error) {
	var out []sqlToken
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				i = len(src)
			} else {
				i += end + 1
			}
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment in %q", src)
			}
			i += end + 4
		case (c == 'x' || c == 'X') && i+1 < len(src) && src[i+1] == '\'':
			s, n, err := lexQuoted(src[i+1:], '\'')
			if err != nil {
				return nil, err
			}
			out = append(out, sqlToken{'x', strings.ToLower(s)})
			i += 1 + n
		case c == '\'':
			s, n, err := lexQuoted(src[i:], '\'')
			if err != nil {
				return nil, err
			}
			out = append(out, sqlToken{'s', s})
			i += n
		case c == '"' || c == '`':
			s, n, err := lexQuoted(src[i:], c)
			if err != nil {
				return nil, err
			}
			out = append(out, sqlToken{'w', strings.ToLower(s)})
			i += n
		case isWordByte(c) && !(c >= '0' && c <= '9'):
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			out = append(out, sqlToken{'w', strings.ToLower(src[i:j])})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			out = append(out, sqlToken{'n', src[i:j]})
			i = j
		default:
			op := string(c)
			for _, two := range []string{"::", "<>", "!=", "<=", ">=", "||", "=="} {
				if strings.HasPrefix(src[i:], two) {
					op = two
					break
				}
			}
			switch op {
			case "!=":
				op = "<>"
			case "==":
				op = "="
			}
			out = append(out, sqlToken{'p', op})
			i += len(op)
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '$'
}

// lexQuoted reads a quoted run starting at src[0] == quote, with doubled
// quotes as escapes, and returns its content and length.
func lexQuoted(src string, quote byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(src); i++ {
		if src[i] != quote {
			b.WriteByte(src[i])
			continue
		}
		if i+1 < len(src) && src[i+1] == quote {
			b.WriteByte(quote)
			i++
			continue
		}
		return b.String(), i + 1, nil
	}
	return "", 0, fmt.Errorf("unterminated quote in %q", src)
}

// groupEnd returns the index of the token that closes the bracket opened
// at toks[open], or -1.
func groupEnd(toks []sqlToken, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		if toks[i].kind != 'p' {
			continue
		}
		switch toks[i].text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// sqliteChecks returns the expressions of every CHECK constraint (column or
// table) in a CREATE TABLE statement.
func sqliteChecks(createTable string) ([]string, error) {
	toks, err := lexSQL(createTable)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := 0; i+1 < len(toks); i++ {
		if toks[i] != (sqlToken{'w', "check"}) || toks[i+1] != (sqlToken{'p', "("}) {
			continue
		}
		end := groupEnd(toks, i+1)
		if end < 0 {
			return nil, fmt.Errorf("unbalanced CHECK in %q", createTable)
		}
		out = append(out, renderExpr(toks[i+2:end]))
		i = end
	}
	return out, nil
}

// sqliteIndexPredicate returns the WHERE expression of a CREATE INDEX
// statement, or "" when the index is not partial.
func sqliteIndexPredicate(createIndex string) (string, error) {
	toks, err := lexSQL(createIndex)
	if err != nil {
		return "", err
	}
	depth := 0
	for i, t := range toks {
		switch {
		case t.kind == 'p' && (t.text == "(" || t.text == "["):
			depth++
		case t.kind == 'p' && (t.text == ")" || t.text == "]"):
			depth--
		case depth == 0 && t == sqlToken{'w', "where"}:
			return renderExpr(toks[i+1:]), nil
		}
	}
	return "", nil
}

// sqliteIndexTerms returns the normalised key terms of a CREATE INDEX
// statement (`ON t (a, lower(b) DESC)` gives "a" and "lower ( b )"), without
// their ASC or DESC, which the pragmas report.
func sqliteIndexTerms(createIndex string) ([]string, error) {
	toks, err := lexSQL(createIndex)
	if err != nil {
		return nil, err
	}
	for i := 0; i+2 < len(toks); i++ {
		if toks[i] != (sqlToken{'w', "on"}) || toks[i+2] != (sqlToken{'p', "("}) {
			continue
		}
		end := groupEnd(toks, i+2)
		if end < 0 {
			return nil, fmt.Errorf("unbalanced CREATE INDEX %q", createIndex)
		}
		var terms []string
		start, depth := i+3, 0
		for j := i + 3; j <= end; j++ {
			t := toks[j]
			switch {
			case t.kind == 'p' && (t.text == "(" || t.text == "["):
				depth++
			case t.kind == 'p' && t.text == "]", t.kind == 'p' && t.text == ")" && j < end:
				depth--
			case depth == 0 && (t == sqlToken{'p', ","} || j == end):
				term := toks[start:j]
				if n := len(term); n > 1 && term[n-1].kind == 'w' && (term[n-1].text == "asc" || term[n-1].text == "desc") {
					term = term[:n-1]
				}
				terms = append(terms, renderExpr(term))
				start = j + 1
			}
		}
		return terms, nil
	}
	return nil, fmt.Errorf("no column list in %q", createIndex)
}

// sqliteTriggerEvents returns the timing and event of a CREATE TRIGGER
// statement, as "before update" (SQLite triggers fire on one event).
func sqliteTriggerEvents(createTrigger string) ([]string, error) {
	toks, err := lexSQL(createTrigger)
	if err != nil {
		return nil, err
	}
	for i, t := range toks {
		if t.kind != 'w' || (t.text != "insert" && t.text != "update" && t.text != "delete") {
			continue
		}
		timing := "before" // SQLite's default
		if i > 0 {
			switch toks[i-1].text {
			case "after":
				timing = "after"
			case "of":
				timing = "instead of"
			}
		}
		return []string{timing + " " + t.text}, nil
	}
	return nil, fmt.Errorf("no event in %q", createTrigger)
}

// normalizeExpr brings an SQL expression of either engine to one canonical
// text: lowercase words, no type casts, `x = ANY (ARRAY[...])` as
// `x IN (...)`, bytea literals as X'..', no redundant parentheses, single
// spaces between tokens.
func normalizeExpr(src string) (string, error) {
	toks, err := lexSQL(src)
	if err != nil {
		return "", err
	}
	return renderExpr(toks), nil
}

func renderExpr(toks []sqlToken) string {
	toks = stripCasts(toks)
	toks = rewriteAnyArray(toks)
	toks = dropRedundantParens(toks)
	parts := make([]string, len(toks))
	for i, t := range toks {
		switch t.kind {
		case 's':
			parts[i] = "'" + strings.ReplaceAll(t.text, "'", "''") + "'"
		case 'x':
			parts[i] = "x'" + t.text + "'"
		default:
			parts[i] = t.text
		}
	}
	return strings.Join(parts, " ")
}

// typeWords continue a type name after its first word (character varying,
// timestamp with time zone, double precision).
var typeWords = map[string]bool{"varying": true, "precision": true, "with": true, "without": true, "time": true, "zone": true}

// stripCasts removes PostgreSQL casts (`::type`), turning a string cast to
// bytea ('\x..'::bytea) into a blob literal first.
func stripCasts(toks []sqlToken) []sqlToken {
	var out []sqlToken
	for i := 0; i < len(toks); i++ {
		if toks[i] != (sqlToken{'p', "::"}) || i+1 >= len(toks) || toks[i+1].kind != 'w' {
			out = append(out, toks[i])
			continue
		}
		typeName := toks[i+1].text
		if typeName == "bytea" && len(out) > 0 && out[len(out)-1].kind == 's' && strings.HasPrefix(out[len(out)-1].text, `\x`) {
			out[len(out)-1] = sqlToken{'x', strings.ToLower(strings.TrimPrefix(out[len(out)-1].text, `\x`))}
		}
		j := i + 2
		for j < len(toks) && toks[j].kind == 'w' && typeWords[toks[j].text] {
			j++
		}
		if j < len(toks) && toks[j] == (sqlToken{'p', "("}) {
			if end := groupEnd(toks, j); end > 0 {
				j = end + 1
			}
		}
		if j+1 < len(toks) && toks[j] == (sqlToken{'p', "["}) && toks[j+1] == (sqlToken{'p', "]"}) {
			j += 2
		}
		i = j - 1
	}
	return out
}

// rewriteAnyArray turns PostgreSQL's `= ANY (ARRAY[a, b])` into `IN (a,
// b)` and `<> ALL (ARRAY[a, b])` into `NOT IN (a, b)`; a list of one, which
// PostgreSQL keeps as `= a` or `<> a`, is written so on both sides.
func rewriteAnyArray(toks []sqlToken) []sqlToken {
	var out []sqlToken
	for i := 0; i < len(toks); i++ {
		if i+4 < len(toks) && (toks[i] == (sqlToken{'p', "="}) && toks[i+1] == (sqlToken{'w', "any"}) ||
			toks[i] == (sqlToken{'p', "<>"}) && toks[i+1] == (sqlToken{'w', "all"})) &&
			toks[i+2] == (sqlToken{'p', "("}) && toks[i+3] == (sqlToken{'w', "array"}) && toks[i+4] == (sqlToken{'p', "["}) {
			closeBracket := groupEnd(toks, i+4)
			closeParen := groupEnd(toks, i+2)
			if closeBracket > 0 && closeParen == closeBracket+1 {
				if toks[i].text == "<>" {
					out = append(out, sqlToken{'w', "not"})
				}
				out = append(out, sqlToken{'w', "in"}, sqlToken{'p', "("})
				out = append(out, rewriteAnyArray(toks[i+5:closeBracket])...)
				out = append(out, sqlToken{'p', ")"})
				i = closeParen
				continue
			}
		}
		if i+3 < len(toks) && toks[i] == (sqlToken{'w', "in"}) && toks[i+1] == (sqlToken{'p', "("}) &&
			toks[i+2].kind != 'p' && toks[i+2].kind != 'w' && toks[i+3] == (sqlToken{'p', ")"}) {
			op := "="
			if len(out) > 0 && out[len(out)-1] == (sqlToken{'w', "not"}) {
				out, op = out[:len(out)-1], "<>"
			}
			out = append(out, sqlToken{'p', op}, toks[i+2])
			i += 3
			continue
		}
		out = append(out, toks[i])
	}
	return out
}

// dropRedundantParens removes parentheses that change nothing: around the
// whole expression, and around an operand of AND, OR or NOT when what they
// enclose binds at least as tightly. Parentheses after a word that is not
// a boolean operator (a function call, IN, VALUES) are kept.
func dropRedundantParens(toks []sqlToken) []sqlToken {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(toks); i++ {
			if toks[i] != (sqlToken{'p', "("}) {
				continue
			}
			end := groupEnd(toks, i)
			if end < 0 {
				return toks
			}
			if end == i+2 && (i == 0 || toks[i-1].kind != 'w' || boolOps[toks[i-1].text]) {
				// One token in parentheses, not a call's argument list.
				toks = append(toks[:i], append([]sqlToken{toks[i+1]}, toks[end+1:]...)...)
				changed = true
				break
			}
			prev, next := "", ""
			if i > 0 {
				prev = toks[i-1].text
				if toks[i-1].kind != 'w' && toks[i-1].text != "(" {
					continue
				}
			}
			if end+1 < len(toks) {
				next = toks[end+1].text
				if toks[end+1].kind != 'w' && toks[end+1].text != ")" {
					continue
				}
			}
			if !(prev == "" || prev == "(" || prev == "and" || prev == "or" || prev == "not") ||
				!(next == "" || next == ")" || next == "and" || next == "or") {
				continue
			}
			inner := topLevelBoolOps(toks[i+1 : end])
			switch {
			case inner["or"] && (prev == "and" || prev == "not" || next == "and"):
				continue
			case inner["and"] && (prev == "not" || prev == "or" || next == "or"):
				continue
			}
			rest := append([]sqlToken{}, toks[end+1:]...)
			toks = append(append(toks[:i], toks[i+1:end]...), rest...)
			changed = true
			break
		}
	}
	return toks
}

var boolOps = map[string]bool{"and": true, "or": true, "not": true}

func topLevelBoolOps(toks []sqlToken) map[string]bool {
	ops := map[string]bool{}
	depth := 0
	for _, t := range toks {
		switch {
		case t.kind == 'p' && (t.text == "(" || t.text == "["):
			depth++
		case t.kind == 'p' && (t.text == ")" || t.text == "]"):
			depth--
		case depth == 0 && t.kind == 'w' && (t.text == "and" || t.text == "or"):
			ops[t.text] = true
		}
	}
	return ops
}

func TestNormalizeExpr(t *testing.T) {
	tests := []struct {
		name, sqlite, postgres, want string
	}{
		{"equality", "id = 1", "(id = 1)", "id = 1"},
		{"in list", "state IN ('pending', 'done')", "(state = ANY (ARRAY['pending'::text, 'done'::text]))", "state in ( 'pending' , 'done' )"},
		{"not null", "subject_id IS NOT NULL", "(subject_id IS NOT NULL)", "subject_id is not null"},
		{"not equal", "subject_id != ''", "(subject_id <> ''::text)", "subject_id <> ''"},
		{"and", "a = 1 AND b = 2", "((a = 1) AND (b = 2))", "a = 1 and b = 2"},
		{"text default", "'{}'", "'{}'::text", "'{}'"},
		{"bytea default", "X''", `'\x'::bytea`, "x''"},
		{"bytea default with content", "x'00FF'", `'\x00ff'::bytea`, "x'00ff'"},
		{"quoted identifier", `"key" = 'a''b'`, `(key = 'a''b'::text)`, "key = 'a''b'"},
		{"function call keeps its parentheses", "length(hash) = 32", "(length(hash) = 32)", "length ( hash ) = 32"},
		{"varchar cast", "name <> ''", "((name)::text <> ''::character varying)", "name <> ''"},
		{"not in", "state NOT IN ('a', 'b')", "(state <> ALL (ARRAY['a'::text, 'b'::text]))", "state not in ( 'a' , 'b' )"},
		{"in one", "state IN ('a')", "(state = 'a'::text)", "state = 'a'"},
		{"not in one", "state NOT IN ('a')", "(state <> 'a'::text)", "state <> 'a'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for side, src := range map[string]string{"sqlite": tt.sqlite, "postgres": tt.postgres} {
				got, err := normalizeExpr(src)
				if err != nil {
					t.Fatalf("%s %q: %v", side, src, err)
				}
				if got != tt.want {
					t.Errorf("%s %q normalises to %q, want %q", side, src, got, tt.want)
				}
			}
		})
	}
	// Parentheses that carry meaning stay: the two sides must differ.
	distinct := []struct{ a, b string }{
		{"a = 1 AND (b = 2 OR c = 3)", "a = 1 AND b = 2 OR c = 3"},
		{"NOT (a = 1 AND b = 2)", "NOT a = 1 AND b = 2"},
		{"(a = 1 OR b = 2) AND c = 3", "a = 1 OR b = 2 AND c = 3"},
		{"state IN ('a', 'b')", "state IN ('a', 'c')"},
		{"x''", "x'00'"},
	}
	for _, d := range distinct {
		a, errA := normalizeExpr(d.a)
		b, errB := normalizeExpr(d.b)
		if errA != nil || errB != nil {
			t.Fatalf("normalise: %v, %v", errA, errB)
		}
		if a == b {
			t.Errorf("%q and %q both normalise to %q; they mean different things", d.a, d.b, a)
		}
	}
}

func TestSQLiteChecksAndPredicates(t *testing.T) {
	checks, err := sqliteChecks(`CREATE TABLE t (
	id INTEGER PRIMARY KEY CHECK (id = 1), -- a comment with CHECK (nope)
	state TEXT NOT NULL CHECK (state IN ('a', 'b)')),
	note TEXT NOT NULL DEFAULT 'check (no)',
	CHECK (length(note) < 10)
)`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"id = 1", "state in ( 'a' , 'b)' )", "length ( note ) < 10"}
	if strings.Join(checks, "|") != strings.Join(want, "|") {
		t.Errorf("checks = %q, want %q", checks, want)
	}
	for _, tt := range []struct{ sql, want string }{
		{"CREATE INDEX i ON t (a) WHERE a IS NOT NULL", "a is not null"},
		{"CREATE UNIQUE INDEX i ON t (a, b) WHERE state IN ('x', 'y')", "state in ( 'x' , 'y' )"},
		{"CREATE INDEX i ON t (a)", ""},
	} {
		got, err := sqliteIndexPredicate(tt.sql)
		if err != nil || got != tt.want {
			t.Errorf("predicate of %q = %q, %v; want %q", tt.sql, got, err, tt.want)
		}
	}
	terms, err := sqliteIndexTerms("CREATE INDEX i ON t (coalesce(a, b), c DESC, (d + 1)) WHERE e IS NULL")
	if want := []string{"coalesce ( a , b )", "c", "d + 1"}; err != nil || !slices.Equal(terms, want) {
		t.Errorf("terms = %q, %v; want %q", terms, err, want)
	}
}
