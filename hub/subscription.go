package hub

import (
	"github.com/walrelay/walrelay"
)

// Matcher narrows a subscription to the rows it matches; *filter.Filter
// satisfies it. A nil Matcher matches every row.
type Matcher interface {
	Match(row walrelay.Row) bool
}

// Receiver is the owner of subscriptions, typically one client connection.
type Receiver interface {
	// Receive gets one transaction's deliveries for this Receiver, in commit
	// order. Deliver calls it with the hub locked: it must not block and must
	// not call methods of the Hub. ds is owned by the Receiver.
	Receive(ds []Delivery)
}

// Delivery is one message for one subscription.
type Delivery struct {
	Sub *Subscription
	Msg *Message
}

// Subscription is one channel subscription of a Receiver. Its fields are
// immutable; to change the filter, subscribe again and unsubscribe the old.
type Subscription struct {
	Channel  walrelay.Channel
	Filter   Matcher
	receiver Receiver
}

// Receiver returns the subscription's owner.
func (s *Subscription) Receiver() Receiver { return s.receiver }

// subSet is a set of subscriptions.
type subSet map[*Subscription]struct{}

// modelIndex holds one model's subscriptions by channel kind; the per-row
// kinds are indexed by the row's key (walrelay.KeyOf).
type modelIndex struct {
	list    subSet
	created subSet
	item    map[string]subSet
	updated map[string]subSet
	deleted map[string]subSet
}

func newModelIndex() *modelIndex {
	return &modelIndex{
		list: subSet{}, created: subSet{},
		item: map[string]subSet{}, updated: map[string]subSet{}, deleted: map[string]subSet{},
	}
}

func (x *modelIndex) empty() bool {
	return len(x.list)+len(x.created)+len(x.item)+len(x.updated)+len(x.deleted) == 0
}

// byID returns the keyed index for kind, or nil for list and created.
func (x *modelIndex) byID(k walrelay.ChannelKind) map[string]subSet {
	switch k {
	case walrelay.KindItem:
		return x.item
	case walrelay.KindUpdated:
		return x.updated
	case walrelay.KindDeleted:
		return x.deleted
	}
	return nil
}

func (x *modelIndex) add(s *Subscription) {
	switch s.Channel.Kind {
	case walrelay.KindList:
		x.list[s] = struct{}{}
	case walrelay.KindCreated:
		x.created[s] = struct{}{}
	default:
		m := x.byID(s.Channel.Kind)
		set := m[s.Channel.ID]
		if set == nil {
			set = subSet{}
			m[s.Channel.ID] = set
		}
		set[s] = struct{}{}
	}
}

func (x *modelIndex) remove(s *Subscription) {
	switch s.Channel.Kind {
	case walrelay.KindList:
		delete(x.list, s)
	case walrelay.KindCreated:
		delete(x.created, s)
	default:
		m := x.byID(s.Channel.Kind)
		if set := m[s.Channel.ID]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(m, s.Channel.ID)
			}
		}
	}
}

// Subscribe registers r for channel ch, narrowed by f (nil: every row). The
// channel must be valid for its model (checked by the caller). It returns
// the subscription and the cursor it starts after: r receives every
// transaction delivered after that position and none before. Safe to call
// concurrently with Deliver; it waits for a Deliver in progress.
func (h *Hub) Subscribe(r Receiver, ch walrelay.Channel, f Matcher) (*Subscription, walrelay.Cursor) {
	s := &Subscription{Channel: ch, Filter: f, receiver: r}
	h.mu.Lock()
	defer h.mu.Unlock()
	idx := h.models[ch.Model]
	if idx == nil {
		idx = newModelIndex()
		h.models[ch.Model] = idx
	}
	idx.add(s)
	return s, h.Position()
}

// Unsubscribe removes s. Once it returns, s receives nothing more. Removing
// a subscription twice is a no-op.
func (h *Hub) Unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	idx := h.models[s.Channel.Model]
	if idx == nil {
		return
	}
	idx.remove(s)
	if idx.empty() {
		delete(h.models, s.Channel.Model)
	}
}

// Len returns the number of subscriptions, for metrics and tests.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, x := range h.models {
		n += len(x.list) + len(x.created)
		for _, m := range []map[string]subSet{x.item, x.updated, x.deleted} {
			for _, set := range m {
				n += len(set)
			}
		}
	}
	return n
}

// Replace swaps old for a subscription to the same channel with filter f,
// in one step: no transaction reaches both or neither. It returns the new
// subscription and its cursor, as Subscribe does.
func (h *Hub) Replace(old *Subscription, f Matcher) (*Subscription, walrelay.Cursor) {
	s := &Subscription{Channel: old.Channel, Filter: f, receiver: old.receiver}
	h.mu.Lock()
	defer h.mu.Unlock()
	idx := h.models[old.Channel.Model]
	if idx == nil {
		idx = newModelIndex()
		h.models[old.Channel.Model] = idx
	}
	idx.remove(old)
	idx.add(s)
	return s, h.Position()
}
