package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is log-linear (HDR style): values below subCount
// nanoseconds get one bucket each, and every power-of-two range above that is
// split into halfCount equal-width buckets. Reporting the middle of a bucket
// keeps the relative error of a percentile below 1/(2*halfCount) ≈ 0.8%.
const (
	subBits    = 7
	subCount   = 1 << subBits // 128 exact buckets for 0..127ns
	halfCount  = subCount / 2 // 64 buckets per power of two above that
	maxBits    = 40           // 2^40ns ≈ 18 minutes; larger values share the last bucket
	numBuckets = subCount + (maxBits-subBits)*halfCount
)

// histogram records latencies without allocating. It is owned by a single
// goroutine while recording; histograms are merged once recording is over.
type histogram struct {
	counts [numBuckets]uint64
	n      uint64
	min    time.Duration
	max    time.Duration
}

// bucketOf returns the bucket index of a non-negative value in nanoseconds.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	l := bits.Len64(v)
	if l > maxBits {
		return numBuckets - 1
	}
	shift := l - subBits // >= 1
	return subCount + (shift-1)*halfCount + int(v>>shift) - halfCount
}

// bucketRange returns the lowest value and the width of bucket i.
func bucketRange(i int) (lo, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	j := i - subCount
	shift := j/halfCount + 1
	sub := uint64(j%halfCount + halfCount)
	return sub << shift, 1 << shift
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
}

func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
}

// quantile returns the nearest-rank q-quantile (0 < q <= 1): the smallest
// recorded value such that at least q of all values are less or equal,
// approximated by the middle of its bucket and clamped to [min, max].
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	rank = min(rank, h.n)
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum < rank {
			continue
		}
		lo, width := bucketRange(i)
		v := time.Duration(lo + (width-1)/2)
		if i == numBuckets-1 {
			v = h.max // overflow bucket: the only sensible answer is the maximum
		}
		return min(max(v, h.min), h.max)
	}
	return h.max
}
