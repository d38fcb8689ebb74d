package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// compileChannelRule parses and type-checks one rule; params.x must name a
// parameter of the pattern.
func compileChannelRule(env *cel.Env, pattern string, a Action, src string, params []string) (*channelRule, error) {
	fail := func(line, col int, msg string) error {
		return &RuleError{Channel: pattern, Action: a, Line: line, Column: col, Msg: msg}
	}
	failIssues := func(iss *cel.Issues) error {
		var errs []error
		for _, e := range iss.Errors() {
			errs = append(errs, fail(e.Location.Line(), e.Location.Column()+1, e.Message))
		}
		return errors.Join(errs...)
	}
	parsed, iss := env.Parse(src)
	if iss.Err() != nil {
		return nil, failIssues(iss)
	}
	info := parsed.NativeRep().SourceInfo()
	var errs []error
	unknown := func(e ast.Expr, name string) {
		if !slices.Contains(params, name) {
			loc := info.GetStartLocation(e.ID())
			errs = append(errs, fail(loc.Line(), loc.Column()+1,
				fmt.Sprintf("unknown parameter %q (the pattern has %s)", name, listOrNone(params))))
		}
	}
	walk(parsed.NativeRep().Expr(), func(e ast.Expr) {
		switch e.Kind() {
		case ast.IdentKind:
			if e.AsIdent() == "row" || e.AsIdent() == "isOwner" {
				loc := info.GetStartLocation(e.ID())
				errs = append(errs, fail(loc.Line(), loc.Column()+1, "channel rules see params and auth, not a row"))
			}
		case ast.SelectKind:
			sel := e.AsSelect()
			if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "params" {
				unknown(e, sel.FieldName())
			}
		case ast.CallKind:
			c := e.AsCall()
			if c.FunctionName() != operators.Index || len(c.Args()) != 2 {
				return
			}
			t, k := c.Args()[0], c.Args()[1]
			if t.Kind() == ast.IdentKind && t.AsIdent() == "params" && k.Kind() == ast.LiteralKind {
				if s, ok := k.AsLiteral().(types.String); ok {
					unknown(e, string(s))
				}
			}
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	checked, iss := env.Check(parsed)
	if iss.Err() != nil {
		return nil, failIssues(iss)
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && t.Kind() != types.DynKind {
		return nil, fail(1, 1, fmt.Sprintf("rule must be a boolean, is %s", t))
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fail(1, 1, err.Error())
	}
	return &channelRule{src: src, prg: prg}, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "no parameters"
	}
	return "{" + strings.Join(names, "}, {") + "}"
}
