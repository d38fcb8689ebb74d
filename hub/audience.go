package hub

// audience is the subscriptions of one channel (a model's :list or
// :created, or one row's :item, :updated or :deleted), bucketed by read
// access so that routing an event looks only at the subscriptions that may
// read its row:
//
//   - open holds those with Access.All and, for models without a read
//     index, every subscription that is not None (they are checked with
//     Access.Allow);
//   - byKey holds, for indexed models, the others by Access.Key;
//   - none holds those with Access.None, which only get truncates.
type audience struct {
	n     int
	open  subSet
	byKey map[string]subSet
	none  subSet
}

// add puts s in its bucket; indexed says whether the model has a read
// index.
func (a *audience) add(s *Subscription, indexed bool) {
	a.n++
	switch {
	case s.Access.None:
		a.none = addTo(a.none, s)
	case s.Access.All || !indexed:
		a.open = addTo(a.open, s)
	default:
		if a.byKey == nil {
			a.byKey = map[string]subSet{}
		}
		a.byKey[s.Access.Key] = addTo(a.byKey[s.Access.Key], s)
	}
}

// remove takes s out of whichever bucket holds it.
func (a *audience) remove(s *Subscription) {
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
	for _, set := range a.byKey {
		for s := range set {
			f(s)
		}
	}
	for s := range a.none {
		f(s)
	}
}

// readers calls f for every subscription that may read a row with one of
// keys (two for an update: the old and the new row's), each once:
// open ones and the buckets of those keys. indexed says whether the model
// has a read index; without one keys are ignored and f must check Allow.
func (a *audience) readers(indexed bool, keys [2]string, nkeys int, f func(*Subscription)) {
	for s := range a.open {
		f(s)
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
