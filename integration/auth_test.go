package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const authConfig = `
database:
  url: ${DATABASE_URL}
server:
  listen: "127.0.0.1:0"
auth:
  jwt:
    secret: ${JWT_SECRET}
    clock_skew: 1s
models:
  Message:
    table: messages
    subscribe: [list, item]
    owner: author_id
    hide: [ip_address]
    permissions:
      subscribe: authenticated
      read: "isOwner || isAdmin || row.room_id in auth.rooms"
      create: "authenticated && row.author_id == auth.sub && row.room_id in auth.rooms"
      update: isOwner
      delete: "isOwner || isAdmin"
  Room:
    table: rooms
    subscribe: [list]
    permissions: {subscribe: authenticated, read: authenticated}
`

// Rules guard every route and channel: a client sees exactly the rows it
// may read, over REST and WebSocket, including deletes; writes obey their
// rules; tokens are required.
func TestAuthorizationEndToEnd(t *testing.T) {
	url := newDatabase(t)
	ts := startServerWith(t, url, authConfig)
	alice := token(t, map[string]any{"sub": "alice", "rooms": []int{1, 2}}, time.Hour)
	bob := token(t, map[string]any{"sub": "bob", "rooms": []int{1}}, time.Hour)
	conn := db(t, url)

	ca := dialToken(t, ts.URL, alice)
	ca.subscribe("1", "Message:list", "")
	ca.subscribe("2", "Room:list", "")
	cb := dialToken(t, ts.URL, bob)
	cb.subscribe("1", "Message:list", "")
	cb.subscribe("2", "Room:list", "")

	// carol writes in room 2 (alice's, not bob's), then deletes it, then a
	// room-1 message and a room act as fences.
	var secretID int64
	if err := conn.QueryRow(context.Background(), "insert into messages (room_id, author_id, body) values (2, 'carol', 'room two only') returning id").Scan(&secretID); err != nil {
		t.Fatal(err)
	}
	exec(t, conn, "update messages set body = 'still room two' where id = $1", secretID)
	exec(t, conn, "delete from messages where id = $1", secretID)
	exec(t, conn, "insert into messages (room_id, author_id, body) values (1, 'carol', 'for everyone')")
	exec(t, conn, "insert into rooms (name) values ('fence')")

	var gotA []string
	for {
		m := ca.nextOf("event")
		if m.str("channel") == "Room:list" {
			break
		}
		gotA = append(gotA, m.str("event"))
	}
	if strings.Join(gotA, " ") != "created updated deleted created" {
		t.Fatalf("alice got %v", gotA)
	}
	// Bob: only the room-1 message, and no frame ever mentions the room-2 row.
	m := cb.nextOf("event")
	if m.obj("data").str("body") != "for everyone" {
		t.Fatalf("bob's first event = %v", m)
	}
	if m = cb.nextOf("event"); m.str("channel") != "Room:list" {
		t.Fatalf("bob got %v", m)
	}
	for len(cb.frames) > 0 {
		f := string(<-cb.frames)
		if strings.Contains(f, "room two") || strings.Contains(f, fmt.Sprintf(`"id":%d,`, secretID)) {
			t.Fatalf("bob received a frame about a row he may not read: %s", f)
		}
	}

	// REST: bob lists only readable rows; alice's room-2 row is 404 for him.
	exec(t, conn, "insert into messages (room_id, author_id, body) values (2, 'alice', 'alice in two')")
	code, body, _ := httpDoAs(t, bob, "GET", ts.URL+"/api/messages?count=exact", "")
	if code != 200 {
		t.Fatalf("bob list = %d %v", code, body)
	}
	for _, it := range body["items"].([]any) {
		row := msg(it.(map[string]any))
		if num(row["room_id"]) != 1 && row.str("author_id") != "bob" {
			t.Fatalf("bob listed %v", row)
		}
	}
	var twoID int64
	conn.QueryRow(context.Background(), "select id from messages where body = 'alice in two'").Scan(&twoID)
	if code, _, _ := httpDoAs(t, bob, "GET", fmt.Sprintf("%s/api/messages/%d", ts.URL, twoID), ""); code != 404 {
		t.Fatalf("bob get of unreadable row = %d, want 404", code)
	}
	if code, _, _ := httpDoAs(t, alice, "GET", fmt.Sprintf("%s/api/messages/%d", ts.URL, twoID), ""); code != 200 {
		t.Fatalf("alice get = %d", code)
	}
	// Writes: bob may not post in room 2, nor as alice; may in room 1.
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"room_id":2,"author_id":"bob","body":"x"}`, 403},
		{`{"room_id":1,"author_id":"alice","body":"x"}`, 403},
		{`{"room_id":1,"author_id":"bob","body":"mine"}`, 201},
	} {
		if code, b, _ := httpDoAs(t, bob, "POST", ts.URL+"/api/messages", tc.body); code != tc.code {
			t.Fatalf("bob POST %s = %d %v, want %d", tc.body, code, b, tc.code)
		}
	}
	// Bob may not edit alice's row (403 if he can read it, 404 if not).
	var aliceOne int64
	conn.QueryRow(context.Background(), "insert into messages (room_id, author_id, body) values (1, 'alice', 'alice in one') returning id").Scan(&aliceOne)
	if code, _, _ := httpDoAs(t, bob, "PATCH", fmt.Sprintf("%s/api/messages/%d", ts.URL, aliceOne), `{"body":"hacked"}`); code != 403 {
		t.Fatalf("bob PATCH alice's row = %d, want 403", code)
	}
	if code, _, _ := httpDoAs(t, bob, "DELETE", fmt.Sprintf("%s/api/messages/%d", ts.URL, twoID), ""); code != 404 {
		t.Fatalf("bob DELETE unreadable row = %d, want 404", code)
	}
	if n := queryInt(t, conn, "select count(*) from messages where body = 'hacked' or author_id = 'alice' and body = 'x'"); n != 0 {
		t.Fatalf("denied writes changed the table (%d rows)", n)
	}

	// Tokens: none, garbage, wrong key, expired.
	expired := token(t, map[string]any{"sub": "bob"}, -time.Hour)
	for name, tok := range map[string]string{"none": "", "garbage": "abc.def.ghi", "expired": expired,
		"wrong key": wrongKeyToken(t)} {
		if code, body, _ := httpDoAs(t, tok, "GET", ts.URL+"/api/messages", ""); code != 401 || body.obj("error").str("code") != "unauthorized" {
			t.Errorf("REST with %s token = %d %v", name, code, body)
		}
		if tok == "" {
			continue
		}
		c := dialToken(t, ts.URL, tok)
		if st := c.closeStatus(); st != 4401 {
			t.Errorf("WS with %s token: close %v, want 4401", name, st)
		}
	}
	// Without a token a WS client must authenticate first.
	c := dial(t, ts.URL)
	c.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "Message:list"})
	if st := c.closeStatus(); st != 4401 {
		t.Errorf("WS subscribe before auth: close %v, want 4401", st)
	}
	c = dial(t, ts.URL)
	c.send(map[string]any{"type": "auth", "ref": "a", "token": bob})
	c.nextOf("authenticated")
	c.subscribe("1", "Room:list", "")

	// A token that expires mid-connection closes it with 4401.
	short := dialToken(t, ts.URL, token(t, map[string]any{"sub": "bob", "rooms": []int{1}}, 2*time.Second))
	short.subscribe("1", "Message:list", "")
	if st := short.closeStatus(); st != 4401 {
		t.Errorf("expired mid-connection: close %v, want 4401", st)
	}
	_ = websocket.StatusNormalClosure
}
