package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
)

// customSub is one of a connection's custom channel subscriptions.
type customSub struct {
	hs     *hub.CustomSub
	rules  *authz.ChannelRules
	params map[string]string
	// owner is what the protocol made it for (see subscription.owner).
	owner string
	// meta is what the subscription asks to show in presence, nil for
	// nothing; key is what it shows under ("" when untracked). meta is
	// kept to re-track it under a new key after a token refresh.
	key  string
	meta json.RawMessage
}

// publisher is the "from" field of a published event.
type publisher struct {
	Sub any `json:"sub"`
}

// subscribeCustom serves subscribe on a custom channel: the subscribe rule
// on the claims and the channel's parameters, then the subscribe_sql
// membership query if any; on a presence channel the connection is
// tracked under its sub claim with the meta sent as "presence" (anonymous
// connections and tokens without sub watch without being shown). The
// reply is subscribed (without cursor: custom channels keep no history,
// and since is ignored), then on a presence channel the full state, then
// events and presence diffs. Subscribing again re-checks the rules and
// replaces the presence meta when one is given.
func (c *conn) subscribeCustom(msg inbound, rules *authz.ChannelRules, params map[string]string) error {
	name := msg.Channel
	if msg.Filter != "" {
		return fmt.Errorf("%w: custom channel %s takes no filter", walrelay.ErrBadRequest, name)
	}
	if err := c.checkCustom(rules, params, name); err != nil {
		return err
	}
	var meta json.RawMessage
	if rules.Channel.Presence {
		var err error
		if meta, err = c.presenceMeta(msg.Presence); err != nil {
			return err
		}
	}
	reply := marshal(subscribedMsg{Type: "subscribed", Ref: msg.Ref, Channel: name})
	if old := c.custom[name]; old != nil {
		c.send(reply)
		if msg.Presence != nil && meta != nil {
			c.track(old, meta)
		}
		return nil
	}
	_, err := c.joinCustom(name, name, rules, params, meta, func() { c.send(reply) })
	return err
}

// checkCustom checks that the connection may subscribe to custom channel
// name: the subscribe rule on its claims and the channel's parameters,
// then the subscribe_sql membership query if any. Read loop only.
func (c *conn) checkCustom(rules *authz.ChannelRules, params map[string]string, name string) error {
	claims := c.caller.Load().Claims()
	if !rules.Allow(authz.ActionSubscribe, claims, params) {
		return fmt.Errorf("%w: not allowed to subscribe to %s", walrelay.ErrForbidden, name)
	}
	return c.checkMembership(rules, claims, params, name)
}

// joinCustom subscribes the connection to custom channel name, which
// checkCustom allowed, counting against the subscription limit. With meta
// (on a presence channel) the connection is shown in presence under its
// sub claim (anonymous connections and tokens without sub watch without
// being shown). announce is as for hub.Hub.SubscribeCustom. Read loop only.
func (c *conn) joinCustom(name, owner string, rules *authz.ChannelRules, params map[string]string, meta json.RawMessage,
	announce func()) (*customSub, error) {
	if c.subCount() >= c.s.cfg.MaxSubscriptionsPerClient {
		return nil, fmt.Errorf("%w: at most %d per connection", walrelay.ErrTooManySubs, c.s.cfg.MaxSubscriptionsPerClient)
	}
	key := presenceKey(c.caller.Load().Claims())
	var track *hub.Track
	if rules.Channel.Presence && meta != nil && key != "" {
		track = &hub.Track{Key: key, Meta: meta}
	}
	hs := c.s.hub.SubscribeCustom(c, name, rules.Channel.Presence, track, announce)
	cs := &customSub{hs: hs, rules: rules, params: params, owner: owner, meta: meta}
	if track != nil {
		cs.key = key
	}
	c.custom[name] = cs
	return cs, nil
}

// presenceKey is the key a connection shows in presence: its sub claim,
// or "" (untracked) without one.
func presenceKey(claims authz.Claims) string {
	if sub, ok := claims.Subject(); ok {
		return walrelay.KeyOf(sub)
	}
	return ""
}

// checkMembership runs the channel's subscribe_sql, if it has one
// (authz.ChannelRules.IsMember), within MembershipTimeout: not a member is
// forbidden; a failure of the query or the timeout is an internal error.
func (c *conn) checkMembership(rules *authz.ChannelRules, claims authz.Claims, params map[string]string, name string) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.MembershipTimeout)
	defer cancel()
	member, err := rules.IsMember(ctx, c.s.cfg.Membership, claims, params)
	if err != nil {
		return err
	}
	if !member {
		return fmt.Errorf("%w: not a member of %s", walrelay.ErrForbidden, name)
	}
	return nil
}

// publish serves {"type":"publish","ref","channel","event","data"}: the
// connection must be subscribed to the channel, the event must be one of
// the channel's events, data at most MaxPayloadBytes, within the publish
// rate, and the publish rule must allow it. The event goes to every
// subscriber of the channel (the publisher too when the channel's self
// option is on) as {"type":"event","channel","event","data","from":{"sub"}}
// and the publisher gets {"type":"published","ref"}.
func (c *conn) publish(msg inbound) error {
	cs, err := c.customFor(msg.Channel, "publishing")
	if err != nil {
		return err
	}
	if err := c.publishOn(cs, msg.Channel, msg.Event, msg.Data, cs.rules.Channel.Self); err != nil {
		return err
	}
	c.send(marshal(publishedMsg{Type: "published", Ref: msg.Ref}))
	return nil
}

// publishOn publishes event with data on the custom channel name that cs
// subscribes to: within the publish rate, an event of the channel, data at
// most MaxPayloadBytes, allowed by the publish rule. self says whether the
// publisher gets it too. Read loop only.
func (c *conn) publishOn(cs *customSub, name, event string, data json.RawMessage, self bool) error {
	if !c.pubLimiter.allow(time.Now()) {
		return fmt.Errorf("%w: more than %d publish or presence messages per second", walrelay.ErrRateLimited, c.s.cfg.PublishesPerSecond)
	}
	if event == "" || !cs.rules.HasEvent(event) {
		return fmt.Errorf("%w: event %q is not one of channel %s's events", walrelay.ErrBadRequest, event, name)
	}
	if len(data) > c.s.cfg.MaxPayloadBytes {
		return fmt.Errorf("%w: data is %d bytes, at most %d", walrelay.ErrTooLarge, len(data), c.s.cfg.MaxPayloadBytes)
	}
	claims := c.caller.Load().Claims()
	if !cs.rules.Allow(authz.ActionPublish, claims, cs.params) {
		return fmt.Errorf("%w: not allowed to publish on %s", walrelay.ErrForbidden, name)
	}
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	sub, _ := claims.Subject()
	var except hub.Receiver = c
	if self {
		except = nil
	}
	c.s.hub.Publish(name, &hub.CustomEvent{Event: event, Data: data, From: publisher{Sub: sub}}, except)
	return nil
}

// customFor returns the connection's subscription to custom channel name,
// or the error for doing what on it unsubscribed: forbidden for a
// configured channel, not_found for an unknown one, bad_request when no
// custom channel is configured.
func (c *conn) customFor(name, what string) (*customSub, error) {
	if cs := c.custom[name]; cs != nil {
		return cs, nil
	}
	if len(c.s.cfg.Channels.Channels()) == 0 {
		return nil, fmt.Errorf("%w: no custom channels configured", walrelay.ErrBadRequest)
	}
	if rules, _ := c.s.cfg.Channels.Match(name); rules != nil {
		return nil, fmt.Errorf("%w: subscribe to %s before %s", walrelay.ErrForbidden, name, what)
	}
	return nil, fmt.Errorf("%w: no custom channel %q", walrelay.ErrNotFound, name)
}

// reauthorizeCustom re-checks the custom subscriptions after a token
// refresh: one the subscribe rule no longer allows, or (when the sub
// claim changed) whose subscribe_sql no longer returns a row, is dropped
// with a forbidden error naming its channel; a tracked one whose sub
// changed shows under the new sub. Read loop only.
func (c *conn) reauthorizeCustom() {
	claims := c.caller.Load().Claims()
	key := presenceKey(claims)
	for name, cs := range c.custom {
		ok := cs.rules.Allow(authz.ActionSubscribe, claims, cs.params)
		if ok && key != cs.key {
			if err := c.checkMembership(cs.rules, claims, cs.params, name); err != nil {
				if _, _, internal := errorCode(err); internal {
					c.logger().Error("websocket membership re-check failed", "err", err)
				}
				ok = false
			}
		}
		if !ok {
			c.s.hub.UnsubscribeCustom(cs.hs)
			delete(c.custom, name)
			c.w.revoked(name, cs.owner)
			continue
		}
		if cs.rules.Channel.Presence && cs.meta != nil && key != cs.key {
			var track *hub.Track
			if key != "" {
				track = &hub.Track{Key: key, Meta: cs.meta}
			}
			c.s.hub.SetPresence(cs.hs, track)
			cs.key = key
		}
	}
}
