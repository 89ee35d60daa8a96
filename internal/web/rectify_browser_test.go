package web_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/testenv"
)

// mariaDB opens the test MariaDB (STEWARD_TEST_MARIADB_DSN or root at
// 127.0.0.1:3306, database test) and returns its DSN and a table prefix of
// the test's own; the prefixed tables are dropped when the test ends.
// Without a server the test skips (fails under STEWARD_TEST_REQUIRE_ALL=1).
func mariaDB(t *testing.T) (*sql.DB, string, string) {
	t.Helper()
	dsn := os.Getenv("STEWARD_TEST_MARIADB_DSN")
	if dsn == "" {
		dsn = "root@tcp(127.0.0.1:3306)/test"
	}
	conn, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := conn.PingContext(ctx); err != nil {
		testenv.Missing(t, "MariaDB not reachable: %v", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return conn, dsn, "t" + hex.EncodeToString(b[:]) + "_"
}

// TestRectifyInBrowser walks a correction on both stores: the customer
// proposes new values in the portal for a column of a PostgreSQL system
// and one of a MariaDB system; staff see the proposal masked, reveal it and
// approve; the job writes both rows and emits subject.rectified with the
// fields and no value; the portal shows the request completed.
func TestRectifyInBrowser(t *testing.T) {
	forStores(t, func(t *testing.T, dialect db.Dialect) {
		const subject, email = "cust-walk-3", "rosa.walk@example.org"
		const oldName, newName = "Rosa Oldname", "Rosa Newname"
		const oldPhone, newPhone = "+49 30 1111 1111", "+49 30 2222 2222"

		pgURL := dbtest.PostgresURL(t)
		pg, err := sql.Open("pgx", pgURL)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		for _, stmt := range []string{
			`CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT, name TEXT)`,
			`INSERT INTO customers VALUES ('` + subject + `', '` + email + `', '` + oldName + `'), ('cust-other', 'other@example.org', 'Other Person')`,
		} {
			if _, err := pg.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		maria, mariaDSN, prefix := mariaDB(t)
		contacts := prefix + "contacts"
		t.Cleanup(func() { maria.Exec("DROP TABLE IF EXISTS " + contacts) })
		for _, stmt := range []string{
			`CREATE TABLE ` + contacts + ` (email VARCHAR(200) PRIMARY KEY, phone VARCHAR(50))`,
			`INSERT INTO ` + contacts + ` VALUES ('` + email + `', '` + oldPhone + `'), ('other@example.org', '+1 555 0100')`,
		} {
			if _, err := maria.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		dir := filepath.Join(t.TempDir(), "connectors")
		os.Mkdir(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "billing.yaml"), []byte(`connector: billing
engine: postgres
dsn_env: BILLING_DB
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns:
      - {name: email, category: contact}
      - {name: name, category: contact, correctable: true}
`), 0o600)
		os.WriteFile(filepath.Join(dir, "crm.yaml"), []byte(`connector: crm
engine: mariadb
dsn_env: CRM_DB
tables:
  - name: `+contacts+`
    identifier: {column: email, kind: email}
    erase: delete_row
    columns:
      - {name: email, category: contact}
      - {name: phone, category: contact, correctable: true}
`), 0o600)

		w := newWalk(t, dialect, apptest.Options{Connectors: dir, Env: map[string]string{"BILLING_DB": pgURL, "CRM_DB": mariaDSN}}, subject, email)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		t.Cleanup(hook.Close)
		if _, _, err := w.srv.App.Outbox.CreateEndpoint(w.ctx, outbox.Endpoint{URL: hook.URL + "/hooks", EventTypes: []string{outbox.SubjectRectified}}); err != nil {
			t.Fatal(err)
		}

		w.signIn("en")
		nameTarget, phoneTarget := "billing:customers.name", "crm:"+contacts+".phone"
		w.run("propose",
			chromedp.WaitVisible(chromedp.CSS(`#correct`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="new.`+nameTarget+`"]`), newName),
			chromedp.SendKeys(chromedp.CSS(`input[name="new.`+phoneTarget+`"]`), newPhone),
			chromedp.Click(chromedp.CSS(`form[action="/privacy/rectify"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)))
		if got := w.text("#requests tbody"); !strings.Contains(got, "New values proposed for") {
			t.Errorf("the portal's list does not show the proposal: %q", got)
		}
		var id string
		for _, r := range w.requests() {
			if r.Kind == dsr.KindRectification {
				id = r.ID
			}
		}
		if id == "" {
			t.Fatal("the proposal filed no rectification")
		}

		// html/template writes "+" as "&#43;": compare the pages' text.
		page := w.officer.do("GET", "/admin/requests/"+id, nil)
		if text := html.UnescapeString(page.body); !strings.Contains(text, phoneTarget) || strings.Contains(text, newName) || strings.Contains(text, newPhone) {
			t.Fatalf("the request page before the reveal: %.3000s", page.body)
		}
		shown := w.officer.do("POST", "/admin/requests/"+id+"/proposal", url.Values{"csrf": {w.officer.formToken("/admin/requests/" + id)}})
		if text := html.UnescapeString(shown.body); shown.status != http.StatusOK || !strings.Contains(text, newName) || !strings.Contains(text, newPhone) {
			i := strings.Index(shown.body, "proposal-h")
			t.Fatalf("the proposal revealed: %d %.3000s", shown.status, shown.body[max(i, 0):])
		}
		w.staffAct(id, "verify", nil)
		w.staffAct(id, "approve_proposal", nil)
		w.waitState(id, dsr.StateCompleted)

		var name, phone, otherName, otherPhone string
		pg.QueryRow(`SELECT name FROM customers WHERE id = $1`, subject).Scan(&name)
		pg.QueryRow(`SELECT name FROM customers WHERE id = 'cust-other'`).Scan(&otherName)
		maria.QueryRow(`SELECT phone FROM `+contacts+` WHERE email = ?`, email).Scan(&phone)
		maria.QueryRow(`SELECT phone FROM ` + contacts + ` WHERE email = 'other@example.org'`).Scan(&otherPhone)
		if name != newName || phone != newPhone || otherName != "Other Person" || otherPhone != "+1 555 0100" {
			t.Errorf("after the rectification: PostgreSQL %q (other %q), MariaDB %q (other %q)", name, otherName, phone, otherPhone)
		}
		var body string
		if err := w.srv.App.DB.QueryRowContext(w.ctx, `SELECT body FROM outbox_messages WHERE event_type = $1`, outbox.SubjectRectified).Scan(&body); err != nil {
			t.Fatalf("no subject.rectified message: %v", err)
		}
		for _, want := range []string{id, nameTarget, phoneTarget} {
			if !strings.Contains(body, want) {
				t.Errorf("subject.rectified lacks %q: %s", want, body)
			}
		}
		for _, value := range []string{oldName, newName, oldPhone, newPhone, email} {
			if strings.Contains(body, value) {
				t.Errorf("subject.rectified holds %q: %s", value, body)
			}
		}

		w.run("the request in the portal", chromedp.Navigate(w.base+"/privacy/requests/"+id), chromedp.WaitVisible(chromedp.CSS(`#next-h`)))
		if got := w.text("main dl"); !strings.Contains(got, "completed") {
			t.Errorf("the portal's request page: %q", got)
		}
		if dialect == db.SQLite {
			axeRun(t, w.tab, "portal request page of a completed rectification")
		}
	})
}
