package hub

import (
	"github.com/walrelay/walrelay"
)

// route adds ev's deliveries to b (CONTRACT §4):
//
//   - :list gets created, updated, deleted and truncated, narrowed by the
//     subscription's filter, with filter transitions on updates (listOp);
//   - :created gets created; :item:{id} updated and deleted of that row;
//     :updated:{id} and :deleted:{id} their op of that row.
//
// Filters on the other kinds are checked against ev.Row(). The caller has
// checked that the model broadcasts ev.Op.
func (x *modelIndex) route(ev *walrelay.Event, b *batch) {
	model := ev.Model.Name
	var listMsgs map[walrelay.Op]*Message
	for s := range x.list {
		op, ok := listOp(ev, s.Filter)
		if !ok {
			continue
		}
		m := listMsgs[op]
		if m == nil {
			if listMsgs == nil {
				listMsgs = map[walrelay.Op]*Message{}
			}
			m = &Message{Channel: model + ":list", Op: op, Event: ev}
			listMsgs[op] = m
		}
		b.add(s, m)
	}
	if ev.Op == walrelay.OpTruncated {
		return
	}
	if ev.Op == walrelay.OpCreated {
		x.routeSet(x.created, walrelay.Channel{Model: model, Kind: walrelay.KindCreated}, ev, b)
		return
	}
	key := walrelay.KeyOf(ev.ID())
	if key == "" {
		return
	}
	x.routeSet(x.item[key], walrelay.Channel{Model: model, Kind: walrelay.KindItem, ID: key}, ev, b)
	switch ev.Op {
	case walrelay.OpUpdated:
		x.routeSet(x.updated[key], walrelay.Channel{Model: model, Kind: walrelay.KindUpdated, ID: key}, ev, b)
	case walrelay.OpDeleted:
		x.routeSet(x.deleted[key], walrelay.Channel{Model: model, Kind: walrelay.KindDeleted, ID: key}, ev, b)
	}
}

// routeSet delivers ev unchanged to the subscriptions of set whose filter
// matches the event's row, sharing one Message among them.
func (x *modelIndex) routeSet(set subSet, ch walrelay.Channel, ev *walrelay.Event, b *batch) {
	var m *Message
	for s := range set {
		if !matches(s.Filter, ev.Row()) {
			continue
		}
		if m == nil {
			m = &Message{Channel: ch.String(), Op: ev.Op, Event: ev}
		}
		b.add(s, m)
	}
}

// listOp returns the event name a :list subscription with filter f receives
// for ev, and false when it receives nothing. Without a filter it is ev.Op.
// With one, creates and deletes are checked against their row; an update is
// "updated" when the row matched before and after, "created" when it moves
// into the filter, "deleted" when it moves out, and nothing when it matched
// neither. Without the old row (no REPLICA IDENTITY FULL) an update that no
// longer matches is sent as "deleted", since the client may hold the row.
// Truncates go to every :list subscription.
func listOp(ev *walrelay.Event, f Matcher) (walrelay.Op, bool) {
	switch ev.Op {
	case walrelay.OpTruncated:
		return ev.Op, true
	case walrelay.OpCreated:
		return ev.Op, matches(f, ev.New)
	case walrelay.OpDeleted:
		return ev.Op, matches(f, ev.Old)
	case walrelay.OpUpdated:
		if f == nil {
			return ev.Op, true
		}
		now := f.Match(ev.New)
		if ev.Old == nil {
			if now {
				return walrelay.OpUpdated, true
			}
			return walrelay.OpDeleted, true
		}
		was := f.Match(ev.Old)
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
