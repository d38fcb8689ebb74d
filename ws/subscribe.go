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

// subscription is one of a connection's channels.
type subscription struct {
	hs    *hub.Subscription
	model *walrelay.Model
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
	if err != nil {
		return ch, nil, err
	}
	m := s.schema.ByName(ch.Model)
	if m == nil || !m.Realtime() {
		return ch, nil, fmt.Errorf("%w: unknown channel %q: no realtime model %q", walrelay.ErrNotFound, name, ch.Model)
	}
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
	caller := c.caller.Load()
	if !caller.Allow(m, string(authz.ActionSubscribe), nil) {
		return fmt.Errorf("%w: not allowed to subscribe to %s", walrelay.ErrForbidden, ch)
	}
	access := c.s.access(m, caller.Claims())
	name := ch.String()
	old := c.subs[name]
	if old == nil && c.subCount() >= c.s.cfg.MaxSubscriptionsPerClient {
		return fmt.Errorf("%w: at most %d per connection", walrelay.ErrTooManySubs, c.s.cfg.MaxSubscriptionsPerClient)
	}

	// The subscribed reply (and resync, when since cannot be honoured) is
	// queued by the hub before any event of the subscription, replayed or
	// live.
	var oldHS *hub.Subscription
	if old != nil {
		oldHS = old.hs
	}
	hs := c.s.hub.Resume(c, oldHS, ch, f, access, since, func(pos walrelay.Cursor, exact bool) {
		c.send(marshal(subscribedMsg{Type: "subscribed", Ref: msg.Ref, Channel: name, Cursor: pos.String()}))
		if !exact {
			c.send(marshal(resyncMsg{Type: "resync", Channel: name, Reason: "cursor_expired"}))
		}
	})
	c.subs[name] = &subscription{hs: hs, model: m}
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
