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
// without a presence_ref field (the server sets that one).
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
	delete(obj, presenceRefKey)
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
	if !cs.rules.Channel.Presence {
		return fmt.Errorf("%w: channel %s has no presence", walrelay.ErrBadRequest, msg.Channel)
	}
	if cs.key == "" {
		return fmt.Errorf("%w: presence needs a token with a sub claim", walrelay.ErrBadRequest)
	}
	if !c.pubLimiter.allow(time.Now()) {
		return fmt.Errorf("%w: more than %d publish or presence messages per second", walrelay.ErrRateLimited, c.s.cfg.PublishesPerSecond)
	}
	meta, err := c.presenceMeta(msg.Meta)
	if err != nil {
		return err
	}
	c.s.hub.SetPresence(cs.hs, &hub.Track{Key: cs.key, Meta: meta})
	cs.meta = meta
	return nil
}
