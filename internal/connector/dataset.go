package connector

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/steward-dev/steward/internal/errs"
)

// Engine names the SQL engine behind a connector.
type Engine string

// The supported engines. A dataset file may also say "mariadb", which is
// read as MySQL: the two speak the same protocol and SQL here.
const (
	Postgres Engine = "postgres"
	MySQL    Engine = "mysql"
	SQLite   Engine = "sqlite"
)

// Kind is the kind of subject identifier a column holds.
type Kind string

// The identifier kinds. Email addresses match without regard to case,
// because the company's systems rarely agree on it; external ids match
// exactly.
const (
	KindExternalID Kind = "external_id"
	KindEmail      Kind = "email"
)

// Strategy is what erasure does to a column, or to a table's rows.
type Strategy string

// The erasure strategies.
const (
	// DeleteRow deletes the subject's rows; it is set on the table.
	DeleteRow Strategy = "delete_row"
	// SetNull sets the column to NULL.
	SetNull Strategy = "null"
	// Mask replaces the value with the column's fixed mask.
	Mask Strategy = "mask"
	// HashHMAC replaces the value with the lowercase hex HMAC-SHA256 of it
	// under the key named by hmac_key_env, so that equal values stay equal
	// (for counts and joins) and none can be read back.
	HashHMAC Strategy = "hash_hmac"
	// Keep leaves the value, for the legal reason the column states.
	Keep Strategy = "keep"
)

// Update is the correct strategy of a table: the subject's rows get the
// new values of its correctable columns through one parameterised
// UPDATE ... SET column = ? WHERE <the subject's rows>. It is the only one,
// and the default of a table with a correctable column.
const Update Strategy = "update"

// DefaultMask replaces a masked value when the column names no mask.
const DefaultMask = "[erased]"

// Categories are the data categories a column may have. They match the
// vault's categories, plus the kinds that company databases hold in bulk.
var Categories = []string{
	"contact", "identifier", "device", "financial", "government_id", "health", "biometric",
	"location", "behavioural", "demographic", "communications", "other",
}

// Dataset is a parsed and validated dataset file: one database of the
// company and where a subject's personal data sits in it.
type Dataset struct {
	// Name names the connector in reports and logs.
	Name   string `yaml:"connector"`
	Engine Engine `yaml:"engine"`
	// DSNEnv names the environment variable that holds the connection
	// string, so that no password sits in the file.
	DSNEnv string `yaml:"dsn_env"`
	// HMACKeyEnv names the environment variable that holds the key of the
	// hash_hmac strategy; required when a column uses it.
	HMACKeyEnv string  `yaml:"hmac_key_env"`
	Tables     []Table `yaml:"tables"`

	// File is the path the dataset was read from, for messages.
	File string `yaml:"-"`
}

// Table is a table holding personal data.
type Table struct {
	Name       string     `yaml:"name"`
	Identifier Identifier `yaml:"identifier"`
	// Erase is DeleteRow to delete the subject's rows, or empty to apply
	// each column's strategy.
	Erase Strategy `yaml:"erase"`
	// Correct is how a rectification changes the table's correctable
	// columns: Update (the default, and the only strategy).
	Correct Strategy `yaml:"correct"`
	Columns []Column `yaml:"columns"`
	// Retention, when set, says how long the table's rows are kept and
	// what happens to them after (see retention.go).
	Retention *Retention `yaml:"retention"`

	Line int `yaml:"-"`
}

// Identifier says how a table's rows are found for a subject: Column of the
// table (or, with Via, of the last table on the join path) holds an
// identifier of Kind.
type Identifier struct {
	Via    []Hop  `yaml:"via"`
	Column string `yaml:"column"`
	Kind   Kind   `yaml:"kind"`

	Line int `yaml:"-"`
}

// Hop is one step of a join path: Column of the current table references
// a column of another table, written "table.column".
type Hop struct {
	Column     string `yaml:"column"`
	References string `yaml:"references"`

	Line int `yaml:"-"`
}

// Target returns the table and column the hop references.
func (h Hop) Target() (table, column string) {
	table, column, _ = strings.Cut(h.References, ".")
	return table, column
}

// Column is a column holding personal data.
type Column struct {
	Name     string   `yaml:"name"`
	Category string   `yaml:"category"`
	Erase    Strategy `yaml:"erase"`
	// Mask replaces the value under the Mask strategy; DefaultMask when empty.
	Mask string `yaml:"mask"`
	// LegalReason says why a kept value stays: a law, a retention period.
	LegalReason string `yaml:"legal_reason"`
	// Correctable lets the customer propose a new value for the column
	// (GDPR Art. 16); AutoCorrect applies it without an officer's approval.
	Correctable bool `yaml:"correctable"`
	AutoCorrect bool `yaml:"auto_correct"`

	Line int `yaml:"-"`
}

// MaskValue returns the value the Mask strategy writes.
func (c Column) MaskValue() string {
	if c.Mask == "" {
		return DefaultMask
	}
	return c.Mask
}

// identifierColumn returns the table and column that hold t's identifier.
func (t *Table) identifierColumn() (table, column string) {
	table = t.Name
	if n := len(t.Identifier.Via); n > 0 {
		table, _ = t.Identifier.Via[n-1].Target()
	}
	return table, t.Identifier.Column
}

// filterColumn returns the column of t itself that locates its rows: the
// identifier column or the first column of the join path.
func (t *Table) filterColumn() string {
	if len(t.Identifier.Via) > 0 {
		return t.Identifier.Via[0].Column
	}
	return t.Identifier.Column
}

// usesHMAC reports whether any column of ds is erased by HashHMAC.
func (ds *Dataset) usesHMAC() bool {
	for _, t := range ds.Tables {
		for _, c := range t.Columns {
			if c.Erase == HashHMAC {
				return true
			}
		}
	}
	return false
}

// Problem is one thing wrong in a dataset file.
type Problem struct {
	File string
	Line int // 0 when unknown
	// Field is the path of the value at fault: tables[1].columns[0].erase.
	Field   string
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return p.File + ": " + p.Message
}

// Problems is every problem of a dataset file, in file order. Parse
// returns it wrapped in an errs.Error of code invalid (whose Fields map
// each field path to its problem); errors.As finds it.
type Problems []Problem

func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// ParseFile reads and parses the dataset file at path.
func ParseFile(path string) (*Dataset, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates a dataset file; file names it in messages.
// Unknown keys are errors. Every problem is reported with its line: the
// error is an *errs.Error of code invalid wrapping Problems. A file beyond
// the limits of CheckLimits is refused before it is parsed.
func Parse(file string, data []byte) (*Dataset, error) {
	if err := CheckLimits(file, data); err != nil {
		return nil, err
	}
	var ds Dataset
	if err := yaml.UnmarshalWithOptions(data, &ds, yaml.Strict()); err != nil {
		return nil, Problems{YAMLProblem(file, err)}.Invalid()
	}
	// The syntax tree gives the lines that the decoded values have lost.
	tree, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Problems{YAMLProblem(file, err)}.Invalid()
	}
	ds.File = file
	v := &validator{ds: &ds, file: file, tree: tree}
	v.validate()
	if len(v.problems) > 0 {
		slices.SortStableFunc(v.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, v.problems.Invalid()
	}
	return &ds, nil
}

// Invalid is the problems as an *errs.Error of code invalid, with the first
// message per field, wrapping ps: what Parse returns.
func (ps Problems) Invalid() error {
	fields := make(map[string]string, len(ps))
	for _, p := range ps {
		if _, dup := fields[p.Field]; !dup {
			fields[p.Field] = p.Message
		}
	}
	return &errs.Error{Code: errs.CodeInvalid, Message: "invalid dataset file", Fields: fields, Err: ps}
}

// YAMLProblem is a YAML syntax or decoding error of file, with its line
// when the parser knows it.
func YAMLProblem(file string, err error) Problem {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := Problem{File: file, Field: "yaml", Message: ye.GetMessage()}
		if tok := ye.GetToken(); tok != nil && tok.Position != nil {
			p.Line = tok.Position.Line
		}
		return p
	}
	return Problem{File: file, Field: "yaml", Message: oneLine(err.Error())}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var (
	// sqlName is what a table or column name may be. The names are quoted
	// in every statement anyway; refusing anything else keeps "a.b" in a
	// join path unambiguous and keeps odd bytes out of SQL text entirely.
	sqlName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,62}$`)
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// connectorName is safe in file names, URLs and log lines.
	connectorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

type validator struct {
	ds       *Dataset
	file     string
	tree     *ast.File
	problems Problems
}

func (v *validator) addf(field string, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.line(field), Field: field, Message: fmt.Sprintf(format, args...)})
}

// node returns the syntax node at field ("tables[0].name"), or nil.
func (v *validator) node(field string) ast.Node {
	p, err := yaml.PathString("$." + field)
	if err != nil {
		return nil
	}
	n, err := p.FilterFile(v.tree)
	if err != nil {
		return nil
	}
	return n
}

// line returns the line of field, or of its nearest parent present in the
// file when the field itself is missing.
func (v *validator) line(field string) int {
	for field != "" {
		if n := v.node(field); n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
			return n.GetToken().Position.Line
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 1
}

// isNull reports whether field is present in the file as a YAML null: a
// bare "erase: null" decodes to the empty string, and must mean SetNull.
func (v *validator) isNull(field string) bool {
	n := v.node(field)
	return n != nil && n.Type() == ast.NullType
}

func (v *validator) validate() {
	ds := v.ds
	switch {
	case ds.Name == "":
		v.addf("connector", "connector: give the connector a name")
	case !connectorName.MatchString(ds.Name):
		v.addf("connector", "connector %q: use lowercase letters, digits, _ and -", ds.Name)
	}
	switch ds.Engine {
	case Postgres, MySQL, SQLite:
	case "mariadb":
		ds.Engine = MySQL
	case "":
		v.addf("engine", "engine: give postgres, mysql, mariadb or sqlite")
	default:
		v.addf("engine", "engine %q: want postgres, mysql, mariadb or sqlite", ds.Engine)
	}
	switch {
	case ds.DSNEnv == "":
		v.addf("dsn_env", "dsn_env: name the environment variable that holds the connection string")
	case !envName.MatchString(ds.DSNEnv):
		v.addf("dsn_env", "dsn_env %q is not an environment variable name", ds.DSNEnv)
	}
	if ds.HMACKeyEnv != "" && !envName.MatchString(ds.HMACKeyEnv) {
		v.addf("hmac_key_env", "hmac_key_env %q is not an environment variable name", ds.HMACKeyEnv)
	}
	if len(ds.Tables) == 0 {
		v.addf("tables", "tables: declare at least one table")
	}
	seen := map[string]int{}
	for i := range ds.Tables {
		t := &ds.Tables[i]
		field := fmt.Sprintf("tables[%d]", i)
		t.Line = v.line(field + ".name")
		if !v.name(field+".name", "table", t.Name) {
			continue
		}
		if first, dup := seen[t.Name]; dup {
			v.addf(field+".name", "table %s is declared twice (first at line %d)", t.Name, first)
		}
		seen[t.Name] = t.Line
		v.table(field, t)
	}
	if ds.usesHMAC() && ds.HMACKeyEnv == "" {
		v.addf("hmac_key_env", "hmac_key_env: a column uses hash_hmac, so name the environment variable that holds its key")
	}
	if len(v.problems) == 0 {
		if _, err := eraseOrder(ds); err != nil {
			v.addf("tables", "%v", err)
		}
	}
}

// name checks a SQL name and reports whether it is usable.
func (v *validator) name(field, what, name string) bool {
	switch {
	case name == "":
		v.addf(field, "%s: name is missing", what)
		return false
	case !sqlName.MatchString(name):
		v.addf(field, "%s name %q: use letters, digits, _ and $ (at most 63), not starting with a digit", what, name)
		return false
	}
	return true
}

func (v *validator) table(field string, t *Table) {
	id := &t.Identifier
	id.Line = v.line(field + ".identifier")
	if v.node(field+".identifier") == nil {
		v.addf(field+".identifier", "table %s: identifier: say which column holds the subject's identifier (column, kind), directly or through via", t.Name)
	} else {
		visited := map[string]bool{t.Name: true}
		for j := range id.Via {
			h := &id.Via[j]
			hf := fmt.Sprintf("%s.identifier.via[%d]", field, j)
			h.Line = v.line(hf + ".column")
			v.name(hf+".column", fmt.Sprintf("table %s: via column", t.Name), h.Column)
			table, column := h.Target()
			if !strings.Contains(h.References, ".") {
				v.addf(hf+".references", "table %s: via references %q: write table.column", t.Name, h.References)
				continue
			}
			if v.name(hf+".references", fmt.Sprintf("table %s: via references table", t.Name), table) &&
				v.name(hf+".references", fmt.Sprintf("table %s: via references column", t.Name), column) {
				if visited[table] {
					v.addf(hf+".references", "table %s: the join path visits table %s twice", t.Name, table)
				}
				visited[table] = true
			}
		}
		v.name(field+".identifier.column", fmt.Sprintf("table %s: identifier column", t.Name), id.Column)
		switch id.Kind {
		case KindExternalID, KindEmail:
		case "":
			v.addf(field+".identifier.kind", "table %s: identifier kind: give external_id or email", t.Name)
		default:
			v.addf(field+".identifier.kind", "table %s: identifier kind %q: want external_id or email", t.Name, id.Kind)
		}
	}

	switch t.Correct {
	case "", Update:
	default:
		v.addf(field+".correct", "table %s: correct %q: want update", t.Name, t.Correct)
	}
	switch t.Erase {
	case "", DeleteRow:
	default:
		v.addf(field+".erase", "table %s: erase %q: a table takes only delete_row; otherwise set erase on each column", t.Name, t.Erase)
	}
	if len(t.Columns) == 0 {
		v.addf(field+".columns", "table %s: columns: declare the columns that hold personal data", t.Name)
	}
	seen := map[string]int{}
	for j := range t.Columns {
		c := &t.Columns[j]
		cf := fmt.Sprintf("%s.columns[%d]", field, j)
		c.Line = v.line(cf + ".name")
		if c.Erase == "" && v.isNull(cf+".erase") {
			c.Erase = SetNull
		}
		if !v.name(cf+".name", fmt.Sprintf("table %s: column", t.Name), c.Name) {
			continue
		}
		if first, dup := seen[c.Name]; dup {
			v.addf(cf+".name", "table %s: column %s is declared twice (first at line %d)", t.Name, c.Name, first)
		}
		seen[c.Name] = c.Line
		v.column(cf, t, c)
	}
	if t.Retention != nil {
		v.retention(field+".retention", t)
	}
}

func (v *validator) column(field string, t *Table, c *Column) {
	where := fmt.Sprintf("table %s, column %s", t.Name, c.Name)
	switch {
	case c.Category == "":
		v.addf(field+".category", "%s: category: give one of %s", where, strings.Join(Categories, ", "))
	case !slices.Contains(Categories, c.Category):
		v.addf(field+".category", "%s: category %q: want one of %s", where, c.Category, strings.Join(Categories, ", "))
	}
	if t.Erase == DeleteRow {
		if c.Erase != "" {
			v.addf(field+".erase", "%s: erase %s: the table's rows are deleted (erase: delete_row), so leave erase out here", where, c.Erase)
		}
	} else {
		switch c.Erase {
		case SetNull, Mask, HashHMAC, Keep:
		case DeleteRow:
			v.addf(field+".erase", "%s: delete_row belongs to the table: set erase: delete_row on table %s", where, t.Name)
		case "":
			v.addf(field+".erase", "%s: erase: give null, mask, hash_hmac or keep (or delete_row on the table)", where)
		default:
			v.addf(field+".erase", "%s: erase %q: want null, mask, hash_hmac or keep", where, c.Erase)
		}
	}
	if c.Mask != "" && c.Erase != Mask {
		v.addf(field+".mask", "%s: mask only goes with erase: mask", where)
	}
	switch {
	case c.AutoCorrect && !c.Correctable:
		v.addf(field+".auto_correct", "%s: auto_correct needs correctable: true", where)
	case c.Correctable && c.Name == t.filterColumn():
		v.addf(field+".correctable", "%s: the column locates the subject's rows, so it cannot be corrected", where)
	}
	switch {
	case c.Erase == Keep && strings.TrimSpace(c.LegalReason) == "":
		v.addf(field+".legal_reason", "%s: erase keep needs a legal_reason", where)
	case c.Erase != Keep && c.LegalReason != "":
		v.addf(field+".legal_reason", "%s: legal_reason only goes with erase: keep", where)
	}
}

// looksHashed reports whether s is what HashHMAC writes: 64 lowercase hex
// digits. Such values are taken as erased already, which is what makes a
// second erasure change nothing.
func looksHashed(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// eraseOrder returns the indexes of ds.Tables in the order erasure visits
// them: a table before every table on its join path, because its rows are
// found through theirs (and reference them). Ties keep file order.
func eraseOrder(ds *Dataset) ([]int, error) {
	index := map[string]int{}
	for i, t := range ds.Tables {
		index[t.Name] = i
	}
	// after[i] lists the tables that must wait for table i.
	after := make([][]int, len(ds.Tables))
	waiting := make([]int, len(ds.Tables))
	for i, t := range ds.Tables {
		for _, h := range t.Identifier.Via {
			table, _ := h.Target()
			if j, ok := index[table]; ok {
				after[i] = append(after[i], j)
				waiting[j]++
			}
		}
	}
	order := make([]int, 0, len(ds.Tables))
	done := make([]bool, len(ds.Tables))
	for len(order) < len(ds.Tables) {
		next := -1
		for i := range ds.Tables {
			if !done[i] && waiting[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 {
			var stuck []string
			for i, t := range ds.Tables {
				if !done[i] {
					stuck = append(stuck, t.Name)
				}
			}
			return nil, fmt.Errorf("the join paths of tables %s form a cycle, so no erasure order exists", strings.Join(stuck, ", "))
		}
		done[next] = true
		order = append(order, next)
		for _, j := range after[next] {
			waiting[j]--
		}
	}
	return order, nil
}
