package consent

import (
	"fmt"
	"time"
)

// ApplyForTest records one grant per (device, purpose) for n devices.
func ApplyForTest(x *Index, n int, purposes []string) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]indexedEvent, 0, 4096)
	seq := int64(0)
	for i := 0; i < n; i++ {
		dev := fmt.Sprintf("device-%08d-aaaa-bbbb-cccc", i)
		for _, p := range purposes {
			seq++
			batch = append(batch, indexedEvent{seq: seq, ident: x.key(dev), purpose: p, action: ActionGrant, at: at})
		}
		if len(batch) > 4000 {
			x.apply(batch)
			batch = batch[:0]
		}
	}
	x.apply(batch)
}
