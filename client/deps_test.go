package client_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// leafPackages are the module's packages the SDK may import: each uses the
// standard library only, so that a program that calls Steward does not
// carry its server (database drivers, job queue...).
var leafPackages = []string{
	"github.com/steward-dev/steward/client",
	"github.com/steward-dev/steward/internal/stdwebhooks",
	"github.com/steward-dev/steward/internal/consentrules",
}

// TestSDKIsALeaf fails when the SDK, directly or through another package,
// imports anything but the standard library and the leaf packages.
func TestSDKIsALeaf(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("STEWARD_TEST_REQUIRE_ALL") != "" {
			t.Fatalf("the go command is needed to list the SDK's imports: %v", err)
		}
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var imported []string
	for _, pkg := range strings.Fields(string(out)) {
		imported = append(imported, pkg)
		if !slices.Contains(leafPackages, pkg) {
			t.Errorf("the SDK imports %s, which is neither the standard library nor a leaf package", pkg)
		}
	}
	if !slices.Contains(imported, leafPackages[0]) {
		t.Fatalf("go list -deps did not list the SDK itself: %q", out)
	}
}
