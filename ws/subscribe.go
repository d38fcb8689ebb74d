package ws

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/filter"
	"github.com/walrelay/walrelay/hub"
)

// subscription is one of a connection's model channel subscriptions.
type subscription struct {
	hs    *hub.Subscription
	model *walrelay.Model
	// owner is what the protocol made it for: the channel name on /ws,
	// the Phoenix topic on /realtime/v1/websocket.
	owner string
}

// Postgres type OIDs whose keys are put in canonical form.
const (
	oidInt2 = 21
	oidInt4 = 23
	oidInt8 = 20
	oidUUID = 2950
)

// resolveChannel parses and checks a channel name against the schema: a
// model that does not exist or is not realtime is not_found, a kind the
// model does not allow is forbidden. Item ids are put in the canonical form
// the hub indexes by (integers without leading zeros, lower-case uuids).
func (s *Server) resolveChannel(name string) (walrelay.Channel, *walrelay.Model, error) {
	ch, err := walrelay.ParseChannel(name)
	model, _, _ := strings.Cut(name, ":")
	if m := s.schema.ByName(model); m == nil || !m.Realtime() {
		// Whatever its syntax, a name that starts with no realtime model
		// and matches no custom channel names no channel at all.
		return ch, nil, fmt.Errorf("%w: unknown channel %q: no realtime model %q, and no custom channel matches it", walrelay.ErrNotFound, name, model)
	}
	if err != nil {
		return ch, nil, err
	}
	m := s.schema.ByName(ch.Model)
	if !m.AllowsKind(ch.Kind) {
		return ch, nil, fmt.Errorf("%w: channel kind %q is not enabled for model %q", walrelay.ErrForbidden, ch.Kind, m.Name)
	}
	if ch.ID != "" {
		if pk := m.Column(m.PrimaryKey); pk != nil {
			switch pk.TypeOID {
			case oidInt2, oidInt4, oidInt8:
				n, err := strconv.ParseInt(ch.ID, 10, 64)
				if err != nil {
					return ch, nil, fmt.Errorf("%w: channel %q: id must be an integer", walrelay.ErrBadRequest, name)
				}
				ch.ID = strconv.FormatInt(n, 10)
			case oidUUID:
				ch.ID = strings.ToLower(ch.ID)
			}
		}
	}
	return ch, m, nil
}

// subscribe serves {"type":"subscribe"}. Subscribing again to a channel
// replaces its filter (and since) and answers subscribed again. With since
// the hub replays from its history what the client missed (hub.Hub.Resume),
// or the client is sent resync after subscribed.
func (c *conn) subscribe(msg inbound) error {
	if rules, params := c.s.cfg.Channels.Match(msg.Channel); rules != nil {
		return c.subscribeCustom(msg, rules, params)
	}
	ch, m, err := c.s.resolveChannel(msg.Channel)
	if err != nil {
		return err
	}
	if err := m.Available(); err != nil {
		return err // stopped: its table no longer matches the config
	}
	var f hub.Matcher
	if msg.Filter != "" {
		flt, err := filter.ParseString(m, msg.Filter)
		if err != nil {
			return err
		}
		f = flt
	}
	var since *walrelay.Cursor
	if msg.Since != "" {
		cur, err := walrelay.ParseCursor(msg.Since)
		if err != nil {
			return err
		}
		since = &cur
	}
	name := ch.String()
	// The subscribed reply (and resync, when since cannot be honoured) is
	// queued by the hub before any event of the subscription, replayed or
	// live.
	return c.openSub(name, name, ch, m, f, since, func(pos walrelay.Cursor, exact bool) {
		c.send(marshal(subscribedMsg{Type: "subscribed", Ref: msg.Ref, Channel: name, Cursor: pos.String()}))
		if !exact {
			c.send(marshal(resyncMsg{Type: "resync", Channel: name, Reason: "cursor_expired"}))
		}
	})
}

// openSub subscribes the connection to channel ch of model m, narrowed by
// f, under key (replacing the subscription it has under key, if any, in
// one step): the subscribe rule must allow it, a new key counts against
// the subscription limit, and events are checked by the read rule for the
// connection's claims. since and announce are as for hub.Hub.Resume. The
// checks are the same whichever protocol asks. Read loop only.
func (c *conn) openSub(key, owner string, ch walrelay.Channel, m *walrelay.Model, f hub.Matcher, since *walrelay.Cursor,
	announce func(pos walrelay.Cursor, exact bool)) error {
	caller := c.caller.Load()
	if !caller.Allow(m, string(authz.ActionSubscribe), nil) {
		return fmt.Errorf("%w: not allowed to subscribe to %s", walrelay.ErrForbidden, ch)
	}
	access := c.s.access(m, caller.Claims())
	old := c.subs[key]
	if old == nil && c.subCount() >= c.s.cfg.MaxSubscriptionsPerClient {
		return fmt.Errorf("%w: at most %d per connection", walrelay.ErrTooManySubs, c.s.cfg.MaxSubscriptionsPerClient)
	}
	var oldHS *hub.Subscription
	if old != nil {
		oldHS = old.hs
	}
	hs := c.s.hub.Resume(c, oldHS, ch, f, access, since, announce)
	c.subs[key] = &subscription{hs: hs, model: m, owner: owner}
	return nil
}

// unsubscribe serves {"type":"unsubscribe"}. Unsubscribing from a channel
// the connection is not subscribed to is acknowledged all the same.
func (c *conn) unsubscribe(msg inbound) error {
	name := msg.Channel
	if cs := c.custom[name]; cs != nil {
		c.s.hub.UnsubscribeCustom(cs.hs)
		delete(c.custom, name)
		c.send(marshal(unsubscribedMsg{Type: "unsubscribed", Ref: msg.Ref, Channel: name}))
		return nil
	}
	if ch, _, err := c.s.resolveChannel(msg.Channel); err == nil {
		name = ch.String()
	}
	c.dropSubscription(name)
	c.send(marshal(unsubscribedMsg{Type: "unsubscribed", Ref: msg.Ref, Channel: name}))
	return nil
}

// dropSubscription removes the subscription to channel name, if any. Once
// it returns nothing more of it is queued. Read loop only.
func (c *conn) dropSubscription(name string) {
	if sub := c.subs[name]; sub != nil {
		c.s.hub.Unsubscribe(sub.hs)
		delete(c.subs, name)
	}
}

// subCount is the number of channels subscribed, model and custom. Read
// loop only.
func (c *conn) subCount() int { return len(c.subs) + len(c.custom) }
