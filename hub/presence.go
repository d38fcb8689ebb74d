package hub

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
)

// Presence on a custom channel: which users (keys) are there, with one
// meta per connection. The state lives with the channel's subscriptions
// (customChan) under the custom lock, so joins, leaves and events reach
// every subscriber in one order (see the ordering note in custom.go).

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

// presenceRefs numbers presence metas.
var presenceRefs atomic.Uint64

// nextRef returns a new presence ref, with the hub's prefix (see
// WithRefPrefix).
func (h *Hub) nextRef() string { return h.refPrefix + strconv.FormatUint(presenceRefs.Add(1), 36) }

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
		p.Joins = []PresenceEntry{h.trackLocked(ch, s, track, h.nextRef())}
	}
	if p.Joins != nil || p.Leaves != nil {
		h.broadcastLocked(ch, nil, p)
		h.relayPresenceLocked(s.Name, p)
	}
}

// trackLocked adds s to presence under t with meta reference ref and
// returns the join entry.
func (h *Hub) trackLocked(ch *customChan, s *CustomSub, t *Track, ref string) PresenceEntry {
	tc := *t
	s.track, s.ref = &tc, ref
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
	return ch.stateOf(func(*CustomSub) bool { return true })
}

// stateOf is state narrowed to the members keep accepts; keys without
// such members are left out.
func (ch *customChan) stateOf(keep func(*CustomSub) bool) []PresenceEntry {
	out := make([]PresenceEntry, 0, len(ch.order))
	for _, k := range ch.order {
		e := PresenceEntry{Key: k}
		for _, s := range ch.members[k] {
			if keep(s) {
				e.Metas = append(e.Metas, PresenceMeta{Ref: s.ref, Meta: s.track.Meta})
			}
		}
		if len(e.Metas) > 0 {
			out = append(out, e)
		}
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
