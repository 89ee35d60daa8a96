package tcf_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/tcf"
)

func TestVendorListImportAndLatest(t *testing.T) {
	body, err := os.ReadFile("testdata/gvl-v3.json")
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		lists := tcf.NewVendorLists(store, time.Now)
		if _, err := lists.Latest(ctx); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Latest before import: %v, want not found", err)
		}
		stored, err := lists.Import(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Version != 142 || stored.PolicyVersion != 5 || stored.Vendors != 15 {
			t.Fatalf("imported %+v", stored)
		}
		newer := strings.Replace(string(body), `"vendorListVersion": 142`, `"vendorListVersion": 143`, 1)
		if _, err := lists.Import(ctx, []byte(newer)); err != nil {
			t.Fatal(err)
		}
		latest, err := lists.Latest(ctx)
		if err != nil || latest.Version != 143 || !strings.Contains(string(latest.Body), `"Synthetic Vendor 300"`) {
			t.Fatalf("Latest = %+v, %v", latest, err)
		}
	})
}

func TestParseVendorListRefusesBadLists(t *testing.T) {
	cases := map[string]string{
		"not json":       `{`,
		"no version":     `{"tcfPolicyVersion":5,"purposes":{"1":{}}}`,
		"old policy":     `{"vendorListVersion":1,"tcfPolicyVersion":2,"purposes":{"1":{}}}`,
		"no purposes":    `{"vendorListVersion":1,"tcfPolicyVersion":5}`,
		"id mismatch":    `{"vendorListVersion":1,"tcfPolicyVersion":5,"purposes":{"1":{}},"vendors":{"2":{"id":3}}}`,
		"bad purpose id": `{"vendorListVersion":1,"tcfPolicyVersion":5,"purposes":{"1":{}},"vendors":{"2":{"id":2,"purposes":[99]}}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := tcf.ParseVendorList([]byte(body)); err == nil || !strings.HasPrefix(err.Error(), "tcf: ") {
				t.Fatalf("error %v", err)
			}
		})
	}
}
