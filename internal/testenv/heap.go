package testenv

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// HeapPeak samples the heap in use every so often until stop is called,
// and stop returns the largest sample: the peak memory of the work done in
// between, for the figures of streaming exports.
func HeapPeak(every time.Duration) (stop func() uint64) {
	var peak atomic.Uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak.Load()
	}
}
