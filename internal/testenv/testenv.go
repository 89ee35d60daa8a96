// Package testenv decides what a test does when something it needs from the
// machine (PostgreSQL, MariaDB, Chromium) is missing: skip with a one-line
// reason, or fail when STEWARD_TEST_REQUIRE_ALL=1 (as CI sets it).
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RequireAll reports whether missing test dependencies must fail the test.
func RequireAll() bool { return os.Getenv("STEWARD_TEST_REQUIRE_ALL") == "1" }

// Missing skips tb with reason, or fails it when RequireAll is set.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	reason := fmt.Sprintf(format, args...)
	if RequireAll() {
		tb.Fatalf("STEWARD_TEST_REQUIRE_ALL=1 and %s", reason)
	}
	tb.Skip(reason)
}

// Soak reports whether load-style tests run at full size
// (STEWARD_TEST_SOAK=1). By default they run a smaller size that still
// takes every path they test, so that the suite stays quick; the full size
// is for a soak run before a release or after a change to the code they
// load.
func Soak() bool { return os.Getenv("STEWARD_TEST_SOAK") == "1" }
