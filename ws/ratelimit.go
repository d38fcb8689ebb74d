package ws

import "time"

// bucket is a token bucket: rate tokens per second, at most rate held. It
// counts the messages refused in a row, so that a client that keeps going
// over the limit can be closed. Not safe for concurrent use (read loop).
type bucket struct {
	rate    float64
	tokens  float64
	last    time.Time
	refused int
}

func newBucket(perSecond int) bucket {
	return bucket{rate: float64(perSecond), tokens: float64(perSecond)}
}

// allow takes a token at time now and reports whether there was one.
func (b *bucket) allow(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		b.refused = 0
		return true
	}
	b.refused++
	return false
}

// sustained reports whether more than a second's worth of messages were
// refused in a row.
func (b *bucket) sustained() bool { return float64(b.refused) > b.rate }
