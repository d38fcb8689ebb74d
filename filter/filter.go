// Package filter parses PostgREST-style row filters and orders
// ("room_id=eq.5", "order=created_at.desc") against a walrelay.Model, and
// evaluates them both in SQL (Filter.Where, for REST reads) and in Go
// (Filter.Match, for WAL events), with the same result for the supported
// operators and types.
//
// Column names are checked against the model (hidden columns are unknown);
// operands are never spliced into SQL: Where binds them as parameters.
// A parsed Filter is immutable and safe for concurrent use.
//
// Operators by column type:
//
//   - numbers (int2/4/8, oid, float4/8, numeric), booleans, text (text,
//     varchar, char(n), name), uuid, date/time types: eq neq lt lte gt gte in;
//   - text also like and ilike, where % or * matches any string, _ one
//     character and \ escapes;
//   - enums, domains and other scalar types: eq neq in, comparing the
//     canonical text form;
//   - json, jsonb, arrays, bytea, interval, money, xml, geometric: only
//     is.null;
//   - is.null on any column, is.true and is.false on booleans; any
//     operator may be negated with a "not." prefix.
//
// Operands are validated when parsing (a bad number or time is an
// ErrInvalidFilter, not a database error). To make SQL and Match agree
// whatever the database's locale, text ordering is bytewise (COLLATE "C")
// and ilike folds ASCII letters only. Times without a zone mean UTC (the
// store runs reads with TimeZone UTC).
package filter

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// Op is a filter operator.
type Op string

// The operators (PostgREST names).
const (
	OpEq    Op = "eq"
	OpNeq   Op = "neq"
	OpLt    Op = "lt"
	OpLte   Op = "lte"
	OpGt    Op = "gt"
	OpGte   Op = "gte"
	OpIn    Op = "in"
	OpIs    Op = "is"
	OpLike  Op = "like"
	OpILike Op = "ilike"
)

var sqlOps = map[Op]string{OpEq: "=", OpNeq: "<>", OpLt: "<", OpLte: "<=", OpGt: ">", OpGte: ">="}

// Cond is one condition: column, operator, operand(s). Build it with Parse;
// a hand-made Cond lacks the parsed operands that Match and Where use.
type Cond struct {
	Column string
	Op     Op
	// Not negates the condition ("not.eq.5"). As in SQL, a negated
	// comparison with NULL is still not a match.
	Not bool
	// Values are the operands as bound in SQL: one for most operators,
	// any number for in, and "null", "true" or "false" for is. For like and
	// ilike it is the pattern with PostgREST's * turned into %.
	Values []string

	col  colInfo
	vals []value
	re   *regexp.Regexp
}

// Filter is an AND of conditions; a nil or empty Filter matches all rows.
type Filter struct {
	Conds []Cond
}

// Empty reports whether the filter has no conditions.
func (f *Filter) Empty() bool { return f == nil || len(f.Conds) == 0 }

// DatabaseChecked returns, once each and in filter order, the columns
// whose operands only the database can validate: enums, domains and other
// types Parse compares on their text. An operand of theirs that the type
// rejects fails the SQL read with a data exception; for the others Parse
// has already said what is wrong.
func (f *Filter) DatabaseChecked() []string {
	if f == nil {
		return nil
	}
	var cols []string
	for _, c := range f.Conds {
		if c.col.kind == kOther && c.Op != OpIs && !slices.Contains(cols, c.Column) {
			cols = append(cols, c.Column)
		}
	}
	return cols
}

// String returns the filter in query-string syntax, e.g.
// "room_id=eq.5&body=like.a%25".
func (f *Filter) String() string {
	if f.Empty() {
		return ""
	}
	parts := make([]string, 0, len(f.Conds))
	for _, c := range f.Conds {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, "&")
}

// String returns the condition in query-string syntax.
func (c Cond) String() string {
	var b strings.Builder
	b.WriteString(escape(c.Column))
	b.WriteByte('=')
	if c.Not {
		b.WriteString("not.")
	}
	b.WriteString(string(c.Op))
	b.WriteByte('.')
	if c.Op == OpIn {
		quoted := make([]string, len(c.Values))
		for i, v := range c.Values {
			quoted[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
		}
		b.WriteString(escape("(" + strings.Join(quoted, ",") + ")"))
	} else if len(c.Values) > 0 {
		b.WriteString(escape(c.Values[0]))
	}
	return b.String()
}

// Fingerprint returns a canonical, unambiguous encoding of the filter, for
// telling two filters apart (e.g. in page tokens).
func (f *Filter) Fingerprint() string {
	if f.Empty() {
		return "[]"
	}
	type cond struct {
		C string   `json:"c"`
		O Op       `json:"o"`
		N bool     `json:"n"`
		V []string `json:"v"`
	}
	cs := make([]cond, len(f.Conds))
	for i, c := range f.Conds {
		cs[i] = cond{c.Column, c.Op, c.Not, c.Values}
	}
	b, _ := json.Marshal(cs)
	return string(b)
}
