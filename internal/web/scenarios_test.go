package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/web"
)

// The API scenarios run on a Steward started by apptest with the demo
// catalog (property "demo"; purposes necessary, analytics, marketing,
// sale_of_data; vendors metrics-co and adnet; published notice "2026-11")
// plus the fixtures newEnv adds, once on SQLite and once on PostgreSQL.
// Scenarios of one table share a server and run in order.

// scenario is one request and what its answer must be.
type scenario struct {
	name   string
	method string
	// url is the path and query; {{name}} is replaced by env.vars[name].
	url string
	// key names the caller's API key in env.keys; empty sends none.
	key    string
	header map[string]string
	body   string
	status int
	// expect and forbid are substrings the answer's body must and must not hold.
	expect []string
	forbid []string
	// expectHeader maps a header to a substring its value must hold.
	expectHeader map[string]string
	// fields, for a refused request, lists the names errors[].field may
	// give the input at fault: the first is the exact path, others are
	// accepted alternatives (see the notes where they appear).
	fields []string
}

// testEnv is a running Steward with keys for every kind of caller.
type testEnv struct {
	srv   *apptest.Server
	doc   *openAPIDoc
	keys  map[string]string
	vars  map[string]string
	admin *client.Client
}

var dialects = []db.Dialect{db.SQLite, db.Postgres}

// forEachDialect runs fn on a fresh server of each engine.
func forEachDialect(t *testing.T, fn func(t *testing.T, env *testEnv)) {
	t.Helper()
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, dialect))
		})
	}
}

func newEnv(t *testing.T, dialect db.Dialect) *testEnv {
	t.Helper()
	ctx := context.Background()
	srv := apptest.Start(t, dialect)
	env := &testEnv{
		srv: srv, doc: mustLoadOpenAPI(t), admin: client.New(srv.URL, srv.Keys.Admin),
		keys: map[string]string{
			"admin": srv.Keys.Admin, "decide": srv.Keys.Decide, "ingest": srv.Keys.Ingest,
			"unknown": "stw_admin_" + strings.Repeat("A", 43),
		},
		vars: map[string]string{"adminKey": srv.Keys.Admin, "ingestKey": srv.Keys.Ingest},
	}
	// A second property with an ingest key of its own.
	mustDo(t, "create property kiosk", func() error {
		_, err := env.admin.CreateProperty(ctx, client.PropertyInput{Key: "kiosk", Name: "In-store kiosk", DefaultJurisdiction: "US-CA"})
		return err
	})
	kiosk := mustKey(t, env.admin, client.APIKeyInput{Scope: client.ScopeIngest, Property: "kiosk", Label: "kiosk"})
	env.keys["kiosk"] = kiosk.Secret
	record := mustKey(t, env.admin, client.APIKeyInput{Scope: client.ScopeRecord, Label: "back end"})
	env.keys["record"] = record.Secret
	env.vars["recordKey"] = record.Secret
	revoked := mustKey(t, env.admin, client.APIKeyInput{Scope: client.ScopeDecide, Label: "revoked"})
	mustDo(t, "revoke key", func() error { return env.admin.RevokeAPIKey(ctx, revoked.ID) })
	env.keys["revoked"] = revoked.Secret
	env.vars["revocable"] = mustKey(t, env.admin, client.APIKeyInput{Scope: client.ScopeDecide, Label: "to revoke"}).ID
	mustDo(t, "record seed events", func() error {
		_, err := env.admin.AppendEvents(ctx, []client.EventInput{
			{ID: "seed-1", Property: "demo", Device: "dev-seed", Purpose: "analytics", Action: client.ActionGrant,
				Source: client.SourceAPI, NoticeVersion: "2026-11"},
			{ID: "seed-2", Property: "demo", Subject: "cust-gpc", Purpose: "sale_of_data", Vendor: "adnet",
				Action: client.ActionGrant, Source: client.SourceAPI, NoticeVersion: "2026-11"},
		})
		return err
	})
	return env
}

func mustDo(tb testing.TB, what string, fn func() error) {
	tb.Helper()
	if err := fn(); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func mustKey(tb testing.TB, c *client.Client, in client.APIKeyInput) *client.NewAPIKey {
	tb.Helper()
	k, err := c.CreateAPIKey(context.Background(), in)
	if err != nil {
		tb.Fatalf("create %s key: %v", in.Scope, err)
	}
	return k
}

// state is what refused requests must leave unchanged: the ledger, the
// catalog and the keys.
type state struct {
	ledgerCount int
	ledgerNext  int64
	indexSeq    int64
	catalog     string
}

func (e *testEnv) state(tb testing.TB) state {
	tb.Helper()
	ctx := context.Background()
	page, err := e.admin.ListEvents(ctx, client.EventFilter{Limit: 10000})
	if err != nil {
		tb.Fatalf("list events: %v", err)
	}
	ready, err := e.admin.Ready(ctx)
	if err != nil {
		tb.Fatalf("ready: %v", err)
	}
	var catalog bytes.Buffer
	add := func(v any, err error) {
		if err != nil {
			tb.Fatalf("read catalog: %v", err)
		}
		b, _ := json.Marshal(v)
		catalog.Write(b)
		catalog.WriteByte('\n')
	}
	add(e.admin.ListProperties(ctx))
	add(e.admin.ListPurposes(ctx))
	add(e.admin.ListVendors(ctx))
	add(e.admin.ListNotices(ctx))
	add(e.admin.ListAPIKeys(ctx))
	return state{ledgerCount: len(page.Items), ledgerNext: page.Next, indexSeq: ready.LedgerSeq, catalog: catalog.String()}
}

func (e *testEnv) expand(s string) string {
	for name, v := range e.vars {
		s = strings.ReplaceAll(s, "{{"+name+"}}", url.QueryEscape(v))
	}
	return s
}

// run runs scenarios in order on e.
func (e *testEnv) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { e.runOne(t, sc) })
	}
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func (e *testEnv) runOne(t *testing.T, sc scenario) {
	refused := sc.status >= 400
	var before state
	if refused {
		before = e.state(t)
	}
	target := e.expand(sc.url)
	var body io.Reader
	if sc.body != "" {
		body = strings.NewReader(sc.body)
	}
	req, err := http.NewRequest(sc.method, e.srv.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	if sc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if sc.key != "" {
		plain, ok := e.keys[sc.key]
		if !ok {
			t.Fatalf("no key %q", sc.key)
		}
		req.Header.Set("Authorization", "Bearer "+plain)
	}
	for name, v := range sc.header {
		req.Header.Set(name, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", sc.method, sc.url, err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	short := string(got)
	if len(short) > 800 {
		short = short[:800] + "..."
	}
	if resp.StatusCode != sc.status {
		t.Fatalf("%s %s: status %d, want %d; body: %s", sc.method, sc.url, resp.StatusCode, sc.status, short)
	}
	if v := resp.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", v)
	}
	for name, want := range sc.expectHeader {
		if v := resp.Header.Get(name); !strings.Contains(v, want) {
			t.Errorf("header %s = %q, want it to contain %q", name, v, want)
		}
	}
	for _, want := range sc.expect {
		if !strings.Contains(string(got), want) {
			t.Errorf("body lacks %q; body: %s", want, short)
		}
	}
	for _, bad := range sc.forbid {
		if strings.Contains(string(got), bad) {
			t.Errorf("body holds forbidden %q; body: %s", bad, short)
		}
	}
	// The answer, and the body of an accepted request, must be as the
	// OpenAPI document describes them.
	path, _, _ := strings.Cut(target, "?")
	if unescaped, err := url.PathUnescape(path); err == nil {
		path = unescaped
	}
	for _, p := range e.doc.checkBody(sc.method, path, strconv.Itoa(resp.StatusCode), resp.Header.Get("Content-Type"), got) {
		t.Errorf("openapi: %s", p)
	}
	if !refused {
		if sc.body != "" {
			for _, p := range e.doc.checkBody(sc.method, path, "", "application/json", []byte(sc.body)) {
				t.Errorf("openapi request: %s", p)
			}
		}
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemBody
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatalf("problem: %v; body: %s", err, short)
	}
	if p.Status != sc.status || p.Code == "" || p.Title == "" {
		t.Errorf("problem %+v: want status %d with a code and a title", p, sc.status)
	}
	if sc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without WWW-Authenticate: Bearer (got %q)", resp.Header.Get("WWW-Authenticate"))
	}
	if len(sc.fields) > 0 {
		var named []string
		for _, f := range p.Errors {
			named = append(named, f.Field)
		}
		found := false
		for _, want := range sc.fields {
			for _, f := range named {
				found = found || f == want
			}
		}
		if !found {
			t.Errorf("errors[].field = %q, want %q; body: %s", named, sc.fields[0], short)
		}
	}
	after := e.state(t)
	if after.ledgerCount != before.ledgerCount || after.ledgerNext != before.ledgerNext {
		t.Errorf("refused request wrote to the ledger: %d entries (last %d), before %d (last %d)",
			after.ledgerCount, after.ledgerNext, before.ledgerCount, before.ledgerNext)
	}
	if after.indexSeq != before.indexSeq {
		t.Errorf("refused request moved the index: ledger_seq %d, before %d", after.indexSeq, before.indexSeq)
	}
	if after.catalog != before.catalog {
		t.Errorf("refused request changed the catalog or the keys:\nbefore %s\nafter  %s", before.catalog, after.catalog)
	}
}

// jsonBody marshals v.
func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// event is a valid demo event with changes; a nil value drops a field.
func event(id string, changes map[string]any) map[string]any {
	e := map[string]any{"id": id, "property": "demo", "device": "dev-" + id, "purpose": "analytics",
		"action": "grant", "source": "banner", "notice_version": "2026-11"}
	for k, v := range changes {
		if v == nil {
			delete(e, k)
		} else {
			e[k] = v
		}
	}
	return e
}

func events(list ...map[string]any) string {
	return jsonBody(map[string]any{"events": list})
}

// question is a valid question with changes; a nil value drops a field.
func question(changes map[string]any) map[string]any {
	q := map[string]any{"device": "dev-seed", "purpose": "analytics", "property": "demo"}
	for k, v := range changes {
		if v == nil {
			delete(q, k)
		} else {
			q[k] = v
		}
	}
	return q
}

func questions(list ...map[string]any) string {
	return jsonBody(map[string]any{"questions": list})
}

func manyQuestions(n int) string {
	list := make([]map[string]any, n)
	for i := range list {
		list[i] = question(map[string]any{"device": fmt.Sprintf("dev-%d", i)})
	}
	return questions(list...)
}

// larger returns a JSON object with one string field, of more than limit bytes.
func larger(field string, limit int) string {
	return `{"` + field + `":"` + strings.Repeat("a", limit) + `"}`
}

const (
	smallLimit   = 64 << 10
	catalogLimit = 1 << 20
	noticeLimit  = 8 << 20
	batchLimit   = 2 << 20
)

func TestScenarios(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		t.Run("public", func(t *testing.T) { env.run(t, publicScenarios()) })
		t.Run("auth", func(t *testing.T) { env.run(t, authScenarios(env)) })
		t.Run("properties", func(t *testing.T) { env.run(t, propertyScenarios()) })
		t.Run("purposes", func(t *testing.T) { env.run(t, purposeScenarios()) })
		t.Run("assessments", func(t *testing.T) { env.run(t, assessmentScenarios()) })
		t.Run("vendors", func(t *testing.T) { env.run(t, vendorScenarios()) })
		t.Run("categories", func(t *testing.T) { env.run(t, categoryScenarios()) })
		t.Run("notices", func(t *testing.T) { env.run(t, noticeScenarios()) })
		// The vendor scenarios gave analytics and marketing a vendor more,
		// which closed them until approved again (the ethics gate): a
		// privacy officer approves every purpose before the decisions.
		ethicstest.ApproveAll(t, env.srv.App.Ethics, env.srv.App.Consent)
		t.Run("events", func(t *testing.T) { env.run(t, eventScenarios()) })
		t.Run("ledger", func(t *testing.T) { env.run(t, ledgerScenarios()) })
		t.Run("decisions", func(t *testing.T) { env.run(t, decisionScenarios()) })
		t.Run("devices", func(t *testing.T) { env.run(t, deviceScenarios()) })
		t.Run("keys", func(t *testing.T) { env.run(t, keyScenarios()) })
	})
}

func publicScenarios() []scenario {
	return []scenario{
		{name: "livez", method: "GET", url: "/livez", status: 200, expect: []string{`"status":"live"`}},
		{name: "readyz", method: "GET", url: "/readyz", status: 200, expect: []string{`"status":"ready"`, `"ledger_seq":`}},
		{name: "readyz ignores a bad key", method: "GET", url: "/readyz", key: "unknown", status: 200},
		{name: "metrics", method: "GET", url: "/metrics", status: 200,
			expect: []string{"steward_http_requests_total", "steward_decisions_total", "steward_ledger_appends_total"}},
		{name: "openapi document", method: "GET", url: "/openapi.json", status: 200,
			expect: []string{`"3.1.0"`, `"/v1/decisions"`}, expectHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "jwks", method: "GET", url: "/.well-known/jwks.json", status: 200,
			expect:       []string{`"kty":"OKP"`, `"crv":"Ed25519"`, `"alg":"EdDSA"`},
			forbid:       []string{`"d":`}, // never the private key
			expectHeader: map[string]string{"Content-Type": "application/jwk-set+json", "Access-Control-Allow-Origin": "*"}},
		{name: "gpc support resource", method: "GET", url: "/.well-known/gpc.json", status: 200,
			expect: []string{`{"gpc":true,"lastUpdate":"2026-11-28"}`}, expectHeader: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{name: "security headers", method: "GET", url: "/livez", status: 200,
			expectHeader: map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
				"Content-Security-Policy": "default-src 'none'", "Strict-Transport-Security": "max-age="}},
	}
}

// authScenarios refuse every route that needs a key to callers without a
// usable key (401) and to keys of the wrong scope (403).
func authScenarios(env *testEnv) []scenario {
	a := env.srv.App
	wrongScopes := map[web.Permission][]string{
		web.Admin:  {"ingest", "kiosk", "decide"},
		web.Decide: {"ingest", "kiosk"},
		web.Ingest: {"decide"},
	}
	samples := strings.NewReplacer("{key}", "demo", "{version}", "2026-11", "{property}", "demo", "{id}", "x")
	var out []scenario
	for _, rt := range web.Routes(web.Deps{Consent: a.Consent, Keys: a.Keys, DB: a.DB, Signer: a.Signer, Metrics: a.Metrics}) {
		if rt.Permission == web.Public || rt.Page() {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = samples.Replace(path)
		body := ""
		if method == "POST" || method == "PUT" {
			body = "{}"
		}
		unauthorized := func(name, key string, header map[string]string) scenario {
			return scenario{name: rt.Pattern + " " + name, method: method, url: path, key: key, header: header, body: body,
				status: 401, expectHeader: map[string]string{"WWW-Authenticate": `Bearer realm="steward"`}}
		}
		out = append(out,
			unauthorized("without key", "", nil),
			unauthorized("with unknown key", "unknown", nil),
			unauthorized("with revoked key", "revoked", nil),
			unauthorized("with basic auth", "", map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}),
		)
		if rt.Permission != web.Ingest {
			// Only the beacon route takes a key in the query.
			s := unauthorized("with admin key in the query", "", nil)
			s.url += "?key={{adminKey}}"
			out = append(out, s)
		}
		for _, key := range wrongScopes[rt.Permission] {
			out = append(out, scenario{name: rt.Pattern + " with " + key + " key", method: method, url: path, key: key, body: body,
				status: 403, expect: []string{`"code":"forbidden"`, fmt.Sprintf(`the route needs \"%s\"`, rt.Permission)}})
		}
	}
	return out
}

func propertyScenarios() []scenario {
	shop := `{"key":"web2","name":"Web shop 2","domains":["web2.example","*.web2.example"],"policy_url":"https://web2.example/privacy"}`
	return []scenario{
		{name: "list", method: "GET", url: "/v1/properties", key: "admin", status: 200,
			expect: []string{`"key":"demo"`, `"key":"kiosk"`}},
		{name: "get", method: "GET", url: "/v1/properties/demo", key: "admin", status: 200,
			expect: []string{`"name":"Demo Shop"`, `"default_jurisdiction":"DE"`}},
		{name: "get unknown", method: "GET", url: "/v1/properties/nope", key: "admin", status: 404, expect: []string{`"code":"not_found"`}},
		{name: "create", method: "POST", url: "/v1/properties", key: "admin", body: shop, status: 201,
			expect: []string{`"key":"web2"`, `"opt_in":["EU","EEA","UK"]`, `"default":"opt_in"`}},
		{name: "create existing", method: "POST", url: "/v1/properties", key: "admin", body: shop, status: 409, expect: []string{`"code":"conflict"`}},
		{name: "create without key", method: "POST", url: "/v1/properties", key: "admin", body: `{"name":"x"}`, status: 400, fields: []string{"key"}},
		{name: "create with a line break in the name", method: "POST", url: "/v1/properties", key: "admin",
			body: `{"key":"blog","name":"Blog\nX-Evil: 1","domains":["blog.example"]}`, status: 400, fields: []string{"name"}},
		{name: "create with bad key", method: "POST", url: "/v1/properties", key: "admin", body: `{"key":"Bad Key","name":"x"}`, status: 400, fields: []string{"key"}},
		{name: "create with bad domain", method: "POST", url: "/v1/properties", key: "admin",
			body: `{"key":"p1","name":"x","domains":["ok.example","Not A Host"]}`, status: 400, fields: []string{"domains[1]"}},
		{name: "create with bad rules", method: "POST", url: "/v1/properties", key: "admin",
			body: `{"key":"p1","name":"x","jurisdiction_rules":{"opt_in":["DE","Germany"],"opt_out":["DE"],"default":"maybe"}}`, status: 400,
			fields: []string{"jurisdiction_rules.opt_in[1]"}, expect: []string{"jurisdiction_rules.opt_out[0]", "jurisdiction_rules.default"}},
		{name: "create with bad policy url", method: "POST", url: "/v1/properties", key: "admin",
			body: `{"key":"p1","name":"x","policy_url":"javascript:alert(1)"}`, status: 400, fields: []string{"policy_url"}},
		{name: "create with wrong type", method: "POST", url: "/v1/properties", key: "admin", body: `{"key":"p1","name":5}`, status: 400, fields: []string{"name"}},
		{name: "create with unknown field", method: "POST", url: "/v1/properties", key: "admin", body: `{"key":"p1","name":"x","colour":"red"}`, status: 400, fields: []string{"colour"}},
		{name: "create with malformed JSON", method: "POST", url: "/v1/properties", key: "admin", body: `{"key":"p1",`, status: 400, expect: []string{"malformed JSON"}},
		{name: "create with trailing data", method: "POST", url: "/v1/properties", key: "admin", body: `{"key":"p1","name":"x"} {}`, status: 400},
		{name: "create with empty body", method: "POST", url: "/v1/properties", key: "admin", status: 400, expect: []string{"empty"}},
		{name: "create with array body", method: "POST", url: "/v1/properties", key: "admin", body: `[]`, status: 400, fields: []string{"body"}},
		{name: "create with XML body", method: "POST", url: "/v1/properties", key: "admin", body: `<property key="p1"/>`,
			header: map[string]string{"Content-Type": "application/xml"}, status: 400, expect: []string{"must be JSON"}},
		// Form-encoded is accepted as a label (curl -d), but the body must still be JSON.
		{name: "create with form body", method: "POST", url: "/v1/properties", key: "admin", body: `key=p1&name=x`,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 400, expect: []string{"malformed JSON"}},
		{name: "create oversize", method: "POST", url: "/v1/properties", key: "admin", body: larger("name", catalogLimit), status: 413},
		{name: "update", method: "PUT", url: "/v1/properties/web2", key: "admin", body: `{"name":"Web shop two","default_jurisdiction":"FR"}`, status: 200,
			expect: []string{`"name":"Web shop two"`, `"default_jurisdiction":"FR"`}},
		{name: "update with key mismatch", method: "PUT", url: "/v1/properties/web2", key: "admin", body: `{"key":"demo","name":"x"}`, status: 400, fields: []string{"key"}},
		{name: "update with bad jurisdiction", method: "PUT", url: "/v1/properties/web2", key: "admin", body: `{"name":"x","default_jurisdiction":"de"}`, status: 400,
			fields: []string{"default_jurisdiction"}},
		{name: "update unknown", method: "PUT", url: "/v1/properties/nope", key: "admin", body: `{"name":"x"}`, status: 404},
		{name: "update oversize", method: "PUT", url: "/v1/properties/web2", key: "admin", body: larger("name", catalogLimit), status: 413},
	}
}

func purposeScenarios() []scenario {
	chat := `{"key":"support_chat","name":{"en":"Support chat"},"description":{"en":"Lets us answer you."},"legal_basis":"legitimate_interest","position":5}`
	return []scenario{
		{name: "list", method: "GET", url: "/v1/purposes", key: "admin", status: 200,
			expect: []string{`"key":"necessary"`, `"key":"analytics"`, `"key":"marketing"`, `"key":"sale_of_data"`}},
		{name: "get", method: "GET", url: "/v1/purposes/sale_of_data", key: "admin", status: 200, expect: []string{`"sale_or_sharing":true`}},
		{name: "get unknown", method: "GET", url: "/v1/purposes/nope", key: "admin", status: 404},
		{name: "create", method: "POST", url: "/v1/purposes", key: "admin", body: chat, status: 201, expect: []string{`"legal_basis":"legitimate_interest"`}},
		{name: "create existing", method: "POST", url: "/v1/purposes", key: "admin", body: chat, status: 409},
		{name: "create without name", method: "POST", url: "/v1/purposes", key: "admin", body: `{"key":"p1","legal_basis":"consent"}`, status: 400, fields: []string{"name"}},
		{name: "create with bad language", method: "POST", url: "/v1/purposes", key: "admin",
			body: `{"key":"p1","name":{"EN_us":"x"},"legal_basis":"consent"}`, status: 400, fields: []string{"name.EN_us"}},
		{name: "create with bad legal basis", method: "POST", url: "/v1/purposes", key: "admin",
			body: `{"key":"p1","name":{"en":"x"},"legal_basis":"because"}`, status: 400, fields: []string{"legal_basis"}},
		{name: "create necessary sale", method: "POST", url: "/v1/purposes", key: "admin",
			body: `{"key":"p1","name":{"en":"x"},"legal_basis":"contract","necessary":true,"sale_or_sharing":true}`, status: 400, fields: []string{"sale_or_sharing"}},
		{name: "create with bad position", method: "POST", url: "/v1/purposes", key: "admin",
			body: `{"key":"p1","name":{"en":"x"},"legal_basis":"consent","position":-1}`, status: 400, fields: []string{"position"}},
		{name: "create with wrong type", method: "POST", url: "/v1/purposes", key: "admin",
			body: `{"key":"p1","name":{"en":"x"},"legal_basis":"consent","position":"1"}`, status: 400, fields: []string{"position"}},
		{name: "create with unknown field", method: "POST", url: "/v1/purposes", key: "admin",
			body: `{"key":"p1","name":{"en":"x"},"legal_basis":"consent","tcf_purpose":1}`, status: 400, fields: []string{"tcf_purpose"}},
		{name: "create with malformed JSON", method: "POST", url: "/v1/purposes", key: "admin", body: `{"key":}`, status: 400},
		{name: "create oversize", method: "POST", url: "/v1/purposes", key: "admin", body: larger("key", catalogLimit), status: 413},
		{name: "update", method: "PUT", url: "/v1/purposes/support_chat", key: "admin",
			body: `{"name":{"en":"Support chat","de":"Support-Chat"},"legal_basis":"consent"}`, status: 200, expect: []string{`"de":"Support-Chat"`}},
		{name: "update unknown", method: "PUT", url: "/v1/purposes/nope", key: "admin", body: `{"name":{"en":"x"},"legal_basis":"consent"}`, status: 404},
		{name: "update with key mismatch", method: "PUT", url: "/v1/purposes/support_chat", key: "admin",
			body: `{"key":"analytics","name":{"en":"x"},"legal_basis":"consent"}`, status: 400, fields: []string{"key"}},
	}
}

// assessmentScenarios run after purposeScenarios, which created
// support_chat: a purpose without an approved ethics assessment.
func assessmentScenarios() []scenario {
	draft := `{"customer_knows":"The chat window says so.","opt_out":true,"storage_safe":true,"storage":"EU helpdesk","typical":true}`
	decide := func(name, purpose, reason string) scenario {
		return scenario{name: name, method: "POST", url: "/v1/decisions", key: "decide", status: 200,
			body: questions(question(map[string]any{"device": "dev-seed", "purpose": purpose})), expect: []string{`"reason":"` + reason + `"`}}
	}
	return []scenario{
		{name: "demo purpose approved", method: "GET", url: "/v1/purposes/analytics/assessment", key: "admin", status: 200,
			expect: []string{`"status":"approved"`, `"approved_by":"staff:demo_privacy_officer"`, `"from_steward":[`}},
		{name: "necessary needs none", method: "GET", url: "/v1/purposes/necessary/assessment", key: "admin", status: 200,
			expect: []string{`"status":"not_required"`, `"required":false`}},
		{name: "new purpose unassessed", method: "GET", url: "/v1/purposes/support_chat/assessment", key: "admin", status: 200,
			expect: []string{`"status":"missing"`, `"approval":null`}},
		decide("new purpose refused", "support_chat", "purpose_not_assessed"),
		decide("demo purpose allowed", "analytics", "consent_granted"),
		{name: "decide key may not read", method: "GET", url: "/v1/purposes/analytics/assessment", key: "decide", status: 403},
		{name: "no key", method: "GET", url: "/v1/purposes/analytics/assessment", status: 401},
		{name: "unknown purpose", method: "GET", url: "/v1/purposes/nope/assessment", key: "admin", status: 404},
		{name: "save draft", method: "PUT", url: "/v1/purposes/support_chat/assessment", key: "admin", body: draft, status: 200,
			expect: []string{`"typical":true`, `"saved_by":"api_key:`, `"status":"missing"`}},
		{name: "save unknown risk", method: "PUT", url: "/v1/purposes/support_chat/assessment", key: "admin",
			body: `{"high_risk":["astrology"]}`, status: 400, fields: []string{"high_risk[0]"}},
		{name: "save unknown field", method: "PUT", url: "/v1/purposes/support_chat/assessment", key: "admin",
			body: `{"verdict":"fine"}`, status: 400, fields: []string{"verdict"}},
		{name: "save for a necessary purpose", method: "PUT", url: "/v1/purposes/necessary/assessment", key: "admin", body: draft, status: 409},
		{name: "ingest key may not save", method: "PUT", url: "/v1/purposes/support_chat/assessment", key: "ingest", body: draft, status: 403},
		{name: "an API key may not approve", method: "POST", url: "/v1/purposes/support_chat/assessment/approve", key: "admin", status: 403,
			expect: []string{"privacy officer"}},
		decide("still refused", "support_chat", "purpose_not_assessed"),
	}
}

func vendorScenarios() []scenario {
	mailer := `{"key":"mailer","name":"Mailer","purposes":["marketing"],"data_categories":["contact"],"country":"DE","privacy_url":"https://mailer.example/privacy"}`
	return []scenario{
		{name: "list", method: "GET", url: "/v1/vendors", key: "admin", status: 200, expect: []string{`"key":"adnet"`, `"key":"metrics-co"`}},
		{name: "get", method: "GET", url: "/v1/vendors/adnet", key: "admin", status: 200, expect: []string{`"purposes":["marketing","sale_of_data"]`}},
		{name: "get unknown", method: "GET", url: "/v1/vendors/nope", key: "admin", status: 404},
		{name: "create", method: "POST", url: "/v1/vendors", key: "admin", body: mailer, status: 201, expect: []string{`"key":"mailer"`}},
		{name: "create existing", method: "POST", url: "/v1/vendors", key: "admin", body: mailer, status: 409},
		{name: "create with unknown purpose", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"v1","name":"V","purposes":["marketing","ads"]}`, status: 400, fields: []string{"purposes[1]"}, expect: []string{`unknown purpose \"ads\"`}},
		{name: "create without purposes", method: "POST", url: "/v1/vendors", key: "admin", body: `{"key":"v1","name":"V"}`, status: 400, fields: []string{"purposes"}},
		// A vendor's name goes into the questionnaire email's subject: a
		// line break would add a header.
		{name: "create with a line break in the name", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"v1","name":"V\r\nBcc: attacker@evil.example","purposes":["marketing"]}`, status: 400, fields: []string{"name"}},
		{name: "create with bad country", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"v1","name":"V","purposes":["marketing"],"country":"Germany"}`, status: 400, fields: []string{"country"}},
		{name: "create with bad category", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"v1","name":"V","purposes":["marketing"],"data_categories":["Contact Data"]}`, status: 400, fields: []string{"data_categories[0]"}},
		{name: "create with bad privacy url", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"v1","name":"V","purposes":["marketing"],"privacy_url":"ftp://v.example"}`, status: 400, fields: []string{"privacy_url"}},
		{name: "create with wrong type", method: "POST", url: "/v1/vendors", key: "admin", body: `{"key":"v1","name":"V","purposes":"marketing"}`, status: 400, fields: []string{"purposes"}},
		{name: "create with unknown field", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"v1","name":"V","purposes":["marketing"],"tcf_id":7}`, status: 400, fields: []string{"tcf_id"}},
		{name: "create oversize", method: "POST", url: "/v1/vendors", key: "admin", body: larger("name", catalogLimit), status: 413},
		{name: "update", method: "PUT", url: "/v1/vendors/mailer", key: "admin",
			body: `{"name":"Mailer GmbH","purposes":["marketing","analytics"]}`, status: 200, expect: []string{`"name":"Mailer GmbH"`}},
		{name: "update unknown", method: "PUT", url: "/v1/vendors/nope", key: "admin", body: `{"name":"x","purposes":["marketing"]}`, status: 404},
		{name: "update with unknown purpose", method: "PUT", url: "/v1/vendors/mailer", key: "admin",
			body: `{"name":"x","purposes":["ads"]}`, status: 400, fields: []string{"purposes[0]"}},
	}
}

func categoryScenarios() []scenario {
	loyalty := `{"key":"loyalty","name":{"en":"Loyalty points","de":"Treuepunkte"},"in_house":true,"retention_days":730,"position":15}`
	return []scenario{
		{name: "list", method: "GET", url: "/v1/categories", key: "admin", status: 200,
			expect: []string{`"key":"contact"`, `"key":"health"`, `"special":true`}},
		{name: "list needs admin", method: "GET", url: "/v1/categories", key: "decide", status: 403},
		{name: "get", method: "GET", url: "/v1/categories/health", key: "admin", status: 200, expect: []string{`"special":true`, `"de":"Gesundheitsdaten"`}},
		{name: "get unknown", method: "GET", url: "/v1/categories/nope", key: "admin", status: 404},
		{name: "create", method: "POST", url: "/v1/categories", key: "admin", body: loyalty, status: 201,
			expect: []string{`"key":"loyalty"`, `"in_house":true`, `"retention_days":730`}},
		{name: "create with an ingest key", method: "POST", url: "/v1/categories", key: "ingest", body: loyalty, status: 403},
		{name: "create existing", method: "POST", url: "/v1/categories", key: "admin", body: loyalty, status: 409},
		{name: "create without English", method: "POST", url: "/v1/categories", key: "admin",
			body: `{"key":"c1","name":{"de":"Nur Deutsch"}}`, status: 400, fields: []string{"name"}},
		{name: "create with bad key", method: "POST", url: "/v1/categories", key: "admin",
			body: `{"key":"Contact Data","name":{"en":"x"}}`, status: 400, fields: []string{"key"}},
		{name: "create with a line break in the name", method: "POST", url: "/v1/categories", key: "admin",
			body: `{"key":"c1","name":{"en":"x\r\nBcc: attacker@evil.example"}}`, status: 400, fields: []string{"name.en"}},
		{name: "create with bad retention", method: "POST", url: "/v1/categories", key: "admin",
			body: `{"key":"c1","name":{"en":"x"},"retention_days":-1}`, status: 400, fields: []string{"retention_days"}},
		{name: "create with bad position", method: "POST", url: "/v1/categories", key: "admin",
			body: `{"key":"c1","name":{"en":"x"},"position":10001}`, status: 400, fields: []string{"position"}},
		{name: "create with unknown field", method: "POST", url: "/v1/categories", key: "admin",
			body: `{"key":"c1","name":{"en":"x"},"sensitive":true}`, status: 400, fields: []string{"sensitive"}},
		{name: "create oversize", method: "POST", url: "/v1/categories", key: "admin", body: larger("key", catalogLimit), status: 413},
		{name: "update", method: "PUT", url: "/v1/categories/loyalty", key: "admin",
			body: `{"name":{"en":"Loyalty points","fr":"Points de fidélité"},"special":true}`, status: 200,
			expect: []string{`"fr":"Points de fidélité"`, `"special":true`, `"in_house":false`}},
		{name: "a vendor may now declare it", method: "POST", url: "/v1/vendors", key: "admin",
			body: `{"key":"points-co","name":"Points Co","purposes":["marketing"],"data_categories":["loyalty"]}`, status: 201},
		{name: "update unknown", method: "PUT", url: "/v1/categories/nope", key: "admin", body: `{"name":{"en":"x"}}`, status: 404},
		{name: "update with key mismatch", method: "PUT", url: "/v1/categories/loyalty", key: "admin",
			body: `{"key":"contact","name":{"en":"x"}}`, status: 400, fields: []string{"key"}},
	}
}

func noticeScenarios() []scenario {
	return []scenario{
		{name: "list", method: "GET", url: "/v1/notices", key: "admin", status: 200, expect: []string{`"version":"2026-11"`}},
		{name: "get", method: "GET", url: "/v1/notices/2026-11", key: "admin", status: 200,
			expect: []string{`"ordinal":1`, `"material":true`, `"content_hash":"sha256:`}},
		{name: "get unknown", method: "GET", url: "/v1/notices/nope", key: "admin", status: 404},
		{name: "create draft", method: "POST", url: "/v1/notices", key: "admin",
			body: `{"version":"2027-01","text":{"en":"Draft text."}}`, status: 201, expect: []string{`"published_at":null`, `"ordinal":0`}},
		{name: "create existing", method: "POST", url: "/v1/notices", key: "admin", body: `{"version":"2027-01","text":{"en":"x"}}`, status: 409},
		{name: "create with bad version", method: "POST", url: "/v1/notices", key: "admin", body: `{"version":"2027 01","text":{"en":"x"}}`, status: 400, fields: []string{"version"}},
		{name: "create without text", method: "POST", url: "/v1/notices", key: "admin", body: `{"version":"2027-02"}`, status: 400, fields: []string{"text"}},
		{name: "create with empty text", method: "POST", url: "/v1/notices", key: "admin", body: `{"version":"2027-02","text":{"en":""}}`, status: 400, fields: []string{"text.en"}},
		{name: "create with wrong type", method: "POST", url: "/v1/notices", key: "admin", body: `{"version":"2027-02","text":{"en":"x"},"material":"yes"}`, status: 400, fields: []string{"material"}},
		{name: "create with unknown field", method: "POST", url: "/v1/notices", key: "admin", body: `{"version":"2027-02","text":{"en":"x"},"draft":true}`, status: 400, fields: []string{"draft"}},
		{name: "create oversize", method: "POST", url: "/v1/notices", key: "admin", body: larger("version", noticeLimit), status: 413},
		{name: "update draft", method: "PUT", url: "/v1/notices/2027-01", key: "admin", body: `{"text":{"en":"Final text.","de":"Endgültiger Text."}}`, status: 200,
			expect: []string{`"de":"Endgültiger Text."`, `"published_at":null`}},
		{name: "update with version mismatch", method: "PUT", url: "/v1/notices/2027-01", key: "admin", body: `{"version":"2026-11","text":{"en":"x"}}`, status: 400, fields: []string{"version"}},
		{name: "update unknown", method: "PUT", url: "/v1/notices/nope", key: "admin", body: `{"text":{"en":"x"}}`, status: 404},
		{name: "update published", method: "PUT", url: "/v1/notices/2026-11", key: "admin", body: `{"text":{"en":"Changed."}}`, status: 409,
			expect: []string{"can no longer change"}},
		{name: "publish", method: "POST", url: "/v1/notices/2027-01/publish", key: "admin", status: 200, expect: []string{`"ordinal":2`, `"published_at":"`}},
		{name: "publish again", method: "POST", url: "/v1/notices/2027-01/publish", key: "admin", status: 409},
		{name: "publish unknown", method: "POST", url: "/v1/notices/nope/publish", key: "admin", status: 404},
		{name: "create and publish", method: "POST", url: "/v1/notices", key: "admin",
			body: `{"version":"2027-03","text":{"en":"x"},"publish":true}`, status: 201, expect: []string{`"ordinal":3`}},
	}
}

func eventScenarios() []scenario {
	post := func(name, key, body string, status int, fields ...string) scenario {
		return scenario{name: name, method: "POST", url: "/v1/consent/events", key: key, body: body, status: status, fields: fields}
	}
	ok := func(name, key, body string, expect ...string) scenario {
		s := post(name, key, body, 200)
		s.expect = append([]string{`"duplicate":false`, `"receipt":"ey`}, expect...)
		return s
	}
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	tooMany := make([]map[string]any, 1001)
	for i := range tooMany {
		tooMany[i] = event(fmt.Sprintf("many-%d", i), nil)
	}
	beacon := post("ingest key in the query, text/plain body (sendBeacon)", "", events(event("beacon-1", nil)), 200)
	beacon.url += "?key={{ingestKey}}"
	beacon.header = map[string]string{"Content-Type": "text/plain;charset=UTF-8"}
	beacon.expect = []string{`"id":"beacon-1"`}
	recordInQuery := post("record key in the query", "", events(event("x-30", map[string]any{"source": "api"})), 403)
	recordInQuery.url += "?key={{recordKey}}"
	past := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	subject := func(id, source string) map[string]any {
		return event(id, map[string]any{"device": nil, "subject": "cust-1", "source": source})
	}
	return []scenario{
		ok("ingest key records its property", "ingest", events(event("ok-1", nil)), `"id":"ok-1"`),
		ok("admin key records any property", "admin", events(event("ok-2", map[string]any{"property": "kiosk", "jurisdiction": "US-CA", "source": "api"}))),
		ok("kiosk key records kiosk", "kiosk", events(event("ok-3", map[string]any{"property": "kiosk"}))),
		ok("subject, vendor, every field", "record", events(event("ok-4", map[string]any{"device": nil, "subject": "cust-1",
			"purpose": "marketing", "vendor": "adnet", "action": "deny", "source": "api", "jurisdiction": "FR", "gpc": true, "dnt": true,
			"tc_string": "CQAAAAAQAAAAAAAAAAENBJFgAAAAAAAAAAAAAAAAAAAA", "at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)}))),
		beacon,
		ok("ingest key records gpc", "ingest", events(event("ok-5", map[string]any{"source": "gpc", "action": "deny"}))),
		ok("ingest key records a GPP string", "ingest", events(event("ok-5b", map[string]any{"source": "gpc", "action": "deny",
			"jurisdiction": "US-CA", "gpc": true, "gpp_string": "DBABBg~BUUAAACA.YA"}))),
		ok("record key records a device", "record", events(event("ok-6", map[string]any{"source": "api"}))),
		ok("admin key imports a past consent", "admin", events(event("ok-7", map[string]any{"device": nil, "subject": "cust-1", "source": "import", "at": past}))),
		// Issue 11: the public ingest key asserted a customer's consent, any
		// source, any time.
		post("ingest key for a subject", "ingest", events(subject("x-31", "banner")), 400, "events[0].subject"),
		post("ingest key claims the portal", "ingest", events(event("x-32", map[string]any{"source": "portal"})), 400, "events[0].source"),
		post("ingest key claims an import", "ingest", events(event("x-33", map[string]any{"source": "import", "at": past})), 400, "events[0].source"),
		post("ingest key claims a back end", "ingest", events(event("x-34", map[string]any{"source": "api"})), 400, "events[0].source"),
		post("record key claims the portal", "record", events(subject("x-35", "portal")), 400, "events[0].source"),
		post("record key claims an import", "record", events(subject("x-36", "import")), 400, "events[0].source"),
		post("record key claims the banner", "record", events(event("x-37", nil)), 400, "events[0].source"),
		post("admin key claims the portal", "admin", events(subject("x-38", "portal")), 400, "events[0].source"),
		post("import dated in the future", "admin", events(event("x-39", map[string]any{"source": "import", "at": time.Now().Add(time.Minute).UTC().Format(time.RFC3339)})), 400, "events[0].at"),
		post("zero time", "ingest", events(event("x-40", map[string]any{"at": "0001-01-01T00:00:00Z"})), 400, "events[0].at"),
		post("tc_string the codec refuses", "ingest", events(event("x-41", map[string]any{"tc_string": "CQAAAAAQ.not!base64"})), 400, "events[0].tc_string"),
		post("gpp_string the codec refuses", "ingest", events(event("x-41b", map[string]any{"gpp_string": "DBABBg~BUUA!"})), 400, "events[0].gpp_string"),
		post("oversize gpp_string", "ingest", events(event("x-41c", map[string]any{"gpp_string": "DBABLA~" + strings.Repeat("B", 10000)})), 400, "events[0].gpp_string"),
		post("decide key", "decide", events(event("x-42", nil)), 403),
		recordInQuery,
		post("ingest key for another property", "ingest", events(event("x-1", map[string]any{"property": "kiosk"})), 400, "events[0].property"),
		post("kiosk key for demo", "kiosk", events(event("x-2", nil)), 400, "events[0].property"),
		post("second event for another property", "ingest", events(event("x-3", nil), event("x-4", map[string]any{"property": "kiosk"})), 400, "events[1].property"),
		post("unknown property", "admin", events(event("x-5", map[string]any{"property": "nope"})), 400, "events[0].property"),
		post("unknown purpose", "ingest", events(event("x-6", map[string]any{"purpose": "ads"})), 400, "events[0].purpose"),
		post("unknown vendor", "ingest", events(event("x-7", map[string]any{"vendor": "nope"})), 400, "events[0].vendor"),
		post("vendor not declared for the purpose", "ingest", events(event("x-8", map[string]any{"purpose": "marketing", "vendor": "metrics-co"})), 400, "events[0].vendor"),
		post("subject and device", "ingest", events(event("x-9", map[string]any{"subject": "cust-1"})), 400, "events[0].subject"),
		post("neither subject nor device", "ingest", events(event("x-10", map[string]any{"device": nil})), 400, "events[0].subject"),
		post("bad device", "ingest", events(event("x-11", map[string]any{"device": "a b"})), 400, "events[0].device"),
		post("bad id", "ingest", events(event("x 12", nil)), 400, "events[0].id"),
		post("bad action", "ingest", events(event("x-13", map[string]any{"action": "maybe"})), 400, "events[0].action"),
		post("bad source", "ingest", events(event("x-14", map[string]any{"source": "fax"})), 400, "events[0].source"),
		post("unpublished notice", "ingest", events(event("x-15", map[string]any{"notice_version": "2099-01"})), 400, "events[0].notice_version"),
		post("bad jurisdiction", "ingest", events(event("x-16", map[string]any{"jurisdiction": "Germany"})), 400, "events[0].jurisdiction"),
		post("time far in the future", "ingest", events(event("x-17", map[string]any{"at": future})), 400, "events[0].at"),
		post("time before 2000", "ingest", events(event("x-18", map[string]any{"at": "1999-12-31T23:59:59Z"})), 400, "events[0].at"),
		post("oversize tc_string", "ingest", events(event("x-19", map[string]any{"tc_string": strings.Repeat("C", 10001)})), 400, "events[0].tc_string"),
		post("time not RFC 3339", "ingest", events(event("x-20", map[string]any{"at": "yesterday"})), 400, "events[0].at"),
		post("time as a number", "ingest", events(event("x-20b", nil), event("x-20c", map[string]any{"at": 5})), 400, "events[1].at"),
		post("wrong type", "ingest", events(event("x-21", map[string]any{"id": 21})), 400, "events[0].id"),
		post("wrong type of events", "ingest", `{"events":{}}`, 400, "events"),
		post("unknown field", "ingest", events(event("x-22", map[string]any{"colour": "red"})), 400, "events[0].colour"),
		post("unknown top-level field", "ingest", `{"events":[],"batch":1}`, 400, "batch"),
		post("no events", "ingest", `{"events":[]}`, 400, "events"),
		post("null body", "ingest", `null`, 400, "events"),
		post("1001 events", "ingest", events(tooMany...), 400, "events"),
		post("malformed JSON", "ingest", `{"events":[{"id":"x-23",}]}`, 400),
		post("truncated JSON", "ingest", `{"events":[`, 400),
		post("empty body", "ingest", "", 400),
		post("oversize body", "ingest", larger("events", batchLimit), 413),
		{name: "form body", method: "POST", url: "/v1/consent/events", key: "ingest", body: events(event("x-24", nil)),
			header: map[string]string{"Content-Type": "multipart/form-data"}, status: 400},
		post("valid and invalid event: none recorded", "ingest", events(event("x-25", nil), event("x-26", map[string]any{"purpose": "ads"})), 400, "events[1].purpose"),
	}
}

func ledgerScenarios() []scenario {
	get := func(name, query string, status int, fields ...string) scenario {
		return scenario{name: name, method: "GET", url: "/v1/consent/events" + query, key: "admin", status: status, fields: fields}
	}
	withExpect := func(s scenario, expect []string, forbid ...string) scenario {
		s.expect, s.forbid = expect, forbid
		return s
	}
	return []scenario{
		withExpect(get("list", "", 200), []string{`"id":"seed-1"`, `"id":"ok-1"`, `"next":`}, `"id":"x-`),
		withExpect(get("by device", "?device=dev-seed", 200), []string{`"id":"seed-1"`}, `"id":"ok-1"`),
		withExpect(get("by subject", "?subject=cust-1", 200), []string{`"id":"ok-4"`, `"subject":"cust-1"`}, `"id":"seed-1"`),
		withExpect(get("after the end", "?after=999999", 200), []string{`"items":[]`, `"next":999999`}),
		withExpect(get("one", "?limit=1", 200), []string{`"id":"seed-1"`}, `"id":"seed-2"`),
		get("after not a number", "?after=abc", 400, "after"),
		get("negative after", "?after=-1", 400, "after"),
		get("limit 0", "?limit=0", 400, "limit"),
		get("limit too large", "?limit=10001", 400, "limit"),
		get("limit not a number", "?limit=all", 400, "limit"),
		{name: "get one", method: "GET", url: "/v1/consent/events/demo/seed-1", key: "admin", status: 200,
			expect: []string{`"id":"seed-1"`, `"seq":`, `"receipt":"ey`}},
		{name: "get one of kiosk", method: "GET", url: "/v1/consent/events/kiosk/ok-3", key: "admin", status: 200},
		{name: "get unknown", method: "GET", url: "/v1/consent/events/demo/nope", key: "admin", status: 404},
		{name: "get with the wrong property", method: "GET", url: "/v1/consent/events/kiosk/seed-1", key: "admin", status: 404},
	}
}

func decisionScenarios() []scenario {
	ask := func(name, key, body string, status int, expect ...string) scenario {
		return scenario{name: name, method: "POST", url: "/v1/decisions", key: key, body: body, status: status, expect: expect}
	}
	refuse := func(name, body string, status int, fields ...string) scenario {
		return scenario{name: name, method: "POST", url: "/v1/decisions", key: "decide", body: body, status: status, fields: fields}
	}
	gpcHeader := ask("Sec-GPC header opts out of a sale", "decide",
		questions(question(map[string]any{"device": nil, "subject": "cust-gpc", "purpose": "sale_of_data", "vendor": "adnet"}),
			question(map[string]any{"device": "dev-seed", "purpose": "analytics"})),
		200, `{"answers":[{"allowed":false,"reason":"gpc_opt_out","event":null},{"allowed":true,"reason":"consent_granted"`)
	gpcHeader.header = map[string]string{"Sec-GPC": "1"}
	return []scenario{
		ask("granted", "decide", questions(question(nil)), 200, `"allowed":true,"reason":"consent_granted","event":`),
		ask("admin key decides too", "admin", questions(question(nil)), 200, `"reason":"consent_granted"`),
		ask("necessary", "decide", questions(question(map[string]any{"device": "dev-new", "purpose": "necessary"})), 200,
			`{"allowed":true,"reason":"necessary","event":null}`),
		ask("nothing recorded, opt-in", "decide", questions(question(map[string]any{"device": "dev-new"})), 200,
			`{"allowed":false,"reason":"no_consent_recorded","event":null}`),
		ask("nothing recorded, opt-out jurisdiction", "decide", questions(question(map[string]any{"device": "dev-new", "jurisdiction": "US-CA"})), 200,
			`{"allowed":true,"reason":"no_consent_recorded","event":null}`),
		ask("vendor not declared", "decide", questions(question(map[string]any{"vendor": "adnet"})), 200, `"reason":"vendor_not_declared"`),
		ask("sale granted", "decide", questions(question(map[string]any{"device": nil, "subject": "cust-gpc", "purpose": "sale_of_data", "vendor": "adnet"})), 200,
			`"allowed":true,"reason":"consent_granted"`),
		gpcHeader,
		ask("gpc in the question", "decide", questions(question(map[string]any{"device": nil, "subject": "cust-gpc", "purpose": "sale_of_data", "gpc": true})), 200,
			`"reason":"gpc_opt_out"`),
		ask("1000 questions", "decide", manyQuestions(1000), 200, `"reason":"no_consent_recorded"`),
		refuse("1001 questions", manyQuestions(1001), 400, "questions"),
		refuse("no questions", `{"questions":[]}`, 400, "questions"),
		refuse("empty object", `{}`, 400, "questions"),
		refuse("unknown purpose", questions(question(map[string]any{"purpose": "ads"})), 400, "questions[0].purpose"),
		refuse("unknown vendor", questions(question(map[string]any{"vendor": "nope"})), 400, "questions[0].vendor"),
		refuse("unknown property", questions(question(map[string]any{"property": "nope"})), 400, "questions[0].property"),
		refuse("bad jurisdiction", questions(question(map[string]any{"jurisdiction": "de"})), 400, "questions[0].jurisdiction"),
		refuse("subject and device", questions(question(map[string]any{"subject": "cust-1"})), 400, "questions[0].subject"),
		refuse("neither subject nor device", questions(question(map[string]any{"device": nil})), 400, "questions[0].subject"),
		refuse("second question at fault", questions(question(nil), question(map[string]any{"purpose": "ads"})), 400, "questions[1].purpose"),
		refuse("wrong type", questions(question(map[string]any{"purpose": 7})), 400, "questions[0].purpose"),
		refuse("unknown field", questions(question(map[string]any{"colour": "red"})), 400, "questions[0].colour"),
		refuse("malformed JSON", `{"questions":[{]}`, 400),
		refuse("oversize body", larger("questions", batchLimit), 413),
		{name: "html body", method: "POST", url: "/v1/decisions", key: "decide", body: questions(question(nil)),
			header: map[string]string{"Content-Type": "text/html"}, status: 400, expect: []string{"must be JSON"}},
	}
}

func deviceScenarios() []scenario {
	link := func(name, subject, body string, status int, fields ...string) scenario {
		return scenario{name: name, method: "POST", url: "/v1/subjects/" + subject + "/devices", key: "admin", body: body, status: status, fields: fields}
	}
	first := link("link", "cust-9", `{"device":"dev-9"}`, 200)
	first.expect = []string{`"device":"dev-9"`, `"subject":"cust-9"`, `"seq":`}
	return []scenario{
		first,
		link("link again", "cust-9", `{"device":"dev-9"}`, 200),
		link("move to another subject", "cust-10", `{"device":"dev-9"}`, 200),
		link("bad subject", "bad%20subject", `{"device":"dev-9"}`, 400, "subject"),
		link("bad device", "cust-9", `{"device":"dev 9"}`, 400, "device"),
		link("no device", "cust-9", `{}`, 400, "device"),
		link("wrong type", "cust-9", `{"device":9}`, 400, "device"),
		link("unknown field", "cust-9", `{"device":"dev-9","primary":true}`, 400, "primary"),
		link("malformed JSON", "cust-9", `{"device":`, 400),
		link("oversize body", "cust-9", larger("device", smallLimit), 413),
	}
}

func keyScenarios() []scenario {
	create := func(name, body string, status int, fields ...string) scenario {
		return scenario{name: name, method: "POST", url: "/v1/api-keys", key: "admin", body: body, status: status, fields: fields}
	}
	made := create("create", `{"scope":"decide","label":"backend"}`, 201)
	made.expect = []string{`"secret":"stw_decide_`, `"scope":"decide"`, `"label":"backend"`}
	made.expectHeader = map[string]string{"Cache-Control": "no-store"}
	ingest := create("create ingest", `{"scope":"ingest","property":"kiosk","label":"kiosk 2"}`, 201)
	ingest.expect = []string{`"secret":"stw_ingest_`, `"property":"kiosk"`}
	return []scenario{
		{name: "list", method: "GET", url: "/v1/api-keys", key: "admin", status: 200,
			expect: []string{`"label":"demo admin"`, `"label":"revoked"`, `"revoked_at":"`},
			forbid: []string{"stw_", `"secret"`, `"hash"`}},
		made,
		ingest,
		create("bad scope", `{"scope":"root"}`, 400, "scope"),
		create("no scope", `{"label":"x"}`, 400, "scope"),
		create("ingest without property", `{"scope":"ingest"}`, 400, "property"),
		create("ingest of unknown property", `{"scope":"ingest","property":"nope"}`, 400, "property"),
		create("decide with property", `{"scope":"decide","property":"demo"}`, 400, "property"),
		create("long label", jsonBody(map[string]string{"scope": "decide", "label": strings.Repeat("l", 201)}), 400, "label"),
		create("wrong type", `{"scope":["admin"]}`, 400, "scope"),
		create("unknown field", `{"scope":"admin","expires":"never"}`, 400, "expires"),
		create("malformed JSON", `{"scope"}`, 400),
		create("oversize body", larger("label", smallLimit), 413),
		{name: "revoke", method: "DELETE", url: "/v1/api-keys/{{revocable}}", key: "admin", status: 204},
		{name: "revoke again", method: "DELETE", url: "/v1/api-keys/{{revocable}}", key: "admin", status: 404},
		{name: "revoke unknown", method: "DELETE", url: "/v1/api-keys/key_nope", key: "admin", status: 404},
	}
}

// The flows below use the client package, as an integrator would.

func TestEventRetryIsIdempotent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		ingest := client.New(env.srv.URL, env.keys["ingest"])
		e := client.EventInput{ID: "retry-1", Property: "demo", Device: "dev-retry", Purpose: "marketing", Vendor: "adnet",
			Action: client.ActionGrant, Source: client.SourceBanner, NoticeVersion: "2026-11", At: time.Now().Add(-time.Minute)}
		before := env.state(t)
		first, err := ingest.AppendEvents(ctx, []client.EventInput{e})
		if err != nil {
			t.Fatal(err)
		}
		// The retry may differ in what the server fills in (here: the time);
		// the stored event wins.
		retried := e
		retried.At = time.Time{}
		again, err := ingest.AppendEvents(ctx, []client.EventInput{retried, retried})
		if err != nil {
			t.Fatal(err)
		}
		if first[0].Duplicate || !again[0].Duplicate || !again[1].Duplicate {
			t.Errorf("duplicate flags: first %v, retries %v %v", first[0].Duplicate, again[0].Duplicate, again[1].Duplicate)
		}
		for i, r := range again {
			if r.Seq != first[0].Seq || r.Receipt != first[0].Receipt || r.ID != "retry-1" {
				t.Errorf("retry %d = seq %d, receipt equal %v; want seq %d and the identical receipt", i, r.Seq, r.Receipt == first[0].Receipt, first[0].Seq)
			}
		}
		stored, err := env.admin.GetEvent(ctx, "demo", "retry-1")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Seq != first[0].Seq || stored.Receipt != first[0].Receipt {
			t.Errorf("GetEvent = seq %d, receipt equal %v; want seq %d and the identical receipt", stored.Seq, stored.Receipt == first[0].Receipt, first[0].Seq)
		}
		// The time is the server's: the client's (a minute ago) orders nothing.
		if !stored.At.After(e.At) {
			t.Errorf("stored time %v, want the server's receive time, after the client's %v", stored.At, e.At)
		}
		if after := env.state(t); after.ledgerCount != before.ledgerCount+1 {
			t.Errorf("ledger grew by %d entries, want 1", after.ledgerCount-before.ledgerCount)
		}
		// A batch that holds the same event twice records it once.
		twice, err := ingest.AppendEvents(ctx, []client.EventInput{
			{ID: "twin", Property: "demo", Device: "dev-twin", Purpose: "analytics", Action: client.ActionDeny, Source: client.SourceBanner},
			{ID: "twin", Property: "demo", Device: "dev-twin", Purpose: "analytics", Action: client.ActionDeny, Source: client.SourceBanner},
		})
		if err != nil {
			t.Fatal(err)
		}
		if twice[0].Seq != twice[1].Seq || twice[0].Duplicate || !twice[1].Duplicate || twice[0].Receipt != twice[1].Receipt {
			t.Errorf("same event twice in a batch: %+v", twice)
		}
		// The same id with other content is a conflict naming the event;
		// nothing of that request is written, nor is the stored content told.
		forged := e
		forged.Action = client.ActionDeny
		fresh := client.EventInput{ID: "fresh-1", Property: "demo", Device: "dev-retry", Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceBanner}
		_, err = ingest.AppendEvents(ctx, []client.EventInput{fresh, forged})
		var problem *client.Error
		if !errors.As(err, &problem) || problem.Status != http.StatusConflict || problem.Code != client.CodeConflict ||
			problem.Fields["events[1].id"] == "" || strings.Contains(problem.Detail+problem.Fields["events[1].id"], "grant") {
			t.Errorf("conflicting duplicate: %v", err)
		}
		if _, err := env.admin.GetEvent(ctx, "demo", "fresh-1"); err == nil {
			t.Error("the conflicting request's other event was written")
		}
	})
}

func TestDecisionBatchLimits(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		decide := client.New(env.srv.URL, env.keys["decide"])
		qs := make([]client.Question, client.MaxQuestions+1)
		for i := range qs {
			qs[i] = client.Question{Device: fmt.Sprintf("dev-%d", i), Purpose: "analytics", Property: "demo"}
		}
		qs[999] = client.Question{Device: "dev-seed", Purpose: "analytics", Property: "demo"}
		answers, err := decide.Decide(ctx, qs[:client.MaxQuestions])
		if err != nil {
			t.Fatalf("1000 questions: %v", err)
		}
		if len(answers) != client.MaxQuestions || answers[0].Reason != client.ReasonNoConsentRecorded || answers[999].Reason != client.ReasonConsentGranted {
			t.Errorf("1000 questions: %d answers, first %+v, last %+v", len(answers), answers[0], answers[len(answers)-1])
		}
		_, err = decide.Decide(ctx, qs)
		apiErr := asAPIError(t, err, http.StatusBadRequest)
		if apiErr.Code != client.CodeInvalid || apiErr.Fields["questions"] == "" {
			t.Errorf("1001 questions: %+v, want invalid naming questions", apiErr)
		}
	})
}

func TestWithdrawalChangesNextDecision(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		ingest := client.New(env.srv.URL, env.keys["ingest"])
		backEnd := client.New(env.srv.URL, env.keys["record"])
		decide := client.New(env.srv.URL, env.keys["decide"])
		q := []client.Question{{Subject: "cust-w", Purpose: "marketing", Vendor: "adnet", Property: "demo"}}
		record := func(id string, action client.Action) int64 {
			t.Helper()
			res, err := backEnd.AppendEvents(ctx, []client.EventInput{{ID: id, Property: "demo", Subject: "cust-w", Purpose: "marketing",
				Vendor: "adnet", Action: action, Source: client.SourceAPI, NoticeVersion: "2026-11"}})
			if err != nil {
				t.Fatalf("record %s: %v", action, err)
			}
			return res[0].Seq
		}
		want := func(step string, allowed bool, reason client.Reason, event int64) {
			t.Helper()
			answers, err := decide.Decide(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if got := answers[0]; got.Allowed != allowed || got.Reason != reason || got.Event != event {
				t.Errorf("%s: %+v, want allowed %v, %s, event %d", step, got, allowed, reason, event)
			}
		}
		want("before any choice", false, client.ReasonNoConsentRecorded, 0)
		granted := record("w-1", client.ActionGrant)
		want("after the grant", true, client.ReasonConsentGranted, granted)
		withdrawn := record("w-2", client.ActionWithdraw)
		want("right after the withdrawal", false, client.ReasonConsentWithdrawn, withdrawn)
		regranted := record("w-3", client.ActionGrant)
		want("after a new grant", true, client.ReasonConsentGranted, regranted)

		// A device's choice counts for the subject it is linked to.
		if _, err := ingest.AppendEvents(ctx, []client.EventInput{{ID: "w-4", Property: "demo", Device: "dev-w", Purpose: "marketing",
			Vendor: "adnet", Action: client.ActionDeny, Source: client.SourceBanner, NoticeVersion: "2026-11"}}); err != nil {
			t.Fatal(err)
		}
		link, err := env.admin.LinkDevice(ctx, "cust-w", "dev-w")
		if err != nil {
			t.Fatal(err)
		}
		if link.Subject != "cust-w" || link.Device != "dev-w" || link.Seq == 0 {
			t.Errorf("link = %+v", link)
		}
		answers, err := decide.Decide(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if answers[0].Allowed || answers[0].Reason != client.ReasonConsentDenied {
			t.Errorf("after linking a device that denied: %+v, want consent_denied", answers[0])
		}
	})
}

func TestGPCHeaderOptsOutOfSale(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		decide := client.New(env.srv.URL, env.keys["decide"])
		if _, err := env.admin.AppendEvents(ctx, []client.EventInput{{ID: "g-1", Property: "demo", Subject: "cust-g", Purpose: "marketing",
			Action: client.ActionGrant, Source: client.SourceAPI, NoticeVersion: "2026-11"}}); err != nil {
			t.Fatal(err)
		}
		qs := []client.Question{
			{Subject: "cust-gpc", Purpose: "sale_of_data", Vendor: "adnet", Property: "demo"}, // granted in newEnv
			{Subject: "cust-g", Purpose: "marketing", Property: "demo"},
		}
		for _, tc := range []struct {
			name       string
			opts       []client.DecideOption
			sale       client.Reason
			saleAllows bool
		}{
			{"without signal", nil, client.ReasonConsentGranted, true},
			{"header off", []client.DecideOption{client.WithGPCHeader(false)}, client.ReasonConsentGranted, true},
			{"Sec-GPC: 1", []client.DecideOption{client.WithGPCHeader(true)}, client.ReasonGPCOptOut, false},
		} {
			answers, err := decide.Decide(ctx, qs, tc.opts...)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if answers[0].Allowed != tc.saleAllows || answers[0].Reason != tc.sale {
				t.Errorf("%s: sale_of_data %+v, want %s", tc.name, answers[0], tc.sale)
			}
			if !answers[1].Allowed || answers[1].Reason != client.ReasonConsentGranted {
				t.Errorf("%s: marketing (no sale) %+v, want consent_granted", tc.name, answers[1])
			}
		}
	})
}

func TestCatalogThroughClient(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		c := env.admin
		p, err := c.CreateProperty(ctx, client.PropertyInput{Key: "app", Name: "App", Domains: []string{"app.example"},
			JurisdictionRules: &client.JurisdictionRules{OptIn: []string{"EU"}, OptOut: []string{"US", "CA"}, Default: client.OptOut}})
		if err != nil {
			t.Fatal(err)
		}
		if p.JurisdictionRules.Default != client.OptOut || p.CreatedAt.IsZero() {
			t.Errorf("created property %+v", p)
		}
		in := p.Input()
		in.Name = "The App"
		if p, err = c.UpdateProperty(ctx, in); err != nil || p.Name != "The App" {
			t.Errorf("update property: %+v, %v", p, err)
		}
		if got, err := c.GetProperty(ctx, "app"); err != nil || got.Name != "The App" || len(got.Domains) != 1 {
			t.Errorf("get property: %+v, %v", got, err)
		}
		purpose, err := c.CreatePurpose(ctx, client.PurposeInput{Key: "personalisation", Name: map[string]string{"en": "Personalisation"},
			LegalBasis: client.BasisConsent, Position: 4})
		if err != nil {
			t.Fatal(err)
		}
		pin := purpose.Input()
		pin.Description = map[string]string{"en": "Remembers what you like."}
		if purpose, err = c.UpdatePurpose(ctx, pin); err != nil || purpose.Description["en"] == "" {
			t.Errorf("update purpose: %+v, %v", purpose, err)
		}
		vendor, err := c.CreateVendor(ctx, client.VendorInput{Key: "recs", Name: "Recs", Purposes: []string{"personalisation"}})
		if err != nil {
			t.Fatal(err)
		}
		vin := vendor.Input()
		vin.Country = "NL"
		if vendor, err = c.UpdateVendor(ctx, vin); err != nil || vendor.Country != "NL" {
			t.Errorf("update vendor: %+v, %v", vendor, err)
		}
		if _, err := c.GetVendor(ctx, "recs"); err != nil {
			t.Error(err)
		}
		if _, err := c.GetPurpose(ctx, "personalisation"); err != nil {
			t.Error(err)
		}
		notice, err := c.CreateNotice(ctx, client.NoticeInput{Version: "v2", Text: map[string]string{"en": "Draft"}})
		if err != nil || notice.PublishedAt != nil {
			t.Fatalf("create notice: %+v, %v", notice, err)
		}
		if notice, err = c.UpdateNotice(ctx, client.NoticeInput{Version: "v2", Text: map[string]string{"en": "Final"}}); err != nil || notice.Text["en"] != "Final" {
			t.Fatalf("update notice: %+v, %v", notice, err)
		}
		if notice, err = c.PublishNotice(ctx, "v2"); err != nil || notice.PublishedAt == nil || notice.Ordinal != 2 {
			t.Errorf("publish: %+v, %v", notice, err)
		}
		_, err = c.PublishNotice(ctx, "v2")
		asAPIError(t, err, http.StatusConflict)
		if got, err := c.GetNotice(ctx, "v2"); err != nil || got.Text["en"] != "Final" {
			t.Errorf("get notice: %+v, %v", got, err)
		}
		for name, count := range map[string]func() (int, error){
			"properties": func() (int, error) { l, err := c.ListProperties(ctx); return len(l), err },
			"purposes":   func() (int, error) { l, err := c.ListPurposes(ctx); return len(l), err },
			"vendors":    func() (int, error) { l, err := c.ListVendors(ctx); return len(l), err },
			"notices":    func() (int, error) { l, err := c.ListNotices(ctx); return len(l), err },
		} {
			// demo data + newEnv's kiosk + what this test made
			want := map[string]int{"properties": 3, "purposes": 6, "vendors": 3, "notices": 2}[name] // the demo's purposes include its newsletter
			if n, err := count(); err != nil || n != want {
				t.Errorf("list %s: %d, %v; want %d", name, n, err, want)
			}
		}
		_, err = c.GetProperty(ctx, "nope")
		asAPIError(t, err, http.StatusNotFound)
		_, err = c.CreateVendor(ctx, client.VendorInput{Key: "bad", Name: "Bad", Purposes: []string{"ads"}})
		if e := asAPIError(t, err, http.StatusBadRequest); e.Fields["purposes[0]"] == "" {
			t.Errorf("unknown purpose: fields %v", e.Fields)
		}
		// An event under the new, non-material notice counts (recs passed
		// its security assessment and personalisation its ethics
		// assessment: the decision gates let them through).
		assessVendor(t, env.srv, "recs")
		ethicstest.ApproveAll(t, env.srv.App.Ethics, env.srv.App.Consent)
		recordKey := mustKey(t, c, client.APIKeyInput{Scope: client.ScopeRecord, Label: "app back end"})
		if _, err := client.New(env.srv.URL, recordKey.Secret).AppendEvents(ctx, []client.EventInput{{ID: "a-1", Property: "app",
			Subject: "cust-a", Purpose: "personalisation", Vendor: "recs", Action: client.ActionGrant, Source: client.SourceAPI,
			NoticeVersion: "v2", Jurisdiction: "DE"}}); err != nil {
			t.Fatal(err)
		}
		answers, err := client.New(env.srv.URL, env.keys["decide"]).Decide(ctx, []client.Question{
			{Subject: "cust-a", Purpose: "personalisation", Vendor: "recs", Property: "app", Jurisdiction: "DE"},
			{Subject: "cust-b", Purpose: "personalisation", Property: "app", Jurisdiction: "US-NY"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if answers[0].Reason != client.ReasonConsentGranted || answers[1].Reason != client.ReasonNoConsentRecorded || !answers[1].Allowed {
			t.Errorf("answers %+v", answers)
		}
	})
}

func TestKeysThroughClient(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		made := mustKey(t, env.admin, client.APIKeyInput{Scope: client.ScopeDecide, Label: "temporary"})
		if !strings.HasPrefix(made.Secret, "stw_decide_") || made.ID == "" || made.RevokedAt != nil {
			t.Errorf("made %+v", made)
		}
		temporary := client.New(env.srv.URL, made.Secret, client.WithUserAgent("scenario-test/1"),
			client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
		if _, err := temporary.Decide(ctx, []client.Question{{Device: "d", Purpose: "necessary"}}); err != nil {
			t.Fatalf("new key: %v", err)
		}
		_, err := temporary.ListProperties(ctx)
		if e := asAPIError(t, err, http.StatusForbidden); e.Code != client.CodeForbidden {
			t.Errorf("decide key on an admin route: %+v", e)
		}
		keys, err := env.admin.ListAPIKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, k := range keys {
			found = found || (k.ID == made.ID && k.Label == "temporary" && k.Scope == client.ScopeDecide)
		}
		if !found {
			t.Errorf("new key not listed: %+v", keys)
		}
		if err := env.admin.RevokeAPIKey(ctx, made.ID); err != nil {
			t.Fatal(err)
		}
		_, err = temporary.Decide(ctx, []client.Question{{Device: "d", Purpose: "necessary"}})
		if e := asAPIError(t, err, http.StatusUnauthorized); e.Code != client.CodeUnauthorized {
			t.Errorf("revoked key: %+v", e)
		}
		err = env.admin.RevokeAPIKey(ctx, made.ID)
		asAPIError(t, err, http.StatusNotFound)
		// The demo ingest key may record its own property's events only.
		_, err = client.New(env.srv.URL, env.keys["ingest"]).AppendEvents(ctx, []client.EventInput{{ID: "k-1", Property: "kiosk",
			Device: "dev-k", Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceBanner}})
		if e := asAPIError(t, err, http.StatusBadRequest); e.Fields["events[0].property"] == "" {
			t.Errorf("ingest key of another property: %+v", e)
		}
	})
}

func TestWellKnownResources(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		resp, err := http.Get(env.srv.URL + "/.well-known/gpc.json")
		if err != nil {
			t.Fatal(err)
		}
		var gpc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&gpc)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		date, _ := gpc["lastUpdate"].(string)
		if len(gpc) != 2 || gpc["gpc"] != true {
			t.Errorf("gpc.json = %v, want exactly gpc and lastUpdate", gpc)
		}
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			t.Errorf("lastUpdate %q is not YYYY-MM-DD: %v", date, err)
		}

		raw, err := client.New(env.srv.URL, "").JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatalf("jwks: %v", err)
		}
		if len(set.Keys) == 0 {
			t.Fatal("jwks has no keys")
		}
		k := set.Keys[0]
		x, err := base64URL(k["x"])
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["kid"] == "" || err != nil || len(x) != 32 || k["d"] != "" {
			t.Errorf("jwks key %v: want a public OKP Ed25519 key with a kid and a 32-byte x", k)
		}
		// Receipts name that key.
		res, err := env.admin.AppendEvents(ctx, []client.EventInput{{ID: "r-1", Property: "demo", Device: "dev-r",
			Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceAPI}})
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(res[0].Receipt, ".")
		headerJSON, err := base64URL(header)
		if err != nil {
			t.Fatal(err)
		}
		var jws map[string]string
		if err := json.Unmarshal(headerJSON, &jws); err != nil || jws["alg"] != "EdDSA" || jws["kid"] != k["kid"] {
			t.Errorf("receipt header %s, want alg EdDSA and kid %s", headerJSON, k["kid"])
		}

		ready, err := env.admin.Ready(ctx)
		if err != nil || ready.Status != "ready" || ready.LedgerSeq < res[0].Seq {
			t.Errorf("ready = %+v, %v; want ready at ledger seq %d or later", ready, err, res[0].Seq)
		}
	})
}

func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		// newEnv recorded 2 events; record 3 more and ask 4 questions.
		if _, err := env.admin.AppendEvents(ctx, []client.EventInput{
			{ID: "m-1", Property: "demo", Device: "dev-m", Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceAPI, NoticeVersion: "2026-11"},
			{ID: "m-2", Property: "demo", Device: "dev-m", Purpose: "marketing", Action: client.ActionDeny, Source: client.SourceAPI},
			{ID: "m-3", Property: "demo", Device: "dev-m", Purpose: "sale_of_data", Action: client.ActionDeny, Source: client.SourceAPI},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.New(env.srv.URL, env.keys["decide"]).Decide(ctx, []client.Question{
			{Device: "dev-m", Purpose: "analytics"}, {Device: "dev-m", Purpose: "marketing"},
			{Device: "dev-m", Purpose: "necessary"}, {Device: "dev-other", Purpose: "analytics"},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(env.srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics := string(body)
		for series, want := range map[string]float64{
			`steward_decisions_total{reason="consent_granted"}`:                  1,
			`steward_decisions_total{reason="consent_denied"}`:                   1,
			`steward_decisions_total{reason="necessary"}`:                        1,
			`steward_decisions_total{reason="no_consent_recorded"}`:              1,
			`steward_ledger_appends_total`:                                       5,
			`steward_http_requests_total{code="200",route="POST /v1/decisions"}`: 1,
		} {
			if got, ok := metricValue(metrics, series); !ok || got != want {
				t.Errorf("%s = %v (found %v), want %v", series, got, ok, want)
			}
		}
	})
}

// metricValue finds a series in the Prometheus text format.
func metricValue(text, series string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

// asAPIError checks that err is a *client.Error with status.
func asAPIError(tb testing.TB, err error, status int) *client.Error {
	tb.Helper()
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		tb.Fatalf("error %v (%T), want *client.Error with status %d", err, err, status)
	}
	if apiErr.Status != status {
		tb.Fatalf("status %d (%v), want %d", apiErr.Status, apiErr, status)
	}
	return apiErr
}
