package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/backup/target"
)

// Listed is one backup found on a target. List does not check signatures or
// hashes (Verify does): Complete means the manifest and its signature are
// there and every chunk it lists is stored with its size.
type Listed struct {
	ID         string
	Created    time.Time // from the id
	Complete   bool
	Problem    string // why it is incomplete
	Chunks     int
	StoredSize int64 // bytes on the target, whatever their state
}

// List returns every backup on t, complete or not, oldest first. Objects
// outside backup folders (the erasure journal, say) are ignored.
func List(ctx context.Context, t target.Target) ([]Listed, error) {
	objects, err := t.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	byID := map[string]map[string]int64{}
	for _, o := range objects {
		id, name, ok := strings.Cut(o.Name, "/")
		if !ok {
			continue
		}
		if _, err := ParseID(id); err != nil {
			continue
		}
		if byID[id] == nil {
			byID[id] = map[string]int64{}
		}
		byID[id][name] = o.Size
	}
	out := make([]Listed, 0, len(byID))
	for id, names := range byID {
		created, _ := ParseID(id)
		l := Listed{ID: id, Created: created}
		for name, size := range names {
			l.StoredSize += size
			if strings.HasPrefix(name, chunkPrefix) {
				l.Chunks++
			}
		}
		l.Problem = incompleteness(ctx, t, id, names)
		l.Complete = l.Problem == ""
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// incompleteness says why the backup is not complete, or "" when it is.
func incompleteness(ctx context.Context, t target.Target, id string, names map[string]int64) string {
	if _, ok := names[manifestName]; !ok {
		return "no manifest (interrupted or being written)"
	}
	if _, ok := names[signatureName]; !ok {
		return "manifest not signed"
	}
	raw, err := readObject(ctx, t, objectName(id, manifestName), maxManifestSize)
	if err != nil {
		return "manifest unreadable"
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Chunks) == 0 {
		return "manifest does not parse"
	}
	for _, c := range m.Chunks {
		size, ok := names[c.Name]
		if !ok {
			return fmt.Sprintf("chunk %d missing", c.Index)
		}
		if size != c.Size {
			return fmt.Sprintf("chunk %d has the wrong size", c.Index)
		}
	}
	return ""
}
