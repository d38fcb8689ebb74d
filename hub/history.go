package hub

import (
	"time"

	"github.com/walrelay/walrelay"
)

// historyBase is what a model's history knows of the transactions it does
// not hold.
type historyBase struct {
	// covered: every event of the model after this position is in the
	// history (or, when later, still to come).
	covered walrelay.Cursor
	// droppedMax: every transaction of the model that is not in the
	// history, not still to come and not in dropped has an xid at or below
	// it. MaxUint64 when unknown.
	droppedMax uint64
}

// history is one model's replay history: the model's events of the recent
// committed transactions, oldest first, bounded by the hub's maxEvents and
// maxAge and evicted a whole transaction at a time. Guarded by Hub.mu
// (written by Deliver under the read lock, by the others under the write
// lock).
type history struct {
	historyBase
	txns   []*histTxn
	events int
	// dropped holds the xids of the last evicted transactions, oldest
	// first; those that fall off are folded into droppedMax. evictedMax is
	// the largest xid ever evicted.
	dropped    []uint64
	evictedMax uint64
}

// histTxn is one committed transaction's events of one model.
type histTxn struct {
	lsn     walrelay.LSN
	xid     uint64 // extended to 64 bits
	at      time.Time
	lastSeq int // Seq of the last of these events
	events  []*walrelay.Event
}

// pendingTxn is a chunked transaction in progress: what Deliver has seen
// of it so far, and its events per model for the history until they
// exceed maxEvents (tooBig).
type pendingTxn struct {
	lsn     walrelay.LSN
	xid     uint32
	lastSeq int
	byModel map[string][]*walrelay.Event
	tooBig  map[string]bool
}

// histOf returns model's history, creating it from the hub's base.
func (h *Hub) histOf(model string) *history {
	hs := h.hist[model]
	if hs == nil {
		hs = &history{historyBase: h.base}
		h.hist[model] = hs
	}
	return hs
}

// extendXid turns a 32-bit xid (as pgoutput gives it) into the 64-bit
// xid8, relative to the highest one seen (or the start's xmax).
func (h *Hub) extendXid(xid uint32) uint64 {
	if h.xidHigh == 0 {
		h.xidHigh = uint64(xid)
		return uint64(xid)
	}
	full := int64(h.xidHigh) + int64(int32(xid-uint32(h.xidHigh)))
	if full < 0 {
		full = int64(xid)
	}
	h.xidHigh = max(h.xidHigh, uint64(full))
	return uint64(full)
}

// record adds one transaction's (or chunk's) events to the histories:
// a whole transaction at once, a chunked one when its last chunk arrives
// (as long as its events of a model fit in maxEvents; a bigger one is not
// kept, see commit). Called by Deliver.
func (h *Hub) record(txn *walrelay.Txn, events []*walrelay.Event) {
	byModel := map[string][]*walrelay.Event{}
	gaps := map[string]bool{} // models with events not sent (see gap.go)
	for _, ev := range events {
		if ev.Op == walrelay.OpMessage || ev.Model == nil || !ev.Model.Broadcasts(ev.Op) {
			continue
		}
		if ev.Model.Unavailable != nil {
			gaps[ev.Model.Name] = true
			continue
		}
		byModel[ev.Model.Name] = append(byModel[ev.Model.Name], ev)
	}
	for model := range gaps {
		delete(byModel, model)
	}
	p := h.pending
	if p == nil { // whole transaction
		if len(byModel) == 0 && len(gaps) == 0 {
			return
		}
		xid, now := h.extendXid(txn.XID), h.now()
		for model, evs := range byModel {
			h.commit(model, txn.CommitLSN, xid, now, evs, false)
		}
		for model := range gaps {
			h.commit(model, txn.CommitLSN, xid, now, nil, true)
		}
		return
	}
	if n := len(events); n > 0 {
		p.lastSeq = events[n-1].Seq
	}
	if p.byModel == nil {
		p.byModel, p.tooBig = map[string][]*walrelay.Event{}, map[string]bool{}
	}
	for model := range gaps {
		p.tooBig[model] = true
		delete(p.byModel, model)
	}
	for model, evs := range byModel {
		if p.tooBig[model] {
			continue
		}
		if len(p.byModel[model])+len(evs) > h.maxEvents {
			p.tooBig[model] = true
			delete(p.byModel, model)
			continue
		}
		p.byModel[model] = append(p.byModel[model], evs...)
	}
	if txn.More {
		return
	}
	xid, now := h.extendXid(p.xid), h.now()
	for model, evs := range p.byModel {
		h.commit(model, p.lsn, xid, now, evs, false)
	}
	for model := range p.tooBig {
		h.commit(model, p.lsn, xid, now, nil, true)
	}
}

// commit adds one committed transaction's events of model to its history
// and evicts what no longer fits. A transaction too big for the history
// (tooBig, or more than maxEvents events) is not kept: the history is
// cleared and continues after it.
func (h *Hub) commit(model string, lsn walrelay.LSN, xid uint64, at time.Time, evs []*walrelay.Event, tooBig bool) {
	hs := h.histOf(model)
	if tooBig || len(evs) > h.maxEvents {
		for len(hs.txns) > 0 {
			hs.evictOldest(h.maxDropped)
		}
		hs.covered = walrelay.Cursor{LSN: lsn, Seq: maxSeq}
		hs.addDropped(xid, h.maxDropped)
		return
	}
	hs.txns = append(hs.txns, &histTxn{lsn: lsn, xid: xid, at: at, lastSeq: evs[len(evs)-1].Seq, events: evs})
	hs.events += len(evs)
	for hs.events > h.maxEvents {
		hs.evictOldest(h.maxDropped)
	}
	hs.evictAged(at.Add(-h.maxAge), h.maxDropped)
}

// abandonPending forgets a chunked transaction that never got its last
// chunk: the models it touched cannot replay across it. Called by Deliver.
func (h *Hub) abandonPending() {
	p := h.pending
	h.endPending()
	xid := h.extendXid(p.xid)
	for model := range p.byModel {
		h.commit(model, p.lsn, xid, h.now(), nil, true)
	}
	for model := range p.tooBig {
		h.commit(model, p.lsn, xid, h.now(), nil, true)
	}
}

// evictOldest drops the oldest transaction, remembering its xid and
// moving covered past it.
func (hs *history) evictOldest(maxDropped int) {
	t := hs.txns[0]
	hs.txns[0] = nil
	hs.txns = hs.txns[1:]
	if len(hs.txns) == 0 {
		hs.txns = nil // let the backing array go
	}
	hs.events -= len(t.events)
	hs.covered = walrelay.Cursor{LSN: t.lsn, Seq: t.lastSeq}
	hs.addDropped(t.xid, maxDropped)
}

// evictAged drops the transactions recorded before cutoff.
func (hs *history) evictAged(cutoff time.Time, maxDropped int) {
	for len(hs.txns) > 0 && hs.txns[0].at.Before(cutoff) {
		hs.evictOldest(maxDropped)
	}
}

// addDropped remembers the xid of a transaction no longer in the history.
func (hs *history) addDropped(xid uint64, maxDropped int) {
	if len(hs.dropped) >= maxDropped {
		hs.droppedMax = max(hs.droppedMax, hs.dropped[0])
		hs.dropped = hs.dropped[1:]
	}
	hs.dropped = append(hs.dropped, xid)
	hs.evictedMax = max(hs.evictedMax, xid)
}

// HistoryLen returns the number of events held in model's history, for
// metrics and tests.
func (h *Hub) HistoryLen(model string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hs := h.hist[model]; hs != nil {
		return hs.events
	}
	return 0
}
