package backup

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCreate backs up 256 MiB of synthetic JSON lines (generated as the
// dump writes, never held whole) to a directory, reporting throughput and
// the peak of the heap in use while it runs.
//
//	go test -run '^$' -bench Create -benchtime 1x ./internal/backup/
func BenchmarkCreate(b *testing.B) {
	const total = 256 << 20
	k := mustKeys(b)
	d, _ := mustDir(b)
	dump := func(ctx context.Context, w io.Writer) (any, error) {
		buf := make([]byte, 0, 64<<10)
		written, row := 0, 0
		for written < total {
			buf = buf[:0]
			for len(buf) < 60<<10 {
				buf = fmt.Appendf(buf, `{"table":"consent_events","row":{"seq":%d,"subject":"subj-%08d","purpose":"analytics","action":"grant","source":"banner","notice":"v%d","at":"2026-12-01T10:%02d:%02d.%06dZ"}}`+"\n",
					row, row*7919%100000000, row%7, row%60, row%59, row%1000003)
				row++
			}
			n := min(len(buf), total-written)
			if _, err := w.Write(buf[:n]); err != nil {
				return nil, err
			}
			written += n
		}
		return summary{Rows: row}, nil
	}
	b.SetBytes(total)
	var peak atomic.Uint64
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
				}
			}
		}()
		m, err := Create(context.Background(), d, CreateOptions{Recipients: k.options(0, testNow).Recipients, Signer: k.signer}, dump)
		close(stop)
		sampler.Wait()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.StoredSize)/float64(m.PlaintextSize)*100, "stored-%")
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
