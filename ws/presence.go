package ws

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// presenceRefKey is the field the server adds to every presence meta: a
// reference unique to that meta, matching a leave to its join.
const presenceRefKey = "presence_ref"

// presenceMeta validates a client's presence meta: absent is {}, else a
// JSON object of at most MaxPresenceBytes. It returns the object compacted,
// without the reference fields the server sets (presence_ref on /ws,
// phx_ref and phx_ref_prev for Phoenix clients), so that no client can
// pose as another's meta.
func (c *conn) presenceMeta(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if len(raw) > c.s.cfg.MaxPresenceBytes {
		return nil, fmt.Errorf("%w: presence meta is %d bytes, at most %d", walrelay.ErrTooLarge, len(raw), c.s.cfg.MaxPresenceBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: presence meta must be a JSON object", walrelay.ErrBadRequest)
	}
	for _, k := range []string{presenceRefKey, phxRefKey, "phx_ref_prev"} {
		delete(obj, k)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%w: presence meta must be a JSON object", walrelay.ErrBadRequest)
	}
	return b, nil
}

// updatePresence serves {"type":"presence","channel","meta"}: it replaces
// the connection's presence meta on a presence channel it is subscribed
// to. Every subscriber, the sender included, gets one diff with the old
// meta in leaves and the new one in joins. It counts against the publish
// rate; a connection without a sub claim is not shown in presence and
// gets bad_request.
func (c *conn) updatePresence(msg inbound) error {
	cs, err := c.customFor(msg.Channel, "setting presence")
	if err != nil {
		return err
	}
	return c.setPresence(cs, msg.Channel, msg.Meta)
}

// setPresence shows the connection in the presence of custom channel name
// (which cs subscribes to) with the client's meta raw, replacing what it
// showed: the channel must have presence, the token a sub claim, and it
// counts against the publish rate. Every subscriber, the sender included,
// gets one diff. Read loop only.
func (c *conn) setPresence(cs *customSub, name string, raw json.RawMessage) error {
	if !cs.rules.Channel.Presence {
		return fmt.Errorf("%w: channel %s has no presence", walrelay.ErrBadRequest, name)
	}
	if presenceKey(c.caller.Load().Claims()) == "" {
		return fmt.Errorf("%w: presence needs a token with a sub claim", walrelay.ErrBadRequest)
	}
	if !c.pubLimiter.allow(time.Now()) {
		return fmt.Errorf("%w: more than %d publish or presence messages per second", walrelay.ErrRateLimited, c.s.cfg.PublishesPerSecond)
	}
	meta, err := c.presenceMeta(raw)
	if err != nil {
		return err
	}
	c.track(cs, meta)
	return nil
}

// track shows cs in presence with meta (nil: not at all) under the
// connection's sub claim; without one it is not shown. Read loop only.
func (c *conn) track(cs *customSub, meta json.RawMessage) {
	key := presenceKey(c.caller.Load().Claims())
	var t *hub.Track
	if meta != nil && key != "" {
		t = &hub.Track{Key: key, Meta: meta}
	} else {
		key = ""
	}
	if t == nil && cs.key == "" {
		cs.meta = meta
		return
	}
	c.s.hub.SetPresence(cs.hs, t)
	cs.key, cs.meta = key, meta
}
