package authz

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/walrelay/walrelay"
)

// ReadSQL returns m's read rule for claims as a boolean SQL expression over
// the table's (unqualified) columns, for a WHERE clause; values are bound
// parameters appended to *args and numbered after the ones already there.
// It returns "true" or "false" when the rule folds to a constant, and
// "false" when m has no read rule. The expression is true exactly for the
// rows Allow(m, read, claims, row) accepts: CEL evaluation errors map to
// SQL NULL, which SQL's three-valued logic treats like CEL treats errors.
// It does no I/O; the error is reserved and currently always nil.
func (p *Policy) ReadSQL(m *walrelay.Model, claims Claims, args *[]any) (string, error) {
	r := p.Rule(m, ActionRead)
	if r == nil || r.sql == nil {
		return "false", nil
	}
	start := len(*args)
	f := r.sql.emit(&emitter{claims: claims, args: args})
	switch f.c {
	case constTrue:
		*args = (*args)[:start]
		return "true", nil
	case constFalse, constNull:
		*args = (*args)[:start]
		return "false", nil
	}
	return f.sql, nil
}

// tri is the state of an SQL fragment: a constant or an expression.
type tri uint8

const (
	expr tri = iota
	constTrue
	constFalse
	constNull // a CEL error: SQL NULL
)

// frag is an SQL boolean fragment.
type frag struct {
	c   tri
	sql string
}

var (
	fTrue  = frag{c: constTrue}
	fFalse = frag{c: constFalse}
	fNull  = frag{c: constNull}
)

func (f frag) text() string {
	switch f.c {
	case constTrue:
		return "true"
	case constFalse:
		return "false"
	case constNull:
		return "NULL"
	}
	return f.sql
}

// emitter collects bind parameters for one ReadSQL call.
type emitter struct {
	claims Claims
	args   *[]any
}

// param binds v and returns its placeholder, cast to cast.
func (e *emitter) param(v any, cast string) string {
	*e.args = append(*e.args, v)
	return "$" + strconv.Itoa(len(*e.args)) + "::" + cast
}

func (n authNode) emit(e *emitter) frag {
	switch v := n.v.eval(e.claims).(type) {
	case types.Bool:
		if v {
			return fTrue
		}
		return fFalse
	}
	return fNull
}

func (n andNode) emit(e *emitter) frag { return junction(e, n.parts, constFalse, constTrue, " AND ") }

func (n orNode) emit(e *emitter) frag { return junction(e, n.parts, constTrue, constFalse, " OR ") }

// junction emits parts joined by op (AND or OR), folding constants: the
// absorbing constant (false for AND, true for OR) decides the whole, the
// neutral one drops out, and NULL stays as SQL NULL so three-valued logic
// matches CEL's error semantics.
func junction(e *emitter, nodes []sqlNode, absorbing, neutral tri, op string) frag {
	start := len(*e.args)
	var parts []string
	null := false
	for _, p := range nodes {
		f := p.emit(e)
		switch f.c {
		case absorbing:
			*e.args = (*e.args)[:start] // drop the parameters of folded parts
			return frag{c: absorbing}
		case neutral:
			continue
		case constNull:
			null = true
		}
		parts = append(parts, f.text())
	}
	switch {
	case len(parts) == 0:
		return frag{c: neutral}
	case len(parts) == 1 && null:
		return fNull
	case len(parts) == 1:
		return frag{sql: parts[0]}
	}
	return frag{sql: "(" + strings.Join(parts, op) + ")"}
}

func (n notNode) emit(e *emitter) frag {
	f := n.x.emit(e)
	switch f.c {
	case constTrue:
		return fFalse
	case constFalse:
		return fTrue
	case constNull:
		return fNull
	}
	return frag{sql: "(NOT " + f.sql + ")"}
}

func (n boolNode) emit(*emitter) frag { return frag{sql: n.col.ident} }

func (n ownerNode) emit(e *emitter) frag {
	sub, ok := e.claims.Subject()
	if !ok {
		return fFalse
	}
	return emitCmp(e, operators.Equals, n.col, ownerKey(n.col, sub))
}

func (n cmpNode) emit(e *emitter) frag { return emitCmp(e, n.op, n.col, n.v.eval(e.claims)) }

// fit says how a CEL value relates to a column's kind.
type fit uint8

const (
	fitSame  fit = iota // same type: compare directly
	fitNever            // another type: never equal, ordering is an error
	fitFloat            // int column, non-integral double: compare as float
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// coerce converts v to a parameter for column c.
func coerce(c *column, v ref.Val) (any, fit) {
	switch c.kind {
	case kindInt:
		switch x := v.(type) {
		case types.Int:
			return int64(x), fitSame
		case types.Uint:
			if uint64(x) <= math.MaxInt64 {
				return int64(x), fitSame
			}
			return float64(x), fitFloat
		case types.Double:
			f := float64(x)
			if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				return int64(f), fitSame
			}
			if math.IsNaN(f) {
				return nil, fitNever
			}
			return f, fitFloat
		}
	case kindDouble:
		switch x := v.(type) {
		case types.Int:
			return float64(x), fitSame
		case types.Uint:
			return float64(x), fitSame
		case types.Double:
			return float64(x), fitSame
		}
	case kindString:
		if s, ok := v.(types.String); ok {
			return string(s), fitSame
		}
	case kindBool:
		if b, ok := v.(types.Bool); ok {
			return bool(b), fitSame
		}
	case kindTimestamp:
		if t, ok := v.(types.Timestamp); ok {
			return t.Time, fitSame
		}
	}
	return nil, fitNever
}

// lhs is the column as SQL compares it.
func lhs(c *column) string {
	if c.sql == sqlText {
		return c.ident + "::text"
	}
	return c.ident
}

// emitCmp translates `row.col op v` with CEL semantics: null equals only
// null, values of other types are never equal and cannot be ordered.
func emitCmp(e *emitter, op string, c *column, v ref.Val) frag {
	if types.IsError(v) || types.IsUnknown(v) {
		return fNull
	}
	if v == types.NullValue {
		switch op {
		case operators.Equals:
			return frag{sql: "(" + c.ident + " IS NULL)"}
		case operators.NotEquals:
			return frag{sql: "(" + c.ident + " IS NOT NULL)"}
		}
		return fNull
	}
	p, f := coerce(c, v)
	switch op {
	case operators.Equals, operators.NotEquals:
		if f == fitSame && c.sql == sqlUUID && !uuidRE.MatchString(p.(string)) {
			f = fitNever // the row's uuid text is canonical
		}
		if f != fitSame {
			if op == operators.Equals {
				return fFalse
			}
			return fTrue
		}
		l, ph := lhs(c), e.param(p, c.cast)
		if op == operators.Equals {
			if c.notNull {
				return frag{sql: "(" + l + " = " + ph + ")"}
			}
			return frag{sql: "(" + l + " = " + ph + " AND " + c.ident + " IS NOT NULL)"}
		}
		if c.notNull {
			return frag{sql: "(" + l + " <> " + ph + ")"}
		}
		return frag{sql: "(" + l + " <> " + ph + " OR " + c.ident + " IS NULL)"}
	}
	sqlOp := map[string]string{operators.Less: "<", operators.LessEquals: "<=", operators.Greater: ">", operators.GreaterEquals: ">="}[op]
	switch f {
	case fitNever:
		return fNull
	case fitFloat:
		return frag{sql: "(" + c.ident + "::double precision " + sqlOp + " " + e.param(p, "double precision") + ")"}
	}
	switch {
	case c.sql == sqlUUID:
		return frag{sql: "(" + c.ident + "::text COLLATE \"C\" " + sqlOp + " " + e.param(p, "text") + ")"}
	case c.collate:
		return frag{sql: "(" + lhs(c) + " COLLATE \"C\" " + sqlOp + " " + e.param(p, c.cast) + ")"}
	}
	return frag{sql: "(" + c.ident + " " + sqlOp + " " + e.param(p, c.cast) + ")"}
}

func (n inNode) emit(e *emitter) frag {
	v := n.list.eval(e.claims)
	var it traits.Iterator
	switch x := v.(type) {
	case traits.Lister:
		it = x.Iterator()
	case traits.Mapper:
		it = x.Iterator()
	default:
		return fNull
	}
	c := n.col
	var (
		ints    []int64
		floats  []float64
		strs    []string
		bools   []bool
		times   []time.Time
		count   int
		hasNull bool
	)
	for it.HasNext() == types.True {
		el := it.Next()
		if el == types.NullValue {
			hasNull = true
			continue
		}
		p, f := coerce(c, el)
		if f != fitSame {
			continue
		}
		if c.sql == sqlUUID && !uuidRE.MatchString(p.(string)) {
			continue
		}
		count++
		switch x := p.(type) {
		case int64:
			ints = append(ints, x)
		case float64:
			floats = append(floats, x)
		case string:
			strs = append(strs, x)
		case bool:
			bools = append(bools, x)
		case time.Time:
			times = append(times, x)
		}
	}
	var parts []string
	if count > 0 {
		var arr any
		switch c.kind {
		case kindInt:
			arr = ints
		case kindDouble:
			arr = floats
		case kindString:
			arr = strs
		case kindBool:
			arr = bools
		case kindTimestamp:
			arr = times
		}
		s := lhs(c) + " = ANY(" + e.param(arr, c.cast+"[]") + ")"
		if !c.notNull {
			s += " AND " + c.ident + " IS NOT NULL"
		}
		parts = append(parts, "("+s+")")
	}
	if hasNull {
		parts = append(parts, "("+c.ident+" IS NULL)")
	}
	switch len(parts) {
	case 0:
		return fFalse
	case 1:
		return frag{sql: parts[0]}
	}
	return frag{sql: "(" + strings.Join(parts, " OR ") + ")"}
}
