package store

import (
	"strconv"
	"strings"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/filter"
)

// keysetAfter returns the condition "sorts after the row whose key values
// are vals" for the order keys, with Postgres's default null placement
// (NULLS LAST ascending, NULLS FIRST descending). It expands to
//
//	(k1 after v1) OR (k1 = v1 AND k2 after v2) OR ...
//
// where a NULL value compares with IS NULL. Values are bound as text cast
// to the column's type.
func keysetAfter(m *walrelay.Model, keys []filter.Order, vals []*string, args *[]any) string {
	var ors []string
	var eqs []string
	for i, k := range keys {
		col := m.Column(k.Column)
		id := quoteIdent(col.Name)
		var val string
		if vals[i] != nil {
			*args = append(*args, *vals[i])
			val = "$" + strconv.Itoa(len(*args)) + "::text::" + col.Type
		}
		var after string
		switch {
		case vals[i] == nil && !k.Desc: // nulls last: nothing after NULL
		case vals[i] == nil && k.Desc: // nulls first: every value follows
			after = id + " IS NOT NULL"
		case !k.Desc:
			after = "(" + id + " > " + val + " OR " + id + " IS NULL)"
		default:
			after = id + " < " + val
		}
		if after != "" {
			ors = append(ors, "("+strings.Join(append(append([]string(nil), eqs...), after), " AND ")+")")
		}
		if vals[i] == nil {
			eqs = append(eqs, id+" IS NULL")
		} else {
			eqs = append(eqs, id+" = "+val)
		}
	}
	if len(ors) == 0 {
		return "false"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}
