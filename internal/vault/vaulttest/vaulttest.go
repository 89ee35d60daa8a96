// Package vaulttest opens a vault for the tests of the packages that seal
// their secrets with it (staff, customers, requests, exports, vendors,
// webhooks): unsealed, under a fresh random key.
//
//	v := vaulttest.Open(t, store)
//	box, err := v.SecretBox("dsr")
package vaulttest

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/vault"
)

// Open returns a vault on store under a new key; adjust may change its
// configuration (a clock, say) before it opens.
func Open(tb testing.TB, store *db.DB, adjust ...func(*vault.Config)) *vault.Vault {
	tb.Helper()
	ring, err := vault.ParseKeyring(vault.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	cfg := vault.Config{DB: store, Keyring: ring}
	for _, a := range adjust {
		a(&cfg)
	}
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
