package authz

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"

	"github.com/walrelay/walrelay"
)

// ActionPublish guards publishing an event on a custom channel. Custom
// channels have two actions: ActionSubscribe and ActionPublish.
const ActionPublish Action = "publish"

// channelActions lists the custom channel actions in config order.
var channelActions = []Action{ActionSubscribe, ActionPublish}

// ChannelPolicy holds the compiled rules of the configured custom channels
// (CONTRACT §1 `channels`). It is immutable and safe for concurrent use;
// nothing in it does I/O.
type ChannelPolicy struct {
	channels []*ChannelRules
}

// ChannelRules is one custom channel pattern with its compiled rules and
// membership query. It is immutable and safe for concurrent use.
type ChannelRules struct {
	// Channel is the configured channel.
	Channel *walrelay.CustomChannel
	segs    []patternSeg
	rules   map[Action]*channelRule
	// sql is subscribe_sql with $name placeholders replaced by $1..$n;
	// sqlArgs the names bound to them, in order.
	sql     string
	sqlArgs []string
}

// patternSeg is one ':'-separated segment of a pattern: a literal, or a
// {param} matching one non-empty segment.
type patternSeg struct {
	lit   string
	param string
}

type channelRule struct {
	src string
	prg cel.Program
}

var paramNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CompileChannels parses the channel patterns, compiles and type-checks
// their subscribe and publish rules (CEL over `params`, a map of the
// pattern's parameters as strings, and `auth`, with the shorthands
// authenticated, public and isAdmin), and translates subscribe_sql's
// $name placeholders into positional parameters. All problems are
// reported at once, joined, each naming the channel pattern, the rule and
// the position. A missing rule denies.
func CompileChannels(chs []*walrelay.CustomChannel) (*ChannelPolicy, error) {
	p := &ChannelPolicy{}
	var errs []error
	seen := map[string]string{} // pattern shape -> pattern
	for _, ch := range chs {
		r, err := compileChannel(ch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		shape := r.shape()
		if other, ok := seen[shape]; ok {
			errs = append(errs, fmt.Errorf("channel %q: matches the same names as channel %q", ch.Pattern, other))
			continue
		}
		seen[shape] = ch.Pattern
		p.channels = append(p.channels, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func compileChannel(ch *walrelay.CustomChannel) (*ChannelRules, error) {
	r := &ChannelRules{Channel: ch, rules: map[Action]*channelRule{}}
	segs, err := parsePattern(ch.Pattern)
	if err != nil {
		return nil, err
	}
	r.segs = segs
	var errs []error
	for key := range ch.Permissions {
		if !slices.Contains(channelActions, Action(key)) {
			errs = append(errs, fmt.Errorf("channel %q: unknown permission %q (want subscribe or publish)", ch.Pattern, key))
		}
	}
	for _, e := range ch.Events {
		if e == "" {
			errs = append(errs, fmt.Errorf("channel %q: empty event name", ch.Pattern))
		}
	}
	env, err := cel.NewEnv(
		cel.Variable("auth", cel.DynType),
		cel.Variable("params", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("authenticated", cel.BoolType),
		cel.Variable("public", cel.BoolType),
		cel.Variable("isAdmin", cel.BoolType),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		return nil, fmt.Errorf("channel %q: cel env: %w", ch.Pattern, err)
	}
	params := r.Params()
	for _, a := range channelActions {
		src, ok := ch.Permissions[string(a)]
		if !ok {
			continue
		}
		cr, err := compileChannelRule(env, ch.Pattern, a, src, params)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.rules[a] = cr
	}
	if ch.SubscribeSQL != "" {
		r.sql, r.sqlArgs, err = translateSQL(ch.SubscribeSQL, params)
		if err != nil {
			errs = append(errs, fmt.Errorf("channel %q: subscribe_sql: %w", ch.Pattern, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// parsePattern splits a pattern such as "chat:room:{roomId}".
func parsePattern(pattern string) ([]patternSeg, error) {
	if pattern == "" {
		return nil, errors.New("channel \"\": empty pattern")
	}
	var segs []patternSeg
	seen := map[string]bool{}
	for i, s := range strings.Split(pattern, ":") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := s[1 : len(s)-1]
			if !paramNameRe.MatchString(name) {
				return nil, fmt.Errorf("channel %q: segment %d: parameter name %q is not an identifier", pattern, i+1, name)
			}
			if seen[name] {
				return nil, fmt.Errorf("channel %q: parameter %q appears twice", pattern, name)
			}
			seen[name] = true
			segs = append(segs, patternSeg{param: name})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}") {
			return nil, fmt.Errorf("channel %q: segment %d: want a non-empty literal or a whole {param}", pattern, i+1)
		}
		segs = append(segs, patternSeg{lit: s})
	}
	return segs, nil
}

// shape is the pattern with parameter names erased: two patterns of one
// shape match the same names.
func (r *ChannelRules) shape() string {
	parts := make([]string, len(r.segs))
	for i, s := range r.segs {
		parts[i] = s.lit
		if s.param != "" {
			parts[i] = "{}"
		}
	}
	return strings.Join(parts, ":")
}

// compileChannelRule parses and type-checks one rule; params.x must name a
// parameter of the pattern.
func compileChannelRule(env *cel.Env, pattern string, a Action, src string, params []string) (*channelRule, error) {
	fail := func(line, col int, msg string) error {
		return fmt.Errorf("channel %q: rule %q: %d:%d: %s", pattern, a, line, col, msg)
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

// Channels returns the compiled channels, in config order.
func (p *ChannelPolicy) Channels() []*ChannelRules {
	if p == nil {
		return nil
	}
	return p.channels
}

// Match returns the channel whose pattern matches name, and the values of
// its parameters; nil when none does. When several patterns match, the
// most specific wins: the one with a literal segment where the others
// have a parameter, leftmost first (chat:lobby beats chat:{room}).
func (p *ChannelPolicy) Match(name string) (*ChannelRules, map[string]string) {
	if p == nil || name == "" {
		return nil, nil
	}
	parts := strings.Split(name, ":")
	var best *ChannelRules
	var bestParams map[string]string
	for _, r := range p.channels {
		params, ok := r.match(parts)
		if ok && (best == nil || r.moreSpecific(best)) {
			best, bestParams = r, params
		}
	}
	return best, bestParams
}

func (r *ChannelRules) match(parts []string) (map[string]string, bool) {
	if len(parts) != len(r.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, s := range r.segs {
		switch {
		case s.param != "":
			if parts[i] == "" {
				return nil, false
			}
			params[s.param] = parts[i]
		case parts[i] != s.lit:
			return nil, false
		}
	}
	return params, true
}

// moreSpecific reports whether r has a literal at the first segment where
// r and o differ in kind (both match the same name, so same length).
func (r *ChannelRules) moreSpecific(o *ChannelRules) bool {
	for i := range r.segs {
		rl, ol := r.segs[i].param == "", o.segs[i].param == ""
		if rl != ol {
			return rl
		}
	}
	return false
}

// Params returns the pattern's parameter names, in order.
func (r *ChannelRules) Params() []string {
	var out []string
	for _, s := range r.segs {
		if s.param != "" {
			out = append(out, s.param)
		}
	}
	return out
}

// HasEvent reports whether event is in the channel's events list.
func (r *ChannelRules) HasEvent(event string) bool { return slices.Contains(r.Channel.Events, event) }

// Allow reports whether claims (nil: anonymous) may do a (ActionSubscribe
// or ActionPublish) on the channel with params (from Match). A missing
// rule, an evaluation error or a non-boolean result deny.
func (r *ChannelRules) Allow(a Action, claims Claims, params map[string]string) bool {
	if r == nil {
		return false
	}
	cr := r.rules[a]
	if cr == nil {
		return false
	}
	out, _, err := cr.prg.Eval(&channelActivation{claims: claims, params: params})
	if err != nil {
		return false
	}
	b, ok := out.(types.Bool)
	return ok && bool(b)
}

// Membership returns the channel's subscribe_sql with positional
// parameters and their values for claims and params: each pattern
// parameter's string value, and for $sub the sub claim as a string (nil,
// so SQL NULL, without one). ok is false when the channel has no
// subscribe_sql. The values are to be bound as parameters, never spliced.
func (r *ChannelRules) Membership(claims Claims, params map[string]string) (sql string, args []any, ok bool) {
	if r == nil || r.sql == "" {
		return "", nil, false
	}
	args = make([]any, len(r.sqlArgs))
	for i, name := range r.sqlArgs {
		if name == "sub" {
			if sub, has := claims.Subject(); has {
				args[i] = walrelay.KeyOf(sub)
			}
			continue
		}
		args[i] = params[name]
	}
	return r.sql, args, true
}

// channelActivation resolves a channel rule's variables.
type channelActivation struct {
	claims Claims
	params map[string]string
}

// ResolveName implements interpreter.Activation.
func (a *channelActivation) ResolveName(name string) (any, bool) {
	if name == "params" {
		return a.params, true
	}
	return resolveAuth(a.claims, name)
}

// Parent implements interpreter.Activation.
func (a *channelActivation) Parent() interpreter.Activation { return nil }

// translateSQL replaces the $name placeholders of a subscribe_sql query by
// $1..$n (one number per distinct name) and returns the names in order.
// Names must be pattern parameters or "sub". Text in single-quoted
// strings, double-quoted identifiers and comments is left alone;
// positional $1 and dollar-quoted strings are rejected.
func translateSQL(src string, params []string) (string, []string, error) {
	if slices.Contains(params, "sub") {
		return "", nil, errors.New(`the pattern parameter "sub" would shadow $sub; rename it`)
	}
	var b strings.Builder
	var names []string
	isStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	skipTo := func(i int, end string) int {
		j := strings.Index(src[i:], end)
		if j < 0 {
			return len(src)
		}
		return i + j + len(end)
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			j := skipTo(i+1, string(c))
			b.WriteString(src[i:j])
			i = j
		case strings.HasPrefix(src[i:], "--"):
			j := skipTo(i, "\n")
			b.WriteString(src[i:j])
			i = j
		case strings.HasPrefix(src[i:], "/*"):
			j := skipTo(i+2, "*/")
			b.WriteString(src[i:j])
			i = j
		case c == '$':
			j := i + 1
			if j < len(src) && src[j] >= '0' && src[j] <= '9' {
				return "", nil, fmt.Errorf("offset %d: positional parameters are not allowed; use $name (%s, $sub)", i, placeholderList(params))
			}
			if j >= len(src) || !isStart(src[j]) {
				return "", nil, fmt.Errorf("offset %d: lone $ or dollar-quoted string; use $name placeholders and '...' strings", i)
			}
			for j < len(src) && isPart(src[j]) {
				j++
			}
			name := src[i+1 : j]
			if j < len(src) && src[j] == '$' {
				return "", nil, fmt.Errorf("offset %d: dollar-quoted strings are not supported", i)
			}
			if name != "sub" && !slices.Contains(params, name) {
				return "", nil, fmt.Errorf("offset %d: unknown placeholder $%s (want %s or $sub)", i, name, placeholderList(params))
			}
			k := slices.Index(names, name)
			if k < 0 {
				names = append(names, name)
				k = len(names) - 1
			}
			fmt.Fprintf(&b, "$%d", k+1)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), names, nil
}

func placeholderList(params []string) string {
	if len(params) == 0 {
		return "no pattern parameter"
	}
	return "$" + strings.Join(params, ", $")
}
