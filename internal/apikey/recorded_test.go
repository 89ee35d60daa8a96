package apikey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// TestMayMint: an admin key makes every kind of key but a reveal key; the
// refusal is forbidden and names scope.
func TestMayMint(t *testing.T) {
	cases := []struct {
		minter, scope apikey.Scope
		want          errs.Code
	}{
		{apikey.ScopeAdmin, apikey.ScopeDecide, ""},
		{apikey.ScopeAdmin, apikey.ScopeAdmin, ""},
		{apikey.ScopeAdmin, apikey.ScopeIngest, ""},
		{apikey.ScopeAdmin, apikey.ScopeDisclose, ""},
		{apikey.ScopeAdmin, apikey.ScopeReveal, errs.CodeForbidden},
		{apikey.ScopeReveal, apikey.ScopeReveal, errs.CodeForbidden},
		{apikey.ScopeDecide, apikey.ScopeDecide, errs.CodeForbidden},
	}
	for _, c := range cases {
		err := apikey.MayMint(c.minter, c.scope)
		if errs.CodeOf(err) != c.want && !(c.want == "" && err == nil) {
			t.Errorf("MayMint(%s, %s) = %v, want %q", c.minter, c.scope, err, c.want)
		}
	}
	if e, _ := errs.As(apikey.MayMint(apikey.ScopeAdmin, apikey.ScopeReveal)); e == nil || e.Fields["scope"] == "" {
		t.Fatal("the refusal does not name scope")
	}
}

// TestRecordedKeysFailClosed: a key made or revoked for someone is in the
// audit log with its id and label (never the secret), and is not made or
// revoked when the log cannot be written.
func TestRecordedKeysFailClosed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		keys := apikey.NewStore(store, time.Now)
		by := audit.Staff("st_admin")
		plain, k, err := keys.CreateRecorded(ctx, log, by, "console", apikey.ScopeReveal, "", "refund desk")
		if err != nil {
			t.Fatal(err)
		}
		page, err := log.Search(ctx, audit.Query{Action: "api_key.create", Target: audit.Target{Kind: audit.KindAPIKey, ID: k.ID}})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != by || strings.Contains(page.Entries[0].Details.String(), plain) ||
			!strings.Contains(page.Entries[0].Details.String(), `"label":"refund desk"`) {
			t.Fatalf("creation entry: %+v %v", page.Entries, err)
		}
		audittest.MakeUnwritable(t, store)
		if _, _, err := keys.CreateRecorded(ctx, log, by, "console", apikey.ScopeReveal, "", "second"); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("create with the audit log unwritable: %v", err)
		}
		if err := keys.RevokeRecorded(ctx, log, by, "console", k.ID); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("revoke with the audit log unwritable: %v", err)
		}
		list, err := keys.List(ctx)
		if err != nil || len(list) != 1 || list[0].RevokedAt != nil {
			t.Fatalf("keys changed: %+v %v", list, err)
		}
		if _, err := keys.Check(ctx, plain); err != nil {
			t.Fatalf("the key was revoked: %v", err)
		}
	})
}
