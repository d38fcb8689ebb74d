package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts latencies in microseconds in log-linear buckets: exact
// below 128 µs, then 64 buckets per power of two (under 1.6% error). Add is
// safe for concurrent use and does not allocate, so every reader goroutine
// records into one histogram.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits // buckets per power of two
	histBuckets = 2*histSub + 40*histSub
)

func bucketOf(us uint64) int {
	if us < 2*histSub {
		return int(us)
	}
	e := bits.Len64(us) - histSubBits - 1 // us>>e is in [histSub, 2*histSub)
	i := 2*histSub + (e-1)*histSub + int(us>>e) - histSub
	return min(i, histBuckets-1)
}

// lowerOf is the smallest value of bucket i.
func lowerOf(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := (i-2*histSub)/histSub + 1
	top := uint64((i-2*histSub)%histSub + histSub)
	return top << e
}

// Add records one latency; negative ones (clock steps) count as 0.
func (h *histogram) Add(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[bucketOf(uint64(us))].Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// latencies summarizes a histogram.
type latencies struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary returns the count, percentiles (a bucket's middle) and maximum,
// in milliseconds.
func (h *histogram) Summary() latencies {
	var counts [histBuckets]uint64
	var n uint64
	for i := range counts {
		counts[i] = h.counts[i].Load()
		n += counts[i]
	}
	s := latencies{Count: n, Max: float64(h.max.Load()) / 1000}
	if n == 0 {
		return s
	}
	q := func(p float64) float64 {
		rank := uint64(p*float64(n-1)) + 1
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				lo, hi := lowerOf(i), lowerOf(i+1)
				if i+1 >= histBuckets || hi <= lo {
					hi = lo + 1
				}
				mid := float64(lo+hi-1) / 2
				return min(mid/1000, s.Max)
			}
		}
		return s.Max
	}
	s.P50, s.P95, s.P99 = q(0.50), q(0.95), q(0.99)
	return s
}
