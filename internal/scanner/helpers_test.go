package scanner_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/testenv"
)

// openCatalog opens a consent service on store, seeded with the fixture's
// catalog.
func openCatalog(tb testing.TB, store *db.DB) *consent.Service {
	tb.Helper()
	key, err := receipt.LoadOrCreateKey(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := consent.Open(context.Background(), consent.Config{DB: store, Signer: signer, FollowInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(tb, svc)
	return svc
}

// needChrome skips (or fails under STEWARD_TEST_REQUIRE_ALL=1) without
// Chromium.
func needChrome(tb testing.TB) {
	tb.Helper()
	if _, err := scanner.FindChrome(""); err != nil {
		testenv.Missing(tb, "scanner tests need Chromium: %v", err)
	}
}
