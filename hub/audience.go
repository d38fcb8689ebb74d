package hub

import "github.com/walrelay/walrelay"

// audience is the subscriptions of one channel (a model's :list or
// :created, or one row's :item, :updated or :deleted), bucketed so that
// routing an event looks only at the subscriptions that may receive it:
//
//   - open holds those with Access.All and, for models without a read
//     index, every subscription that is not None (they are checked with
//     Access.Allow), unless their filter has an equality key;
//   - eq holds those open ones whose filter requires a column to equal a
//     value (KeyedMatcher, e.g. room_id=eq.5), by column and key;
//   - byKey holds, for indexed models, the others by Access.Key;
//   - none holds those with Access.None, which only get truncates.
//
// Every subscription is in exactly one bucket. The buckets only narrow the
// candidates: routing still checks each candidate's filter and access.
type audience struct {
	n     int
	open  subSet
	eq    map[string]*eqIndex
	byKey map[string]subSet
	none  subSet
}

// eqIndex is the open subscriptions whose filters require one column to
// equal a value, by the value's key. keyer is one of their filters, to
// key row values with (all filters of a column key alike).
type eqIndex struct {
	keyer KeyedMatcher
	by    map[string]subSet
}

// eqKey returns the column and key s is indexed by in eq, if any.
func eqKey(s *Subscription) (KeyedMatcher, string, string, bool) {
	km, ok := s.Filter.(KeyedMatcher)
	if !ok {
		return nil, "", "", false
	}
	col, key, ok := km.EqualityKey()
	return km, col, key, ok
}

// add puts s in its bucket; indexed says whether the model has a read
// index.
func (a *audience) add(s *Subscription, indexed bool) {
	a.n++
	switch {
	case s.Access.None:
		a.none = addTo(a.none, s)
	case s.Access.All || !indexed:
		km, col, key, ok := eqKey(s)
		if !ok {
			a.open = addTo(a.open, s)
			return
		}
		if a.eq == nil {
			a.eq = map[string]*eqIndex{}
		}
		x := a.eq[col]
		if x == nil {
			x = &eqIndex{keyer: km, by: map[string]subSet{}}
			a.eq[col] = x
		}
		x.by[key] = addTo(x.by[key], s)
	default:
		if a.byKey == nil {
			a.byKey = map[string]subSet{}
		}
		a.byKey[s.Access.Key] = addTo(a.byKey[s.Access.Key], s)
	}
}

// remove takes s out of whichever bucket holds it.
func (a *audience) remove(s *Subscription) {
	if _, col, key, ok := eqKey(s); ok {
		if x := a.eq[col]; x != nil {
			if _, in := x.by[key][s]; in {
				delete(x.by[key], s)
				a.n--
				if len(x.by[key]) == 0 {
					delete(x.by, key)
				}
				if len(x.by) == 0 {
					delete(a.eq, col)
				}
				return
			}
		}
	}
	for _, set := range []subSet{a.open, a.none, a.byKey[s.Access.Key]} {
		if _, ok := set[s]; ok {
			delete(set, s)
			a.n--
			if len(a.byKey[s.Access.Key]) == 0 {
				delete(a.byKey, s.Access.Key)
			}
			return
		}
	}
}

// each calls f for every subscription, in no particular order.
func (a *audience) each(f func(*Subscription)) {
	for s := range a.open {
		f(s)
	}
	for _, x := range a.eq {
		for _, set := range x.by {
			for s := range set {
				f(s)
			}
		}
	}
	for _, set := range a.byKey {
		for s := range set {
			f(s)
		}
	}
	for s := range a.none {
		f(s)
	}
}

// readers calls f, once each, for every subscription that may read one of
// rows (two for an update: the new and the old row; nil rows are skipped)
// and whose filter's equality key, if it has one, fits it: the open ones,
// those of eq whose key is a row's value of their column, and, for an
// indexed model, the buckets of keys (the rows' read-index keys). Without
// a read index keys are ignored and f must check Allow.
func (a *audience) readers(indexed bool, keys [2]string, rows [2]walrelay.Row, nkeys int, f func(*Subscription)) {
	for s := range a.open {
		f(s)
	}
	for col, x := range a.eq {
		var ks [2]string
		n, all := 0, false
		for _, row := range rows {
			if row == nil {
				continue
			}
			k, ok := x.keyer.ValueKey(row[col])
			if !ok {
				all = true
				break
			}
			if n == 1 && ks[0] == k {
				continue
			}
			ks[n], n = k, n+1
		}
		if all {
			for _, set := range x.by {
				for s := range set {
					f(s)
				}
			}
			continue
		}
		for _, k := range ks[:n] {
			for s := range x.by[k] {
				f(s)
			}
		}
	}
	if !indexed {
		return
	}
	for i := range nkeys {
		if i == 1 && keys[1] == keys[0] {
			break
		}
		for s := range a.byKey[keys[i]] {
			f(s)
		}
	}
}

func addTo(set subSet, s *Subscription) subSet {
	if set == nil {
		set = subSet{}
	}
	set[s] = struct{}{}
	return set
}
