package hub

import (
	"math"

	"github.com/walrelay/walrelay"
)

// Retained returns the commit LSN of the oldest transaction still in any
// model's history (0 if none): the replication slot is never confirmed
// past it, so a restarted server re-streams and rebuilds its history. It
// first evicts the transactions older than the history's max age, so an
// idle database releases WAL. Safe to call from any goroutine; it waits
// for a Deliver (or chunk) in progress.
func (h *Hub) Retained() walrelay.LSN {
	h.mu.Lock()
	defer h.mu.Unlock()
	cutoff := h.now().Add(-h.maxAge)
	var oldest walrelay.LSN
	for _, hs := range h.hist {
		hs.evictAged(cutoff, h.maxDropped)
		if len(hs.txns) > 0 && (oldest == 0 || hs.txns[0].lsn < oldest) {
			oldest = hs.txns[0].lsn
		}
	}
	return oldest
}

// Reset is called when the stream restarted from scratch with a new epoch
// (the slot was recreated; changes may have been lost): it sets the epoch,
// clears all history, and sends resync (reason "reset") on every
// subscription of every Receiver. The subscriptions stay registered and
// receive the new stream's events. Until the first transaction of the new
// stream arrives no event cursor can be resumed, and snapshot cursors can
// be resumed only once SetStart has been called again with a startXmax
// read after the new slot was created. Safe to call from any goroutine.
func (h *Hub) Reset(epoch uint32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.epoch.Store(epoch)
	h.hist = map[string]*history{}
	h.endPending()
	h.resetting = true
	h.base = historyBase{covered: walrelay.Cursor{LSN: math.MaxUint64, Seq: maxSeq}, droppedMax: math.MaxUint64}
	for _, cu := range h.catching {
		h.endCatchup(cu)
	}
	var subs []*Subscription
	for _, x := range h.models {
		subs = append(subs, x.all()...)
	}
	for _, s := range subs {
		s.since, s.skipLSN = nil, 0
		s.receiver.Resync(s, "reset")
	}
	h.logger.Warn("stream reset: history cleared, subscribers told to resync", "epoch", epoch, "subscriptions", len(subs))
}

// afterReset rebases the histories on the first transaction after Reset:
// every transaction committed after it is streamed. Called by Deliver.
func (h *Hub) afterReset(first walrelay.LSN) {
	h.base.covered = walrelay.Cursor{LSN: first - 1, Seq: maxSeq}
	for _, hs := range h.hist {
		if len(hs.txns) == 0 && hs.covered.LSN == math.MaxUint64 {
			hs.covered = h.base.covered
		}
	}
}
