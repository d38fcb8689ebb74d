package hub

import (
	"math"
	"slices"

	"github.com/walrelay/walrelay"
)

// Resume registers r for channel ch, narrowed by f and by the read access a
// (as Subscribe does), replacing old (a subscription of r to the same
// channel) if not nil, in one step. With since nil it starts at the
// current position. With since it starts after that cursor (CONTRACT §5)
// when it can do so exactly:
//
//   - the cursor's epoch must be the hub's;
//   - an event cursor (LSN, Seq) is exact when the model's history holds
//     every event after it;
//   - a snapshot cursor (from a REST read) is exact when every transaction
//     of the model that is not in the history is visible in the snapshot
//     (those evicted, and those committed before the hub started, whose
//     xids are below the startXmax given to SetStart);
//   - a chunked transaction in progress must be covered by the cursor.
//
// When exact, the history's events after the cursor that the subscription
// would have received (channel kind, filter, read access, view
// transitions, as live) are replayed to r, and later events the client
// already has are dropped. A replay that fits in half of r's room
// (Receiver.Room) is handed on at once, under the lock that excludes
// Deliver; a bigger one is handed on in parts as r makes room, and until
// it has caught up with the history none of r's model subscriptions
// receives anything live: their events come from the history too, merged
// in commit order (see catchup). So there is no gap and no overlap at the
// seam either way, and r's events keep their commit order. If the history
// is evicted past where a replay in progress got to, r is sent Resync
// (reason "cursor_expired") for that subscription, which then continues
// live.
// When not exact the subscription starts at the current position and the
// caller must tell the client to resync.
//
// announce is called, with the hub locked and before any delivery of the
// new subscription, with the cursor after which the subscription is exact
// (the position, or after a chunked transaction in progress, none of which
// it receives) and whether since could be honoured; it must not block or
// call the Hub. It returns the subscription.
func (h *Hub) Resume(r Receiver, old *Subscription, ch walrelay.Channel, f Matcher, a Access, since *walrelay.Cursor,
	announce func(pos walrelay.Cursor, exact bool)) *Subscription {
	s := &Subscription{Channel: ch, Filter: f, Access: a, receiver: r}
	h.mu.Lock()
	defer h.mu.Unlock()
	idx := h.index(ch.Model)
	if old != nil {
		h.unregister(idx, old)
	}
	exact := true
	if since != nil {
		c := *since
		c.Xip = slices.Clone(c.Xip)
		exact = h.canResume(ch.Model, c)
		if exact {
			s.since = &c
		}
	}
	if h.pending != nil {
		s.skipLSN = h.pending.lsn
	}
	h.register(idx, s)
	announce(h.startCursor(), exact)
	if s.since != nil {
		h.startReplay(s)
	} else {
		h.joinCatchup(s)
	}
	return s
}

// canResume reports whether a subscription to model can start exactly
// after c (see Resume). Called with mu held for writing.
func (h *Hub) canResume(model string, c walrelay.Cursor) bool {
	if c.Epoch != h.epoch.Load() {
		return false
	}
	if p := h.pending; p != nil && !covers(c, p.lsn, maxSeq, p.xid) {
		return false
	}
	return h.historyReaches(model, c)
}

// historyReaches reports whether model's history holds every event after
// cursor c (of the hub's epoch) that is not still to come. Called with mu
// held.
func (h *Hub) historyReaches(model string, c walrelay.Cursor) bool {
	hs := h.hist[model]
	if hs == nil {
		hs = &history{historyBase: h.base}
	}
	if !c.Snapshot {
		return !before(c, hs.covered)
	}
	if hs.droppedMax == math.MaxUint64 || hs.droppedMax >= c.Xmin {
		return false
	}
	if hs.evictedMax < c.Xmin {
		return true
	}
	for _, x := range hs.dropped {
		if !visible64(c, x) {
			return false
		}
	}
	return true
}

// viewFor returns the event name s receives for ev, as route would
// deliver it live, and false when s receives nothing.
func (x *modelIndex) viewFor(s *Subscription, ev *walrelay.Event) (walrelay.Op, bool) {
	if ev.Model == nil || !ev.Model.Broadcasts(ev.Op) || ev.Op == walrelay.OpMessage {
		return "", false
	}
	indexed := x.rowKey != nil
	keyOf := func(row walrelay.Row) string {
		if !indexed || row == nil {
			return ""
		}
		return x.rowKey(row)
	}
	switch s.Channel.Kind {
	case walrelay.KindList:
		if ev.Op == walrelay.OpTruncated {
			return ev.Op, true
		}
		return viewOp(ev, s, keyOf(ev.New), keyOf(ev.Old), indexed)
	case walrelay.KindCreated:
		if ev.Op != walrelay.OpCreated {
			return "", false
		}
	case walrelay.KindItem, walrelay.KindUpdated, walrelay.KindDeleted:
		ok := ev.Op == walrelay.OpUpdated && s.Channel.Kind != walrelay.KindDeleted ||
			ev.Op == walrelay.OpDeleted && s.Channel.Kind != walrelay.KindUpdated
		if !ok || walrelay.KeyOf(ev.ID()) != s.Channel.ID {
			return "", false
		}
	default:
		return "", false
	}
	row := ev.Row()
	if !s.Access.reads(row, keyOf(row), indexed) || !matches(s.Filter, row) {
		return "", false
	}
	return ev.Op, true
}

// covers reports whether a client resuming after cursor c already has
// the event at (lsn, seq) of transaction xid: for an event cursor, whether
// the event is at or before it; for a snapshot cursor, whether the
// transaction is visible in the snapshot.
func covers(c walrelay.Cursor, lsn walrelay.LSN, seq int, xid uint32) bool {
	if c.Snapshot {
		return visibleIn(c, xid)
	}
	return lsn < c.LSN || (lsn == c.LSN && seq <= c.Seq)
}

// before reports whether event cursor a is before b.
func before(a, b walrelay.Cursor) bool {
	return a.LSN < b.LSN || (a.LSN == b.LSN && a.Seq < b.Seq)
}

// visibleIn reports whether transaction xid (32 bits, as pgoutput gives
// it) is visible in the cursor's snapshot (64-bit xid8 values), assuming
// xid is within 2^31 of the snapshot's xmax.
func visibleIn(c walrelay.Cursor, xid uint32) bool {
	full := int64(c.Xmax) + int64(int32(xid-uint32(c.Xmax)))
	if full < 0 {
		return true
	}
	return visible64(c, uint64(full))
}

// visible64 reports whether the transaction with 64-bit id xid is visible
// in the cursor's snapshot: committed before it was taken.
func visible64(c walrelay.Cursor, xid uint64) bool {
	switch {
	case xid < c.Xmin:
		return true
	case xid >= c.Xmax:
		return false
	}
	return !slices.Contains(c.Xip, xid)
}
