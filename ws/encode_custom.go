package ws

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/walrelay/walrelay/hub"
)

// customEventMsg is the wire form of an event on a custom channel. From is
// {"sub":..} for a published event and null for one emitted from SQL.
type customEventMsg struct {
	Type    string          `json:"type"` // "event"
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	From    any             `json:"from"`
}

// presenceEntry is one key with its metas on the wire.
type presenceEntry struct {
	Key   string            `json:"key"`
	Metas []json.RawMessage `json:"metas"`
}

type presenceStateMsg struct {
	Type    string          `json:"type"` // "presence"
	Channel string          `json:"channel"`
	State   []presenceEntry `json:"state"`
}

type presenceDiffMsg struct {
	Type    string          `json:"type"` // "presence"
	Channel string          `json:"channel"`
	Joins   []presenceEntry `json:"joins"`
	Leaves  []presenceEntry `json:"leaves"`
}

// encodeCustom encodes an event on a custom channel.
func encodeCustom(m *hub.Message) ([]byte, error) {
	ev := m.Custom
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b, err := json.Marshal(customEventMsg{Type: "event", Channel: m.Channel, Event: ev.Event, Data: data, From: ev.From})
	if err != nil {
		return nil, fmt.Errorf("encode event on %s: %w", m.Channel, err)
	}
	return b, nil
}

// encodePresence encodes a presence state or diff. Each meta is the
// client's object with presence_ref added.
func encodePresence(m *hub.Message) ([]byte, error) {
	p := m.Presence
	var v any
	if p.IsState() {
		v = presenceStateMsg{Type: "presence", Channel: m.Channel, State: wireEntries(p.State)}
	} else {
		v = presenceDiffMsg{Type: "presence", Channel: m.Channel, Joins: wireEntries(p.Joins), Leaves: wireEntries(p.Leaves)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode presence on %s: %w", m.Channel, err)
	}
	return b, nil
}

// wireEntries converts entries to their wire form; never nil.
func wireEntries(es []hub.PresenceEntry) []presenceEntry {
	out := make([]presenceEntry, 0, len(es))
	for _, e := range es {
		w := presenceEntry{Key: e.Key, Metas: make([]json.RawMessage, 0, len(e.Metas))}
		for _, x := range e.Metas {
			w.Metas = append(w.Metas, withRef(x.Meta, x.Ref))
		}
		out = append(out, w)
	}
	return out
}

// withRef adds "presence_ref":ref to meta, a compact JSON object without
// that field (see presenceMeta).
func withRef(meta json.RawMessage, ref string) json.RawMessage {
	return withRefAs(presenceRefKey, meta, ref)
}

// withRefAs adds the field key (a reference field presenceMeta removes
// from client metas) with value ref to meta.
func withRefAs(key string, meta json.RawMessage, ref string) json.RawMessage {
	refJSON, _ := json.Marshal(ref)
	var b bytes.Buffer
	b.WriteString(`{"` + key + `":`)
	b.Write(refJSON)
	body := bytes.TrimSpace(meta)
	if len(body) > 2 && body[0] == '{' { // non-empty object: append its fields
		b.WriteByte(',')
		b.Write(body[1:])
	} else {
		b.WriteByte('}')
	}
	return b.Bytes()
}
