package hub

import (
	"github.com/walrelay/walrelay"
)

// Matcher narrows a subscription to the rows it matches; *filter.Filter
// satisfies it. A nil Matcher matches every row.
type Matcher interface {
	Match(row walrelay.Row) bool
}

// KeyedMatcher is a Matcher that requires one column to equal one value
// (e.g. the filter room_id=eq.5), so that the hub can index :list and
// other subscriptions by that value and route an event only to those whose
// value it carries. *filter.Filter implements it. The hub still calls
// Match on every candidate.
type KeyedMatcher interface {
	Matcher
	// EqualityKey returns the column and the key of the value it must
	// equal; ok is false when the matcher has no such requirement.
	EqualityKey() (col, key string, ok bool)
	// ValueKey returns the key of a row's value of that column (nil for a
	// missing or NULL one), in EqualityKey's form: a row Match accepts
	// always has EqualityKey's key. ok false means the key cannot be told;
	// the hub then considers every subscription keyed on the column.
	ValueKey(v any) (key string, ok bool)
}

// Receiver is the owner of subscriptions, typically one client connection.
// The hub calls its methods from the Deliver goroutine (or, for replays and
// Reset, from the goroutine calling Resume or Reset, or from the goroutine
// that hands on the rest of a replay too big for the Receiver's room; for
// custom channels, from the goroutine calling Publish, SubscribeCustom,
// UnsubscribeCustom or SetPresence) with the hub locked: none of them may block or call
// methods of the Hub. Custom-channel calls hold a lock of their own, so
// Receive may be called for one Receiver from two goroutines at once (a
// publish and a transaction, say) and must be safe for that; calls about
// model channels never overlap.
type Receiver interface {
	// Receive gets deliveries for this Receiver, in commit order: one
	// transaction's (or, for a chunked transaction, part of one chunk's)
	// deliveries per call. ds is owned by the Receiver. A Receiver that
	// cannot take them all (its queue would overflow) drops them and
	// closes itself (package ws: close code 4408).
	Receive(ds []Delivery)
	// Room returns how many deliveries Receive can take now without
	// overflowing, and a channel that is closed when that number may have
	// grown (the Receiver's queue drained, or the Receiver closed). A
	// closed Receiver reports a large room. The hub uses it for flow
	// control of chunked and large transactions (see Hub.Deliver) and of
	// replays (see Hub.Resume).
	Room() (n int, grown <-chan struct{})
	// Resync tells the Receiver that subscription s can no longer be
	// continued exactly (see Hub.Reset): the client must re-read and
	// subscribe again. reason is a short code, e.g. "reset".
	Resync(s *Subscription, reason string)
}

// Delivery is one message for one subscription. Sub is nil for messages
// on custom channels (see CustomSub).
type Delivery struct {
	Sub *Subscription
	Msg *Message
}

// Subscription is one channel subscription of a Receiver. Its exported
// fields are immutable; to change the filter or the access, Replace it.
type Subscription struct {
	Channel walrelay.Channel
	Filter  Matcher
	Access  Access
	// receiver owns the subscription.
	receiver Receiver
	// since, when set, drops the events the client already has (see
	// covers): those at or before an event cursor, or of transactions
	// visible in a snapshot cursor. skipLSN, when not 0, is the commit LSN
	// of a chunked transaction in progress when the subscription was made:
	// none of it is delivered. Both are guarded by Hub.mu.
	since   *walrelay.Cursor
	skipLSN walrelay.LSN
	// catchup, when not nil, is the receiver's replay in progress (see
	// Resume): nothing is delivered live meanwhile. Guarded by Hub.mu.
	catchup *catchup
	// toldGap: s was told to resync because its model stopped (see
	// gap.go). Guarded by Hub.mu; Deliver writes it under the read lock.
	toldGap bool
}

// wants reports whether s is to receive ev at all, before routing checks:
// false for events the client already has and for the rest of a chunked
// transaction that was in progress when s was made.
func (s *Subscription) wants(ev *walrelay.Event) bool {
	if s.skipLSN != 0 && ev.LSN == s.skipLSN {
		return false
	}
	return s.since == nil || !covers(*s.since, ev.LSN, ev.Seq, ev.XID)
}

// Receiver returns the subscription's owner.
func (s *Subscription) Receiver() Receiver { return s.receiver }

// subSet is a set of subscriptions.
type subSet map[*Subscription]struct{}

// modelIndex holds one model's subscriptions by channel kind; the per-row
// kinds are indexed by the row's key (walrelay.KeyOf). rowKey is the
// model's read index, nil when it has none.
type modelIndex struct {
	rowKey  RowKeyFunc
	list    audience
	created audience
	item    map[string]*audience
	updated map[string]*audience
	deleted map[string]*audience
}

func newModelIndex(rowKey RowKeyFunc) *modelIndex {
	return &modelIndex{
		rowKey: rowKey,
		item:   map[string]*audience{}, updated: map[string]*audience{}, deleted: map[string]*audience{},
	}
}

func (x *modelIndex) len() int {
	n := x.list.n + x.created.n
	for _, m := range []map[string]*audience{x.item, x.updated, x.deleted} {
		for _, a := range m {
			n += a.n
		}
	}
	return n
}

// byID returns the keyed index for kind, or nil for list and created.
func (x *modelIndex) byID(k walrelay.ChannelKind) map[string]*audience {
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

// audienceOf returns the audience s belongs in, creating it if create.
func (x *modelIndex) audienceOf(s *Subscription, create bool) *audience {
	switch s.Channel.Kind {
	case walrelay.KindList:
		return &x.list
	case walrelay.KindCreated:
		return &x.created
	}
	m := x.byID(s.Channel.Kind)
	a := m[s.Channel.ID]
	if a == nil && create {
		a = &audience{}
		m[s.Channel.ID] = a
	}
	return a
}

func (x *modelIndex) add(s *Subscription) {
	x.audienceOf(s, true).add(s, x.rowKey != nil)
}

func (x *modelIndex) remove(s *Subscription) {
	a := x.audienceOf(s, false)
	if a == nil {
		return
	}
	a.remove(s)
	if a.n == 0 && s.Channel.ID != "" {
		delete(x.byID(s.Channel.Kind), s.Channel.ID)
	}
}

// all returns every subscription of the model.
func (x *modelIndex) all() []*Subscription {
	var out []*Subscription
	collect := func(s *Subscription) { out = append(out, s) }
	x.list.each(collect)
	x.created.each(collect)
	for _, m := range []map[string]*audience{x.item, x.updated, x.deleted} {
		for _, a := range m {
			a.each(collect)
		}
	}
	return out
}

// register adds s to idx and to its receiver's subscriptions. Called with
// mu held for writing.
func (h *Hub) register(idx *modelIndex, s *Subscription) {
	idx.add(s)
	set := h.byReceiver[s.receiver]
	if set == nil {
		set = subSet{}
		h.byReceiver[s.receiver] = set
	}
	set[s] = struct{}{}
}

// unregister removes s from idx, from its receiver's subscriptions and
// from a catch-up. Removing it twice is a no-op. Called with mu held for
// writing.
func (h *Hub) unregister(idx *modelIndex, s *Subscription) {
	idx.remove(s)
	if set := h.byReceiver[s.receiver]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.byReceiver, s.receiver)
		}
	}
	h.leaveCatchup(s)
}

// index returns model's index, creating it. Called with mu held for
// writing.
func (h *Hub) index(model string) *modelIndex {
	idx := h.models[model]
	if idx == nil {
		idx = newModelIndex(h.readIndex[model])
		h.models[model] = idx
	}
	return idx
}

// Subscribe registers r for channel ch, narrowed by f (nil: every row) and
// by the read access a (see Access; the zero Access receives nothing but
// truncates). The channel must be valid for its model (checked by the
// caller). It returns the subscription and the cursor it starts after: r
// receives every transaction delivered after that position and none
// before. Safe to call concurrently with Deliver; it waits for a Deliver
// (or a chunk of one) in progress. See Resume to start from a cursor.
func (h *Hub) Subscribe(r Receiver, ch walrelay.Channel, f Matcher, a Access) (*Subscription, walrelay.Cursor) {
	var pos walrelay.Cursor
	s := h.Resume(r, nil, ch, f, a, nil, func(p walrelay.Cursor, _ bool) { pos = p })
	return s, pos
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
	h.unregister(idx, s)
	if idx.len() == 0 {
		delete(h.models, s.Channel.Model)
	}
}

// Len returns the number of subscriptions, for metrics and tests.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, x := range h.models {
		n += x.len()
	}
	return n
}

// Replace swaps old for a subscription to the same channel with filter f
// and access a, in one step: no transaction reaches both or neither. The
// new subscription keeps old's resume point. It returns the new
// subscription and its cursor, as Subscribe does. Use it to change a
// filter, and to re-index a subscription whose claims changed. A replay
// in progress continues for the new subscription.
func (h *Hub) Replace(old *Subscription, f Matcher, a Access) (*Subscription, walrelay.Cursor) {
	s := &Subscription{Channel: old.Channel, Filter: f, Access: a, receiver: old.receiver}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.since, s.skipLSN, s.toldGap = old.since, old.skipLSN, old.toldGap
	idx := h.index(old.Channel.Model)
	moveCatchup(old, s)
	h.unregister(idx, old)
	h.register(idx, s)
	return s, h.startCursor()
}

// SetReadIndex declares that model's read rule is indexed: subscriptions
// of the model read the rows whose rowKey equals their Access.Key, and
// events are routed by key instead of calling Access.Allow per
// subscription (see Access). A nil rowKey removes the index. Existing
// subscriptions of the model are re-bucketed; call it at startup, before
// clients subscribe, to avoid that cost.
func (h *Hub) SetReadIndex(model string, rowKey RowKeyFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rowKey == nil {
		delete(h.readIndex, model)
	} else {
		h.readIndex[model] = rowKey
	}
	old := h.models[model]
	if old == nil {
		return
	}
	idx := newModelIndex(rowKey)
	for _, s := range old.all() {
		idx.add(s)
	}
	h.models[model] = idx
}

// Channels returns every Receiver's subscribed channels, model and custom,
// for the inspector. Safe for concurrent use; it waits for a Deliver in
// progress.
func (h *Hub) Channels() map[Receiver][]string {
	out := map[Receiver][]string{}
	h.mu.Lock()
	for _, x := range h.models {
		for _, s := range x.all() {
			out[s.receiver] = append(out[s.receiver], s.Channel.String())
		}
	}
	h.mu.Unlock()
	h.cmu.Lock()
	for name, ch := range h.custom {
		for s := range ch.subs {
			out[s.receiver] = append(out[s.receiver], name)
		}
	}
	h.cmu.Unlock()
	return out
}
