package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

// describe renders a delivery: row events as "channel op id", custom
// events as "channel event data from", presence as "channel presence ...".
func describe(d Delivery) string {
	m := d.Msg
	switch {
	case m.Custom != nil:
		return fmt.Sprintf("%s %s %s %v", m.Channel, m.Custom.Event, m.Custom.Data, m.Custom.From)
	case m.Presence != nil:
		p := m.Presence
		entries := func(es []PresenceEntry) string {
			var parts []string
			for _, e := range es {
				var metas []string
				for _, x := range e.Metas {
					metas = append(metas, string(x.Meta))
				}
				parts = append(parts, e.Key+"="+strings.Join(metas, "|"))
			}
			return strings.Join(parts, ",")
		}
		if p.IsState() {
			return m.Channel + " state " + entries(p.State)
		}
		return m.Channel + " joins " + entries(p.Joins) + " leaves " + entries(p.Leaves)
	}
	return fmt.Sprintf("%s %s %v", m.Channel, m.Op, m.Event.ID())
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ds := range r.calls {
		for _, d := range ds {
			out = append(out, describe(d))
		}
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

func wantSeq(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s got\n  %q\nwant\n  %q", who, got, want)
	}
}

func msgEvent(content string) *walrelay.Event {
	return &walrelay.Event{Op: walrelay.OpMessage, Prefix: "walrelay", Content: []byte(content)}
}

func TestPublishAndSelf(t *testing.T) {
	h := New(nil)
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	h.SubscribeCustom(a, "chat:room:7", false, nil, nil)
	h.SubscribeCustom(b, "chat:room:7", false, nil, nil)
	h.SubscribeCustom(c, "chat:room:8", false, nil, nil)
	if n := h.Publish("chat:room:7", &CustomEvent{Event: "typing", Data: json.RawMessage(`{"x":1}`), From: "alice"}, a); n != 1 {
		t.Fatalf("receivers = %d", n)
	}
	h.Publish("chat:room:7", &CustomEvent{Event: "message", Data: json.RawMessage(`2`), From: "bob"}, nil)
	wantSeq(t, "a", a.all(), "chat:room:7 message 2 bob")
	wantSeq(t, "b", b.all(), `chat:room:7 typing {"x":1} alice`, "chat:room:7 message 2 bob")
	wantSeq(t, "c", c.all())
	if h.CustomLen() != 3 || h.Len() != 0 {
		t.Fatalf("CustomLen %d Len %d", h.CustomLen(), h.Len())
	}
}

func TestEmittedMessagesInWALOrder(t *testing.T) {
	var logs bytes.Buffer
	h := New(slog.New(slog.NewTextHandler(&logs, nil)))
	h.SetMessageCheck(func(channel, event string) error {
		if !strings.HasPrefix(channel, "chat:room:") || event != "message" {
			return fmt.Errorf("unknown channel or event %s %s", channel, event)
		}
		return nil
	})
	r, other := &recorder{}, &recorder{}
	h.Subscribe(r, walrelay.Channel{Model: "Message", Kind: walrelay.KindList}, nil, ReadAll)
	h.SubscribeCustom(r, "chat:room:7", false, nil, nil)
	h.SubscribeCustom(other, "chat:room:8", false, nil, nil)
	mustDeliver(t, h,
		ins(1, 7),
		msgEvent(`{"channel":"chat:room:7","event":"message","data":{"id":1}}`),
		msgEvent(`not json`),
		msgEvent(`{"channel":"chat:room:7","event":"bogus"}`),
		msgEvent(`{"channel":"chat:room:7"}`),
		ins(2, 7),
		msgEvent(`{"channel":"chat:room:7","event":"message"}`),
	)
	if len(r.calls) != 1 {
		t.Fatalf("one Receive per transaction, got %d", len(r.calls))
	}
	wantSeq(t, "r", r.all(), "Message:list created 1", `chat:room:7 message {"id":1} <nil>`,
		"Message:list created 2", "chat:room:7 message null <nil>")
	wantSeq(t, "other", other.all())
	if h.HistoryLen("Message") != 2 {
		t.Fatalf("history holds %d events, want the 2 row events only", h.HistoryLen("Message"))
	}
	if n := strings.Count(logs.String(), "message emitted from SQL skipped"); n != 1 {
		t.Fatalf("want one (rate-limited) log line, got %d:\n%s", n, logs.String())
	}
}
