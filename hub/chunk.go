package hub

import (
	"context"
	"slices"
	"sync"
	"time"
)

// feed hands one chunk's deliveries to their Receivers with flow control:
// a Receiver with room for all of them gets them at once; the others are
// fed, each in a goroutine of its own, as much as they have room for,
// waiting for Room's channel between parts. A Receiver that makes no room
// within the chunk wait is handed the rest anyway (it overflows and closes
// itself). feed returns when every Receiver has been handed its part, or
// with ctx's error once ctx is done (the rest of the chunk is then not
// handed on). Called by Deliver with mu held for reading.
func (h *Hub) feed(ctx context.Context, b *batch) error {
	var wg sync.WaitGroup
	for _, r := range b.order {
		ds := b.by[r]
		if n, _ := r.Room(); n >= len(ds) {
			r.Receive(ds)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.feedOne(ctx, r, ds)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// feedOne hands ds to r as r makes room for them (see feed).
func (h *Hub) feedOne(ctx context.Context, r Receiver, ds []Delivery) {
	timer := time.NewTimer(h.chunkWait)
	defer timer.Stop()
	for len(ds) > 0 {
		n, grown := r.Room()
		if n > 0 {
			k := min(n, len(ds))
			r.Receive(slices.Clip(ds[:k]))
			ds = ds[k:]
			timer.Reset(h.chunkWait)
			continue
		}
		select {
		case <-grown:
		case <-timer.C:
			h.logger.Info("receiver made no room for a chunked transaction in time", "wait", h.chunkWait, "pending", len(ds))
			r.Receive(ds)
			return
		case <-ctx.Done():
			return
		}
	}
}
