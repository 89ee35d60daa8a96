package backup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/backup/target"
)

// KeepPolicy is a grandfather-father-son retention: the newest backup of
// each of the last Days calendar days, Weeks ISO weeks and Months calendar
// months (UTC) is kept.
type KeepPolicy struct {
	Days, Weeks, Months int
}

// String returns the policy as ParseKeepPolicy reads it.
func (p KeepPolicy) String() string {
	return fmt.Sprintf("%dd,%dw,%dm", p.Days, p.Weeks, p.Months)
}

// ParseKeepPolicy reads a policy such as "7d,4w,12m"; a part left out keeps
// none of its kind (the newest complete backup is always kept).
func ParseKeepPolicy(s string) (KeepPolicy, error) {
	var p KeepPolicy
	seen := map[byte]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 {
			return KeepPolicy{}, fmt.Errorf("keep policy %q: want counts like 7d,4w,12m", s)
		}
		unit := part[len(part)-1]
		n, err := strconv.Atoi(part[:len(part)-1])
		if err != nil || n < 0 || n > 10000 {
			return KeepPolicy{}, fmt.Errorf("keep policy %q: %q is not a count", s, part)
		}
		if seen[unit] {
			return KeepPolicy{}, fmt.Errorf("keep policy %q: %c given twice", s, unit)
		}
		seen[unit] = true
		switch unit {
		case 'd':
			p.Days = n
		case 'w':
			p.Weeks = n
		case 'm':
			p.Months = n
		default:
			return KeepPolicy{}, fmt.Errorf("keep policy %q: unit %c is not d, w or m", s, unit)
		}
	}
	return p, nil
}

// incompleteGrace is how long an incomplete backup is left alone: it may
// still be being written.
const incompleteGrace = 24 * time.Hour

// Keep splits backups by policy at now, both halves oldest first. The newest
// complete backup is always kept; an incomplete backup is dropped once it is
// more than a day old. Backups from after now (a clock moved back) are kept.
func Keep(policy KeepPolicy, backups []Listed, now time.Time) (keep, drop []Listed) {
	now = now.UTC()
	sorted := append([]Listed(nil), backups...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID > sorted[j].ID }) // newest first

	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	nowYear, nowWeek := now.ISOWeek()
	kept := map[string]bool{}
	days, weeks, months := map[time.Time]bool{}, map[[2]int]bool{}, map[[2]int]bool{}
	newest := true
	for _, b := range sorted {
		created := b.Created.UTC()
		switch {
		case created.After(now):
			kept[b.ID] = true
			continue
		case !b.Complete:
			kept[b.ID] = now.Sub(created) <= incompleteGrace
			continue
		case newest:
			kept[b.ID] = true
			newest = false
		}
		day := time.Date(created.Year(), created.Month(), created.Day(), 0, 0, 0, 0, time.UTC)
		if daysAgo := int(today.Sub(day).Hours() / 24); daysAgo < policy.Days && !days[day] {
			days[day] = true
			kept[b.ID] = true
		}
		year, week := created.ISOWeek()
		if weeksBetween(year, week, nowYear, nowWeek) < policy.Weeks && !weeks[[2]int{year, week}] {
			weeks[[2]int{year, week}] = true
			kept[b.ID] = true
		}
		month := [2]int{created.Year(), int(created.Month())}
		if (now.Year()-month[0])*12+int(now.Month())-month[1] < policy.Months && !months[month] {
			months[month] = true
			kept[b.ID] = true
		}
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		if kept[sorted[i].ID] {
			keep = append(keep, sorted[i])
		} else {
			drop = append(drop, sorted[i])
		}
	}
	return keep, drop
}

// weeksBetween counts ISO weeks from (y1, w1) to (y2, w2), through the
// Mondays that start them.
func weeksBetween(y1, w1, y2, w2 int) int {
	return int(isoMonday(y2, w2).Sub(isoMonday(y1, w1)).Hours() / (24 * 7))
}

func isoMonday(year, week int) time.Time {
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC) // always in week 1
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, (week-1)*7)
}

// Prune deletes from t the backups that policy drops at now, each manifest
// first so that nothing half-deleted looks valid, and returns them. It goes
// on past a backup it cannot delete (object lock, say) and reports all
// failures together.
func Prune(ctx context.Context, t target.Target, policy KeepPolicy, now time.Time) ([]Listed, error) {
	backups, err := List(ctx, t)
	if err != nil {
		return nil, err
	}
	_, drop := Keep(policy, backups, now)
	var failures []error
	var dropped []Listed
	for _, b := range drop {
		if err := deleteBackup(ctx, t, b.ID); err != nil {
			failures = append(failures, err)
			continue
		}
		dropped = append(dropped, b)
	}
	return dropped, errors.Join(failures...)
}

func deleteBackup(ctx context.Context, t target.Target, id string) error {
	for _, name := range []string{manifestName, signatureName} {
		if err := t.Delete(ctx, objectName(id, name)); err != nil && !errors.Is(err, target.ErrNotFound) {
			return fmt.Errorf("prune %s: %w", id, err)
		}
	}
	objects, err := t.List(ctx, id+"/")
	if err != nil {
		return fmt.Errorf("prune %s: %w", id, err)
	}
	for _, o := range objects {
		if err := t.Delete(ctx, o.Name); err != nil && !errors.Is(err, target.ErrNotFound) {
			return fmt.Errorf("prune %s: %w", id, err)
		}
	}
	return nil
}
