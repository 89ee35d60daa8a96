package httpsystem

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/errs"
)

// EngineHTTP is the engine of every HTTP dataset file.
const EngineHTTP = "http"

// Operation is what Steward asks a system to do for a request.
type Operation string

// The operations a system may support.
const (
	// Access asks for the subject's data; the system calls back with it.
	Access Operation = "access"
	// Erasure asks the system to erase the subject; it calls back with a
	// report of what it erased (counts, never values).
	Erasure Operation = "erasure"
	// Correction asks the system to set new values, which the customer
	// proposed, in the fields the dataset lists as correctable; it calls
	// back with what it corrected and what it does not hold, per field.
	Correction Operation = "correction"
)

// operations are the operations a dataset file may list, in the order
// messages name them.
var operations = []Operation{Access, Erasure, Correction}

// eventType is the "type" of the call's payload.
func (op Operation) eventType() string { return "steward." + string(op) }

// Timeout bounds.
const (
	// DefaultTimeout is how long Steward waits for a callback when the file
	// sets no timeout: three days leave a system's people a weekend, well
	// inside the month a request must be answered in.
	DefaultTimeout = 72 * time.Hour
	minTimeout     = time.Minute
	// maxTimeout is the longest a request may take, extension included
	// (three months); waiting longer could never help.
	maxTimeout = 90 * 24 * time.Hour
)

// Dataset is a parsed and validated HTTP dataset file: a system of the
// company that is not a database, reached at URL.
type Dataset struct {
	// Name names the connector in reports, logs and the callback URL.
	Name   string
	Engine string // EngineHTTP
	// URL receives Steward's signed calls.
	URL string
	// SecretEnv names the environment variable that holds the Standard
	// Webhooks secret (whsec_...), shared with the system: it signs the
	// calls and the system signs its callbacks with it.
	SecretEnv  string
	Operations []Operation
	// Categories are the data categories the system holds, for the
	// Article 15 information of an access archive.
	Categories []string
	// Timeout is how long a call may wait for its callback once the system
	// accepted it; DefaultTimeout when the file sets none.
	Timeout time.Duration
	// LegalReason says why the system keeps data it does not erase;
	// required when it does not support erasure.
	LegalReason string
	// Correctable are the fields a customer may propose a new value for,
	// which the system sets when called for a correction; listed only
	// when the system supports it.
	Correctable []CorrectableField

	// File is the path the dataset was read from, for messages.
	File string
}

// file is a dataset file as written; the timeout stays text until it is
// validated, so that a bad one is reported with its line.
type file struct {
	Name        string             `yaml:"connector"`
	Engine      string             `yaml:"engine"`
	URL         string             `yaml:"url"`
	SecretEnv   string             `yaml:"secret_env"`
	Operations  []Operation        `yaml:"operations"`
	Categories  []string           `yaml:"categories"`
	Timeout     string             `yaml:"timeout"`
	LegalReason string             `yaml:"legal_reason"`
	Correctable []CorrectableField `yaml:"correctable"`
}

// CorrectableField is a field of an HTTP system that customers may
// correct, as the dataset file lists it under correctable.
type CorrectableField struct {
	// Field names it in the system's own words ("contacts.phone"):
	// letters, digits and _ . / -. Steward names it SYSTEM:FIELD in a
	// proposal and sends it to the system as is.
	Field string `yaml:"field"`
	// Category is its data category (connector.Categories).
	Category string `yaml:"category"`
	// AutoCorrect applies a proposed value without an officer's approval.
	AutoCorrect bool `yaml:"auto_correct"`
}

// CorrectableField returns the correctable field named name, and whether
// there is one.
func (ds *Dataset) CorrectableField(name string) (CorrectableField, bool) {
	for _, f := range ds.Correctable {
		if f.Field == name {
			return f, true
		}
	}
	return CorrectableField{}, false
}

// Supports reports whether the system answers op.
func (ds *Dataset) Supports(op Operation) bool { return slices.Contains(ds.Operations, op) }

// Secret returns the system's Standard Webhooks secret from the environment
// variable the file names, checked; an error of code invalid names
// secret_env when it is unset or malformed.
func (ds *Dataset) Secret(getenv func(string) string) (string, error) {
	secret := strings.TrimSpace(getenv(ds.SecretEnv))
	if secret == "" {
		return "", errs.Invalid("secret_env", "environment variable %s is empty or unset: it must hold the webhook secret (whsec_...) of connector %s", ds.SecretEnv, ds.Name)
	}
	if _, err := secretKey(secret); err != nil {
		// The message names the variable, never its value.
		return "", errs.Invalid("secret_env", "environment variable %s: %v", ds.SecretEnv, err)
	}
	return secret, nil
}

// IsHTTP reports whether a dataset file declares engine: http, so that a
// loader can hand it to Parse here rather than to connector.Parse. It
// reads only the engine key and accepts files that are invalid otherwise:
// the parser of their kind reports their problems.
func IsHTTP(data []byte) bool {
	if connector.CheckLimits("", data) != nil {
		return false // connector.Parse reports it
	}
	var head struct {
		Engine string `yaml:"engine"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return false
	}
	return strings.TrimSpace(head.Engine) == EngineHTTP
}

// ParseFile reads and parses the HTTP dataset file at path.
func ParseFile(path string) (*Dataset, error) {
	data, err := connector.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates an HTTP dataset file; name (its path) names
// it in messages. Unknown keys are errors. Every problem is reported with its
// line, as connector.Parse does: the error is an *errs.Error of code
// invalid wrapping connector.Problems. A file beyond the limits of
// connector.CheckLimits is refused before it is parsed.
func Parse(name string, data []byte) (*Dataset, error) {
	if err := connector.CheckLimits(name, data); err != nil {
		return nil, err
	}
	var f file
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.Strict()); err != nil {
		return nil, connector.Problems{connector.YAMLProblem(name, err)}.Invalid()
	}
	// The syntax tree gives the lines that the decoded values have lost.
	tree, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, connector.Problems{connector.YAMLProblem(name, err)}.Invalid()
	}
	ds := &Dataset{Name: f.Name, Engine: f.Engine, URL: f.URL, SecretEnv: f.SecretEnv, Operations: f.Operations,
		Categories: f.Categories, LegalReason: f.LegalReason, Correctable: f.Correctable, File: name}
	v := &validator{ds: ds, file: name, tree: tree}
	v.validate()
	v.timeout(f.Timeout)
	if len(v.problems) > 0 {
		slices.SortStableFunc(v.problems, func(a, b connector.Problem) int { return a.Line - b.Line })
		return nil, v.problems.Invalid()
	}
	return ds, nil
}

var (
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// connectorName is safe in file names, log lines and the callback
	// URL's path, unescaped; the same rule as the SQL connector's.
	connectorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// fieldName is a correctable field's name, RECORD.FIELD as a SQL
	// column's is TABLE.COLUMN (the portal names it by the part after the
	// dot): no ':' (it ends the system's name in a proposal's target) and
	// nothing a value could pass for.
	fieldName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_/-]{0,62}\.[A-Za-z0-9_][A-Za-z0-9_./-]{0,63}$`)
)

type validator struct {
	ds       *Dataset
	file     string
	tree     *ast.File
	problems connector.Problems
}

func (v *validator) addf(field string, format string, args ...any) {
	v.problems = append(v.problems, connector.Problem{File: v.file, Line: v.line(field), Field: field, Message: fmt.Sprintf(format, args...)})
}

// line returns the line of field ("categories[1]"), or of its nearest
// parent present in the file when the field itself is missing.
func (v *validator) line(field string) int {
	for field != "" {
		if p, err := yaml.PathString("$." + field); err == nil {
			if n, err := p.FilterFile(v.tree); err == nil && n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
				return n.GetToken().Position.Line
			}
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 1
}

func (v *validator) validate() {
	ds := v.ds
	switch {
	case ds.Name == "":
		v.addf("connector", "connector: give the connector a name")
	case !connectorName.MatchString(ds.Name):
		v.addf("connector", "connector %q: use lowercase letters, digits, _ and -", ds.Name)
	}
	if ds.Engine != EngineHTTP {
		v.addf("engine", "engine %q: an HTTP dataset file says engine: http", ds.Engine)
	}
	if ds.URL == "" {
		v.addf("url", "url: give the address that receives Steward's calls")
	} else if problem := checkURL(ds.URL); problem != "" {
		v.addf("url", "url %q: %s", redactURL(ds.URL), problem)
	}
	switch {
	case ds.SecretEnv == "":
		v.addf("secret_env", "secret_env: name the environment variable that holds the webhook secret (whsec_...)")
	case !envName.MatchString(ds.SecretEnv):
		v.addf("secret_env", "secret_env %q is not an environment variable name", ds.SecretEnv)
	}
	if len(ds.Operations) == 0 {
		v.addf("operations", "operations: list what the system answers: access, erasure, correction")
	}
	for i, op := range ds.Operations {
		field := fmt.Sprintf("operations[%d]", i)
		switch {
		case !slices.Contains(operations, op):
			v.addf(field, "operation %q: want access, erasure or correction", op)
		case slices.Index(ds.Operations, op) < i:
			v.addf(field, "operation %s is listed twice", op)
		}
	}
	if len(ds.Categories) == 0 {
		v.addf("categories", "categories: list the data categories the system holds, from %s", strings.Join(connector.Categories, ", "))
	}
	for i, c := range ds.Categories {
		field := fmt.Sprintf("categories[%d]", i)
		switch {
		case !slices.Contains(connector.Categories, c):
			v.addf(field, "category %q: want one of %s", c, strings.Join(connector.Categories, ", "))
		case slices.Index(ds.Categories, c) < i:
			v.addf(field, "category %s is listed twice", c)
		}
	}
	// A system that holds personal data and cannot erase it keeps it for
	// a reason the erasure report must give, as a keep column does.
	// It is reported at the operations, which is where erasure is missing.
	operationsValid := !slices.ContainsFunc(ds.Operations, func(op Operation) bool { return !slices.Contains(operations, op) })
	if len(ds.Operations) > 0 && operationsValid && !ds.Supports(Erasure) && strings.TrimSpace(ds.LegalReason) == "" {
		v.problems = append(v.problems, connector.Problem{File: v.file, Line: v.line("operations"), Field: "legal_reason",
			Message: "legal_reason: the system does not support erasure, so say why it keeps the data (a law, a retention period)"})
	}
	v.correctable(operationsValid)
}

// correctable checks the correctable fields: named, each once, with a
// category of the system's, and only on a system that answers
// correction calls (which needs at least one).
func (v *validator) correctable(operationsValid bool) {
	ds := v.ds
	if operationsValid && ds.Supports(Correction) && len(ds.Correctable) == 0 {
		// Reported at the operations, which is where correction is asked.
		v.problems = append(v.problems, connector.Problem{File: v.file, Line: v.line("operations"), Field: "correctable",
			Message: "correctable: the system answers correction calls, so list the fields customers may correct (field, category)"})
	}
	if len(ds.Correctable) > 0 && operationsValid && !ds.Supports(Correction) {
		v.addf("correctable", "correctable: add correction to operations, or the fields can never be corrected")
	}
	for i, f := range ds.Correctable {
		field := fmt.Sprintf("correctable[%d]", i)
		switch {
		case f.Field == "":
			v.addf(field+".field", "field: name the record and the field as the system knows them (contacts.phone)")
		case !fieldName.MatchString(f.Field):
			v.addf(field+".field", "field %q: write RECORD.FIELD (contacts.phone) with letters, digits and _ . / -", f.Field)
		case slices.IndexFunc(ds.Correctable, func(o CorrectableField) bool { return o.Field == f.Field }) < i:
			v.addf(field+".field", "field %s is listed twice", f.Field)
		}
		switch {
		case f.Category == "":
			v.addf(field+".category", "category: give the field's data category, one of the system's categories")
		case !slices.Contains(ds.Categories, f.Category):
			v.addf(field+".category", "category %q: want one of the system's categories (%s)", f.Category, strings.Join(ds.Categories, ", "))
		}
	}
}

var days = regexp.MustCompile(`^([0-9]{1,3})d$`)

// timeout reads the timeout: a Go duration ("72h", "90m") or whole days
// ("3d"), DefaultTimeout when absent.
func (v *validator) timeout(text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		v.ds.Timeout = DefaultTimeout
		return
	}
	var (
		d   time.Duration
		err error
	)
	if m := days.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		d = time.Duration(n) * 24 * time.Hour
	} else if d, err = time.ParseDuration(text); err != nil {
		v.addf("timeout", "timeout %q: write a duration such as 72h, 90m or 3d", text)
		return
	}
	if d < minTimeout || d > maxTimeout {
		v.addf("timeout", "timeout %s: want between 1m and 90d, or leave it out for 72h", text)
		return
	}
	v.ds.Timeout = d
}

// checkURL says what is wrong with a system's or Steward's URL, or "".
// Plain http is for a system on the same machine only: calls and
// callbacks carry personal data.
func checkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "want an absolute https:// URL"
	}
	if u.User != nil {
		return "put no credentials in the URL: the webhook signature authenticates Steward"
	}
	if u.Fragment != "" {
		return "a URL with a #fragment cannot be called"
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "use https: plain http is allowed only for localhost"
	}
	return ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL drops a password from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
