package scanner_test

import (
	"errors"
	"testing"

	"github.com/steward-dev/steward/internal/scanner"
)

// TestScansOff: --scan-chrome off turns the scans off even where Chromium
// is installed (on PATH, or named by a path that exists).
func TestScansOff(t *testing.T) {
	if _, err := scanner.FindChrome(scanner.ChromeOff); !errors.Is(err, scanner.ErrScansOff) {
		t.Fatalf("FindChrome(off) = %v, want ErrScansOff", err)
	}
}
