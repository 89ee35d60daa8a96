package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketLayout(t *testing.T) {
	// Every bucket's range must start where the previous one ended, and
	// bucketOf must map both ends of a range back to the bucket.
	next := uint64(0)
	for i := range numBuckets {
		lo, width := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(lo + width - 1); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo+width-1, got, i)
		}
		if i >= subCount && float64(width)/float64(lo) > 1.0/halfCount {
			t.Fatalf("bucket %d too wide: [%d, +%d)", i, lo, width)
		}
		next = lo + width
	}
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Fatalf("bucketOf(max) = %d, want last bucket", got)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	type want struct {
		q float64
		d time.Duration
	}
	tests := []struct {
		name   string
		values []time.Duration
		want   []want
		max    time.Duration
	}{
		{
			name: "empty",
			want: []want{{0.5, 0}, {0.99, 0}},
		},
		{
			name:   "small values are exact",
			values: seq(1, 100, 1),
			want:   []want{{0.5, 50}, {0.9, 90}, {0.99, 99}, {1, 100}, {0.001, 1}},
			max:    100,
		},
		{
			name:   "1..10000µs",
			values: seq(1, 10000, time.Microsecond),
			want: []want{
				{0.5, 5000 * time.Microsecond},
				{0.9, 9000 * time.Microsecond},
				{0.99, 9900 * time.Microsecond},
				{1, 10000 * time.Microsecond},
			},
			max: 10 * time.Millisecond,
		},
		{
			name:   "constant value is clamped to min/max",
			values: slices.Repeat([]time.Duration{1234567}, 1000),
			want:   []want{{0.5, 1234567}, {0.99, 1234567}},
			max:    1234567,
		},
		{
			name:   "bimodal",
			values: append(slices.Repeat([]time.Duration{time.Millisecond}, 95), slices.Repeat([]time.Duration{time.Second}, 5)...),
			want:   []want{{0.5, time.Millisecond}, {0.95, time.Millisecond}, {0.96, time.Second}, {0.99, time.Second}},
			max:    time.Second,
		},
		{
			name:   "huge value lands in the overflow bucket",
			values: []time.Duration{time.Millisecond, 100 * time.Hour},
			want:   []want{{0.5, time.Millisecond}, {1, 100 * time.Hour}},
			max:    100 * time.Hour,
		},
		{
			name:   "negative is recorded as zero",
			values: []time.Duration{-5},
			want:   []want{{0.5, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, v := range tt.values {
				h.record(v)
			}
			for _, w := range tt.want {
				if got := h.quantile(w.q); !within(got, w.d, 0.01) {
					t.Errorf("quantile(%v) = %v, want %v ±1%%", w.q, got, w.d)
				}
			}
			if h.max != tt.max {
				t.Errorf("max = %v, want %v", h.max, tt.max)
			}
		})
	}
}

// TestHistogramAccuracy compares against exact nearest-rank percentiles of
// random log-normal latencies, recorded into several histograms and merged.
func TestHistogramAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := make([]histogram, 4)
	var all []time.Duration
	for i := range 20000 {
		v := time.Duration(math.Exp(rng.NormFloat64()*1.5 + 13)) // median ≈ 440µs
		all = append(all, v)
		parts[i%len(parts)].record(v)
	}
	var h histogram
	for i := range parts {
		h.merge(&parts[i])
	}
	slices.Sort(all)
	if h.n != uint64(len(all)) || h.max != all[len(all)-1] || h.min != all[0] {
		t.Fatalf("merged n/min/max = %d/%v/%v, want %d/%v/%v", h.n, h.min, h.max, len(all), all[0], all[len(all)-1])
	}
	for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.99, 0.999} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		if got := h.quantile(q); !within(got, exact, 0.01) {
			t.Errorf("quantile(%v) = %v, exact %v", q, got, exact)
		}
	}
}

func seq(from, to int, unit time.Duration) []time.Duration {
	var s []time.Duration
	for i := from; i <= to; i++ {
		s = append(s, time.Duration(i)*unit)
	}
	return s
}

func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}
