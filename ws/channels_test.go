package ws

import (
	"reflect"
	"strings"
	"testing"

	"github.com/walrelay/walrelay"
)

func TestChannelPublishBetweenClients(t *testing.T) {
	env := mustChanEnv(t, Config{})
	alice, bob := env.peer("alice"), env.peer("bob")
	alice.join("chat:room:7", nil)
	alice.expect("presence") // state
	bob.join("chat:room:7", nil)
	bob.expect("presence")
	alice.expect("presence") // bob joins

	alice.send(map[string]any{"type": "publish", "ref": "p1", "channel": "chat:room:7", "event": "typing", "data": map[string]any{"on": true}})
	alice.expect("published", "ref", "p1")
	got := bob.expect("event", "channel", "chat:room:7", "event", "typing")
	want := msg{"type": "event", "channel": "chat:room:7", "event": "typing",
		"data": map[string]any{"on": true}, "from": map[string]any{"sub": "alice"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// self is off: the publisher does not get its own event.
	alice.quiet()

	// Order is kept across publishers.
	for i := range 5 {
		alice.send(map[string]any{"type": "publish", "ref": i, "channel": "chat:room:7", "event": "message", "data": i})
		alice.expect("published")
	}
	for i := range 5 {
		if m := bob.expect("event", "event", "message"); m["data"] != float64(i) {
			t.Fatalf("message %d: %v", i, m)
		}
	}

	// Another room hears nothing.
	carol := env.peer("carol")
	carol.join("chat:room:8", nil)
	carol.expect("presence")
	bob.send(map[string]any{"type": "publish", "ref": "b", "channel": "chat:room:7", "event": "message"})
	bob.expect("published")
	if m := alice.expect("event"); m["data"] != nil {
		t.Fatalf("no data is null: %v", m)
	}
	carol.quiet()
}

func TestChannelSelf(t *testing.T) {
	env := mustChanEnv(t, Config{})
	anon := env.peer("")
	anon.join("echo:1", nil)
	anon.send(map[string]any{"type": "publish", "ref": "p", "channel": "echo:1", "event": "ping", "data": "x"})
	m := anon.expect("event", "event", "ping")
	if from, _ := m["from"].(map[string]any); from == nil || from["sub"] != nil {
		t.Fatalf("anonymous publisher: from = %v", m["from"])
	}
	anon.expect("published", "ref", "p")
}

func TestChannelAccess(t *testing.T) {
	env := mustChanEnv(t, Config{})
	alice := env.peer("alice")
	alice.join("chat:room:7", nil)
	alice.expect("presence")

	anon := env.peer("")
	if code := anon.errCode(map[string]any{"type": "subscribe", "channel": "chat:room:7"}); code != CodeForbidden {
		t.Fatalf("anonymous subscribe: %s", code)
	}
	bob := env.peer("bob")
	if code := bob.errCode(map[string]any{"type": "subscribe", "channel": "chat:room:13"}); code != CodeForbidden {
		t.Fatalf("rule on params: %s", code)
	}
	// Publishing needs a subscription, and the publish rule.
	if code := bob.errCode(map[string]any{"type": "publish", "channel": "chat:room:7", "event": "message"}); code != CodeForbidden {
		t.Fatalf("publish unsubscribed: %s", code)
	}
	muted := env.peer("mallory", "muted", true)
	muted.join("chat:room:7", nil)
	muted.expect("presence")
	alice.expect("presence") // mallory joins
	if code := muted.errCode(map[string]any{"type": "publish", "channel": "chat:room:7", "event": "message"}); code != CodeForbidden {
		t.Fatalf("publish rule: %s", code)
	}
	for ch, want := range map[string]string{
		"nowhere:1":      CodeNotFound, // no pattern, no model: no such channel, as for publish
		"Nope:list":      CodeNotFound,
		"chat:room:7:x":  CodeNotFound,
		"chat:room:7bis": "", // a parameter takes any segment
	} {
		code := ""
		bob.send(map[string]any{"type": "subscribe", "ref": "s", "channel": ch})
		m := bob.next()
		if m.str("type") == "error" {
			code = m.str("code")
		} else {
			bob.expect("presence")
		}
		if code != want {
			t.Errorf("subscribe %s: %q, want %q (%v)", ch, code, want, m)
		}
	}
	if code := bob.errCode(map[string]any{"type": "publish", "channel": "nowhere:1", "event": "message"}); code != CodeNotFound {
		t.Fatalf("publish unknown channel: %s", code)
	}
	if code := bob.errCode(map[string]any{"type": "subscribe", "channel": "chat:room:1", "filter": "a=eq.1"}); code != CodeBadRequest {
		t.Fatalf("filter: %s", code)
	}
	alice.quiet()
}

func TestChannelLimits(t *testing.T) {
	env := mustChanEnv(t, Config{Limits: Limits{PublishesPerSecond: 3, MaxPayloadBytes: 32, MaxPresenceBytes: 40, MaxSubscriptionsPerClient: 3}})
	alice, bob := env.peer("alice"), env.peer("bob")
	alice.join("chat:room:1", nil)
	alice.expect("presence")
	bob.join("chat:room:1", nil)
	bob.expect("presence")
	alice.expect("presence")

	pub := func(event string, data any) string {
		alice.send(map[string]any{"type": "publish", "ref": "p", "channel": "chat:room:1", "event": event, "data": data})
		m := alice.next()
		if m.str("type") == "published" {
			return ""
		}
		return m.str("code")
	}
	if code := pub("shout", nil); code != CodeBadRequest {
		t.Fatalf("unknown event: %q", code)
	}
	if code := pub("message", strings.Repeat("x", 40)); code != CodeTooLarge {
		t.Fatalf("payload: %q", code)
	}
	if code := pub("message", "ok"); code != "" {
		t.Fatalf("publish: %q", code)
	}
	// The bucket held 3 tokens; 3 were taken. A flood is refused.
	limited := 0
	for range 10 {
		if pub("message", "flood") == CodeRateLimited {
			limited++
		}
	}
	if limited < 9 {
		t.Fatalf("only %d of 10 publishes over the rate were refused", limited)
	}
	// Bob got the one valid event and, at most, one that a refill let in.
	if m := bob.expect("event"); m["data"] != "ok" {
		t.Fatalf("bob: %v", m)
	}

	carol := env.peer("carol")
	if code := carol.errCode(map[string]any{"type": "subscribe", "channel": "chat:room:1", "presence": map[string]any{"bio": strings.Repeat("y", 40)}}); code != CodeTooLarge {
		t.Fatalf("presence size: %s", code)
	}
	if code := carol.errCode(map[string]any{"type": "subscribe", "channel": "chat:room:1", "presence": []int{1}}); code != CodeBadRequest {
		t.Fatalf("presence not an object: %s", code)
	}
	carol.join("chat:room:1", nil)
	carol.expect("presence")
	carol.join("chat:room:2", nil)
	carol.expect("presence")
	carol.subscribe("Message:list", "")
	if code := carol.errCode(map[string]any{"type": "subscribe", "channel": "chat:room:3"}); code != CodeTooManySubs {
		t.Fatalf("subscription limit: %s", code)
	}
	carol.send(map[string]any{"type": "unsubscribe", "ref": "u", "channel": "chat:room:2"})
	carol.expect("unsubscribed", "channel", "chat:room:2")
	carol.join("chat:room:3", nil)
}

func TestEmittedMessagesRouting(t *testing.T) {
	env := mustChanEnv(t, Config{})
	alice := env.peer("alice")
	alice.join("chat:room:7", nil)
	alice.expect("presence")
	alice.subscribe("Message:list", "")
	other := env.peer("bob")
	other.join("chat:room:8", nil)
	other.expect("presence")

	emit := func(s string) *walrelay.Event {
		return &walrelay.Event{Op: walrelay.OpMessage, Prefix: "walrelay", Content: []byte(s)}
	}
	env.deliver(
		env.ins(1, 7),
		emit(`{"channel":"chat:room:7","event":"message","data":{"text":"after row 1"}}`),
		emit(`{"channel":"chat:room:7","event":"nope","data":1}`),  // not in events: skipped
		emit(`{"channel":"nowhere:7","event":"message","data":1}`), // no such channel: skipped
		emit(`{oops`),
		env.ins(2, 7),
		emit(`{"channel":"chat:room:7","event":"typing"}`),
	)
	// One transaction, one frame, WAL order.
	ms := alice.frame()
	var got []string
	for _, m := range ms {
		got = append(got, m.str("channel")+" "+m.str("event"))
	}
	want := []string{"Message:list created", "chat:room:7 message", "Message:list created", "chat:room:7 typing"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if ms[1]["from"] != nil || ms[3]["data"] != nil {
		t.Fatalf("emitted: from must be null, absent data null: %v", ms)
	}
	if from, ok := ms[1]["from"]; !ok || from != nil {
		t.Fatalf("emitted message: from = %v, %v", from, ok)
	}
	if d, _ := ms[1]["data"].(map[string]any); d["text"] != "after row 1" {
		t.Fatalf("data: %v", ms[1])
	}
	other.quiet()
	if n := env.hub.HistoryLen("Message"); n != 2 {
		t.Fatalf("history: %d events, want the 2 rows", n)
	}
}
