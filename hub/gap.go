package hub

import "github.com/walrelay/walrelay"

// ResyncSchemaChanged is the resync reason sent when a model's events were
// not sent because the model was stopped (its table no longer matched the
// config), and again when it resumes.
const ResyncSchemaChanged = "schema_changed"

// Gaps: an event whose Model version is stopped (Model.Unavailable set,
// see package cdc) is never routed: its row may carry a renamed hidden
// column or fail the compiled rules. Dropping it leaves a gap in the
// model's stream, which the hub handles like an evicted transaction:
//
//   - the transaction is not kept in the model's history, which restarts
//     after it, and its xid counts as dropped, so a cursor from before the
//     gap cannot resume exactly (a snapshot cursor from a read that
//     already shows the transaction still can);
//   - every subscription of the model that has not been told yet gets
//     resync (reason "schema_changed"), once: the client re-reads, which
//     answers 503 while the model is stopped;
//   - when the model resumes (the first event of an available version, or
//     EndGap from the catalog side), the subscriptions told during the
//     stop get resync again, so clients whose re-read failed re-read now.
//
// StartGap does the telling when the catalog shows the stop first.

// gapEvent reports whether ev belongs to a stopped model version; the
// first such event of a model's stop tells its subscriptions to resync.
// Called by Deliver, with mu held for reading (Deliver is the only writer
// of the gap state under the read lock).
func (h *Hub) gapEvent(ev *walrelay.Event) bool {
	if ev.Model == nil || ev.Op == walrelay.OpMessage {
		return false
	}
	name := ev.Model.Name
	if ev.Model.Unavailable == nil {
		if h.stopped[name] {
			delete(h.stopped, name)
			h.endGap(name)
		}
		return false
	}
	if !h.stopped[name] {
		h.stopped[name] = true
		h.logger.Warn("hub: model stopped; its events are not sent and subscribers are told to resync", "model", name)
	}
	h.startGap(name)
	return true
}

// startGap tells the subscriptions of model that have not been told yet to
// resync. Called with mu held (for reading by Deliver).
func (h *Hub) startGap(model string) {
	idx := h.models[model]
	if idx == nil {
		return
	}
	for _, s := range idx.all() {
		if !s.toldGap {
			s.toldGap = true
			s.since, s.skipLSN = nil, 0
			s.receiver.Resync(s, ResyncSchemaChanged)
		}
	}
}

// StartGap is called when model is stopped as read from the catalog (its
// table dropped, say, which the stream does not show): its subscriptions
// are told to resync, as for a gap in its events, and told again at
// EndGap. Safe to call from any goroutine.
func (h *Hub) StartGap(model string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.startGap(model)
}

// endGap tells the subscriptions of model that were told to resync during
// a stop to resync again. Called with mu held (for reading by Deliver).
func (h *Hub) endGap(model string) {
	idx := h.models[model]
	if idx == nil {
		return
	}
	for _, s := range idx.all() {
		if s.toldGap {
			s.toldGap = false
			s.receiver.Resync(s, ResyncSchemaChanged)
		}
	}
}

// EndGap is called when model is served again after a stop (its table
// fits the config again, as read from the catalog): subscriptions that
// were told to resync during the stop are told again, so that clients
// whose re-read was refused re-read now. Safe to call from any goroutine;
// a model without such subscriptions costs nothing.
func (h *Hub) EndGap(model string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endGap(model)
}
