package fulfil_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/fulfil"
)

const shopCorrectYAML = `connector: shop
engine: sqlite
dsn_env: SHOP_DB
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns:
      - {name: email, category: contact}
      - {name: name, category: contact, correctable: true}
`

const crmYAML = `connector: crm
engine: sqlite
dsn_env: CRM_DB
tables:
  - name: contacts
    identifier: {column: email, kind: email}
    columns:
      - {name: email, category: contact, erase: null}
      - {name: phone, category: contact, erase: null, correctable: true, auto_correct: true}
      - {name: points, category: other, erase: null, correctable: true, auto_correct: true}
`

// recipients is a fixed list of vendors that received the subject's data.
type recipients []string

func (r recipients) Recipients(context.Context, string) ([]string, error) { return r, nil }

// rectifyFixture is the fixture with a second system (crm), correctable
// fields, and the subject.rectified calls recorded.
type rectifyFixture struct {
	*fixture
	f      *fulfil.Fulfiller
	crm    *sql.DB
	crmDSN string
	told   []fulfil.Rectified
}

func newRectifyFixture(t *testing.T, store *db.DB) *rectifyFixture {
	t.Helper()
	fx := &rectifyFixture{fixture: newFixture(t, store)}
	fx.crmDSN = filepath.Join(t.TempDir(), "crm.db")
	crm, err := sql.Open("sqlite", fx.crmDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { crm.Close() })
	for _, stmt := range []string{
		`CREATE TABLE contacts (email TEXT, phone TEXT, points INTEGER)`,
		`INSERT INTO contacts VALUES ('Ada.Shop@example.org', '+44 1', 10), ('bob@example.org', '+49 1', 20)`,
	} {
		if _, err := crm.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	fx.crm = crm
	fx.env["CRM_DB"] = fx.crmDSN
	var datasets []*connector.Dataset
	for name, text := range map[string]string{"shop.yaml": shopCorrectYAML, "crm.yaml": crmYAML} {
		path := filepath.Join(t.TempDir(), name)
		os.WriteFile(path, []byte(text), 0o600)
		ds, err := connector.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		datasets = append(datasets, ds)
	}
	slices.SortFunc(datasets, func(a, b *connector.Dataset) int { return len(b.Name) - len(a.Name) }) // shop, then crm
	cfg := fx.fixture.f.Config
	cfg.Connectors = datasets
	cfg.VaultFields = map[string]bool{"iban": false, "phone": true}
	cfg.Recipients = recipients{"adnet", "carrier"}
	cfg.OnRectified = func(_ context.Context, tx *sql.Tx, r fulfil.Rectified) error {
		if tx == nil {
			t.Error("subject.rectified outside the step's transaction")
		}
		fx.told = append(fx.told, r)
		return nil
	}
	fx.f, err = fulfil.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// propose files a rectification of subject 1001 as the customer would.
func (fx *rectifyFixture) propose(t *testing.T, proposal map[string]string) (dsr.Request, bool, error) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: audit.KindSubject, ID: "1001"})
	hash, _ := fx.v.BlindIndex(ctx, "email", "ada.shop@example.org")
	return fx.f.FileRectification(ctx, dsr.NewRequest{Kind: dsr.KindRectification, Regime: dsr.GDPR, SubjectID: "1001",
		Email: "ada.shop@example.org", EmailHash: hash, Proposal: proposal})
}

func (fx *rectifyFixture) value(t *testing.T, q *sql.DB, query string) string {
	t.Helper()
	var v sql.NullString
	if err := q.QueryRow(query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v.String
}

// TestRectify replays the finding end to end: a proposal waits for an
// officer's approval (the job refuses it before, and nothing changes);
// once approved, it reaches the vault and each system; a system that fails
// leaves the request waiting on it, and the retry applies that system
// only (the other's row, changed meanwhile, is not written again); the
// vendors that received the data are told once, by field name; the
// request completes.
func TestRectify(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newRectifyFixture(t, store)
		staffCtx := audit.WithActor(ctx, audit.Staff("stf_officer"))
		r, started, err := fx.propose(t, map[string]string{
			"vault:iban":          "GB33BUKB20201555555555",
			"shop:customers.name": "Augusta Ada King",
			"crm:contacts.phone":  "+44 20 7946 0999",
		})
		if err != nil || started || r.State != dsr.StateReceived || r.ProposalApprovedAt != nil {
			t.Fatalf("filed %+v, started %v, %v", r, started, err)
		}
		if _, err := fx.req.Verify(staffCtx, r.ID); err != nil {
			t.Fatal(err)
		}
		if r, err = fx.req.Start(staffCtx, r.ID); err != nil {
			t.Fatal(err)
		}
		if args := fulfil.Work(r); args != nil {
			t.Fatalf("work of an unapproved proposal: %v", args)
		}
		if _, err := fx.f.Rectify(ctx, r.ID); errs.CodeOf(err) != errs.CodeConflict {
			t.Fatalf("Rectify before approval: %v, want conflict", err)
		}
		if rec, _ := fx.v.Get(ctx, "1001", "iban"); string(rec.Value) != "DE89370400440532013000" {
			t.Fatal("the vault changed before approval")
		}
		if r, err = fx.req.ApproveProposal(staffCtx, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := fulfil.Work(r).(fulfil.RectifyArgs); !ok {
			t.Fatalf("work of an approved proposal: %v", fulfil.Work(r))
		}

		fx.env["CRM_DB"] = filepath.Join(t.TempDir(), "missing", "crm.db")
		if _, err := fx.f.Rectify(ctx, r.ID); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("Rectify with crm down: %v, want unavailable", err)
		}
		waiting, _ := fx.req.Get(ctx, r.ID)
		if waiting.WaitingOn != "system crm" || waiting.State != dsr.StateInProgress {
			t.Fatalf("request while crm is down: %+v", waiting)
		}
		if got := fx.value(t, fx.shop, `SELECT name FROM customers WHERE id = '1001'`); got != "Augusta Ada King" {
			t.Fatalf("shop before the retry: %q", got)
		}
		if len(fx.told) != 0 {
			t.Fatal("recipients told before every system was corrected")
		}
		// Someone changes the shop's row meanwhile: a retry must not
		// apply the shop's correction again.
		if _, err := fx.shop.Exec(`UPDATE customers SET name = 'Changed since' WHERE id = '1001'`); err != nil {
			t.Fatal(err)
		}
		fx.env["CRM_DB"] = fx.crmDSN
		report, err := fx.f.Rectify(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, s := range report.Steps {
			steps = append(steps, s.Step)
		}
		slices.Sort(steps)
		if !slices.Equal(steps, []string{"recipients", "system:crm", "system:shop", "vault"}) {
			t.Fatalf("steps %v", steps)
		}
		if got := fx.value(t, fx.shop, `SELECT name FROM customers WHERE id = '1001'`); got != "Changed since" {
			t.Errorf("the retry applied the shop again: %q", got)
		}
		if got := fx.value(t, fx.crm, `SELECT phone FROM contacts WHERE email = 'Ada.Shop@example.org'`); got != "+44 20 7946 0999" {
			t.Errorf("crm phone %q", got)
		}
		if got := fx.value(t, fx.crm, `SELECT phone FROM contacts WHERE email = 'bob@example.org'`); got != "+49 1" {
			t.Errorf("another subject's crm row changed: %q", got)
		}
		if rec, err := fx.v.Get(ctx, "1001", "iban"); err != nil || string(rec.Value) != "GB33BUKB20201555555555" {
			t.Errorf("vault iban %q, %v", rec.Value, err)
		}
		want := fulfil.Rectified{SubjectID: "1001", RequestID: r.ID, Fields: []string{"crm:contacts.phone", "shop:customers.name", "vault:iban"},
			Vendors: []string{"adnet", "carrier"}}
		if len(fx.told) != 1 || fx.told[0].SubjectID != want.SubjectID || fx.told[0].RequestID != want.RequestID ||
			!slices.Equal(fx.told[0].Fields, want.Fields) || !slices.Equal(fx.told[0].Vendors, want.Vendors) {
			t.Fatalf("told %+v, want once %+v", fx.told, want)
		}
		done, _ := fx.req.Get(ctx, r.ID)
		if done.State != dsr.StateCompleted || done.WaitingOn != "" {
			t.Fatalf("request after rectification: %+v", done)
		}
		if _, err := fx.f.Rectify(ctx, r.ID); errs.CodeOf(err) != errs.CodeConflict || len(fx.told) != 1 {
			t.Fatalf("a second run: %v, told %d times", err, len(fx.told))
		}
	})
}

// TestRectifyRefusesClosedFields: a proposal for a field the company does
// not mark correctable (a column without correctable: true, a vault field
// not listed, a system that does not exist), or for a correctable vault
// field the subject does not have, is refused before anything is filed,
// the problem naming the field.
func TestRectifyRefusesClosedFields(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		fx := newRectifyFixture(t, store)
		for _, target := range []string{"shop:customers.email", "vault:national_id", "billing:accounts.iban", "vault:phone"} {
			t.Run(target, func(t *testing.T) {
				_, _, err := fx.propose(t, map[string]string{target: "x", "crm:contacts.phone": "+44 2"})
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid || e.Fields["proposal."+target] == "" || len(e.Fields) != 1 {
					t.Fatalf("proposal for %s: %v, want invalid naming proposal.%s only", target, err, target)
				}
			})
		}
		mine, _ := fx.req.ListForRequester(context.Background(), fx.mustHash(t))
		if len(mine) != 0 {
			t.Fatalf("%d requests filed", len(mine))
		}
	})
}

// TestRectifyAuto: where every proposed field corrects itself, a signed-in
// known subject's proposal is approved and started at filing, and applied
// without an officer.
func TestRectifyAuto(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newRectifyFixture(t, store)
		r, started, err := fx.propose(t, map[string]string{"crm:contacts.phone": "+44 2"})
		if err != nil || !started || r.State != dsr.StateInProgress || r.ProposalApprovedAt == nil {
			t.Fatalf("filed %+v, started %v, %v", r, started, err)
		}
		if _, ok := fulfil.Work(r).(fulfil.RectifyArgs); !ok {
			t.Fatalf("work %v", fulfil.Work(r))
		}
		if _, err := fx.f.Rectify(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if got := fx.value(t, fx.crm, `SELECT phone FROM contacts WHERE email = 'Ada.Shop@example.org'`); got != "+44 2" {
			t.Errorf("crm phone %q", got)
		}
	})
}

func (fx *rectifyFixture) mustHash(t *testing.T) []byte {
	t.Helper()
	h, err := fx.v.BlindIndex(context.Background(), "email", "ada.shop@example.org")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRectifyRefusesAValueTheColumnCannotHold: a value the system's column
// cannot hold (text for an integer) fails the job for good, naming the
// field, with nothing written and the request not left "waiting on" the
// system as if it were down.
func TestRectifyRefusesAValueTheColumnCannotHold(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newRectifyFixture(t, store)
		r, started, err := fx.propose(t, map[string]string{"crm:contacts.points": "many", "crm:contacts.phone": "+44 3"})
		if err != nil || !started {
			t.Fatalf("filed %+v, started %v, %v", r, started, err)
		}
		_, err = fx.f.Rectify(ctx, r.ID)
		if e, ok := errs.As(err); !ok || e.Code != errs.CodeInvalid || e.Fields["contacts.points"] == "" {
			t.Fatalf("Rectify = %v, want invalid naming contacts.points", err)
		}
		if got := fx.value(t, fx.crm, `SELECT phone FROM contacts WHERE email = 'Ada.Shop@example.org'`); got != "+44 1" {
			t.Errorf("crm written: phone %q", got)
		}
		if after, _ := fx.req.Get(ctx, r.ID); after.WaitingOn != "" {
			t.Errorf("request waiting on %q", after.WaitingOn)
		}
	})
}
