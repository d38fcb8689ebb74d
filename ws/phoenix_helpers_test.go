package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// phx is a Phoenix channels client of the Supabase endpoint, speaking
// serializer 1.0.0 (objects) or 2.0.0 (arrays).
type phx struct {
	t   *testing.T
	ws  *websocket.Conn
	v2  bool
	ref int
}

// phxIn is a decoded server message.
type phxIn struct {
	JoinRef, Ref any
	Topic, Event string
	Payload      map[string]any
	raw          string
}

// dialPhx connects to the Supabase endpoint with serializer vsn.
func (e *testEnv) dialPhx(vsn string) *phx {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url+SupabasePath+"?apikey=sb_publishable_test&vsn="+vsn, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(-1)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &phx{t: e.t, ws: c, v2: vsn == phxVsn2}
}

// write sends one raw frame.
func (p *phx) write(typ websocket.MessageType, b []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, typ, b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// push sends a message with a new ref and returns the ref.
func (p *phx) push(joinRef, topic, event string, payload any) string {
	p.t.Helper()
	p.ref++
	ref := itoa(p.ref)
	var jr any
	if joinRef != "" {
		jr = joinRef
	}
	var b []byte
	var err error
	if p.v2 {
		b, err = json.Marshal([]any{jr, ref, topic, event, payload})
	} else {
		b, err = json.Marshal(map[string]any{"join_ref": jr, "ref": ref, "topic": topic, "event": event, "payload": payload})
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.write(websocket.MessageText, b)
	return ref
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// read reads the next message.
func (p *phx) read() phxIn {
	p.t.Helper()
	m, err := p.tryRead(5 * time.Second)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return m
}

func (p *phx) tryRead(timeout time.Duration) (phxIn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, b, err := p.ws.Read(ctx)
	if err != nil {
		return phxIn{}, err
	}
	if typ != websocket.MessageText {
		p.t.Fatalf("server sent a binary frame: %x", b)
	}
	var m phxIn
	m.raw = string(b)
	if p.v2 {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil || len(arr) != 5 {
			p.t.Fatalf("not a 2.0.0 message: %s", b)
		}
		_ = json.Unmarshal(arr[0], &m.JoinRef)
		_ = json.Unmarshal(arr[1], &m.Ref)
		_ = json.Unmarshal(arr[2], &m.Topic)
		_ = json.Unmarshal(arr[3], &m.Event)
		if err := json.Unmarshal(arr[4], &m.Payload); err != nil {
			p.t.Fatalf("payload of %s: %v", b, err)
		}
		return m, nil
	}
	var o struct {
		JoinRef any            `json:"join_ref"`
		Ref     any            `json:"ref"`
		Topic   string         `json:"topic"`
		Event   string         `json:"event"`
		Payload map[string]any `json:"payload"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&o); err != nil || o.Topic == "" {
		p.t.Fatalf("not a 1.0.0 message: %s", b)
	}
	return phxIn{JoinRef: o.JoinRef, Ref: o.Ref, Topic: o.Topic, Event: o.Event, Payload: o.Payload, raw: string(b)}, nil
}

// expect reads the next message and checks its topic and event.
func (p *phx) expect(topic, event string) phxIn {
	p.t.Helper()
	m := p.read()
	if m.Topic != topic || m.Event != event {
		p.t.Fatalf("got %s, want %s on %s", m.raw, event, topic)
	}
	return m
}

// reply reads the next message, a phx_reply to ref with status; it returns
// the response.
func (p *phx) reply(topic, ref, status string) map[string]any {
	p.t.Helper()
	m := p.expect(topic, phxReply)
	if m.Ref != ref || m.Payload["status"] != status {
		p.t.Fatalf("got %s, want a %s reply to ref %s", m.raw, status, ref)
	}
	resp, _ := m.Payload["response"].(map[string]any)
	return resp
}

// refusal reads an error reply to ref and returns its reason.
func (p *phx) refusal(topic, ref string) string {
	p.t.Helper()
	reason, _ := p.reply(topic, ref, "error")["reason"].(string)
	return reason
}

// join joins topic with payload and checks the ok reply; it returns the
// join ref and the response.
func (p *phx) join(topic string, payload any) (string, map[string]any) {
	p.t.Helper()
	ref := p.push(itoa(p.ref+1), topic, phxJoin, payload) // a join's ref is its join ref
	return ref, p.reply(topic, ref, "ok")
}

// changes is a join payload with postgres_changes bindings.
func changes(token string, bindings ...map[string]any) map[string]any {
	list := make([]any, len(bindings))
	for i, b := range bindings {
		list[i] = b
	}
	p := map[string]any{"config": map[string]any{"postgres_changes": list}}
	if token != "" {
		p["access_token"] = token
	}
	return p
}

// quiet checks that nothing was queued for the client: the next message
// is the reply to a heartbeat sent now.
func (p *phx) quiet() {
	p.t.Helper()
	p.sync()
}

// ids returns a postgres_changes push's ids.
func (m phxIn) ids() []float64 {
	var out []float64
	list, _ := m.Payload["ids"].([]any)
	for _, x := range list {
		f, _ := x.(float64)
		out = append(out, f)
	}
	return out
}

// data returns a postgres_changes push's data.
func (m phxIn) data() map[string]any {
	d, _ := m.Payload["data"].(map[string]any)
	return d
}

// encodeBinaryPush encodes a 2.0.0 binary broadcast push with a JSON
// payload, as realtime-js sends one.
func encodeBinaryPush(joinRef, ref, topic, event string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(phxKindBroadcastPush)
	for _, s := range []string{joinRef, ref, topic, event, ""} {
		b.WriteByte(byte(len(s)))
	}
	b.WriteByte(1) // JSON
	for _, s := range []string{joinRef, ref, topic, event} {
		b.WriteString(s)
	}
	b.Write(payload)
	return b.Bytes()
}

// sync waits until the server has served everything sent before: a
// heartbeat's reply comes after them (the read loop serves in order).
func (p *phx) sync() {
	p.t.Helper()
	ref := p.push("", "phoenix", "heartbeat", map[string]any{})
	p.reply("phoenix", ref, "ok")
}
