package fulfil_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/vault"
)

// The synthetic subject's values: none may be readable after the erasure.
var adaValues = []string{"Ada Lovelace", "ada.shop@example.org", "DE89370400440532013000", "leave at the door"}

// TestErasureReachesEveryCopy replays issue 12: an export filed and
// downloaded, then a completed erasure, after which the old archive still
// downloaded with the vault values and the system's rows in clear. Now the
// archive answers not found, its rows are gone, a restored copy of its rows
// cannot be opened (its key was sealed under the shredded subject key), the
// requester's details, sign-in codes, disclosure texts, email blind index
// and place in an incident's affected set are gone, and the raw store
// holds none of the values.
func TestErasureReachesEveryCopy(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newFixture(t, store)
		if _, err := fx.v.Put(ctx, "1001", vaultField("email", "contact", "ada.shop@example.org")); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.v.Put(ctx, "1001", vaultField("name", "contact", "Ada Lovelace")); err != nil {
			t.Fatal(err)
		}
		customerBox, _ := fx.v.SecretBox("customer-email")
		customers, err := customer.New(customer.Config{DB: store, Secrets: customerBox, Directory: fx.v, Audit: fx.log})
		if err != nil {
			t.Fatal(err)
		}
		fx.f.Customers = customers
		if _, err := customers.RequestCode(ctx, "ada.shop@example.org", strings.Repeat("b", 64), "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ExecContext(ctx, `INSERT INTO disclosures (id, subject_id, vendor, purpose, categories, reason, state, basis, blocked_reason, asked_by, created_at, needed_by)
			VALUES ('dsc_1', '1001', 'courier', 'delivery', '["contact"]', 'Ada Lovelace asked for evening delivery', 'pending', '', '', 'shop', 1, 9999999999999999)`); err != nil {
			t.Fatal(err)
		}
		fx.f.Disclosures = disclosureForget{store}

		// An incident's affected set names the subject.
		incidents, err := incident.New(incident.Config{DB: store, Audit: fx.log})
		if err != nil {
			t.Fatal(err)
		}
		fx.f.Incidents = incidents
		title, kind := "Lost backup tape", incident.Confidentiality
		inc, err := incidents.Create(auditStaff(), incident.Input{Title: &title, Kind: &kind})
		if err != nil {
			t.Fatal(err)
		}
		set, err := incidents.Compute(auditStaff(), inc.ID, incident.Method{Kind: incident.MethodUpload, ExternalIDs: []string{"1001"}})
		if err != nil || set.Members != 1 {
			t.Fatalf("affected set: %+v, %v", set, err)
		}

		// A pending rectification whose details quote the IBAN, and an
		// export, filed and downloaded.
		fx.fileWith(t, dsr.KindRectification, "My IBAN is DE89370400440532013000, not the old one")
		exp := fx.fileWith(t, dsr.KindExport, "")
		info, err := fx.f.Export(ctx, exp.ID)
		if err != nil {
			t.Fatal(err)
		}
		download := readArchive(t, fx.f.Exports, info.ID)
		for _, v := range []string{"DE89370400440532013000", "leave at the door", "Ada Lovelace"} {
			if !bytes.Contains(download, []byte(v)) {
				t.Fatalf("the archive before the erasure lacks %q: the test would prove nothing", v)
			}
		}
		// A backup of the archive's rows, taken before the erasure.
		backup := copyRows(t, store, `SELECT id, request_id, subject_id, identity_sealed, bytes, created_at, completed_at, expires_at FROM exports`)
		chunks := copyRows(t, store, `SELECT export_id, n, data FROM export_chunks`)
		if len(backup) != 1 || len(chunks) == 0 {
			t.Fatalf("backup: %d archives, %d chunks", len(backup), len(chunks))
		}

		// The raw search finds what is stored in clear (the disclosure's
		// reason), so that its zero below means something.
		if hits := dbtest.RawHits(t, store, "Ada Lovelace"); hits == 0 {
			t.Fatal("the raw search finds nothing before the erasure")
		}

		er := fx.fileWith(t, dsr.KindErasure, "")
		report, err := fx.f.Erase(ctx, er.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done, _ := fx.req.Get(ctx, er.ID); done.State != dsr.StateCompleted {
			t.Fatalf("erasure: %+v", done)
		}

		// The old archive's URL: not found.
		if _, err := fx.f.Exports.Open(ctx, info.ID); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("the old archive opens after the erasure: %v", err)
		}
		for query, want := range map[string]int{
			`SELECT count(*) FROM exports`:                                                                                          0,
			`SELECT count(*) FROM export_chunks`:                                                                                    0,
			`SELECT count(*) FROM customer_codes`:                                                                                   0,
			`SELECT count(*) FROM vault_lookups WHERE subject_id = '1001'`:                                                          0,
			`SELECT count(*) FROM dsr_requests WHERE details_sealed IS NOT NULL`:                                                    0,
			`SELECT count(*) FROM disclosures WHERE reason <> '' OR state = 'pending'`:                                              0,
			`SELECT count(*) FROM incident_affected_members WHERE subject_id = '1001'`:                                              0,
			`SELECT count(*) FROM incident_affected_sets WHERE erased = 1`:                                                          1,
			`SELECT count(*) FROM dsr_requests WHERE email_hash = (SELECT email_hash FROM dsr_requests WHERE id = '` + er.ID + `')`: 2, // the erasure and the open rectification
		} {
			var n int
			if err := store.QueryRowContext(ctx, query).Scan(&n); err != nil || n != want {
				t.Errorf("%s = %d, %v; want %d", query, n, err, want)
			}
		}
		if contact, err := fx.req.Contact(ctx, exp.ID); err != nil || contact != "" {
			t.Errorf("the closed export request still has its address: %q, %v", contact, err)
		}
		places := report.Places()
		if len(places) != 4 || places[2].Kind != "steward" || places[2].Erased < 5 || places[3].System != "shop" || places[3].Kept == 0 {
			t.Errorf("places: %+v", places)
		}
		// The ledger's place counts what was erased there, not the
		// erasure's sequence number, which its report also carries.
		var ledger struct{ Events, Devices, Restrictions int64 }
		if err := json.Unmarshal(report.Steps[1].Report, &ledger); err != nil || places[1].Kind != "ledger" ||
			places[1].Erased != ledger.Events+ledger.Devices+ledger.Restrictions {
			t.Errorf("the ledger's place: %+v, report %s, %v", places[1], report.Steps[1].Report, err)
		}

		// The backup's rows restored: the archive still does not open, as
		// its key was sealed under the subject's data key, now destroyed.
		restoreRows(t, store, `INSERT INTO exports (id, request_id, subject_id, identity_sealed, bytes, created_at, completed_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, backup)
		restoreRows(t, store, `INSERT INTO export_chunks (export_id, n, data) VALUES ($1, $2, $3)`, chunks)
		if _, err := fx.f.Exports.Open(ctx, info.ID); errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("a restored copy of the archive opens: %v", err)
		}

		// The raw store: no value of the subject, anywhere.
		for _, v := range adaValues {
			if hits := dbtest.RawHits(t, store, v); hits != 0 {
				t.Errorf("the raw store holds %q %d times", v, hits)
			}
		}
	})
}

// fileWith files and starts a request of the fixture's subject with details.
func (fx *fixture) fileWith(t *testing.T, kind dsr.Kind, details string) dsr.Request {
	t.Helper()
	ctx := auditStaff()
	hash, _ := fx.v.BlindIndex(ctx, "email", "ada.shop@example.org")
	r, err := fx.req.File(ctx, dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, SubjectID: "1001", Email: "ada.shop@example.org", EmailHash: hash, Details: details})
	if err != nil {
		t.Fatal(err)
	}
	fx.prove(t, r.ID)
	if _, err := fx.req.Verify(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if r, err = fx.req.Start(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	return r
}

func readArchive(t *testing.T, s *export.Store, id string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return unzipAll(t, raw)
}

// disclosureForget blanks disclosures as disclosure.Service.Forget does,
// without the service's consent and assurance dependencies.
type disclosureForget struct{ store *db.DB }

func (d disclosureForget) Forget(ctx context.Context, subject string) (int, error) {
	res, err := d.store.ExecContext(ctx, `UPDATE disclosures SET reason = '', state = CASE WHEN state = 'pending' THEN 'expired' ELSE state END WHERE subject_id = $1`, subject)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func copyRows(t *testing.T, store *db.DB, query string) [][]any {
	t.Helper()
	rows, err := store.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	return out
}

func restoreRows(t *testing.T, store *db.DB, insert string, rows [][]any) {
	t.Helper()
	for _, r := range rows {
		if _, err := store.Exec(insert, r...); err != nil {
			t.Fatal(err)
		}
	}
}

func vaultField(name, category, value string) vault.Field {
	return vault.Field{Name: name, Category: category, Value: []byte(value)}
}

func auditStaff() context.Context {
	return audit.WithActor(context.Background(), audit.Staff("stf_test"))
}

// unzipAll returns the concatenated contents of every file in a zip.
func unzipAll(t *testing.T, raw []byte) []byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, b...)
	}
	return out
}
