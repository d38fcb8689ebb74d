package filter

import (
	"strconv"
	"strings"
)

// Where returns the filter as a parenthesized SQL boolean expression,
// appending its operands to args and numbering their placeholders after
// the ones already there, e.g. `("room_id" = $3::text::integer)`. Operands
// are bound as text and cast to the column's type; only quoted catalog
// column names and catalog type names are spliced. It returns "true" for
// an empty filter.
func (f *Filter) Where(args *[]any) string {
	if f.Empty() {
		return "true"
	}
	parts := make([]string, 0, len(f.Conds))
	for i := range f.Conds {
		parts = append(parts, f.Conds[i].sql(args))
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

func bind(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

func (c *Cond) sql(args *[]any) string {
	col := c.col.expr
	if col == "" || len(c.Values) == 0 && c.Op != OpIn {
		return "false" // not made by Parse
	}
	var s string
	switch c.Op {
	case OpIs:
		switch c.Values[0] {
		case "null":
			s = col + " IS NULL"
		case "true":
			s = col + " IS TRUE"
		default:
			s = col + " IS FALSE"
		}
	case OpIn:
		if len(c.Values) == 0 {
			s = "false"
			break
		}
		ps := make([]string, len(c.Values))
		for i, v := range c.Values {
			ps[i] = c.operand(args, v)
		}
		s = col + " IN (" + strings.Join(ps, ", ") + ")"
	case OpLike:
		s = col + " LIKE " + bind(args, c.Values[0]) + "::text"
	case OpILike:
		s = col + ` COLLATE "C" ILIKE ` + bind(args, c.Values[0]) + "::text"
	default:
		s = col + " " + sqlOps[c.Op] + " " + c.operand(args, c.Values[0])
		if c.col.kind == kText && c.Op != OpEq && c.Op != OpNeq {
			// Bytewise order, so that SQL and Match agree whatever the
			// database's collation.
			s += ` COLLATE "C"`
		}
	}
	if c.Not {
		return "NOT (" + s + ")"
	}
	return s
}

func (c *Cond) operand(args *[]any, v string) string {
	return bind(args, v) + "::text::" + c.col.cast
}
