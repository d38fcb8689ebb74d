package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// broadcast serves a broadcast push {"type":"broadcast","event","payload"}
// on a topic joined on a custom channel: published as the channel's event
// with payload as its data, under the same checks as publish on /ws (the
// channel's events, payload size, publish rate and rule). The publisher
// gets its own broadcasts when it joined with broadcast.self. It is
// answered only when the client joined with broadcast.ack, and on errors.
func (w *phoenixWire) broadcast(t *phxTopic, m phxMsg) error {
	cs, err := w.customOf(t, "broadcast")
	if err != nil {
		return err
	}
	b := m.Broadcast
	if b == nil {
		b = &phxBroadcast{}
		if err := json.Unmarshal(m.Payload, b); err != nil {
			return fmt.Errorf("%w: broadcast payload: want {\"type\":\"broadcast\",\"event\":..,\"payload\":..}", walrelay.ErrBadRequest)
		}
	}
	if err := w.c.publishOn(cs, t.sub, b.Event, b.Payload, t.self); err != nil {
		return err
	}
	if t.ack {
		w.reply(m, "ok", struct{}{})
	}
	return nil
}

// presence serves a presence push {"type":"presence","event":"track",
// "payload":{..}} or "untrack" on a topic joined on a presence channel:
// track shows the connection under its token's sub claim with payload as
// its meta (replacing what it showed), untrack removes it; checked and
// limited as presence on /ws. Answered ok.
func (w *phoenixWire) presence(t *phxTopic, m phxMsg) error {
	cs, err := w.customOf(t, "presence")
	if err != nil {
		return err
	}
	var p struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return fmt.Errorf("%w: presence payload: want {\"type\":\"presence\",\"event\":\"track\"|\"untrack\",\"payload\":{..}}", walrelay.ErrBadRequest)
	}
	switch strings.ToLower(p.Event) {
	case "track":
		if err := w.c.setPresence(cs, t.sub, p.Payload); err != nil {
			return err
		}
	case "untrack":
		w.c.track(cs, nil)
	default:
		return fmt.Errorf("%w: presence event %q: want track or untrack", walrelay.ErrBadRequest, p.Event)
	}
	w.reply(m, "ok", struct{}{})
	return nil
}

// customOf returns topic t's custom channel subscription, or why doing
// what on t is refused.
func (w *phoenixWire) customOf(t *phxTopic, what string) (*customSub, error) {
	if cs := w.c.custom[t.sub]; t.custom && cs != nil {
		return cs, nil
	}
	return nil, fmt.Errorf("%w: %s needs a configured custom channel, and %q is none", walrelay.ErrNotFound, what, t.sub)
}

// phxBroadcastOut is a broadcast as clients receive it; from names the
// publisher ({"sub":..}), absent for messages emitted from SQL.
type phxBroadcastOut struct {
	Type    string          `json:"type"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	From    any             `json:"from,omitempty"`
}

// encodePhxBroadcast encodes an event on a custom channel as a broadcast
// payload.
func encodePhxBroadcast(ev *hub.CustomEvent) ([]byte, error) {
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b, err := json.Marshal(phxBroadcastOut{Type: "broadcast", Event: ev.Event, Payload: data, From: ev.From})
	if err != nil {
		return nil, fmt.Errorf("encode broadcast %s: %w", ev.Event, err)
	}
	return b, nil
}

// encodePhxPresence encodes presence as Phoenix Presence does: a state
// {key: {"metas": [..]}}, or a diff {"joins": {..}, "leaves": {..}}; each
// meta is the client's object with phx_ref added, which realtime-js shows
// as presence_ref.
func encodePhxPresence(p *hub.Presence) []byte {
	var b bytes.Buffer
	if p.IsState() {
		writePresenceMap(&b, p.State)
		return b.Bytes()
	}
	b.WriteString(`{"joins":`)
	writePresenceMap(&b, p.Joins)
	b.WriteString(`,"leaves":`)
	writePresenceMap(&b, p.Leaves)
	b.WriteByte('}')
	return b.Bytes()
}

func writePresenceMap(b *bytes.Buffer, es []hub.PresenceEntry) {
	b.WriteByte('{')
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(marshal(e.Key))
		b.WriteString(`:{"metas":[`)
		for j, x := range e.Metas {
			if j > 0 {
				b.WriteByte(',')
			}
			b.Write(withRefAs(phxRefKey, x.Meta, x.Ref))
		}
		b.WriteString(`]}`)
	}
	b.WriteByte('}')
}

// phxRefKey is the field Phoenix Presence identifies a meta by.
const phxRefKey = "phx_ref"
