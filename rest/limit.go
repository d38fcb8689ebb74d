package rest

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiters caps the number of buckets kept at once. Idle buckets are
// evicted as soon as they are full again, so the cap is reached only by
// more distinct callers within one refill period than it allows; then
// arbitrary buckets are dropped (those callers start with a full bucket).
const maxLimiters = 1 << 18

// limiters holds one token bucket per caller key. Buckets unused for long
// enough to have refilled completely are dropped: forgetting them changes
// nothing, and memory stays bounded by the callers active within one
// refill period. It is safe for concurrent use.
type limiters struct {
	rps   rate.Limit
	burst int
	idle  time.Duration // time for an empty bucket to refill
	now   func() time.Time

	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// newLimiters returns the buckets for rps requests per second with burst
// (both positive, see Limits.WithDefaults); rps < 0 disables limiting (nil
// limiters allow everything).
func newLimiters(rps float64, burst int, now func() time.Time) *limiters {
	if rps < 0 {
		return nil
	}
	idle := time.Duration(math.Ceil(float64(burst)/rps*float64(time.Second))) + time.Second
	return &limiters{rps: rate.Limit(rps), burst: burst, idle: idle, now: now, m: map[string]*bucket{}}
}

// allow takes one token from key's bucket. When the bucket is empty it
// returns false and how long until a token is available.
func (l *limiters) allow(key string) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxLimiters {
			for k := range l.m {
				delete(l.m, k)
				break
			}
		}
		b = &bucket{lim: rate.NewLimiter(l.rps, l.burst)}
		l.m[key] = b
	}
	b.last = now
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Hour, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops buckets idle for a full refill period, at most once per
// such period, so its cost is amortized over the requests of the period.
func (l *limiters) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idle {
		return
	}
	l.lastSweep = now
	for k, b := range l.m {
		if now.Sub(b.last) >= l.idle {
			delete(l.m, k)
		}
	}
}

// size returns the number of buckets held; for tests.
func (l *limiters) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
