package inventory_test

import (
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/inventory"
)

func find[T any](t *testing.T, items []T, key func(T) string, want string) T {
	t.Helper()
	i := slices.IndexFunc(items, func(x T) bool { return key(x) == want })
	if i < 0 {
		t.Fatalf("no %q", want)
	}
	return items[i]
}

func systemKey(s inventory.System) string       { return s.Key }
func categoryKey(c inventory.Category) string   { return c.Key }
func purposeKey(p inventory.Purpose) string     { return p.Key }
func recipientKey(r inventory.Recipient) string { return r.Key }

// TestBuild: the map says for each system what it holds and why, and for
// each category where it lives and who receives it, as the catalog, the
// dataset files and the vault make it; in-house data reaches no vendor.
func TestBuild(t *testing.T) {
	m := inventory.Build(inventory.Inputs{Categories: vocabulary(), Purposes: purposes(), Vendors: vendors(),
		Datasets: []*connector.Dataset{shopDataset()}, HTTP: []*httpsystem.Dataset{crmSystem()},
		Vault: []inventory.VaultField{{Name: "passport", Category: "health", Count: 3}, {Name: "iban", Category: "financial", Count: 7}},
		Facts: map[string]inventory.Facts{"shop": {Owner: "Web team", Location: "DE", SecurityMeasures: "TLS, disk encryption"}}})

	var keys []string
	for _, s := range m.Systems {
		keys = append(keys, s.Key)
	}
	if want := []string{"steward.vault", "steward.ledger", "steward.archives", "shop", "crm"}; !slices.Equal(keys, want) {
		t.Fatalf("systems = %v, want %v", keys, want)
	}
	systems := []struct {
		key                          string
		categories, purposes, recips []string
		reasons                      int
		owner                        string
	}{
		{"steward.vault", []string{"financial", "health"}, []string{"billing"}, []string{"bank-de", "cloud-ch"}, 1, ""},
		{"steward.ledger", []string{"identifier", "device"}, []string{"marketing"}, []string{"mailer-us", "nowhere"}, 1, ""},
		{"steward.archives", []string{"contact", "identifier", "device", "financial", "health", "shoe_size"}, []string{"billing", "marketing"},
			[]string{"bank-de", "cloud-ch", "mailer-us", "nowhere"}, 1, ""},
		{"shop", []string{"contact", "financial", "health"}, []string{"billing", "marketing"}, []string{"bank-de", "cloud-ch", "mailer-us"}, 1, "Web team"},
		{"crm", []string{"contact", "shoe_size"}, []string{"billing", "marketing"}, []string{"bank-de", "mailer-us"}, 1, ""},
	}
	for _, want := range systems {
		t.Run("system "+want.key, func(t *testing.T) {
			s := find(t, m.Systems, systemKey, want.key)
			if !slices.Equal(s.Categories, want.categories) || !slices.Equal(s.Purposes, want.purposes) || !slices.Equal(s.Recipients, want.recips) ||
				len(s.Reasons) != want.reasons || s.Facts.Owner != want.owner {
				t.Errorf("got categories %v purposes %v recipients %v reasons %q owner %q;\nwant %v %v %v, %d reasons, owner %q",
					s.Categories, s.Purposes, s.Recipients, s.Reasons, s.Facts.Owner, want.categories, want.purposes, want.recips, want.reasons, want.owner)
			}
		})
	}
	shop := find(t, m.Systems, systemKey, "shop")
	if got := shop.Tables[1].Columns[0]; got.Erase != "delete_row" || got.Category != "health" {
		t.Errorf("tickets.symptoms = %+v, want health erased with its row", got)
	}
	if shop.Reasons[0] != "Tax law keeps invoices 10 years" {
		t.Errorf("shop reasons = %q", shop.Reasons)
	}

	categories := []struct {
		key                 string
		systems, recipients []string
		special, undeclared bool
	}{
		{"contact", []string{"crm", "shop", "steward.archives"}, []string{"bank-de", "mailer-us"}, false, false},
		{"health", []string{"shop", "steward.archives", "steward.vault"}, nil, true, false},
		// payroll is in-house: Bank AG declares it but never receives it.
		{"payroll", nil, nil, false, false},
		{"shoe_size", []string{"crm", "steward.archives"}, nil, false, true},
	}
	for _, want := range categories {
		t.Run("category "+want.key, func(t *testing.T) {
			c := find(t, m.Categories, categoryKey, want.key)
			if !slices.Equal(c.Systems, want.systems) || !slices.Equal(c.Recipients, want.recipients) || c.Special != want.special || c.Undeclared != want.undeclared {
				t.Errorf("got %+v, want systems %v recipients %v special %v undeclared %v", c, want.systems, want.recipients, want.special, want.undeclared)
			}
		})
	}
	if last := m.Categories[len(m.Categories)-1]; last.Key != "shoe_size" {
		t.Errorf("last category = %q, want the undeclared one after the vocabulary", last.Key)
	}

	bank := find(t, m.Recipients, recipientKey, "bank-de")
	if !slices.Equal(bank.Categories, []string{"contact", "financial"}) || !slices.Equal(bank.Withheld, []string{"payroll"}) || bank.ThirdCountry {
		t.Errorf("bank-de = %+v, want contact and financial, payroll withheld, in the EEA", bank)
	}
	if us := find(t, m.Recipients, recipientKey, "mailer-us"); !us.ThirdCountry || us.Safeguard != "" {
		t.Errorf("mailer-us = %+v, want a third country without safeguard", us)
	}
	if m.Purposes[0].Key != "billing" {
		t.Errorf("purposes start with %q, want billing (catalog position)", m.Purposes[0].Key)
	}
	billing := find(t, m.Purposes, purposeKey, "billing")
	if !slices.Equal(billing.Categories, []string{"contact", "financial"}) || !slices.Equal(billing.Recipients, []string{"bank-de", "cloud-ch"}) {
		t.Errorf("billing = %+v", billing)
	}

	gaps := map[inventory.Gap]bool{}
	for _, g := range m.Gaps {
		gaps[g] = true
	}
	for _, want := range []struct {
		gap  inventory.Gap
		want bool
	}{
		{inventory.Gap{Kind: inventory.GapNoOwner, Key: "crm"}, true},
		{inventory.Gap{Kind: inventory.GapNoOwner, Key: "shop"}, false},
		{inventory.Gap{Kind: inventory.GapNoMeasures, Key: "steward.vault"}, true},
		{inventory.Gap{Kind: inventory.GapNoSafeguard, Key: "mailer-us"}, true},
		{inventory.Gap{Kind: inventory.GapNoSafeguard, Key: "cloud-ch"}, false},
		{inventory.Gap{Kind: inventory.GapNoCountry, Key: "nowhere"}, true},
		{inventory.Gap{Kind: inventory.GapUndeclared, Key: "shoe_size"}, true},
		// health is held without retention and serves no purpose that sets one.
		{inventory.Gap{Kind: inventory.GapNoRetention, Key: "health"}, true},
		// financial has its own; identifier serves no retention either.
		{inventory.Gap{Kind: inventory.GapNoRetention, Key: "financial"}, false},
		{inventory.Gap{Kind: inventory.GapNoRetention, Key: "identifier"}, true},
	} {
		if gaps[want.gap] != want.want {
			t.Errorf("gap %+v present = %v, want %v", want.gap, gaps[want.gap], want.want)
		}
	}
}

// TestBuildEmpty: without connected systems, vendors or vault fields the
// map still shows Steward's own stores, with empty lists rather than nulls.
func TestBuildEmpty(t *testing.T) {
	m := inventory.Build(inventory.Inputs{Categories: vocabulary()})
	if len(m.Systems) != 3 || m.Systems[0].Categories == nil || m.Systems[0].Tables == nil || m.Recipients == nil || m.Purposes == nil {
		t.Fatalf("empty map = %+v", m)
	}
	if v := m.Systems[0]; len(v.Categories) != 0 || len(v.Recipients) != 0 {
		t.Errorf("empty vault = %+v", v)
	}
}

// BenchmarkBuild: the map and the record of 200 systems with 25 columns
// each (5,000 columns), the bound being 1 s.
func BenchmarkBuild(b *testing.B) {
	in := bigInputs(200, 25)
	b.ReportAllocs()
	for b.Loop() {
		m := inventory.Build(in)
		_ = inventory.BuildROPA(m, inventory.Controller{Name: "Example Shop"}, fixedNow)
	}
}
