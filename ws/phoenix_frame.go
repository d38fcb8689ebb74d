package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
)

// Phoenix channels framing (docs/supabase.md). A message is a topic, an
// event, a payload and two references: ref, chosen by the client for each
// push and echoed in its reply, and join_ref, the ref of the join the
// message belongs to. Serializer 1.0.0 sends it as a JSON object, 2.0.0 as
// a JSON array [join_ref, ref, topic, event, payload]; 2.0.0 clients also
// push broadcasts as binary frames (see decodeBinaryPush). Refs are kept
// as raw JSON (a string or null) and echoed verbatim.

// phxMsg is one decoded client message.
type phxMsg struct {
	JoinRef json.RawMessage
	Ref     json.RawMessage
	Topic   string
	Event   string
	Payload json.RawMessage
	// Broadcast is set for a 2.0.0 binary broadcast push: its event and
	// JSON payload, which Payload then repeats in the JSON form
	// {"type":"broadcast","event":..,"payload":..}.
	Broadcast *phxBroadcast
}

// phxBroadcast is a broadcast's event and payload.
type phxBroadcast struct {
	Type    string          `json:"type"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

// phxV1 is the 1.0.0 object form of a message.
type phxV1 struct {
	JoinRef json.RawMessage `json:"join_ref"`
	Ref     json.RawMessage `json:"ref"`
	Topic   *string         `json:"topic"`
	Event   *string         `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

// Binary frame kinds of serializer 2.0.0 (client to server).
const (
	phxKindPush          = 0 // a push with a binary payload
	phxKindBroadcastPush = 3 // a broadcast push: event and payload apart
)

// phxNull is a JSON null ref.
var phxNull = json.RawMessage("null")

// decodePhx parses one client frame. Its errors wrap walrelay.ErrBadRequest
// and say what was wrong; what was decoded of the message (its topic and
// ref, when they could be read) is returned with them so that the error
// can be answered on it.
func decodePhx(typ websocket.MessageType, data []byte, v2 bool) (phxMsg, error) {
	if typ == websocket.MessageBinary {
		if !v2 {
			return phxMsg{}, fmt.Errorf("%w: binary frames need serializer 2.0.0 (vsn=2.0.0)", walrelay.ErrBadRequest)
		}
		return decodeBinaryPush(data)
	}
	var m phxMsg
	if v2 {
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil || len(arr) != 5 {
			return m, fmt.Errorf("%w: malformed message: want a JSON array [join_ref, ref, topic, event, payload]", walrelay.ErrBadRequest)
		}
		m.JoinRef, m.Ref = refOf(arr[0]), refOf(arr[1])
		if json.Unmarshal(arr[2], &m.Topic) != nil || json.Unmarshal(arr[3], &m.Event) != nil {
			return m, fmt.Errorf("%w: malformed message: topic and event must be strings", walrelay.ErrBadRequest)
		}
		m.Payload = arr[4]
	} else {
		var o phxV1
		if err := json.Unmarshal(data, &o); err != nil || o.Topic == nil || o.Event == nil {
			return m, fmt.Errorf("%w: malformed message: want a JSON object with topic, event, payload and ref", walrelay.ErrBadRequest)
		}
		m = phxMsg{JoinRef: refOf(o.JoinRef), Ref: refOf(o.Ref), Topic: *o.Topic, Event: *o.Event, Payload: o.Payload}
	}
	if !isJSONObject(m.Payload) {
		return m, fmt.Errorf("%w: malformed message: payload must be a JSON object", walrelay.ErrBadRequest)
	}
	return m, nil
}

// refOf returns a ref as it is echoed: a JSON string or number as sent,
// anything else (absent, null, objects) as null.
func refOf(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '"' && (raw[0] < '0' || raw[0] > '9')) {
		return phxNull
	}
	return raw
}

// isJSONObject reports whether raw is a JSON object.
func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 1 && raw[0] == '{' && json.Valid(raw)
}

// decodeBinaryPush parses a 2.0.0 binary frame. Only broadcast pushes
// with a JSON payload are served: kind 3, then the byte lengths of
// join_ref, ref, topic, event and metadata, the payload encoding (1 JSON,
// 0 binary), the five strings, and the payload.
func decodeBinaryPush(data []byte) (phxMsg, error) {
	var m phxMsg
	bad := func(what string) (phxMsg, error) {
		return m, fmt.Errorf("%w: malformed binary frame: %s", walrelay.ErrBadRequest, what)
	}
	if len(data) == 0 {
		return bad("empty")
	}
	switch data[0] {
	case phxKindBroadcastPush:
	case phxKindPush:
		return bad("binary payloads are not supported; send JSON")
	default:
		return bad(fmt.Sprintf("unknown kind %d", data[0]))
	}
	const head = 7
	if len(data) < head {
		return bad("header too short")
	}
	sizes := data[1:6]
	encoding := data[6]
	fields := make([]string, 5) // join_ref, ref, topic, event, metadata
	off := head
	for i, n := range sizes {
		if off+int(n) > len(data) {
			return bad("lengths exceed the frame")
		}
		fields[i] = string(data[off : off+int(n)])
		off += int(n)
		if !utf8.ValidString(fields[i]) {
			return bad("header strings must be UTF-8")
		}
	}
	m.JoinRef, m.Ref = stringRef(fields[0]), stringRef(fields[1])
	m.Topic, m.Event = fields[2], "broadcast"
	if encoding != 1 {
		return m, fmt.Errorf("%w: binary broadcast payloads are not supported; send JSON", walrelay.ErrBadRequest)
	}
	payload := json.RawMessage(data[off:])
	if !json.Valid(payload) {
		return m, fmt.Errorf("%w: broadcast payload is not valid JSON", walrelay.ErrBadRequest)
	}
	m.Broadcast = &phxBroadcast{Type: "broadcast", Event: fields[3], Payload: payload}
	m.Payload = marshal(m.Broadcast)
	return m, nil
}

// stringRef is a ref read from a binary frame: "" is null.
func stringRef(s string) json.RawMessage {
	if s == "" {
		return phxNull
	}
	return marshal(s)
}

// phxFrame encodes one server message with its payload already encoded
// as JSON: an array for 2.0.0, an object for 1.0.0.
func phxFrame(v2 bool, joinRef, ref json.RawMessage, topic, event string, payload []byte) []byte {
	if len(joinRef) == 0 {
		joinRef = phxNull
	}
	if len(ref) == 0 {
		ref = phxNull
	}
	topicJSON, eventJSON := marshal(topic), marshal(event)
	var b bytes.Buffer
	b.Grow(len(payload) + len(topicJSON) + len(eventJSON) + len(joinRef) + len(ref) + 48)
	if v2 {
		b.WriteByte('[')
		b.Write(joinRef)
		b.WriteByte(',')
		b.Write(ref)
		b.WriteByte(',')
		b.Write(topicJSON)
		b.WriteByte(',')
		b.Write(eventJSON)
		b.WriteByte(',')
		b.Write(payload)
		b.WriteByte(']')
		return b.Bytes()
	}
	b.WriteString(`{"join_ref":`)
	b.Write(joinRef)
	b.WriteString(`,"ref":`)
	b.Write(ref)
	b.WriteString(`,"topic":`)
	b.Write(topicJSON)
	b.WriteString(`,"event":`)
	b.Write(eventJSON)
	b.WriteString(`,"payload":`)
	b.Write(payload)
	b.WriteByte('}')
	return b.Bytes()
}

// phxReplyPayload is a phx_reply's payload.
type phxReplyPayload struct {
	Status   string `json:"status"` // "ok" or "error"
	Response any    `json:"response"`
}

// phxReason is the response of an error reply.
type phxReason struct {
	Reason string `json:"reason"`
}
