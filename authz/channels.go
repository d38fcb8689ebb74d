package authz

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/cel-go/cel"
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
// (CONTRACT §1 `channels`): which names they match, who may subscribe and
// publish, who is a member, which events they carry. It is immutable and
// safe for concurrent use; nothing in it does I/O but ChannelRules.IsMember,
// through the Querier it is given.
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

type channelRule struct {
	src string
	prg cel.Program
}

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

// Channels returns the compiled channels, in config order.
func (p *ChannelPolicy) Channels() []*ChannelRules {
	if p == nil {
		return nil
	}
	return p.channels
}

// CheckEmitted is the check for messages emitted from SQL (give it to
// hub.Hub.SetMessageCheck): channel must match a configured pattern and
// event be one of its events. The channel's rules are not evaluated: its
// subscribers passed the subscribe rule, and the database is trusted to
// publish. A nil policy rejects every message.
func (p *ChannelPolicy) CheckEmitted(channel, event string) error {
	rules, _ := p.Match(channel)
	if rules == nil {
		return fmt.Errorf("channel %q matches no configured custom channel", channel)
	}
	if !rules.HasEvent(event) {
		return fmt.Errorf("event %q is not in channel %q's events", event, rules.Channel.Pattern)
	}
	return nil
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
