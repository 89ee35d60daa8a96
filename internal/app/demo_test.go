package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/staff"
)

// TestDemoStaffHasAnAdministrator: the demo prints an administrator (who
// manages staff and keys) beside the two officers, each able to sign in.
func TestDemoStaffHasAnAdministrator(t *testing.T) {
	ctx := context.Background()
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Demo: true})
	accounts, err := srv.App.SeedDemoStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var roles []staff.Role
	for _, a := range accounts {
		roles = append(roles, a.Role)
		if a.Password == "" || a.TOTPSecret == "" {
			t.Errorf("%s: no password or TOTP secret to print", a.Role)
		}
	}
	if want := []staff.Role{staff.RoleAdmin, staff.RolePrivacyOfficer, staff.RoleSecurityOfficer}; !slices.Equal(roles, want) {
		t.Fatalf("demo staff %v, want %v", roles, want)
	}
}
