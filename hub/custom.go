package hub

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
)

// Custom channels (CONTRACT §4) carry events that clients publish, events
// emitted from SQL with pg_logical_emit_message, and presence. They are
// indexed by exact channel name (e.g. "chat:room:7"); the hub neither
// parses names nor checks rules: the caller (package ws) subscribes only
// clients that passed the channel's rules, and SetMessageCheck tells the
// hub which emitted messages are valid. Nothing on custom channels is kept
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

// PresenceMeta is one connection's presence on a channel: its metadata
// (a raw JSON object) and a reference unique to this meta, so that a
// client can match a leave to the join it undoes.
type PresenceMeta struct {
	Ref  string
	Meta json.RawMessage
}

// PresenceEntry is one presence key (a user) with its metas, one per
// connection (one user with two tabs has two), in join order.
type PresenceEntry struct {
	Key   string
	Metas []PresenceMeta
}

// Presence is a presence message: the full state (sent to a subscriber
// when it joins; State non-nil, possibly empty) or a diff (Joins, Leaves).
type Presence struct {
	State  []PresenceEntry
	Joins  []PresenceEntry
	Leaves []PresenceEntry
}

// IsState reports whether p is a full state rather than a diff.
func (p *Presence) IsState() bool { return p.State != nil }

// Track is what a tracked subscription shows in presence: its key (the
// user, e.g. the token's sub) and its metadata, a raw JSON object.
type Track struct {
	Key  string
	Meta json.RawMessage
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
}

// customChan is the subscriptions of one custom channel name.
type customChan struct {
	subs map[*CustomSub]struct{}
	// members are the tracked subscriptions by key, in join order.
	members map[string][]*CustomSub
	// order is the keys in first-join order, for a stable state.
	order []string
}

// presenceRefs numbers presence metas.
var presenceRefs atomic.Uint64

func nextRef() string { return strconv.FormatUint(presenceRefs.Add(1), 36) }

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
	ch := h.custom[name]
	if ch == nil {
		ch = &customChan{subs: map[*CustomSub]struct{}{}, members: map[string][]*CustomSub{}}
		h.custom[name] = ch
	}
	ch.subs[s] = struct{}{}
	if track != nil && presence {
		join := h.trackLocked(ch, s, track)
		h.broadcastLocked(ch, s, &Presence{Joins: []PresenceEntry{join}})
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
		left := h.untrackLocked(ch, s)
		h.broadcastLocked(ch, nil, &Presence{Leaves: []PresenceEntry{left}})
	}
	if len(ch.subs) == 0 {
		delete(h.custom, s.Name)
	}
}

// SetPresence changes what s shows in presence: track nil untracks it.
// Every subscriber of the channel, s included, is sent one diff with the
// old meta in leaves and the new one in joins. It does nothing on a
// channel without presence or after UnsubscribeCustom.
func (h *Hub) SetPresence(s *CustomSub, track *Track) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	ch := h.custom[s.Name]
	if ch == nil || s.gone || !s.presence {
		return
	}
	p := &Presence{}
	if s.track != nil {
		p.Leaves = []PresenceEntry{h.untrackLocked(ch, s)}
	}
	if track != nil {
		p.Joins = []PresenceEntry{h.trackLocked(ch, s, track)}
	}
	if p.Joins != nil || p.Leaves != nil {
		h.broadcastLocked(ch, nil, p)
	}
}

// trackLocked adds s to presence under t and returns the join entry.
func (h *Hub) trackLocked(ch *customChan, s *CustomSub, t *Track) PresenceEntry {
	tc := *t
	s.track, s.ref = &tc, nextRef()
	if _, ok := ch.members[t.Key]; !ok {
		ch.order = append(ch.order, t.Key)
	}
	ch.members[t.Key] = append(ch.members[t.Key], s)
	return PresenceEntry{Key: t.Key, Metas: []PresenceMeta{{Ref: s.ref, Meta: tc.Meta}}}
}

// untrackLocked removes s from presence and returns the leave entry.
func (h *Hub) untrackLocked(ch *customChan, s *CustomSub) PresenceEntry {
	key := s.track.Key
	entry := PresenceEntry{Key: key, Metas: []PresenceMeta{{Ref: s.ref, Meta: s.track.Meta}}}
	ms := ch.members[key]
	for i, m := range ms {
		if m == s {
			ms = append(ms[:i:i], ms[i+1:]...)
			break
		}
	}
	if len(ms) == 0 {
		delete(ch.members, key)
		for i, k := range ch.order {
			if k == key {
				ch.order = append(ch.order[:i:i], ch.order[i+1:]...)
				break
			}
		}
	} else {
		ch.members[key] = ms
	}
	s.track, s.ref = nil, ""
	return entry
}

// state returns the channel's presence, keys in first-join order, metas
// in join order. Never nil.
func (ch *customChan) state() []PresenceEntry {
	out := make([]PresenceEntry, 0, len(ch.order))
	for _, k := range ch.order {
		e := PresenceEntry{Key: k}
		for _, s := range ch.members[k] {
			e.Metas = append(e.Metas, PresenceMeta{Ref: s.ref, Meta: s.track.Meta})
		}
		out = append(out, e)
	}
	return out
}

// broadcastLocked sends one presence message to every subscriber of ch
// except skip.
func (h *Hub) broadcastLocked(ch *customChan, skip *CustomSub, p *Presence) {
	var m *Message
	for s := range ch.subs {
		if s == skip || !s.presence {
			continue
		}
		if m == nil {
			m = &Message{Channel: s.Name, Presence: p}
		}
		s.receiver.Receive([]Delivery{{Msg: m}})
	}
}

// Publish delivers ev to every subscriber of the custom channel name
// except the subscriptions of except (the publisher, when the channel's
// self option is off; nil: none excluded). It never blocks on a client
// and returns the number of receivers. Published events are not kept.
func (h *Hub) Publish(name string, ev *CustomEvent, except Receiver) int {
	h.cmu.Lock()
	defer h.cmu.Unlock()
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

// PresenceState returns the presence of the custom channel name (nil when
// nobody is subscribed), for tests and diagnostics.
func (h *Hub) PresenceState(name string) []PresenceEntry {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	if ch := h.custom[name]; ch != nil {
		return ch.state()
	}
	return nil
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
