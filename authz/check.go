package authz

import (
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/walrelay/walrelay"
)

// Check evaluates the rule like Allow, but reports why it could not be
// evaluated: a column the rule reads that is missing from row (e.g. dropped
// with ALTER TABLE while streaming), an evaluation error or a non-boolean
// result give false and an error naming the model and the rule (never the
// row's values). A nil Rule denies without error. Safe for concurrent use.
func (r *Rule) Check(claims Claims, row walrelay.Row) (bool, error) {
	if r == nil {
		return false, nil
	}
	for _, c := range r.rowColumns() {
		if _, ok := row[c]; !ok {
			return false, fmt.Errorf("model %s: rule %q: column %q is missing from the row", r.model.Name, r.action, c)
		}
	}
	act := activation{rule: r, claims: claims, row: row}
	out, _, err := r.prg.Eval(&act)
	if err != nil {
		return false, fmt.Errorf("model %s: rule %q: evaluate: %w", r.model.Name, r.action, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		if types.IsError(out) {
			return false, fmt.Errorf("model %s: rule %q: evaluate: %v", r.model.Name, r.action, out)
		}
		return false, fmt.Errorf("model %s: rule %q: result is %s, not a boolean", r.model.Name, r.action, out.Type().TypeName())
	}
	return bool(b), nil
}

// ruleColumns caches, per Rule, the row columns its text reads.
var ruleColumns sync.Map // *Rule -> []string

// rowColumns returns the columns of row the rule reads (row.col,
// row["col"], and the owner column for isOwner), computed once per rule.
func (r *Rule) rowColumns() []string {
	if v, ok := ruleColumns.Load(r); ok {
		return v.([]string)
	}
	cols, owner := referencedColumns(r.src)
	if owner && r.owner != nil {
		cols = appendUnique(cols, r.owner.name)
	}
	v, _ := ruleColumns.LoadOrStore(r, cols)
	return v.([]string)
}

// referencedColumns parses src (already compiled, so it parses) and lists
// the row fields it selects, and whether it uses isOwner.
func referencedColumns(src string) (cols []string, owner bool) {
	env, err := cel.NewEnv()
	if err != nil {
		return nil, false
	}
	parsed, iss := env.Parse(src)
	if iss.Err() != nil {
		return nil, false
	}
	walk(parsed.NativeRep().Expr(), func(e ast.Expr) {
		switch e.Kind() {
		case ast.IdentKind:
			owner = owner || e.AsIdent() == "isOwner"
		case ast.SelectKind:
			sel := e.AsSelect()
			if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "row" && !sel.IsTestOnly() {
				cols = appendUnique(cols, sel.FieldName())
			}
		case ast.CallKind:
			c := e.AsCall()
			if c.FunctionName() != operators.Index || len(c.Args()) != 2 {
				return
			}
			t, k := c.Args()[0], c.Args()[1]
			if t.Kind() == ast.IdentKind && t.AsIdent() == "row" && k.Kind() == ast.LiteralKind {
				if s, ok := k.AsLiteral().(types.String); ok {
					cols = appendUnique(cols, string(s))
				}
			}
		}
	})
	return cols, owner
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// Columns returns the row columns the rule reads: those it names (row.col,
// row["col"]) and the owner column when it uses isOwner. A table version
// that changes one of them no longer fits the compiled rule. The slice
// must not be modified.
func (r *Rule) Columns() []string {
	if r == nil {
		return nil
	}
	return r.rowColumns()
}
