package ws

import (
	"reflect"
	"testing"

	"github.com/walrelay/walrelay"
)

func TestEventFrame(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	c := env.dial()
	sub := c.subscribe("Message:list", "")
	if _, err := walrelay.ParseCursor(sub.str("cursor")); err != nil {
		t.Fatalf("subscribed cursor: %v", err)
	}
	txn := env.deliver(env.upd(42, 5, 6))
	m := c.one()
	want := msg{
		"type": "event", "channel": "Message:list", "event": "updated", "id": float64(42),
		"data":      map[string]any{"id": float64(42), "room_id": float64(6), "body": "hi"},
		"old":       map[string]any{"id": float64(42), "room_id": float64(5), "body": "hi"},
		"cursor":    walrelay.Cursor{LSN: txn.CommitLSN, Seq: 0}.String(),
		"commit_ts": "2026-11-25T16:00:00.123Z",
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got  %v\nwant %v", m, want)
	}

	env.deliver(env.del(42, 6), &walrelay.Event{Model: env.model("Message"), Op: walrelay.OpTruncated})
	ms := c.frame()
	if len(ms) != 2 {
		t.Fatalf("got %v", ms)
	}
	if _, ok := ms[0]["data"]; ok || ms[0].str("event") != "deleted" || ms[0]["id"] != float64(42) {
		t.Errorf("delete: %v", ms[0])
	}
	if old, _ := ms[0]["old"].(map[string]any); old == nil || old["ip_address"] != nil {
		t.Errorf("delete old: %v", ms[0])
	}
	for _, k := range []string{"id", "data", "old"} {
		if _, ok := ms[1][k]; ok {
			t.Errorf("truncate has %s: %v", k, ms[1])
		}
	}
	if ms[1].str("event") != "truncated" || ms[1].str("channel") != "Message:list" {
		t.Errorf("truncate: %v", ms[1])
	}
}

// summary is "channel event id" of a message.
func summary(m msg) string {
	id := ""
	if v, ok := m["id"]; ok {
		id = " " + walrelay.KeyOf(v)
	}
	return m.str("channel") + " " + m.str("event") + id
}

func TestChannelKindsAndFilter(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	chans := map[string]string{ // channel -> filter
		"Message:list":      "room_id=eq.5",
		"Message:created":   "",
		"Message:item:01":   "", // canonicalised to Message:item:1
		"Message:updated:1": "",
		"Message:deleted:1": "",
	}
	clients := map[string]*client{}
	for ch, f := range chans {
		c := env.dial()
		req := map[string]any{"type": "subscribe", "ref": "r", "channel": ch, "filter": f}
		c.send(req)
		if m := c.one(); m.str("type") != "subscribed" {
			t.Fatalf("%s: %v", ch, m)
		}
		clients[ch] = c
	}
	env.deliver(env.ins(1, 5), env.ins(2, 6))
	env.deliver(env.upd(1, 5, 5))
	env.deliver(env.upd(2, 6, 5)) // enters room 5
	env.deliver(env.upd(1, 5, 6)) // leaves room 5
	env.deliver(env.del(1, 6))
	env.deliver(env.ins(99, 5)) // marker: last event for list and created
	want := map[string][]string{
		"Message:list": {"Message:list created 1", "Message:list updated 1", "Message:list created 2",
			"Message:list deleted 1", "Message:list created 99"},
		"Message:created":   {"Message:created created 1", "Message:created created 2", "Message:created created 99"},
		"Message:item:01":   {"Message:item:1 updated 1", "Message:item:1 updated 1", "Message:item:1 deleted 1"},
		"Message:updated:1": {"Message:updated:1 updated 1", "Message:updated:1 updated 1"},
		"Message:deleted:1": {"Message:deleted:1 deleted 1"},
	}
	for ch, w := range want {
		var buf []msg
		var got []string
		for range w {
			got = append(got, summary(clients[ch].next(&buf)))
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: got %q\nwant %q", ch, got, w)
		}
		if len(buf) != 0 {
			t.Errorf("%s: extra %v", ch, buf)
		}
	}
	// Nothing more arrived on the item channels: a ping's pong comes next.
	for _, ch := range []string{"Message:item:01", "Message:updated:1", "Message:deleted:1"} {
		clients[ch].send(`{"type":"ping"}`)
		if m := clients[ch].one(); m.str("type") != "pong" {
			t.Errorf("%s: got %v, want pong", ch, m)
		}
	}
}

func TestTxnIsOneFrameInCommitOrder(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	c := env.dial()
	c.subscribe("Message:list", "")
	env.deliver(env.ins(1, 5), env.upd(1, 5, 6), env.del(1, 6))
	ms := c.frame()
	var got []string
	for _, m := range ms {
		got = append(got, summary(m))
	}
	want := []string{"Message:list created 1", "Message:list updated 1", "Message:list deleted 1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("one frame: got %q, want %q", got, want)
	}
	// Many transactions keep commit order across frames.
	for i := range 200 {
		env.deliver(env.ins(i, 5))
	}
	var buf []msg
	for i := range 200 {
		if m := c.next(&buf); m["id"] != float64(i) {
			t.Fatalf("event %d: got %v", i, m)
		}
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	c := env.dial()
	c.subscribe("Message:list", "")
	c.subscribe("Message:created", "")
	c.send(`{"type":"unsubscribe","ref":"u","channel":"Message:list"}`)
	if m := c.one(); m.str("type") != "unsubscribed" || m.str("ref") != "u" || m.str("channel") != "Message:list" {
		t.Fatalf("got %v", m)
	}
	env.deliver(env.ins(1, 5))
	// The transaction is one frame: only the created channel is in it.
	if m := c.one(); summary(m) != "Message:created created 1" {
		t.Fatalf("got %v", m)
	}
	if env.hub.Len() != 1 {
		t.Fatalf("hub has %d subscriptions, want 1", env.hub.Len())
	}
}

func TestResubscribeReplacesFilter(t *testing.T) {
	env := mustEnv(t, Config{Limits: Limits{MaxSubscriptionsPerClient: 1}}, nil)
	c := env.dial()
	c.subscribe("Message:list", "room_id=eq.5")
	c.subscribe("Message:list", "room_id=eq.6") // no too_many_subscriptions: a replacement
	env.deliver(env.ins(1, 5), env.ins(2, 6))
	if m := c.one(); summary(m) != "Message:list created 2" {
		t.Fatalf("got %v", m)
	}
}
