package ws

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

func TestPresenceJoinDiffLeave(t *testing.T) {
	env := mustChanEnv(t, Config{})
	const room = "chat:room:7"
	alice := env.peer("alice")
	alice.join(room, map[string]any{"status": "online", "presence_ref": "forged"})
	st := presenceOf(t, alice.expect("presence", "channel", room), "state")
	if len(st) != 1 || len(st["alice"]) != 1 || st["alice"][0]["status"] != "online" {
		t.Fatalf("alice's state: %v", st)
	}
	aliceRef := st["alice"][0]["presence_ref"]
	if aliceRef == "forged" || aliceRef == nil {
		t.Fatalf("presence_ref is the server's: %v", aliceRef)
	}

	// Two tabs of bob: one key, two metas.
	bob1 := env.peer("bob")
	bob1.join(room, map[string]any{"tab": 1})
	st = presenceOf(t, bob1.expect("presence"), "state")
	if len(st) != 2 || len(st["bob"]) != 1 {
		t.Fatalf("bob1's state: %v", st)
	}
	j := alice.expect("presence")
	if joins := presenceOf(t, j, "joins"); len(joins["bob"]) != 1 || joins["bob"][0]["tab"] != float64(1) || len(presenceOf(t, j, "leaves")) != 0 {
		t.Fatalf("join diff: %v", j)
	}
	bob2 := env.peer("bob")
	bob2.join(room, map[string]any{"tab": 2})
	st = presenceOf(t, bob2.expect("presence"), "state")
	if len(st) != 2 || len(st["bob"]) != 2 {
		t.Fatalf("two tabs show once with two metas: %v", st)
	}
	alice.expect("presence")
	bob1.expect("presence")

	// A meta update is one diff: old meta leaves, new one joins; the
	// sender gets it too.
	bob2.send(map[string]any{"type": "presence", "ref": "u", "channel": room, "meta": map[string]any{"tab": 2, "typing": true}})
	for _, p := range []*peer{alice, bob1, bob2} {
		d := p.expect("presence")
		joins, leaves := presenceOf(t, d, "joins"), presenceOf(t, d, "leaves")
		if joins["bob"][0]["typing"] != true || leaves["bob"][0]["tab"] != float64(2) || leaves["bob"][0]["typing"] != nil {
			t.Fatalf("update diff: %v", d)
		}
	}

	// Closing one tab: bob stays with one meta.
	_ = bob1.ws.Close(websocket.StatusNormalClosure, "")
	d := alice.expect("presence")
	if leaves := presenceOf(t, d, "leaves"); len(leaves["bob"]) != 1 || leaves["bob"][0]["tab"] != float64(1) {
		t.Fatalf("tab closed: %v", d)
	}
	bob2.expect("presence")
	// Unsubscribing leaves too.
	bob2.send(map[string]any{"type": "unsubscribe", "ref": "u", "channel": room})
	bob2.expect("unsubscribed")
	d = alice.expect("presence")
	if leaves := presenceOf(t, d, "leaves"); len(leaves["bob"]) != 1 {
		t.Fatalf("unsubscribe: %v", d)
	}
	if st := env.hub.PresenceState(room); len(st) != 1 || st[0].Key != "alice" {
		t.Fatalf("hub state: %+v", st)
	}

	// Anonymous clients may not join this room (the rule wants a token).
	anon := env.peer("")
	if code := anon.errCode(map[string]any{"type": "subscribe", "channel": room, "presence": map[string]any{}}); code != CodeForbidden {
		t.Fatalf("anonymous: %s", code)
	}
	alice.quiet()
}

func TestPresenceErrors(t *testing.T) {
	env := mustChanEnv(t, Config{})
	anon := env.peer("")
	// Anonymous may watch a public presence-less channel; on presence
	// messages it gets errors.
	anon.join("echo:1", nil)
	if code := anon.errCode(map[string]any{"type": "presence", "channel": "echo:1", "meta": map[string]any{}}); code != CodeBadRequest {
		t.Fatalf("no presence on channel: %s", code)
	}
	if code := anon.errCode(map[string]any{"type": "presence", "channel": "chat:room:1", "meta": map[string]any{}}); code != CodeForbidden {
		t.Fatalf("not subscribed: %s", code)
	}
	alice := env.peer("alice")
	alice.join("chat:room:1", nil)
	alice.expect("presence")
	if code := alice.errCode(map[string]any{"type": "presence", "channel": "chat:room:1", "meta": "nope"}); code != CodeBadRequest {
		t.Fatalf("meta not an object: %s", code)
	}
}

func TestPresenceAbruptDisconnect(t *testing.T) {
	env := mustChanEnv(t, Config{})
	const room = "chat:room:9"
	alice := env.peer("alice")
	alice.join(room, nil)
	alice.expect("presence")

	// bob's TCP connection is cut without a close frame.
	var raw net.Conn
	hc := &httptestClient{dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		raw = c
		return c, err
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok := token(t, jwt.MapClaims{"sub": "bob"}, hour())
	wc, _, err := websocket.Dial(ctx, env.url+"?token="+tok, &websocket.DialOptions{HTTPClient: hc.client()})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.CloseNow()
	bob := &peer{client: &client{t: t, ws: wc}}
	bob.join(room, map[string]any{"n": 1})
	bob.expect("presence")
	if joins := presenceOf(t, alice.expect("presence"), "joins"); len(joins["bob"]) != 1 {
		t.Fatal("bob did not join")
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	d := alice.expect("presence")
	if leaves := presenceOf(t, d, "leaves"); len(leaves["bob"]) != 1 || leaves["bob"][0]["n"] != float64(1) {
		t.Fatalf("leave after abrupt disconnect: %v", d)
	}
	waitCustom(t, env, 1)
}

func TestPresenceFollowsTokenRefresh(t *testing.T) {
	env := mustChanEnv(t, Config{})
	const room = "chat:room:5"
	alice := env.peer("alice")
	alice.join(room, nil)
	alice.expect("presence")
	c := env.peer("bob")
	c.join(room, map[string]any{"m": 1})
	c.expect("presence")
	alice.expect("presence")

	// The same connection logs in as carol: bob leaves, carol joins, meta kept.
	c.send(map[string]any{"type": "auth", "ref": "a", "token": token(t, jwt.MapClaims{"sub": "carol"}, hour())})
	d := alice.expect("presence")
	joins, leaves := presenceOf(t, d, "joins"), presenceOf(t, d, "leaves")
	if len(leaves["bob"]) != 1 || len(joins["carol"]) != 1 || joins["carol"][0]["m"] != float64(1) {
		t.Fatalf("refresh diff: %v", d)
	}
	c.expect("presence")
	c.expect("authenticated", "ref", "a")
}
