package filter

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/walrelay/walrelay"
)

// Reserved are the query keys that are not column filters.
var Reserved = []string{"order", "limit", "page", "count", "select"}

// maxInValues bounds the operands of one in.(...) list.
const maxInValues = 1000

// Parse reads the column filters of a query: every key not in Reserved is
// a column filter "col=[not.]op.value". A key given several times makes
// several conditions. Unknown or hidden columns, unknown operators,
// operators that do not apply to the column's type, and operands that are
// not valid for it give an error wrapping walrelay.ErrInvalidFilter.
// Conditions come out sorted by column, then in query order.
func Parse(m *walrelay.Model, q url.Values) (*Filter, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		if !slices.Contains(Reserved, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	f := &Filter{}
	for _, k := range keys {
		for _, v := range q[k] {
			c, err := parseCond(m, k, v)
			if err != nil {
				return nil, err
			}
			f.Conds = append(f.Conds, c)
		}
	}
	return f, nil
}

// ParseString parses a filter in query-string form, as a WebSocket
// subscription's "filter" field carries it: "room_id=eq.5&x=gt.3". Reserved
// keys (order, limit...) are not allowed in it.
func ParseString(m *walrelay.Model, s string) (*Filter, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed filter string", walrelay.ErrInvalidFilter)
	}
	for _, k := range Reserved {
		if q.Has(k) {
			return nil, fmt.Errorf("%w: %q is not allowed in a filter", walrelay.ErrInvalidFilter, k)
		}
	}
	return Parse(m, q)
}

// logicKeys are PostgREST's logical operators, which walrelay does not
// take; a table column of that name is still filtered on.
var logicKeys = []string{"or", "and", "not.or", "not.and"}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{walrelay.ErrInvalidFilter}, args...)...)
}

func parseCond(m *walrelay.Model, key, expr string) (Cond, error) {
	col := m.Visible(key)
	if col == nil {
		if slices.Contains(logicKeys, key) {
			return Cond{}, invalid("%s=(...) is not supported: give one condition per column, all must hold (AND)", key)
		}
		return Cond{}, invalid("unknown column %q", key)
	}
	c := Cond{Column: col.Name, col: infoOf(col)}
	opText, operand, ok := strings.Cut(expr, ".")
	if opText == "not" {
		c.Not = true
		opText, operand, ok = strings.Cut(operand, ".")
	}
	c.Op = Op(opText)
	if !ok {
		return Cond{}, invalid("%s: want operator.value, e.g. %s=eq.1", key, key)
	}
	if _, known := sqlOps[c.Op]; !known && c.Op != OpIn && c.Op != OpIs && c.Op != OpLike && c.Op != OpILike {
		return Cond{}, invalid("%s: unknown operator %q", key, opText)
	}
	if !c.col.kind.allows(c.Op) {
		return Cond{}, invalid("%s: operator %s does not apply to type %s", key, c.Op, col.Type)
	}
	var err error
	switch c.Op {
	case OpIs:
		switch operand {
		case "null":
		case "true", "false":
			if c.col.kind != kBool {
				return Cond{}, invalid("%s: is.%s needs a boolean column", key, operand)
			}
		default:
			return Cond{}, invalid("%s: want is.null, is.true or is.false", key)
		}
		c.Values = []string{operand}
	case OpIn:
		items, perr := parseList(operand)
		if perr != nil {
			return Cond{}, invalid("%s: %v", key, perr)
		}
		for _, it := range items {
			if err = c.addOperand(it); err != nil {
				break
			}
		}
	case OpLike, OpILike:
		err = c.addPattern(operand)
	default:
		err = c.addOperand(operand)
	}
	if err != nil {
		return Cond{}, invalid("%s: %v", key, err)
	}
	return c, nil
}

func (c *Cond) addOperand(s string) error {
	v, text, err := parseOperand(c.col, s)
	if err != nil {
		return err
	}
	c.vals = append(c.vals, v)
	c.Values = append(c.Values, text)
	return nil
}

// addPattern reads a LIKE pattern: % (or PostgREST's *) matches any
// string, _ one character, and a backslash escapes the next character.
// ilike folds ASCII letters only (Where uses COLLATE "C"), so that SQL and
// Match agree whatever the database's locale.
func (c *Cond) addPattern(p string) error {
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("pattern contains a NUL byte")
	}
	var sqlPat, re strings.Builder
	re.WriteString(`^(?s)`)
	lit := func(r rune) string {
		if c.Op == OpILike && r < 128 && unicode.IsLetter(r) {
			// ASCII-only case folding, as ILIKE under COLLATE "C" does.
			return "[" + string(unicode.ToLower(r)) + string(unicode.ToUpper(r)) + "]"
		}
		return regexp.QuoteMeta(string(r))
	}
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '\\':
			if i+1 == len(rs) {
				return fmt.Errorf("pattern must not end with a backslash")
			}
			i++
			sqlPat.WriteRune('\\')
			sqlPat.WriteRune(rs[i])
			re.WriteString(lit(rs[i]))
		case '%', '*':
			sqlPat.WriteRune('%')
			re.WriteString(`.*`)
		case '_':
			sqlPat.WriteRune('_')
			re.WriteString(`.`)
		default:
			sqlPat.WriteRune(r)
			re.WriteString(lit(r))
		}
	}
	re.WriteString(`$`)
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		return fmt.Errorf("bad pattern")
	}
	c.re = compiled
	c.Values = []string{sqlPat.String()}
	return nil
}

// parseList reads "(a,b,"c,d")": items separated by commas; an item in
// double quotes may contain commas, and \" and \\ inside quotes.
func parseList(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, fmt.Errorf("want in.(a,b,...)")
	}
	s = s[1 : len(s)-1]
	if s == "" {
		return nil, nil
	}
	var items []string
	for i := 0; ; {
		var item strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated quote in list")
				}
				if s[i] == '\\' && i+1 < len(s) {
					item.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '"' {
					i++
					break
				}
				item.WriteByte(s[i])
				i++
			}
			if i < len(s) && s[i] != ',' {
				return nil, fmt.Errorf("unexpected text after a quoted list item")
			}
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			item.WriteString(s[i : i+j])
			i += j
		}
		items = append(items, item.String())
		if len(items) > maxInValues {
			return nil, fmt.Errorf("more than %d values in list", maxInValues)
		}
		if i >= len(s) {
			return items, nil
		}
		i++ // the comma
		if i == len(s) {
			items = append(items, "")
			return items, nil
		}
	}
}
