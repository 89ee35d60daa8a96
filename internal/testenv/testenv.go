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
