package filter

import (
	"strconv"
)

// NullKey is ValueKey's key of a value that no equality condition matches
// (NULL, a missing column, a value of the wrong kind). It never equals an
// operand's key: integers print without NUL, and text and uuid operands
// cannot hold one.
const NullKey = "\x00null"

// keyCond returns the filter's first condition of the form col=eq.v on an
// integer, text or uuid column: every row the filter matches has
// row[col] equal to v. Nil when there is none.
func (f *Filter) keyCond() *Cond {
	if f == nil {
		return nil
	}
	for i := range f.Conds {
		c := &f.Conds[i]
		if c.Op != OpEq || c.Not || len(c.vals) != 1 {
			continue
		}
		switch c.col.kind {
		case kInt:
			if c.vals[0].n.isInt {
				return c
			}
		case kText, kUUID:
			return c
		}
	}
	return nil
}

// EqualityKey returns a column that the filter requires to equal a value,
// and that value's key, so that a router can index subscriptions by it
// (hub.KeyedMatcher): every row the filter matches has ValueKey(row[col])
// equal to key. ok is false when the filter has no such condition.
func (f *Filter) EqualityKey() (col, key string, ok bool) {
	c := f.keyCond()
	if c == nil {
		return "", "", false
	}
	return c.Column, operandKey(c), true
}

func operandKey(c *Cond) string {
	if c.col.kind == kInt {
		return strconv.FormatInt(c.vals[0].n.i, 10)
	}
	return c.vals[0].s
}

// ValueKey returns the key of a row value of EqualityKey's column, in the
// form EqualityKey gives: two values have the same key exactly when Match
// finds them equal, and a value no equality can match (NULL, missing,
// unparseable) has NullKey. ok is false only when the filter has no
// EqualityKey.
func (f *Filter) ValueKey(v any) (key string, ok bool) {
	c := f.keyCond()
	if c == nil {
		return "", false
	}
	rv, known := rowValue(c.col, v)
	if !known {
		return NullKey, true
	}
	if c.col.kind != kInt {
		return rv.s, true
	}
	switch n := rv.n; {
	case n.cls != 0:
		return NullKey, true // NaN and infinities equal no integer
	case n.isInt:
		return strconv.FormatInt(n.i, 10), true
	case n.r.IsInt():
		return n.r.Num().String(), true
	default:
		return n.r.RatString(), true // a fraction equals no integer; "p/q" is no integer's key
	}
}
