package backup

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseKeepPolicy(t *testing.T) {
	tests := []struct {
		in   string
		want KeepPolicy
		bad  bool
	}{
		{in: "7d,4w,12m", want: KeepPolicy{Days: 7, Weeks: 4, Months: 12}},
		{in: "12m, 7d", want: KeepPolicy{Days: 7, Months: 12}},
		{in: "0d", want: KeepPolicy{}},
		{in: "", bad: true},
		{in: "7", bad: true},
		{in: "7y", bad: true},
		{in: "-1d", bad: true},
		{in: "7d,7d", bad: true},
		{in: "xd", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKeepPolicy(tt.in)
			if (err != nil) != tt.bad || !tt.bad && got != tt.want {
				t.Fatalf("ParseKeepPolicy(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}

// listed is a backup at the given time, complete unless said.
func listed(at string, complete bool) Listed {
	created, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return Listed{ID: created.Format(idTimeLayout) + "-000000", Created: created, Complete: complete}
}

func TestKeep(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) // a Monday, ISO week 50
	daily := func(days int) []Listed {
		var out []Listed
		for i := range days {
			out = append(out, listed(now.Add(-time.Duration(i)*24*time.Hour-time.Hour).Format(time.RFC3339), true))
		}
		return out
	}
	tests := []struct {
		name    string
		policy  string
		at      time.Time // now, when not the Monday above
		backups []Listed
		keep    []string // times, RFC 3339
	}{
		{
			name: "the newest of each day is kept, the others of that day dropped", policy: "2d",
			backups: []Listed{listed("2026-12-07T01:00:00Z", true), listed("2026-12-07T09:00:00Z", true),
				listed("2026-12-06T01:00:00Z", true), listed("2026-12-06T23:00:00Z", true), listed("2026-12-05T23:00:00Z", true)},
			keep: []string{"2026-12-06T23:00:00Z", "2026-12-07T09:00:00Z"},
		},
		{
			name: "a year of dailies under 7d,4w,12m", policy: "7d,4w,12m", backups: daily(400),
			keep: []string{
				// the newest of each month from January 2026 (12 months back: Jan..Dec)
				"2026-01-31T11:00:00Z", "2026-02-28T11:00:00Z", "2026-03-31T11:00:00Z", "2026-04-30T11:00:00Z",
				"2026-05-31T11:00:00Z", "2026-06-30T11:00:00Z", "2026-07-31T11:00:00Z", "2026-08-31T11:00:00Z",
				"2026-09-30T11:00:00Z", "2026-10-31T11:00:00Z",
				// ISO weeks 47, 48 and 49 end on Sundays; November's newest is the 30th
				"2026-11-22T11:00:00Z", "2026-11-29T11:00:00Z", "2026-11-30T11:00:00Z",
				// the last 7 days, from the 1st to the 7th (week 50 and December too)
				"2026-12-01T11:00:00Z", "2026-12-02T11:00:00Z", "2026-12-03T11:00:00Z", "2026-12-04T11:00:00Z",
				"2026-12-05T11:00:00Z", "2026-12-06T11:00:00Z", "2026-12-07T11:00:00Z",
			},
		},
		{
			name: "the newest complete backup is kept even when the policy keeps none", policy: "0d",
			backups: []Listed{listed("2025-01-01T00:00:00Z", true), listed("2025-02-01T00:00:00Z", true)},
			keep:    []string{"2025-02-01T00:00:00Z"},
		},
		{
			name: "an incomplete newest does not count as the newest", policy: "0d",
			backups: []Listed{listed("2025-02-01T00:00:00Z", true), listed("2026-12-01T00:00:00Z", false)},
			keep:    []string{"2025-02-01T00:00:00Z"},
		},
		{
			name: "incomplete backups are left a day, then dropped", policy: "7d",
			backups: []Listed{listed("2026-12-07T11:00:00Z", false), listed("2026-12-06T13:00:00Z", false),
				listed("2026-12-06T11:00:00Z", false), listed("2026-12-05T11:00:00Z", true)},
			keep: []string{"2026-12-05T11:00:00Z", "2026-12-06T13:00:00Z", "2026-12-07T11:00:00Z"},
		},
		{
			name: "an incomplete backup does not take its day's place", policy: "1d",
			backups: []Listed{listed("2026-12-07T01:00:00Z", true), listed("2026-12-07T02:00:00Z", true), listed("2026-12-07T11:00:00Z", false)},
			keep:    []string{"2026-12-07T02:00:00Z", "2026-12-07T11:00:00Z"},
		},
		{
			// now is in week 50, which has none; 49 runs Nov 30 to Dec 6, 48 ends Nov 29.
			name: "weeks are ISO weeks, Monday to Sunday, the current one counting", policy: "3w",
			backups: []Listed{listed("2026-12-06T10:00:00Z", true), listed("2026-11-30T10:00:00Z", true),
				listed("2026-11-29T10:00:00Z", true), listed("2026-11-23T10:00:00Z", true), listed("2026-11-22T10:00:00Z", true)},
			keep: []string{"2026-11-29T10:00:00Z", "2026-12-06T10:00:00Z"},
		},
		{
			// 2027-01-04 opens 2027-W01; 2026 has 53 ISO weeks, W53 runs Dec 28 to Jan 3.
			name: "weeks across a new year", policy: "2w", at: time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC),
			backups: []Listed{listed("2027-01-03T10:00:00Z", true), listed("2026-12-31T10:00:00Z", true),
				listed("2026-12-27T10:00:00Z", true)},
			keep: []string{"2027-01-03T10:00:00Z"},
		},
		{
			name: "months across a new year", policy: "2m", at: time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC),
			backups: []Listed{listed("2027-01-01T10:00:00Z", true), listed("2026-12-31T10:00:00Z", true),
				listed("2026-12-01T10:00:00Z", true), listed("2026-11-30T10:00:00Z", true)},
			keep: []string{"2026-12-31T10:00:00Z", "2027-01-01T10:00:00Z"},
		},
		{
			name: "a backup from the future (clock moved back) is kept", policy: "0d",
			backups: []Listed{listed("2026-12-08T00:00:00Z", true), listed("2026-12-07T00:00:00Z", true)},
			keep:    []string{"2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy, err := ParseKeepPolicy(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			at := now
			if !tt.at.IsZero() {
				at = tt.at
			}
			keep, drop := Keep(policy, tt.backups, at)
			if len(keep)+len(drop) != len(tt.backups) {
				t.Fatalf("keep %d + drop %d != %d backups", len(keep), len(drop), len(tt.backups))
			}
			var got []string
			for _, b := range keep {
				got = append(got, b.Created.Format(time.RFC3339))
			}
			if !slices.Equal(got, tt.keep) {
				t.Fatalf("kept\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.keep, "\n"))
			}
			for _, b := range drop {
				if slices.Contains(tt.keep, b.Created.Format(time.RFC3339)) {
					t.Fatalf("%s both kept and dropped", b.ID)
				}
			}
		})
	}
}

func TestPruneDeletesDroppedBackupsWhole(t *testing.T) {
	ctx := context.Background()
	d, _ := mustDir(t)
	k := mustKeys(t)
	data := syntheticLines(50)
	var made []Manifest
	for i := range 5 {
		made = append(made, mustCreate(t, d, k, data, 1024, testNow.Add(-time.Duration(i)*24*time.Hour)))
	}
	policy, _ := ParseKeepPolicy("2d")
	dropped, err := Prune(ctx, d, policy, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 3 {
		t.Fatalf("dropped %d, want 3", len(dropped))
	}
	left, err := List(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0].ID != made[1].ID || left[1].ID != made[0].ID {
		t.Fatalf("left %+v", left)
	}
	for _, b := range dropped {
		if objects, _ := d.List(ctx, b.ID+"/"); len(objects) != 0 {
			t.Fatalf("prune left %v", objects)
		}
	}
	for _, b := range left {
		if _, err := Verify(ctx, d, b.ID, []ed25519.PublicKey{k.public}, nil, nil); err != nil {
			t.Fatalf("kept %s no longer verifies: %v", b.ID, err)
		}
	}
}

func TestIDsSortByTime(t *testing.T) {
	var ids []string
	for i := range 50 {
		id, err := newID(testNow.Add(time.Duration(49-i) * 90 * time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseID(id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if slices.IsSorted(ids) || !slices.IsSortedFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatal(fmt.Sprint("ids do not sort by time: ", ids))
	}
}
