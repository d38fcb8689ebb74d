package integration

import (
	"context"
	"testing"
	"time"
)

const channelsConfig = `
database:
  url: ${DATABASE_URL}
server:
  listen: "127.0.0.1:0"
auth:
  jwt:
    secret: ${JWT_SECRET}
models:
  Message:
    table: messages
    subscribe: [list]
    owner: author_id
    permissions:
      subscribe: authenticated
      read: "isOwner || row.room_id in auth.rooms"
channels:
  "chat:room:{roomId}":
    events: [message, typing]
    presence: true
    subscribe_sql: "select 1 from room_members where room_id = $roomId and user_id = $sub"
    permissions: {subscribe: authenticated, publish: authenticated}
limits:
  publishes_per_second: 5
`

// Clients in a room exchange events and see each other's presence; a
// non-member is refused and sees nothing; messages emitted from SQL arrive
// only when their transaction commits, in order with its row changes.
func TestCustomChannelsEndToEnd(t *testing.T) {
	url := newDatabase(t)
	ts := startServerWith(t, url, channelsConfig)
	// Demo memberships: room 2 ("random") has alice and bob, not carol.
	alice := token(t, map[string]any{"sub": "alice", "rooms": []int{1, 2}}, time.Hour)
	bob := token(t, map[string]any{"sub": "bob", "rooms": []int{1, 2}}, time.Hour)
	carol := token(t, map[string]any{"sub": "carol", "rooms": []int{1, 3}}, time.Hour)

	cb := dialToken(t, ts.URL, bob)
	cb.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "chat:room:2", "presence": map[string]any{"tab": "b1"}})
	cb.nextOf("subscribed")
	if p := cb.nextOf("presence"); len(p["state"].([]any)) != 1 {
		t.Fatalf("bob's initial presence state = %v", p)
	}
	ca := dialToken(t, ts.URL, alice)
	ca.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "chat:room:2", "presence": map[string]any{"tab": "a1"}})
	ca.nextOf("subscribed")
	ca.nextOf("presence")
	if p := cb.nextOf("presence"); p.str("channel") != "chat:room:2" || len(p["joins"].([]any)) != 1 {
		t.Fatalf("bob sees alice join: %v", p)
	}
	// A second tab of alice: one key, two metas.
	ca2 := dialToken(t, ts.URL, alice)
	ca2.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "chat:room:2", "presence": map[string]any{"tab": "a2"}})
	ca2.nextOf("subscribed")
	state := ca2.nextOf("presence")["state"].([]any)
	metas := map[string]int{}
	for _, e := range state {
		entry := msg(e.(map[string]any))
		metas[entry.str("key")] = len(entry["metas"].([]any))
	}
	if len(metas) != 2 || metas["alice"] != 2 || metas["bob"] != 1 {
		t.Fatalf("presence state = %v, want alice with 2 metas and bob with 1", state)
	}
	cb.nextOf("presence") // alice's second join
	ca.nextOf("presence")

	// Carol is not a member: forbidden, and she receives nothing.
	cc := dialToken(t, ts.URL, carol)
	cc.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "chat:room:2"})
	if e := cc.nextOf("error"); e.str("code") != "forbidden" {
		t.Fatalf("carol subscribe = %v", e)
	}
	cc.send(map[string]any{"type": "publish", "ref": "2", "channel": "chat:room:2", "event": "typing", "data": map[string]any{}})
	if e := cc.nextOf("error"); e.str("code") != "forbidden" {
		t.Fatalf("carol publish = %v", e)
	}
	cc.subscribe("3", "Message:list", "")

	// Alice types: bob and her other tab see it, the sender does not.
	ca.send(map[string]any{"type": "publish", "ref": "p", "channel": "chat:room:2", "event": "typing", "data": map[string]any{"on": true}})
	ca.nextOf("published")
	for _, c := range []*wsClient{cb, ca2} {
		ev := c.nextOf("event")
		if ev.str("event") != "typing" || ev.obj("from").str("sub") != "alice" || ev.obj("data")["on"] != true {
			t.Fatalf("typing event = %v", ev)
		}
	}
	ca.send(map[string]any{"type": "publish", "ref": "q", "channel": "chat:room:2", "event": "explode", "data": map[string]any{}})
	if e := ca.nextOf("error"); e.str("code") != "bad_request" {
		t.Fatalf("unknown event = %v", e)
	}

	// An abrupt disconnect (no close frame) leaves.
	ca2.conn.CloseNow()
	for _, c := range []*wsClient{cb, ca} {
		p := c.nextOf("presence")
		if leaves, _ := p["leaves"].([]any); len(leaves) != 1 {
			t.Fatalf("leave diff = %v", p)
		}
	}

	// Messages emitted from SQL: rolled back never arrives; committed
	// arrives between the rows around it.
	cb.subscribe("m", "Message:list", "")
	conn := db(t, url)
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx.Conn(), `select pg_logical_emit_message(true, 'walrelay', '{"channel":"chat:room:2","event":"message","data":{"secret":"rolled back"}}')`)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err = conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx.Conn(), "insert into messages (room_id, author_id, body) values (2, 'alice', 'first')")
	exec(t, tx.Conn(), `select pg_logical_emit_message(true, 'walrelay', '{"channel":"chat:room:2","event":"message","data":{"n":1}}')`)
	exec(t, tx.Conn(), `select pg_logical_emit_message(true, 'walrelay', 'not json')`)
	exec(t, tx.Conn(), "insert into messages (room_id, author_id, body) values (2, 'alice', 'second')")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		ev := cb.nextOf("event")
		if ev.str("channel") == "chat:room:2" {
			if ev.obj("data")["secret"] != nil || ev["from"] != nil {
				t.Fatalf("emitted event = %v", ev)
			}
			got = append(got, "emitted")
		} else {
			got = append(got, ev.obj("data").str("body"))
		}
	}
	if got[0] != "first" || got[1] != "emitted" || got[2] != "second" {
		t.Fatalf("order = %v, want first, emitted, second", got)
	}
	// Carol saw none of it (room 2 rows are not readable to her either).
	exec(t, conn, "insert into messages (room_id, author_id, body) values (1, 'bob', 'fence')")
	if ev := cc.nextOf("event"); ev.obj("data").str("body") != "fence" {
		t.Fatalf("carol got %v", ev)
	}

	// Floods: publishing faster than publishes_per_second is limited.
	limited := false
	for i := range 20 {
		cb.send(map[string]any{"type": "publish", "ref": i, "channel": "chat:room:2", "event": "typing", "data": map[string]any{}})
	}
	for range 20 {
		m := cb.next()
		if m.str("type") == "error" && m.str("code") == "rate_limited" {
			limited = true
		}
	}
	if !limited {
		t.Fatal("20 publishes at once were not rate limited (limit 5/s)")
	}
}
