package hub

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Bounded is implemented by a Receiver whose queue is bounded (package
// ws): QueueCap is how many deliveries the queue holds at most. Deliver
// flow-controls the part of a whole transaction that is larger than half
// of it (see largePart); a Receiver that does not implement Bounded gets
// every whole transaction in one call.
type Bounded interface {
	QueueCap() int
}

// part is one Receiver's deliveries of a transaction or chunk, waiting for
// room (see feed).
type part struct {
	r  Receiver
	ds []Delivery
}

// handOn hands each Receiver in b its deliveries, in one Receive call,
// unless they need flow control; it returns those that do, for feed: of a
// chunk, every part that does not fit its Receiver's room; of a whole
// transaction, every part that is also large for its Receiver (largePart).
// Called by Deliver with mu held for reading and cmu held.
func (h *Hub) handOn(b *batch, chunked bool) []part {
	var wait []part
	for _, r := range b.order {
		ds := b.by[r]
		if (chunked || largePart(r, len(ds))) && !fits(r, len(ds)) {
			wait = append(wait, part{r, ds})
			continue
		}
		r.Receive(ds)
	}
	return wait
}

// largePart reports whether n deliveries of one whole transaction are too
// many for r to take without flow control: more than half of its queue.
// A part that size may not fit however fast the client reads (a 3,000-row
// INSERT and a queue of 1,024), so overflowing would say nothing about the
// client; a smaller one that does not fit means the client is behind by
// more than half its queue, and it is closed as too slow, without making
// the hub wait.
func largePart(r Receiver, n int) bool {
	if n < 2 {
		return false
	}
	bq, ok := r.(Bounded)
	return ok && n > bq.QueueCap()/2
}

// fits reports whether r has room for n deliveries now.
func fits(r Receiver, n int) bool {
	room, _ := r.Room()
	return room >= n
}

// feed hands each part to its Receiver with flow control, each in a
// goroutine of its own: as much as the Receiver has room for, waiting for
// Room's channel between parts. A Receiver that makes no room within the
// chunk wait is handed the rest anyway (it overflows and closes itself).
// feed returns when every Receiver has been handed its part, or with ctx's
// error once ctx is done (the rest is then not handed on). Called by
// Deliver with mu held for reading, after it released cmu.
func (h *Hub) feed(ctx context.Context, parts []part) error {
	if len(parts) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.feedOne(ctx, p.r, p.ds)
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
			h.logger.Info("receiver made no room for a large transaction in time", "wait", h.chunkWait, "pending", len(ds))
			r.Receive(ds)
			return
		case <-ctx.Done():
			return
		}
	}
}
