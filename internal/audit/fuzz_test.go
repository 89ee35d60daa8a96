package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// FuzzVerifyBundle checks VerifyBundle, which reads an evidence bundle
// someone hands the verifier, on fuzzed bundles, with the signer's key
// trusted or not. It never panics; an error is an invalid error naming the
// bundle; a report's counts are consistent; and a bundle
// that verifies with no problem under the trusted key holds only entry
// records of a bundle the log exported.
func FuzzVerifyBundle(f *testing.F) {
	// The log is built on SQLite alone: it only supplies the seed bundles,
	// which the bundle tests make on both engines.
	l, signer := bundleLog(f, dbtest.Open(f, db.SQLite))
	genuine := map[string]bool{}
	for _, r := range [][2]time.Time{{secondClock(11), secondClock(17)}, {epoch.Add(-time.Hour), secondClock(40)}, {secondClock(30), secondClock(40)}} {
		var buf bytes.Buffer
		if _, err := l.ExportBundle(context.Background(), r[0], r[1], &buf); err != nil {
			f.Fatal(err)
		}
		bundle := buf.String()
		for _, line := range strings.Split(bundle, "\n") {
			if strings.Contains(line, `"type":"entry"`) {
				genuine[canonicalJSON(line)] = true
			}
		}
		f.Add(bundle, true)
		f.Add(bundle, false)
		lines := strings.Split(bundle, "\n")
		if len(lines) > 6 {
			lines[4], lines[5] = lines[5], lines[4]
			f.Add(strings.Join(lines, "\n"), true)
		}
	}
	for _, seed := range []string{``, "\n", `{}`, `{"type":"header"}`, `{"type":"header","format":"steward-audit-bundle","version":99}`, "x\ny"} {
		f.Add(seed, false)
	}
	trusted := signer.Verifier()

	f.Fuzz(func(t *testing.T, bundle string, trust bool) {
		var keys []*Verifier
		if trust {
			keys = []*Verifier{trusted}
		}
		r, err := VerifyBundle(strings.NewReader(bundle), keys...)
		if err != nil {
			// A string reader never fails: every error is the bundle's.
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.CodeInvalid || e.Fields["bundle"] == "" {
				t.Fatalf("refusal does not name the bundle: %#v", err)
			}
			return
		}
		if r.Trusted != trust || r.Verified > r.Entries || r.Verified < 0 || r.First < 1 || r.Last < r.First ||
			r.Through < r.Last || r.Uncovered < 0 || r.Uncovered > r.Last-r.First+1 {
			t.Fatalf("inconsistent report: %+v", r)
		}
		for _, p := range r.Problems {
			if p.Text == "" || p.Kind == "" || strings.Contains(p.Text, "\n") {
				t.Fatalf("problem %+v is empty or not one line", p)
			}
		}
		if !trust || !r.OK() {
			return
		}
		for _, line := range strings.Split(bundle, "\n") {
			if strings.Contains(line, `"type":"entry"`) && !genuine[canonicalJSON(line)] {
				t.Fatalf("a bundle verified with an entry the log never exported: %s", line)
			}
		}
	})
}

// canonicalJSON is line re-encoded (sorted keys, no spaces), or line itself
// when it is not JSON: a record reformatted is the same record.
func canonicalJSON(line string) string {
	var v any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		return line
	}
	out, _ := json.Marshal(v)
	return string(out)
}
