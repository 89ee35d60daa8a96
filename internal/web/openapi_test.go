package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/internal/web/api"
)

// TestOpenAPIMatchesRoutes fails when a route is missing from the OpenAPI
// document, when the document describes an operation no route serves, or
// when the two disagree on who may call it.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	served := map[string]web.Route{}
	for _, rt := range routeTable(t) {
		if rt.Page() {
			continue // HTML pages, tested in console_test.go and portal_test.go
		}
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q: want \"METHOD /path\"", rt.Pattern)
			continue
		}
		switch rt.Permission {
		case web.Public, web.Ingest, web.Record, web.Decide, web.Admin, web.Reveal, web.Disclose:
		case "":
			t.Errorf("route %q has no permission", rt.Pattern)
		default:
			t.Errorf("route %q has unknown permission %q", rt.Pattern, rt.Permission)
		}
		if rt.Handler == nil {
			t.Errorf("route %q has no handler", rt.Pattern)
		}
		key := method + " " + openAPIPath(path)
		if _, dup := served[key]; dup {
			t.Errorf("route %q is declared twice", rt.Pattern)
		}
		served[key] = rt
	}
	documented := doc.operations()
	for _, key := range slices.Sorted(maps.Keys(served)) {
		if _, ok := documented[key]; !ok {
			t.Errorf("route %q is served but missing from openapi.json", served[key].Pattern)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(documented)) {
		rt, ok := served[key]
		if !ok {
			t.Errorf("openapi.json describes %s, which no route serves", key)
			continue
		}
		op := documented[key]
		if got, _ := op["x-steward-permission"].(string); got != string(rt.Permission) {
			t.Errorf("%s: x-steward-permission is %q, the route's permission is %q", key, got, rt.Permission)
		}
		security, hasSecurity := op["security"].([]any)
		if !hasSecurity {
			t.Errorf("%s: no security requirement (the document's default would apply)", key)
			continue
		}
		if rt.Permission == web.Public {
			if len(security) != 0 {
				t.Errorf("%s: public route with security %v", key, security)
			}
			continue
		}
		if !securityNames(security, string(rt.Permission)) {
			t.Errorf("%s: security %v does not name scope %q", key, security, rt.Permission)
		}
	}
}

// TestOpenAPIDocument checks the document on its own: every reference
// resolves, operation ids are unique, path parameters match the paths, and
// the problem responses are described where they can happen.
func TestOpenAPIDocument(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	if v, _ := doc.raw["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	var refs []string
	collectRefs(doc.raw, &refs)
	for _, ref := range refs {
		if doc.pointer(ref) == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	}
	ids := map[string]string{}
	paramPattern := regexp.MustCompile(`\{([^}]+)\}`)
	for key, op := range doc.operations() {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also %s", key, id, other)
		}
		ids[id] = key
		_, path, _ := strings.Cut(key, " ")
		var inPath []string
		for _, m := range paramPattern.FindAllStringSubmatch(path, -1) {
			inPath = append(inPath, m[1])
		}
		var declared []string
		for _, p := range doc.params(path, op) {
			if p["in"] == "path" {
				declared = append(declared, p["name"].(string))
				if p["required"] != true {
					t.Errorf("%s: path parameter %v is not required", key, p["name"])
				}
			}
		}
		slices.Sort(inPath)
		slices.Sort(declared)
		if !slices.Equal(inPath, declared) {
			t.Errorf("%s: path parameters %v, declared %v", key, inPath, declared)
		}
		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", key)
		}
		for status, r := range responses {
			if status[0] == '4' || status[0] == '5' {
				content, _ := doc.resolve(r.(map[string]any))["content"].(map[string]any)
				if _, ok := content["application/problem+json"]; !ok {
					t.Errorf("%s: response %s is not application/problem+json", key, status)
				}
			}
		}
		perm, _ := op["x-steward-permission"].(string)
		if perm != string(web.Public) {
			for _, status := range []string{"401", "403", "503"} {
				if _, ok := responses[status]; !ok {
					t.Errorf("%s: needs a key but describes no %s response", key, status)
				}
			}
			if r, ok := responses["401"].(map[string]any); ok {
				headers, _ := doc.resolve(r)["headers"].(map[string]any)
				if _, ok := headers["WWW-Authenticate"]; !ok {
					t.Errorf("%s: 401 response without WWW-Authenticate", key)
				}
			}
		}
		if _, hasBody := op["requestBody"]; hasBody {
			for _, status := range []string{"400", "413"} {
				if _, ok := responses[status]; !ok {
					t.Errorf("%s: takes a body but describes no %s response", key, status)
				}
			}
		}
	}
}

// routeTable returns web.Routes(web.Deps{}): building the table needs no
// running services.
func routeTable(t *testing.T) []web.Route {
	t.Helper()
	return web.Routes(web.Deps{})
}

// openAPIPath turns a ServeMux path pattern into an OpenAPI path:
// "{name...}" becomes "{name}", a trailing "{$}" goes.
func openAPIPath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(pattern, "...}", "}")
}

func securityNames(security []any, scope string) bool {
	for _, req := range security {
		for _, scopes := range req.(map[string]any) {
			for _, s := range scopes.([]any) {
				if s == scope {
					return true
				}
			}
		}
	}
	return false
}

func collectRefs(v any, refs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
				continue
			}
			collectRefs(child, refs)
		}
	case []any:
		for _, child := range v {
			collectRefs(child, refs)
		}
	}
}

// openAPIDoc is the decoded OpenAPI document, with just enough of a JSON
// Schema checker to hold real requests and answers against it.
type openAPIDoc struct {
	raw map[string]any
}

func mustLoadOpenAPI(tb testing.TB) *openAPIDoc {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(api.OpenAPI()))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	return &openAPIDoc{raw: raw}
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns every operation by "METHOD /path".
func (d *openAPIDoc) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	paths, _ := d.raw["paths"].(map[string]any)
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			if slices.Contains(httpMethods, method) {
				ops[strings.ToUpper(method)+" "+path] = op.(map[string]any)
			}
		}
	}
	return ops
}

// params returns the parameters of an operation and of its path item.
func (d *openAPIDoc) params(path string, op map[string]any) []map[string]any {
	var out []map[string]any
	item, _ := d.raw["paths"].(map[string]any)[path].(map[string]any)
	for _, list := range []any{item["parameters"], op["parameters"]} {
		ps, _ := list.([]any)
		for _, p := range ps {
			out = append(out, d.resolve(p.(map[string]any)))
		}
	}
	return out
}

// find returns the operation that serves method and a request path, and its
// "METHOD /template".
func (d *openAPIDoc) find(method, urlPath string) (map[string]any, string) {
	got := strings.Split(urlPath, "/")
	for key, op := range d.operations() {
		m, template, _ := strings.Cut(key, " ")
		if m != method {
			continue
		}
		want := strings.Split(template, "/")
		if len(want) != len(got) {
			continue
		}
		match := true
		for i := range want {
			if want[i] != got[i] && !(strings.HasPrefix(want[i], "{") && got[i] != "") {
				match = false
				break
			}
		}
		if match {
			return op, key
		}
	}
	return nil, ""
}

// pointer resolves a local JSON pointer such as "#/components/schemas/Event".
func (d *openAPIDoc) pointer(ref string) map[string]any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = d.raw
	for _, part := range strings.Split(rest, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (d *openAPIDoc) resolve(s map[string]any) map[string]any {
	for range 10 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = d.pointer(ref)
		if s == nil {
			return map[string]any{}
		}
	}
	return s
}

// checkBody holds a JSON body against the schema the document gives for a
// request (status "") or a response with status, and returns the problems.
func (d *openAPIDoc) checkBody(method, urlPath, status, contentType string, body []byte) []string {
	op, key := d.find(method, urlPath)
	if op == nil {
		return []string{fmt.Sprintf("%s %s is not in openapi.json", method, urlPath)}
	}
	var container map[string]any
	if status == "" {
		rb, ok := op["requestBody"].(map[string]any)
		if !ok {
			return []string{key + ": sent a body, but the operation takes none"}
		}
		container = d.resolve(rb)
	} else {
		responses, _ := op["responses"].(map[string]any)
		r, ok := responses[status].(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: answered %s, which openapi.json does not describe", key, status)}
		}
		container = d.resolve(r)
	}
	content, _ := container["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return []string{fmt.Sprintf("%s %s: a body where openapi.json describes none", key, status)}
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	media, ok := content[mt].(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s %s: content type %q is not described (have %v)", key, status, mt, slices.Sorted(maps.Keys(content)))}
	}
	schema, _ := media["schema"].(map[string]any)
	if schema == nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{fmt.Sprintf("%s %s: body is not JSON: %v", key, status, err)}
	}
	var problems []string
	d.check(schema, v, "$", &problems)
	for i := range problems {
		problems[i] = fmt.Sprintf("%s %s: %s", key, status, problems[i])
	}
	return problems
}

// check is a small JSON Schema checker: $ref, allOf, anyOf, type, const,
// enum, properties, required, additionalProperties, propertyNames, items,
// pattern and lengths. It is stricter than JSON Schema in one way, on
// purpose: an object schema that lists properties and says nothing of
// additionalProperties is closed, so the document must name every field
// the server sends.
func (d *openAPIDoc) check(schema map[string]any, v any, at string, problems *[]string) {
	s := d.resolve(schema)
	fail := func(format string, args ...any) { *problems = append(*problems, at+": "+fmt.Sprintf(format, args...)) }
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			d.checkOpen(sub.(map[string]any), v, at, problems)
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		matched := false
		for _, sub := range anyOf {
			var p []string
			d.check(sub.(map[string]any), v, at, &p)
			if len(p) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			fail("matches none of anyOf")
		}
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("is %v, want %v", v, c)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, enum)
	}
	if types := schemaTypes(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		fail("is %s, want %v", jsonType(v), types)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		props := d.properties(s)
		for _, r := range d.required(s) {
			if _, ok := v[r]; !ok {
				fail("lacks required field %q", r)
			}
		}
		extra, hasExtra := s["additionalProperties"]
		for name, child := range v {
			if ps, ok := props[name]; ok {
				d.check(ps, child, at+"."+name, problems)
				continue
			}
			switch extra := extra.(type) {
			case map[string]any:
				d.check(extra, child, at+"."+name, problems)
			case bool:
				if !extra {
					fail("field %q is not allowed", name)
				}
			default:
				if !hasExtra && len(props) > 0 {
					fail("field %q is not described", name)
				}
			}
		}
		if pn, ok := s["propertyNames"].(map[string]any); ok {
			for name := range v {
				d.check(pn, name, at+"{"+name+"}", problems)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, child := range v {
				d.check(items, child, fmt.Sprintf("%s[%d]", at, i), problems)
			}
		}
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			fail("%q does not match %s", v, p)
		}
		n := utf8.RuneCountInString(v)
		if minLen, ok := s["minLength"].(json.Number); ok && int64(n) < mustInt(minLen) {
			fail("is shorter than %s", minLen)
		}
		if maxLen, ok := s["maxLength"].(json.Number); ok && int64(n) > mustInt(maxLen) {
			fail("is longer than %s", maxLen)
		}
	}
}

// checkOpen checks one allOf branch: its own fields, leaving fields named by
// other branches to them.
func (d *openAPIDoc) checkOpen(schema map[string]any, v any, at string, problems *[]string) {
	s := d.resolve(schema)
	open := maps.Clone(s)
	if _, ok := open["additionalProperties"]; !ok {
		open["additionalProperties"] = true
	}
	d.check(open, v, at, problems)
}

// properties merges the properties of a schema and of its allOf branches.
func (d *openAPIDoc) properties(s map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			out[name] = p.(map[string]any)
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			maps.Copy(out, d.properties(d.resolve(sub.(map[string]any))))
		}
	}
	return out
}

func (d *openAPIDoc) required(s map[string]any) []string {
	var out []string
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			out = append(out, r.(string))
		}
	}
	return out
}

func schemaTypes(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return "number"
		}
		return "integer"
	}
	return fmt.Sprintf("%T", v)
}

func mustInt(n json.Number) int64 {
	i, err := n.Int64()
	if err != nil {
		panic(err)
	}
	return i
}
