package hub

import (
	"github.com/walrelay/walrelay"
)

// route adds ev's deliveries to b (CONTRACT §4):
//
//   - :list gets created, updated, deleted and truncated, narrowed by the
//     subscription's view (read access AND filter), with view transitions
//     on updates (viewOp);
//   - :created gets created; :item:{id} updated and deleted of that row;
//     :updated:{id} and :deleted:{id} their op of that row. For these the
//     view is checked against ev.Row() only (the new row; the old row for
//     deletes).
//
// The caller has checked that the model broadcasts ev.Op.
func (x *modelIndex) route(ev *walrelay.Event, b *batch) {
	model := ev.Model.Name
	x.routeList(ev, b)
	if ev.Op == walrelay.OpTruncated {
		return
	}
	if ev.Op == walrelay.OpCreated {
		x.routeSet(&x.created, walrelay.Channel{Model: model, Kind: walrelay.KindCreated}, ev, b)
		return
	}
	key := walrelay.KeyOf(ev.ID())
	if key == "" {
		return
	}
	if a := x.item[key]; a != nil {
		x.routeSet(a, walrelay.Channel{Model: model, Kind: walrelay.KindItem, ID: key}, ev, b)
	}
	switch ev.Op {
	case walrelay.OpUpdated:
		if a := x.updated[key]; a != nil {
			x.routeSet(a, walrelay.Channel{Model: model, Kind: walrelay.KindUpdated, ID: key}, ev, b)
		}
	case walrelay.OpDeleted:
		if a := x.deleted[key]; a != nil {
			x.routeSet(a, walrelay.Channel{Model: model, Kind: walrelay.KindDeleted, ID: key}, ev, b)
		}
	}
}

// routeList routes ev to the :list subscriptions whose view it touches.
func (x *modelIndex) routeList(ev *walrelay.Event, b *batch) {
	if x.list.n == 0 {
		return
	}
	var msgs [4]*Message // by op; a list sees at most created/updated/deleted/truncated
	add := func(s *Subscription, op walrelay.Op) {
		i := opSlot(op)
		if msgs[i] == nil {
			msgs[i] = &Message{Channel: ev.Model.Name + ":list", Op: op, Event: ev, Epoch: b.epoch}
		}
		b.add(s, msgs[i])
	}
	if ev.Op == walrelay.OpTruncated {
		// A truncate carries no row: every :list subscription drops its rows.
		x.list.each(func(s *Subscription) { add(s, walrelay.OpTruncated) })
		return
	}
	indexed := x.rowKey != nil
	var newKey, oldKey string
	var keys [2]string
	n := 0
	if indexed {
		if ev.New != nil {
			newKey = x.rowKey(ev.New)
			keys[n], n = newKey, n+1
		}
		if ev.Old != nil {
			oldKey = x.rowKey(ev.Old)
			keys[n], n = oldKey, n+1
		}
	}
	x.list.readers(indexed, keys, [2]walrelay.Row{ev.New, ev.Old}, n, func(s *Subscription) {
		if op, ok := viewOp(ev, s, newKey, oldKey, indexed); ok {
			add(s, op)
		}
	})
}

func opSlot(op walrelay.Op) int {
	switch op {
	case walrelay.OpCreated:
		return 0
	case walrelay.OpUpdated:
		return 1
	case walrelay.OpDeleted:
		return 2
	}
	return 3
}

// routeSet delivers ev unchanged to the subscriptions of a that may read
// the event's row and whose filter matches it, sharing one Message.
func (x *modelIndex) routeSet(a *audience, ch walrelay.Channel, ev *walrelay.Event, b *batch) {
	row := ev.Row()
	indexed := x.rowKey != nil
	var key string
	var keys [2]string
	n := 0
	if indexed {
		key = x.rowKey(row)
		keys[0], n = key, 1
	}
	var m *Message
	a.readers(indexed, keys, [2]walrelay.Row{row}, n, func(s *Subscription) {
		// The filter first: it is cheap, and the rule may be CEL.
		if !matches(s.Filter, row) || !s.Access.reads(row, key, indexed) {
			return
		}
		if m == nil {
			m = &Message{Channel: ch.String(), Op: ev.Op, Event: ev, Epoch: b.epoch}
		}
		b.add(s, m)
	})
}

// viewOp returns the event name a :list subscription s receives for ev,
// and false when it receives nothing. A row is in s's view when s may read
// it (s.Access) and s's filter matches it. Creates and deletes are judged
// on their row. An update is "updated" when the row was in view before and
// after, "created" when it moves into view, "deleted" when it moves out,
// and nothing when it was in view neither before nor after.
//
// Without the old row (no REPLICA IDENTITY FULL) the past view is unknown:
// an update whose new row s may read is "updated" when the filter matches
// and "deleted" when not (the client may hold the row); an update whose
// new row s may not read is not sent at all, since s may never have been
// allowed to learn the row's id.
func viewOp(ev *walrelay.Event, s *Subscription, newKey, oldKey string, indexed bool) (walrelay.Op, bool) {
	// The filter is checked before the read access: it is cheap, and
	// the access may evaluate a CEL rule. (Both must hold; only the cost
	// differs.)
	inView := func(row walrelay.Row, key string) bool {
		return row != nil && matches(s.Filter, row) && s.Access.reads(row, key, indexed)
	}
	switch ev.Op {
	case walrelay.OpCreated:
		return ev.Op, inView(ev.New, newKey)
	case walrelay.OpDeleted:
		return ev.Op, inView(ev.Old, oldKey)
	case walrelay.OpUpdated:
		if ev.Old == nil {
			if !s.Access.reads(ev.New, newKey, indexed) {
				return "", false
			}
			if matches(s.Filter, ev.New) {
				return walrelay.OpUpdated, true
			}
			return walrelay.OpDeleted, true
		}
		was, now := inView(ev.Old, oldKey), inView(ev.New, newKey)
		switch {
		case was && now:
			return walrelay.OpUpdated, true
		case now:
			return walrelay.OpCreated, true
		case was:
			return walrelay.OpDeleted, true
		}
	}
	return "", false
}

func matches(f Matcher, row walrelay.Row) bool { return f == nil || f.Match(row) }
