package authz

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// Describe returns a rule in words, for people reading `walrelay check`:
// "" (no rule) is "nobody (no rule)", the shorthands become what they test
// (isOwner names owner, the model's owner column), and ||, &&, !, the
// comparisons and `in` become words. Parts it has no words for are quoted
// as CEL. A rule that does not parse is returned as it is.
func Describe(src, owner string) string {
	src = strings.TrimSpace(src)
	if src == "" {
		return "nobody (no rule)"
	}
	env, err := cel.NewEnv()
	if err != nil {
		return src
	}
	parsed, iss := env.Parse(src)
	if iss.Err() != nil {
		return src
	}
	d := describer{owner: owner, info: parsed.NativeRep().SourceInfo()}
	return d.expr(parsed.NativeRep().Expr(), "")
}

type describer struct {
	owner string
	info  *ast.SourceInfo
}

var comparisons = map[string]string{
	operators.Equals: "is", operators.NotEquals: "is not", operators.Less: "is less than",
	operators.LessEquals: "is at most", operators.Greater: "is greater than", operators.GreaterEquals: "is at least",
	operators.In: "is in",
}

// expr renders e; parent is the logical operator e is an operand of, so
// that a different one nested inside is bracketed.
func (d describer) expr(e ast.Expr, parent string) string {
	switch e.Kind() {
	case ast.IdentKind:
		switch e.AsIdent() {
		case "public":
			return "anyone, also without a token"
		case "authenticated":
			return "any caller with a valid token"
		case "isAdmin":
			return `an admin (the token's roles include "admin" or its role is "admin")`
		case "isOwner":
			return fmt.Sprintf("the row's owner (row.%s is the token's sub)", d.owner)
		}
	case ast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok && parent == "" {
			if b {
				return "anyone, also without a token"
			}
			return "nobody"
		}
	case ast.SelectKind:
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "auth" && !sel.IsTestOnly() {
			return "the token's " + sel.FieldName()
		}
	case ast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch fn := c.FunctionName(); {
		case (fn == operators.LogicalOr || fn == operators.LogicalAnd) && len(args) == 2:
			word := map[string]string{operators.LogicalOr: " or ", operators.LogicalAnd: " and "}[fn]
			s := d.expr(args[0], fn) + word + d.expr(args[1], fn)
			if parent != "" && parent != fn {
				return "(" + s + ")"
			}
			return s
		case fn == operators.LogicalNot && len(args) == 1:
			return "not " + d.bracket(args[0])
		case comparisons[fn] != "" && len(args) == 2:
			return d.operand(args[0]) + " " + comparisons[fn] + " " + d.operand(args[1])
		}
	}
	return d.cel(e)
}

// operand renders a comparison's operand: the token's fields in words,
// anything else as CEL.
func (d describer) operand(e ast.Expr) string {
	if e.Kind() == ast.SelectKind {
		if op := e.AsSelect().Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "auth" {
			return d.expr(e, "")
		}
	}
	return d.cel(e)
}

func (d describer) bracket(e ast.Expr) string {
	s := d.expr(e, "!")
	if e.Kind() == ast.CallKind && !strings.HasPrefix(s, "(") {
		return "(" + s + ")"
	}
	return s
}

// cel quotes e as CEL text.
func (d describer) cel(e ast.Expr) string {
	s, err := cel.ExprToString(e, d.info)
	if err != nil {
		return "?"
	}
	return "`" + s + "`"
}
