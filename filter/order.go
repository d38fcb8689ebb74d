package filter

import (
	"fmt"
	"strings"

	"github.com/walrelay/walrelay"
)

// Order is one sort key. Nulls sort as Postgres sorts them by default:
// last when ascending, first when descending.
type Order struct {
	Column string
	Desc   bool
}

// String returns the key in query syntax, e.g. "created_at.desc".
func (o Order) String() string {
	if o.Desc {
		return o.Column + ".desc"
	}
	return o.Column + ".asc"
}

// ParseOrder parses "created_at.desc,id" (direction defaults to asc). A
// key may end with .nullsfirst or .nullslast only where that is already
// the default (desc and asc respectively). Unknown or hidden columns,
// columns of unorderable types, repeated columns and bad syntax give errors
// wrapping walrelay.ErrInvalidFilter. An empty string gives no keys.
func ParseOrder(m *walrelay.Model, s string) ([]Order, error) {
	if s == "" {
		return nil, nil
	}
	var out []Order
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		parts := strings.Split(item, ".")
		name := parts[0]
		col := m.Visible(name)
		if col == nil {
			return nil, invalid("order: unknown column %q", name)
		}
		if !Orderable(col) {
			return nil, invalid("order: cannot order by %q of type %s", name, col.Type)
		}
		if seen[name] {
			return nil, invalid("order: column %q given twice", name)
		}
		seen[name] = true
		o := Order{Column: col.Name}
		rest := parts[1:]
		if len(rest) > 0 {
			switch rest[0] {
			case "asc":
				rest = rest[1:]
			case "desc":
				o.Desc = true
				rest = rest[1:]
			}
		}
		if len(rest) == 1 && (rest[0] == "nullslast" && !o.Desc || rest[0] == "nullsfirst" && o.Desc) {
			rest = nil
		}
		if len(rest) > 0 {
			return nil, invalid("order: %s", orderHint(item))
		}
		out = append(out, o)
	}
	return out, nil
}

func orderHint(item string) string {
	return fmt.Sprintf("bad key %q: want column[.asc|.desc] (nullsfirst only with desc, nullslast only with asc)", item)
}
