package ws

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// The Supabase Realtime adapter (docs/supabase.md): the endpoint
// /realtime/v1/websocket speaks Phoenix channels as Supabase Realtime does,
// so that @supabase/realtime-js (and supabase-js) clients work unchanged.
// It is only an adapter: its connections are the gateway's connections
// (the same queue, limits, token checks, hub subscriptions and compiled
// rules as /ws); it translates joins, pushes and events.
//
//   - phx_join on "realtime:{name}": postgres_changes bindings in
//     config.postgres_changes become :list subscriptions of the matching
//     realtime models, narrowed by their filter (phoenix_changes.go); when
//     {name} is a configured custom channel, broadcast and presence work
//     on it (phoenix_broadcast.go). The join's access_token is the
//     connection's token (phoenix_join.go).
//   - heartbeat on "phoenix", phx_leave, access_token, broadcast and
//     presence (track, untrack) pushes.

// SupabasePath is where the adapter is usually mounted, as Supabase
// serves it: realtime-js appends /websocket to the URL it is given.
const SupabasePath = "/realtime/v1/websocket"

// Serializer versions (the vsn query parameter).
const (
	phxVsn1 = "1.0.0"
	phxVsn2 = "2.0.0"
)

// Supabase returns the handler of the Supabase Realtime endpoint (mount it
// at SupabasePath). It shares the Server's connections, limits and
// Shutdown. The upgrade request's vsn parameter picks the serializer
// (1.0.0, the default, or 2.0.0; others are answered 400); its apikey
// parameter names the project key, which is never taken as a user's token.
func (s *Server) Supabase() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveWS(w, r, false, func(r *http.Request) (func(*conn) wire, error) {
			q := r.URL.Query()
			vsn := q.Get("vsn")
			if vsn == "" {
				vsn = phxVsn1
			}
			if vsn != phxVsn1 && vsn != phxVsn2 {
				return nil, fmt.Errorf("unsupported serializer vsn %q: use %s or %s", vsn, phxVsn1, phxVsn2)
			}
			apikey := q.Get("apikey")
			return func(c *conn) wire {
				return &phoenixWire{c: c, v2: vsn == phxVsn2, apikey: apikey, topics: map[string]*phxTopic{}}
			}, nil
		})
	})
}

// phoenixWire is the Phoenix channels protocol of one connection.
type phoenixWire struct {
	c      *conn
	v2     bool
	apikey string
	// token is the last access token the connection adopted (read loop).
	token string

	// mu guards topics, written by the read loop and read by items
	// (from hub goroutines) for the join refs and presence flags.
	mu     sync.Mutex
	topics map[string]*phxTopic
}

// Phoenix events.
const (
	phxJoin      = "phx_join"
	phxLeave     = "phx_leave"
	phxReply     = "phx_reply"
	phxClose     = "phx_close"
	phxHeartbeat = "heartbeat"
	phxSystem    = "phoenix"
)

func (w *phoenixWire) serveFrame(typ websocket.MessageType, data []byte) {
	c := w.c
	m, decodeErr := decodePhx(typ, data, w.v2)
	if err := c.admit(); err != nil {
		if err != errClosing {
			w.replyError(m, err)
		}
		return
	}
	if decodeErr != nil {
		w.replyError(m, decodeErr)
		return
	}
	if err := w.handle(m); err != nil {
		w.replyError(m, err)
	}
}

// handle serves one message; its error is sent as an error reply.
func (w *phoenixWire) handle(m phxMsg) error {
	if m.Topic == phxSystem {
		if m.Event != phxHeartbeat {
			return fmt.Errorf("%w: unknown event %q on topic phoenix", walrelay.ErrBadRequest, m.Event)
		}
		w.reply(m, "ok", struct{}{})
		return nil
	}
	if m.Event == phxJoin {
		return w.join(m)
	}
	t := w.topic(m.Topic)
	if t == nil {
		return fmt.Errorf("%w: unmatched topic %q: join it first", walrelay.ErrBadRequest, m.Topic)
	}
	switch m.Event {
	case phxLeave:
		w.leave(t)
		w.reply(m, "ok", struct{}{})
		w.push(t, phxClose, []byte("{}"))
		return nil
	case "access_token":
		return w.refresh(t, m)
	case "broadcast":
		return w.broadcast(t, m)
	case "presence":
		return w.presence(t, m)
	}
	return fmt.Errorf("%w: unknown event %q", walrelay.ErrBadRequest, m.Event)
}

// reply queues a phx_reply to m.
func (w *phoenixWire) reply(m phxMsg, status string, response any) {
	w.c.send(phxFrame(w.v2, m.JoinRef, m.Ref, m.Topic, phxReply, marshal(phxReplyPayload{Status: status, Response: response})))
}

// replyError answers m with an error reply whose reason is err's
// client-safe text (internal errors are logged and say only that).
func (w *phoenixWire) replyError(m phxMsg, err error) {
	_, msg, internal := errorCode(err)
	if internal {
		w.c.logger().Error("websocket request failed", "err", err)
	}
	topic := m.Topic
	if topic == "" {
		topic = phxSystem
	}
	m.Topic = topic
	w.reply(m, "error", phxReason{Reason: msg})
}

// push queues a server push on topic t (with t's join ref).
func (w *phoenixWire) push(t *phxTopic, event string, payload []byte) {
	w.c.send(phxFrame(w.v2, t.joinRef, nil, t.name, event, payload))
}

// topic returns the joined topic named name, or nil. Read loop.
func (w *phoenixWire) topic(name string) *phxTopic {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.topics[name]
}

// phxOut is where a queued hub message goes: its topic (and join ref),
// the event it is pushed as, and for postgres_changes the ids of the
// bindings it matched.
type phxOut struct {
	topic   string
	joinRef json.RawMessage
	event   string
	ids     []int
}

// items routes hub deliveries to topics: row events to the topics of the
// bindings they matched, under the binding's event filter (one push for
// several bindings of a topic that an event matches alike), custom channel
// events and presence to the topic of their channel (presence only when
// the client asked for it at join).
func (w *phoenixWire) items(ds []hub.Delivery) []outItem {
	items := make([]outItem, 0, len(ds))
	for _, d := range ds {
		if d.Sub != nil {
			b, ok := d.Sub.Filter.(*pgBinding)
			typ := changeType(d.Msg)
			if !ok || typ == "" || !b.wants(typ) {
				continue
			}
			if n := len(items); n > 0 && items[n-1].msg == d.Msg && items[n-1].ph.topic == b.topic {
				items[n-1].ph.ids = insertSorted(items[n-1].ph.ids, b.id)
				continue
			}
			items = append(items, outItem{msg: d.Msg, ph: &phxOut{topic: b.topic, joinRef: b.joinRef, event: "postgres_changes", ids: []int{b.id}}})
			continue
		}
		name := phxTopicPrefix + d.Msg.Channel
		w.mu.Lock()
		t := w.topics[name]
		var joinRef json.RawMessage
		presence := false
		if t != nil {
			joinRef, presence = t.joinRef, t.presence
		}
		w.mu.Unlock()
		switch {
		case t == nil:
			continue
		case d.Msg.Presence != nil:
			if !presence {
				continue
			}
			event := "presence_diff"
			if d.Msg.Presence.IsState() {
				event = "presence_state"
			}
			items = append(items, outItem{msg: d.Msg, ph: &phxOut{topic: name, joinRef: joinRef, event: event}})
		default:
			items = append(items, outItem{msg: d.Msg, ph: &phxOut{topic: name, joinRef: joinRef, event: "broadcast"}})
		}
	}
	return items
}

// insertSorted adds id to the sorted ids, once.
func insertSorted(ids []int, id int) []int {
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids
	}
	return slices.Insert(ids, i, id)
}

// resync: a hub Reset (the stream lost changes, see hub.Hub.Reset) cannot
// be resumed by a Phoenix client, which has no cursor; the topic gets a
// system error and phx_error, once, and realtime-js rejoins it (and
// reports SUBSCRIBED again, when apps re-read).
func (w *phoenixWire) resync(s *hub.Subscription, reason string) {
	b, ok := s.Filter.(*pgBinding)
	if !ok || b.errored.Swap(true) {
		return
	}
	w.c.send(phxFrame(w.v2, b.joinRef, nil, b.topic, "system",
		marshal(phxSystemMsg{Extension: "postgres_changes", Status: "error", Channel: b.sub,
			Message: "the change stream restarted (" + reason + "): rejoin and re-read"})))
	w.c.send(phxFrame(w.v2, b.joinRef, nil, b.topic, "phx_error", []byte("{}")))
}

// frames writes each message as its own frame: Phoenix frames are one
// message each. A hub message that fails to encode is logged and skipped.
func (w *phoenixWire) frames(items []outItem) ([][]byte, error) {
	out := make([][]byte, 0, len(items))
	for _, it := range items {
		if it.ph == nil {
			out = append(out, it.raw)
			continue
		}
		payload, err := it.msg.EncodedAs(phxEncoding, encodePhxPayload)
		if err != nil {
			w.c.logger().Error("websocket encode", "err", err)
			continue
		}
		if it.ph.ids != nil {
			payload = changesPayload(it.ph.ids, payload)
		}
		out = append(out, phxFrame(w.v2, it.ph.joinRef, nil, it.ph.topic, it.ph.event, payload))
	}
	return out, nil
}

// revoked closes the topic that owned a subscription the new token no
// longer allows, as Supabase shuts a channel down: a system error message,
// then phx_close.
func (w *phoenixWire) revoked(channel, owner string) {
	t := w.topic(owner)
	if t == nil {
		return
	}
	w.shutdown(t, fmt.Sprintf("forbidden: no longer allowed to subscribe to %s", channel))
}

// shutdown ends topic t from the server's side: its subscriptions end, the
// client gets a system error message with why and phx_close. Read loop.
func (w *phoenixWire) shutdown(t *phxTopic, why string) {
	w.leave(t)
	w.push(t, "system", marshal(phxSystemMsg{Extension: "system", Status: "error", Message: why, Channel: t.sub}))
	w.push(t, phxClose, []byte("{}"))
}

// phxSystemMsg is the payload of a "system" push.
type phxSystemMsg struct {
	Extension string `json:"extension"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	Channel   string `json:"channel"`
}

// phxEncoding is the hub.Message encoding slot of Phoenix payloads.
const phxEncoding = 1

// encodePhxPayload encodes a hub message's Phoenix payload, shared by every
// connection it is sent to: a change's data (postgres_changes, without the
// ids, which are per binding), a broadcast, or presence.
func encodePhxPayload(m *hub.Message) ([]byte, error) {
	switch {
	case m.Presence != nil:
		return encodePhxPresence(m.Presence), nil
	case m.Custom != nil:
		return encodePhxBroadcast(m.Custom)
	case m.Event != nil:
		return encodeChange(m)
	}
	return nil, errors.New("encode: empty hub message")
}
