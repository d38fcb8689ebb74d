package hub

import (
	"slices"
	"sort"

	"github.com/walrelay/walrelay"
)

// catchup is a replay in progress to one Receiver, too big to hand on at
// once (see Resume). While it lasts, every model subscription of the
// Receiver (the one resumed, the Receiver's others, and those it makes
// meanwhile) receives nothing live: each has a position in its model's
// history, and the replay hands on the next events of all of them, merged
// in commit order, as the Receiver makes room (Receiver.Room), from a
// goroutine of its own (pace). Every event Deliver would route to them is
// recorded in the history first, so the replay picks it up; once it has
// reached the end of the histories (and no chunked transaction is in
// progress, whose events reach the history only at its end) they all go
// live together. So the Receiver keeps getting its model events in commit
// order, and none twice or never. Guarded by Hub.mu.
type catchup struct {
	r    Receiver
	subs []*replaying
	// kick wakes pace when a subscription joined; stop is closed when the
	// catch-up ends.
	kick chan struct{}
	stop chan struct{}
}

// replaying is one subscription's place in a catch-up.
type replaying struct {
	s *Subscription
	// at is the position of the last history event handed on or passed
	// over; nil before the first (the replay then starts after s.since).
	at *walrelay.Cursor
}

// startReplay hands s's replay to its Receiver in one call when it fits
// in half of the Receiver's room, and otherwise hands on the first part
// and starts the Receiver's catch-up (or joins the one in progress). s is registered and
// announced, s.since is set. Called with mu held for writing.
func (h *Hub) startReplay(s *Subscription) {
	if cu := h.catching[s.receiver]; cu != nil {
		cu.join(s, nil)
		cu.wake()
		return
	}
	idx := h.models[s.Channel.Model]
	n, grown := s.receiver.Room()
	ds, complete := h.replay(idx, s, nil, stepLimit(n))
	if len(ds) > 0 {
		s.receiver.Receive(ds)
	}
	if complete {
		return // (a chunked transaction in progress is covered by since)
	}
	// The rest from the history; the Receiver's other subscriptions from
	// the position on, so that nothing of theirs overtakes the replay.
	cu := &catchup{r: s.receiver, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	h.catching[s.receiver] = cu
	cu.join(s, lastOf(ds))
	pos := h.startCursor()
	for o := range h.byReceiver[s.receiver] {
		if o != s {
			cu.join(o, &walrelay.Cursor{LSN: pos.LSN, Seq: pos.Seq})
		}
	}
	go h.pace(cu, grown)
}

// joinCatchup makes s, just registered, part of its Receiver's catch-up
// if one is in progress, starting after the current position. Called
// with mu held for writing.
func (h *Hub) joinCatchup(s *Subscription) {
	if cu := h.catching[s.receiver]; cu != nil {
		pos := h.startCursor()
		cu.join(s, &walrelay.Cursor{LSN: pos.LSN, Seq: pos.Seq})
	}
}

// join adds s to the catch-up, at position at.
func (cu *catchup) join(s *Subscription, at *walrelay.Cursor) {
	s.catchup = cu
	cu.subs = append(cu.subs, &replaying{s: s, at: at})
}

// wake makes pace run a step soon.
func (cu *catchup) wake() {
	select {
	case cu.kick <- struct{}{}:
	default:
	}
}

// leaveCatchup takes s out of its Receiver's catch-up, if in one, ending
// the catch-up when s was its last subscription. Called with mu held for
// writing.
func (h *Hub) leaveCatchup(s *Subscription) {
	cu := s.catchup
	if cu == nil {
		return
	}
	s.catchup = nil
	cu.subs = slices.DeleteFunc(cu.subs, func(p *replaying) bool { return p.s == s })
	if len(cu.subs) == 0 {
		h.endCatchup(cu)
	}
}

// moveCatchup gives s the place of old (which it replaces) in a catch-up.
// Called with mu held for writing.
func moveCatchup(old, s *Subscription) {
	cu := old.catchup
	if cu == nil {
		return
	}
	old.catchup, s.catchup = nil, cu
	for _, p := range cu.subs {
		if p.s == old {
			p.s = s
		}
	}
}

// endCatchup makes the catch-up's subscriptions live and stops pace.
// Called with mu held for writing.
func (h *Hub) endCatchup(cu *catchup) {
	for _, p := range cu.subs {
		p.s.catchup = nil
	}
	cu.subs = nil
	if h.catching[cu.r] == cu {
		delete(h.catching, cu.r)
	}
	close(cu.stop)
}

// pace runs cu's steps each time its Receiver may have made room (grown
// is closed), the chunked transaction it waits for has ended, or a
// subscription joined, until the catch-up ends.
func (h *Hub) pace(cu *catchup, grown <-chan struct{}) {
	var pending <-chan struct{}
	for {
		select {
		case <-grown:
		case <-pending:
		case <-cu.kick:
		case <-cu.stop:
			return
		}
		h.mu.Lock()
		grown, pending = h.catchUp(cu)
		h.mu.Unlock()
	}
}

// catchUp hands cu's Receiver the next part of the replay: the next events
// of its subscriptions in commit order, at most half of the room the
// Receiver has now (the rest stays free for replies and custom channels),
// at least one. A subscription whose history no longer reaches back to its
// place (evicted meanwhile) is told to resync and goes live. When nothing
// is left to replay and no chunked transaction is in progress, the
// catch-up ends. Otherwise catchUp returns what to wait for: the
// Receiver's room, or the end of the chunked transaction. Called with mu
// held for writing.
func (h *Hub) catchUp(cu *catchup) (grown, pending <-chan struct{}) {
	if h.catching[cu.r] != cu {
		return nil, nil
	}
	for _, p := range slices.Clone(cu.subs) {
		if h.reaches(p) {
			continue
		}
		s := p.s
		h.leaveCatchup(s)
		s.since = nil
		if h.pending != nil {
			s.skipLSN = h.pending.lsn
		}
		h.logger.Info("history evicted during a replay; the subscriber must resync", "channel", s.Channel.String())
		s.receiver.Resync(s, "cursor_expired")
	}
	if len(cu.subs) == 0 {
		return nil, nil
	}
	n, grown := cu.r.Room()
	limit := stepLimit(n)
	// Up to limit deliveries of each, then the first limit of all of them
	// in commit order.
	type part struct {
		p        *replaying
		ds       []Delivery
		complete bool
	}
	parts := make([]part, len(cu.subs))
	for i, p := range cu.subs {
		ds, complete := h.replay(h.models[p.s.Channel.Model], p.s, p.at, limit)
		parts[i] = part{p, ds, complete}
	}
	var out []Delivery
	taken := make([]int, len(parts))
	for len(out) < limit {
		best := -1
		for i, pt := range parts {
			if taken[i] < len(pt.ds) && (best < 0 || eventBefore(pt.ds[taken[i]].Msg.Event, parts[best].ds[taken[best]].Msg.Event)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, parts[best].ds[taken[best]])
		taken[best]++
	}
	complete := true
	for i, pt := range parts {
		if taken[i] > 0 {
			pt.p.at = lastOf(pt.ds[:taken[i]])
		}
		complete = complete && pt.complete && taken[i] == len(pt.ds)
	}
	if len(out) > 0 {
		cu.r.Receive(out)
	}
	switch {
	case !complete:
		return grown, nil
	case h.pending != nil:
		if h.pendingDone == nil {
			h.pendingDone = make(chan struct{})
		}
		return nil, h.pendingDone
	}
	h.endCatchup(cu)
	return nil, nil
}

// stepLimit is how many deliveries a replay hands on at once to a
// Receiver with room n: half of it, at least one (none when it has none).
func stepLimit(n int) int {
	if n <= 0 {
		return 0
	}
	return max(1, n/2)
}

// eventBefore reports whether a comes before b in commit order.
func eventBefore(a, b *walrelay.Event) bool {
	return a.LSN < b.LSN || a.LSN == b.LSN && a.Seq < b.Seq
}

// lastOf returns the position of the last delivery's event, nil for none.
func lastOf(ds []Delivery) *walrelay.Cursor {
	if len(ds) == 0 {
		return nil
	}
	ev := ds[len(ds)-1].Msg.Event
	return &walrelay.Cursor{LSN: ev.LSN, Seq: ev.Seq}
}

// reaches reports whether p's model's history still holds every event p
// is to replay. Called with mu held.
func (h *Hub) reaches(p *replaying) bool {
	if p.at == nil {
		return h.historyReaches(p.s.Channel.Model, *p.s.since)
	}
	return h.historyReaches(p.s.Channel.Model, *p.at)
}

// endPending forgets the chunked transaction in progress and wakes the
// replays waiting for its end. Called by Deliver (mu held for reading; it
// is the only one to write pending and pendingDone then) and by Reset.
func (h *Hub) endPending() {
	h.pending = nil
	if h.pendingDone != nil {
		close(h.pendingDone)
		h.pendingDone = nil
	}
}

// replay returns, in commit order, the history's deliveries for s after
// position at (nil: those after s.since, which is then set), at most
// limit of them, and whether that is all the history holds for s. Called
// with mu held for writing.
func (h *Hub) replay(x *modelIndex, s *Subscription, at *walrelay.Cursor, limit int) ([]Delivery, bool) {
	hs := h.hist[s.Channel.Model]
	if hs == nil || x == nil {
		return nil, true
	}
	from := walrelay.LSN(0)
	switch {
	case at != nil:
		from = at.LSN
	case !s.since.Snapshot:
		from = s.since.LSN
	}
	i := sort.Search(len(hs.txns), func(i int) bool { return hs.txns[i].lsn >= from })
	epoch := h.epoch.Load()
	var out []Delivery
	for _, t := range hs.txns[i:] {
		for _, ev := range t.events {
			if at != nil && (ev.LSN < at.LSN || ev.LSN == at.LSN && ev.Seq <= at.Seq) || !s.wants(ev) {
				continue
			}
			if op, ok := x.viewFor(s, ev); ok {
				if len(out) == limit {
					return out, false
				}
				out = append(out, Delivery{Sub: s, Msg: &Message{Channel: s.Channel.String(), Op: op, Event: ev, Epoch: epoch}})
			}
		}
	}
	return out, true
}
