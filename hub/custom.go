package hub

import (
	"encoding/json"
)

// Custom channels (CONTRACT §4) carry events that clients publish, events
// emitted from SQL with pg_logical_emit_message, and presence. They are
// indexed by exact channel name (e.g. "chat:room:7"). The hub does the
// routing only: it neither parses names nor checks rules (package authz
// does), nor knows the wire format (package ws). The caller subscribes
// only clients that passed the channel's rules, and SetMessageCheck
// (authz.ChannelPolicy.CheckEmitted) tells the hub which emitted messages
// are valid. Nothing on custom channels is kept
// in the replay history: published and emitted events are ephemeral.
//
// Ordering: every custom-channel operation (SubscribeCustom,
// UnsubscribeCustom, SetPresence, Publish, and the routing of emitted
// messages in Deliver) runs under one lock and hands its deliveries to the
// Receivers before releasing it, so all subscribers of a channel see its
// events and presence changes in the same order, and a subscriber's
// presence state is exact at the seam: it reflects every change before it
// and the diffs that follow reflect every change after.

// CustomEvent is an event on a custom channel.
type CustomEvent struct {
	// Event is the event name, one of the channel's configured events.
	Event string
	// Data is the event's payload, raw JSON; nil means null.
	Data json.RawMessage
	// From identifies the publisher as sent in the event's "from" field
	// (package ws sends {"sub": ...}); nil for messages emitted from SQL.
	From any
}

// CustomSub is one Receiver's subscription to a custom channel. Its
// exported fields are immutable.
type CustomSub struct {
	// Name is the channel name.
	Name     string
	receiver Receiver
	// presence: the channel has presence (state on join, diffs).
	presence bool
	// track is the subscription's presence, nil when untracked; ref is
	// its meta's reference. Guarded by Hub.cmu.
	track *Track
	ref   string
	gone  bool
	// node is the node a remote member is on (see relay.go); "" for a
	// subscription of this hub. Remote members are in presence only, not
	// in the channel's subs.
	node string
}

// customChan is the subscriptions of one custom channel name.
type customChan struct {
	subs map[*CustomSub]struct{}
	// members are the tracked subscriptions by key, in join order.
	members map[string][]*CustomSub
	// order is the keys in first-join order, for a stable state.
	order []string
}

// SubscribeCustom registers r on the custom channel name. presence says
// whether the channel has presence: r is then sent the full presence state
// right after announce, and diffs after that. track, when not nil, makes
// r visible in presence under track.Key (the others are sent a join).
// announce is called with the hub's custom lock held, before any delivery
// of the new subscription; it must not block or call the Hub (package ws
// queues its subscribed reply there). A Receiver should hold at most one
// subscription per name (package ws makes sure).
func (h *Hub) SubscribeCustom(r Receiver, name string, presence bool, track *Track, announce func()) *CustomSub {
	s := &CustomSub{Name: name, receiver: r, presence: presence}
	h.cmu.Lock()
	defer h.cmu.Unlock()
	ch := h.chanLocked(name)
	ch.subs[s] = struct{}{}
	if track != nil && presence {
		join := h.trackLocked(ch, s, track, h.nextRef())
		p := &Presence{Joins: []PresenceEntry{join}}
		h.broadcastLocked(ch, s, p)
		h.relayPresenceLocked(name, p)
	}
	if announce != nil {
		announce()
	}
	if presence {
		r.Receive([]Delivery{{Msg: &Message{Channel: name, Presence: &Presence{State: ch.state()}}}})
	}
	return s
}

// UnsubscribeCustom removes s; a tracked s leaves presence (the remaining
// subscribers are sent a leave). Once it returns s receives nothing more.
// Removing twice is a no-op.
func (h *Hub) UnsubscribeCustom(s *CustomSub) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	ch := h.custom[s.Name]
	if ch == nil || s.gone {
		return
	}
	s.gone = true
	delete(ch.subs, s)
	if s.track != nil {
		p := &Presence{Leaves: []PresenceEntry{h.untrackLocked(ch, s)}}
		h.broadcastLocked(ch, nil, p)
		h.relayPresenceLocked(s.Name, p)
	}
	h.dropIfEmptyLocked(s.Name, ch)
}

// chanLocked returns the custom channel name, creating it.
func (h *Hub) chanLocked(name string) *customChan {
	ch := h.custom[name]
	if ch == nil {
		ch = &customChan{subs: map[*CustomSub]struct{}{}, members: map[string][]*CustomSub{}}
		h.custom[name] = ch
	}
	return ch
}

// dropIfEmptyLocked forgets channel name once it has neither
// subscriptions nor (remote) members.
func (h *Hub) dropIfEmptyLocked(name string, ch *customChan) {
	if len(ch.subs) == 0 && len(ch.members) == 0 {
		delete(h.custom, name)
	}
}

// Publish delivers ev to every subscriber of the custom channel name
// except the subscriptions of except (the publisher, when the channel's
// self option is off; nil: none excluded). It never blocks on a client
// and returns the number of receivers. Published events are not kept.
// With a Relay (relay.go) the event is also handed to it, for the
// subscribers on other nodes.
func (h *Hub) Publish(name string, ev *CustomEvent, except Receiver) int {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	n := h.publishLocked(name, ev, except)
	if h.relay != nil {
		h.relay.Published(name, ev)
	}
	return n
}

// publishLocked delivers ev to the subscribers of name but except's.
func (h *Hub) publishLocked(name string, ev *CustomEvent, except Receiver) int {
	ch := h.custom[name]
	if ch == nil {
		return 0
	}
	m := &Message{Channel: name, Custom: ev}
	n := 0
	for s := range ch.subs {
		if s.receiver == except {
			continue
		}
		s.receiver.Receive([]Delivery{{Msg: m}})
		n++
	}
	return n
}

// CustomLen returns the number of custom-channel subscriptions.
func (h *Hub) CustomLen() int {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	n := 0
	for _, ch := range h.custom {
		n += len(ch.subs)
	}
	return n
}
