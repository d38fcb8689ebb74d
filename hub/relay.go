package hub

import (
	"slices"
)

// Several nodes (package cluster) share custom channels through a Relay:
// what is published on this hub, and how its own subscriptions change
// presence, goes out through the Relay; what other nodes publish comes in
// through PublishRemote, and their presence through ApplyRemotePresence and
// ReplaceRemotePresence. A remote member shows in the presence state and
// diffs of this hub's subscribers like a local one; its reference is the
// one its node gave it, so references must be unique across nodes (see
// WithRefPrefix). Without a Relay nothing of this runs.

// Relay carries this hub's custom-channel traffic to other nodes. The hub
// calls it with its custom-channel lock held, in the order things happen
// here; its methods must not block or call the Hub.
type Relay interface {
	// Published is called for every event published on this hub
	// (Publish), after it was handed to the local subscribers.
	Published(name string, ev *CustomEvent)
	// PresenceChanged is called for every change of the presence of this
	// hub's own subscriptions on channel name. version numbers these
	// changes from 1 without gaps, so a node that missed one can tell and
	// ask for LocalPresence.
	PresenceChanged(version uint64, name string, p *Presence)
}

// WithRefPrefix makes the hub's presence references start with prefix (a
// node id in a cluster), so that they are unique across nodes.
func WithRefPrefix(prefix string) Option { return func(h *Hub) { h.refPrefix = prefix } }

// SetRelay sets the Relay; call it at startup, before clients subscribe.
func (h *Hub) SetRelay(r Relay) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	h.relay = r
}

// relayPresenceLocked numbers a change of local presence and passes it to
// the Relay. Called with cmu held.
func (h *Hub) relayPresenceLocked(name string, p *Presence) {
	h.presenceVersion++
	if h.relay != nil {
		h.relay.PresenceChanged(h.presenceVersion, name, p)
	}
}

// PublishRemote hands ev, published on another node, to every subscriber
// of the custom channel name on this hub, and returns how many there were.
// It is not passed to the Relay.
func (h *Hub) PublishRemote(name string, ev *CustomEvent) int {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	return h.publishLocked(name, ev, nil)
}

// LocalPresence returns the presence of this hub's own subscriptions, per
// channel (keys in first-join order, metas in join order), and the version
// of the last change it includes (see Relay.PresenceChanged).
func (h *Hub) LocalPresence() (version uint64, state map[string][]PresenceEntry) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	state = map[string][]PresenceEntry{}
	for name, ch := range h.custom {
		if es := ch.stateOf(func(s *CustomSub) bool { return s.node == "" }); len(es) > 0 {
			state[name] = es
		}
	}
	return h.presenceVersion, state
}

// ApplyRemotePresence applies a presence change made on node to channel
// name: the metas of leaves leave, those of joins join (a reference
// already known, or unknown in leaves, is skipped). This hub's subscribers
// of the channel are sent the diff of what changed.
func (h *Hub) ApplyRemotePresence(node, name string, joins, leaves []PresenceEntry) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	h.applyRemoteLocked(node, name, joins, leaves)
}

// ReplaceRemotePresence makes everything node shows in presence equal
// state (per channel; nil: nothing, the node is gone), sending this hub's
// subscribers the diffs.
func (h *Hub) ReplaceRemotePresence(node string, state map[string][]PresenceEntry) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	current := map[string]map[string]bool{} // channel -> refs
	for ref, s := range h.remote[node] {
		if current[s.Name] == nil {
			current[s.Name] = map[string]bool{}
		}
		current[s.Name][ref] = true
	}
	for name, es := range state {
		var joins []PresenceEntry
		want := map[string]bool{}
		for _, e := range es {
			for _, m := range e.Metas {
				want[m.Ref] = true
				if !current[name][m.Ref] {
					joins = append(joins, PresenceEntry{Key: e.Key, Metas: []PresenceMeta{m}})
				}
			}
		}
		var leaves []PresenceEntry
		for ref := range current[name] {
			if !want[ref] {
				leaves = append(leaves, PresenceEntry{Metas: []PresenceMeta{{Ref: ref}}})
			}
		}
		h.applyRemoteLocked(node, name, joins, leaves)
		delete(current, name)
	}
	for name, refs := range current {
		var leaves []PresenceEntry
		for ref := range refs {
			leaves = append(leaves, PresenceEntry{Metas: []PresenceMeta{{Ref: ref}}})
		}
		h.applyRemoteLocked(node, name, nil, leaves)
	}
	if len(h.remote[node]) == 0 {
		delete(h.remote, node)
	}
}

// applyRemoteLocked is ApplyRemotePresence with cmu held. Leaves are
// matched by reference only.
func (h *Hub) applyRemoteLocked(node, name string, joins, leaves []PresenceEntry) {
	ch := h.chanLocked(name)
	refs := h.remote[node]
	if refs == nil {
		refs = map[string]*CustomSub{}
		h.remote[node] = refs
	}
	p := &Presence{}
	for _, e := range leaves {
		for _, m := range e.Metas {
			s := refs[m.Ref]
			if s == nil || s.Name != name {
				continue
			}
			delete(refs, m.Ref)
			p.Leaves = appendEntry(p.Leaves, h.untrackLocked(ch, s))
		}
	}
	for _, e := range joins {
		for _, m := range e.Metas {
			if m.Ref == "" || refs[m.Ref] != nil {
				continue
			}
			s := &CustomSub{Name: name, presence: true, node: node}
			refs[m.Ref] = s
			p.Joins = appendEntry(p.Joins, h.trackLocked(ch, s, &Track{Key: e.Key, Meta: m.Meta}, m.Ref))
		}
	}
	if len(refs) == 0 {
		delete(h.remote, node)
	}
	if p.Joins != nil || p.Leaves != nil {
		h.broadcastLocked(ch, nil, p)
	}
	h.dropIfEmptyLocked(name, ch)
}

// appendEntry adds e's metas to es, under e's key's entry if es has one.
func appendEntry(es []PresenceEntry, e PresenceEntry) []PresenceEntry {
	i := slices.IndexFunc(es, func(x PresenceEntry) bool { return x.Key == e.Key })
	if i < 0 {
		return append(es, e)
	}
	es[i].Metas = append(es[i].Metas, e.Metas...)
	return es
}
