package authz

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"github.com/walrelay/walrelay"
)

// Action is what a rule guards; its string is the key in a model's
// permissions.
type Action string

// The model actions.
const (
	ActionSubscribe Action = "subscribe"
	ActionRead      Action = "read"
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionDelete    Action = "delete"
)

// Actions lists the model actions in config order.
var Actions = []Action{ActionSubscribe, ActionRead, ActionCreate, ActionUpdate, ActionDelete}

// Policy holds every model's compiled rules. It is immutable and safe for
// concurrent use.
type Policy struct {
	rules map[string]map[Action]*Rule // model name -> action -> rule
}

// Rule is one compiled permission rule. It is immutable and safe for
// concurrent use; evaluation does no I/O.
type Rule struct {
	model  *walrelay.Model
	action Action
	src    string
	prg    cel.Program
	owner  *column // the owner column, nil without one
	sql    sqlNode // read rules: the SQL translation
	index  *indexPlan
}

// Compile compiles and type-checks every model's rules against its
// columns. All problems are reported at once, joined, each naming the
// model, the rule and the position (line:column) in the rule. A rule that
// is absent denies. Read rules must also be translatable to SQL.
func Compile(schema *walrelay.Schema) (*Policy, error) {
	p := &Policy{rules: map[string]map[Action]*Rule{}}
	var errs []error
	for _, m := range schema.Models() {
		rules, err := compileModel(m)
		errs = append(errs, err)
		p.rules[m.Name] = rules
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// compileModel compiles one model's rules.
func compileModel(m *walrelay.Model) (map[Action]*Rule, error) {
	var errs []error
	for key := range m.Permissions {
		if !slices.Contains(Actions, Action(key)) {
			errs = append(errs, fmt.Errorf("model %s: unknown permission %q (want subscribe, read, create, update or delete)", m.Name, key))
		}
	}
	cols := make([]*column, len(m.Columns))
	byName := map[string]*column{}
	for i, c := range m.Columns {
		cols[i] = newColumn(c)
		byName[c.Name] = cols[i]
	}
	var owner *column
	if m.Owner != "" {
		if owner = byName[m.Owner]; owner == nil {
			errs = append(errs, fmt.Errorf("model %s: owner column %q does not exist", m.Name, m.Owner))
		}
	}
	env, err := newEnv(cols, owner != nil)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	rules := map[Action]*Rule{}
	for _, a := range Actions {
		src, ok := m.Permissions[string(a)]
		if !ok {
			continue
		}
		r, err := compileRule(env, m, a, src, owner, byName)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules[a] = r
	}
	return rules, errors.Join(errs...)
}

// newEnv declares the variables of a model's rules.
func newEnv(cols []*column, hasOwner bool) (*cel.Env, error) {
	prov, err := newRowProvider(cols)
	if err != nil {
		return nil, err
	}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(prov),
		cel.Variable("auth", cel.DynType),
		cel.Variable("row", cel.ObjectType(rowTypeName)),
		cel.Variable("authenticated", cel.BoolType),
		cel.Variable("public", cel.BoolType),
		cel.Variable("isAdmin", cel.BoolType),
		cel.EnableMacroCallTracking(),
		cel.CrossTypeNumericComparisons(true),
	}
	if hasOwner {
		opts = append(opts, cel.Variable("isOwner", cel.BoolType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("cel env: %w", err)
	}
	return env, nil
}

// ruleError is a compile error at a position of a rule.
func ruleError(m *walrelay.Model, a Action, line, col int, msg string) error {
	return &RuleError{Model: m.Name, Action: a, Line: line, Column: col, Msg: msg}
}

// compileRule parses, checks and plans one rule.
func compileRule(env *cel.Env, m *walrelay.Model, a Action, src string, owner *column, cols map[string]*column) (*Rule, error) {
	parsed, iss := env.Parse(src)
	if iss.Err() != nil {
		return nil, issuesError(m, a, iss)
	}
	info := parsed.NativeRep().SourceInfo()
	var errs []error
	walk(parsed.NativeRep().Expr(), func(e ast.Expr) {
		if e.Kind() != ast.IdentKind {
			return
		}
		loc := info.GetStartLocation(e.ID())
		switch {
		case e.AsIdent() == "isOwner" && owner == nil:
			errs = append(errs, ruleError(m, a, loc.Line(), loc.Column()+1, "isOwner needs the model's owner column (owner: in walrelay.yaml)"))
		case a == ActionSubscribe && (e.AsIdent() == "row" || e.AsIdent() == "isOwner"):
			errs = append(errs, ruleError(m, a, loc.Line(), loc.Column()+1, "subscribe rules see only auth, not the row"))
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	checked, iss := env.Check(parsed)
	if iss.Err() != nil {
		return nil, issuesError(m, a, iss)
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && t.Kind() != types.DynKind {
		return nil, ruleError(m, a, 1, 1, fmt.Sprintf("rule must be a boolean, is %s", t))
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, ruleError(m, a, 1, 1, err.Error())
	}
	r := &Rule{model: m, action: a, src: src, prg: prg, owner: owner}
	if a == ActionRead {
		b := &planner{env: env, m: m, a: a, info: checked.NativeRep().SourceInfo(), cols: cols, owner: owner}
		r.sql = b.plan(checked.NativeRep().Expr())
		if err := errors.Join(b.errs...); err != nil {
			return nil, err
		}
		r.index = b.index(checked.NativeRep().Expr())
	}
	return r, nil
}

// issuesError turns CEL issues into errors naming model, rule and position.
func issuesError(m *walrelay.Model, a Action, iss *cel.Issues) error {
	var errs []error
	for _, e := range iss.Errors() {
		errs = append(errs, ruleError(m, a, e.Location.Line(), e.Location.Column()+1, e.Message))
	}
	return errors.Join(errs...)
}

// walk calls f on e and every expression below it.
func walk(e ast.Expr, f func(ast.Expr)) {
	f(e)
	switch e.Kind() {
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			walk(c.Target(), f)
		}
		for _, a := range c.Args() {
			walk(a, f)
		}
	case ast.SelectKind:
		walk(e.AsSelect().Operand(), f)
	case ast.ListKind:
		for _, x := range e.AsList().Elements() {
			walk(x, f)
		}
	case ast.MapKind:
		for _, x := range e.AsMap().Entries() {
			me := x.AsMapEntry()
			walk(me.Key(), f)
			walk(me.Value(), f)
		}
	case ast.StructKind:
		for _, x := range e.AsStruct().Fields() {
			walk(x.AsStructField().Value(), f)
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		walk(c.IterRange(), f)
		walk(c.AccuInit(), f)
		walk(c.LoopCondition(), f)
		walk(c.LoopStep(), f)
		walk(c.Result(), f)
	}
}

// Rule returns model m's compiled rule for a, or nil when there is none
// (which denies).
func (p *Policy) Rule(m *walrelay.Model, a Action) *Rule {
	if p == nil || m == nil {
		return nil
	}
	return p.rules[m.Name][a]
}

// Allow reports whether claims may do a on row of model m. A missing rule,
// an evaluation error (a missing claim, a null) or a non-boolean result
// deny. row is the row the action is about (for update, the caller decides
// which: typically both old and new rows are checked); it is not modified.
func (p *Policy) Allow(m *walrelay.Model, a Action, claims Claims, row walrelay.Row) bool {
	return p.Rule(m, a).Allow(claims, row)
}

// Allow evaluates the rule; see Policy.Allow. A nil Rule denies.
func (r *Rule) Allow(claims Claims, row walrelay.Row) bool {
	if r == nil {
		return false
	}
	act := activation{rule: r, claims: claims, row: row}
	out, _, err := r.prg.Eval(&act)
	if err != nil {
		return false
	}
	b, ok := out.(types.Bool)
	return ok && bool(b)
}

// Source returns the rule's text.
func (r *Rule) Source() string { return r.src }

// activation resolves a rule's variables lazily: shorthands are computed
// only when the rule reaches them.
type activation struct {
	rule   *Rule
	claims Claims
	row    walrelay.Row
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "row":
		return a.row, true
	case "isOwner":
		return a.rule.isOwner(a.claims, a.row), true
	}
	return resolveAuth(a.claims, name)
}

// resolveAuth resolves the variables every rule has: auth and the
// shorthands that depend on it alone.
func resolveAuth(claims Claims, name string) (any, bool) {
	switch name {
	case "auth":
		if claims == nil {
			return types.NullValue, true
		}
		return map[string]any(claims), true
	case "authenticated":
		return types.Bool(claims != nil), true
	case "public":
		return types.True, true
	case "isAdmin":
		return types.Bool(claims.IsAdmin()), true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// isOwner is row[owner] == auth.sub with CEL equality; false when the
// claims or their sub are absent.
func (r *Rule) isOwner(claims Claims, row walrelay.Row) ref.Val {
	sub, ok := claims.Subject()
	if !ok || r.owner == nil {
		return types.False
	}
	return r.owner.get(row).Equal(ownerKey(r.owner, sub))
}

// ownerKey is auth.sub as isOwner compares it with the owner column: the
// string itself, or, for an integer owner column, the integer the string
// spells in canonical decimal ("42", not "042" or "+42"), so that tables
// keyed by integer user ids work. A sub that spells no integer stays a
// string and never equals an integer column. The CEL, SQL and index
// paths all take the owner's value from here.
// A sub that is not a string (a token with a numeric sub) is compared as
// the value it is.
func ownerKey(owner *column, sub any) ref.Val {
	s, ok := sub.(string)
	if !ok {
		return types.DefaultTypeAdapter.NativeToValue(sub)
	}
	if owner != nil && owner.kind == kindInt {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(n, 10) == s {
			return types.Int(n)
		}
	}
	return types.String(s)
}
