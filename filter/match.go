package filter

import "github.com/walrelay/walrelay"

// Match reports whether the row satisfies every condition, with SQL's
// semantics: a comparison with NULL (or a column missing from the row) is
// unknown, and unknown is not a match, negated or not. Text ordering is
// bytewise, as Where's COLLATE "C" makes it in SQL.
func (f *Filter) Match(row walrelay.Row) bool {
	if f == nil {
		return true
	}
	for i := range f.Conds {
		ok, known := f.Conds[i].eval(row)
		if !known || !ok {
			return false
		}
	}
	return true
}

// eval returns the condition's truth value and whether it is known (not
// SQL NULL).
func (c *Cond) eval(row walrelay.Row) (result, known bool) {
	if c.col.expr == "" || len(c.Values) == 0 && c.Op != OpIn {
		return false, false // not made by Parse
	}
	raw := row[c.Column]
	if c.Op == OpIs {
		switch c.Values[0] {
		case "null":
			result = raw == nil
		default:
			v, ok := rowValue(c.col, raw)
			result = ok && v.b == (c.Values[0] == "true")
		}
		return result != c.Not, true
	}
	if c.Op == OpIn && len(c.vals) == 0 {
		return c.Not, true // in.() is false, like SQL's "false"
	}
	v, ok := rowValue(c.col, raw)
	if !ok {
		return false, false
	}
	switch c.Op {
	case OpIn:
		for _, w := range c.vals {
			if compare(c.col.kind, v, w) == 0 {
				result = true
				break
			}
		}
	case OpLike, OpILike:
		result = c.re != nil && c.re.MatchString(v.s)
	default:
		if len(c.vals) == 0 {
			return false, false
		}
		cmp := compare(c.col.kind, v, c.vals[0])
		switch c.Op {
		case OpEq:
			result = cmp == 0
		case OpNeq:
			result = cmp != 0
		case OpLt:
			result = cmp < 0
		case OpLte:
			result = cmp <= 0
		case OpGt:
			result = cmp > 0
		case OpGte:
			result = cmp >= 0
		}
	}
	return result != c.Not, true
}
