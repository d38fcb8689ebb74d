package authz

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/parser"
	"github.com/walrelay/walrelay"
)

// A read rule is planned for SQL at compile time: every part that does not
// mention the row is compiled into its own small program (a valueSrc),
// evaluated per request; the parts that do mention it must be of the
// translatable subset (comparisons of a column with such a value, in,
// isOwner, boolean columns, joined by && || !).

// valueSrc is a rule part that depends on auth only: a literal, or a
// program evaluated with the request's claims.
type valueSrc struct {
	lit ref.Val
	prg cel.Program
}

// eval returns the part's value for claims; evaluation errors are CEL
// error values.
func (v valueSrc) eval(claims Claims) ref.Val {
	if v.prg == nil {
		return v.lit
	}
	act := activation{claims: claims}
	out, _, err := v.prg.Eval(&act)
	if err != nil {
		return types.WrapErr(err)
	}
	return out
}

// sqlNode is one node of a planned read rule.
type sqlNode interface {
	emit(e *emitter) frag
}

type (
	authNode  struct{ v valueSrc } // auth-only boolean
	andNode   struct{ parts []sqlNode }
	orNode    struct{ parts []sqlNode }
	notNode   struct{ x sqlNode }
	ownerNode struct{ col *column } // isOwner
	boolNode  struct{ col *column } // row.flag
	cmpNode   struct {
		op  string // operators.Equals, ... with the column on the left
		col *column
		v   valueSrc
	}
	inNode struct {
		col  *column
		list valueSrc
	}
)

// planner builds the SQL plan and index plan of one read rule.
type planner struct {
	env   *cel.Env
	m     *walrelay.Model
	a     Action
	info  *ast.SourceInfo
	cols  map[string]*column
	owner *column
	errs  []error
}

// fail records that e is outside the translatable subset.
func (b *planner) fail(e ast.Expr, msg string) sqlNode {
	loc := b.info.GetStartLocation(e.ID())
	b.errs = append(b.errs, ruleError(b.m, b.a, loc.Line(), loc.Column()+1, "cannot be translated to SQL: "+msg))
	return authNode{v: valueSrc{lit: types.False}}
}

// usesRow reports whether e mentions the row (row or isOwner).
func usesRow(e ast.Expr) bool {
	found := false
	walk(e, func(x ast.Expr) {
		if x.Kind() == ast.IdentKind && (x.AsIdent() == "row" || x.AsIdent() == "isOwner") {
			found = true
		}
	})
	return found
}

// authValue compiles an auth-only part into its own program.
func (b *planner) authValue(e ast.Expr) valueSrc {
	if e.Kind() == ast.LiteralKind {
		return valueSrc{lit: e.AsLiteral()}
	}
	text, err := parser.Unparse(e, b.info)
	if err != nil {
		b.fail(e, "unparse: "+err.Error())
		return valueSrc{lit: types.NullValue}
	}
	checked, iss := b.env.Compile(text)
	if iss.Err() != nil {
		b.fail(e, iss.Err().Error())
		return valueSrc{lit: types.NullValue}
	}
	prg, err := b.env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		b.fail(e, err.Error())
		return valueSrc{lit: types.NullValue}
	}
	return valueSrc{prg: prg}
}

// rowColumn returns the column of a row.col expression, or nil.
func (b *planner) rowColumn(e ast.Expr) *column {
	if e.Kind() != ast.SelectKind {
		return nil
	}
	s := e.AsSelect()
	if s.IsTestOnly() || s.Operand().Kind() != ast.IdentKind || s.Operand().AsIdent() != "row" {
		return nil
	}
	return b.cols[s.FieldName()]
}

// sqlColumn checks that c can be compared in SQL.
func (b *planner) sqlColumn(e ast.Expr, c *column) bool {
	if c.sql == sqlNone {
		b.fail(e, fmt.Sprintf("column %q has a type that read rules cannot compare in SQL", c.name))
		return false
	}
	return true
}

// flipped maps a comparison to the one with its operands swapped.
var flipped = map[string]string{
	operators.Equals: operators.Equals, operators.NotEquals: operators.NotEquals,
	operators.Less: operators.Greater, operators.LessEquals: operators.GreaterEquals,
	operators.Greater: operators.Less, operators.GreaterEquals: operators.LessEquals,
}

// plan translates e, recording errors for parts outside the subset.
func (b *planner) plan(e ast.Expr) sqlNode {
	if !usesRow(e) {
		return authNode{v: b.authValue(e)}
	}
	switch e.Kind() {
	case ast.IdentKind:
		if e.AsIdent() == "isOwner" {
			return ownerNode{col: b.owner}
		}
		return b.fail(e, "the whole row cannot be used as a condition")
	case ast.SelectKind:
		c := b.rowColumn(e)
		if c == nil {
			return b.fail(e, "only row.<column> is supported")
		}
		if c.kind != kindBool {
			return b.fail(e, fmt.Sprintf("column %q is not boolean", c.name))
		}
		return boolNode{col: c}
	case ast.CallKind:
		return b.planCall(e)
	}
	return b.fail(e, "unsupported expression")
}

func (b *planner) planCall(e ast.Expr) sqlNode {
	call := e.AsCall()
	args := call.Args()
	switch fn := call.FunctionName(); fn {
	case operators.LogicalAnd, operators.LogicalOr:
		parts := make([]sqlNode, len(args))
		for i, a := range args {
			parts[i] = b.plan(a)
		}
		if fn == operators.LogicalAnd {
			return andNode{parts: parts}
		}
		return orNode{parts: parts}
	case operators.LogicalNot:
		return notNode{x: b.plan(args[0])}
	case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		l, r := args[0], args[1]
		if c := b.rowColumn(l); c != nil && !usesRow(r) {
			if !b.sqlColumn(l, c) {
				return authNode{v: valueSrc{lit: types.False}}
			}
			return cmpNode{op: fn, col: c, v: b.authValue(r)}
		}
		if c := b.rowColumn(r); c != nil && !usesRow(l) {
			if !b.sqlColumn(r, c) {
				return authNode{v: valueSrc{lit: types.False}}
			}
			return cmpNode{op: flipped[fn], col: c, v: b.authValue(l)}
		}
		return b.fail(e, "comparisons must have a row column on one side and no row on the other")
	case operators.In:
		if c := b.rowColumn(args[0]); c != nil && !usesRow(args[1]) {
			if !b.sqlColumn(args[0], c) {
				return authNode{v: valueSrc{lit: types.False}}
			}
			return inNode{col: c, list: b.authValue(args[1])}
		}
		return b.fail(e, "in needs a row column on the left and a list without row on the right")
	}
	return b.fail(e, fmt.Sprintf("function %q on row values", call.FunctionName()))
}
