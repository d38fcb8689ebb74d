package ws

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay"
)

func TestTokenInQueryHeaderOrAuthMessage(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	alice := env.dialToken(token(t, jwt.MapClaims{"sub": "alice"}, hour()))
	bob, _, err := env.tryDial("", http.Header{"Authorization": {"Bearer " + token(t, jwt.MapClaims{"sub": "bob"}, hour())}})
	if err != nil {
		t.Fatal(err)
	}
	carol, _, err := env.tryDial("", nil)
	if err != nil {
		t.Fatal(err)
	}
	carol.auth(token(t, jwt.MapClaims{"sub": "carol"}, hour()))
	for _, c := range []*client{alice, bob, carol} {
		c.subscribe("Notification:list", "")
	}
	env.deliver(env.note(walrelay.OpCreated, 1, "", "alice"), env.note(walrelay.OpCreated, 2, "", "bob"),
		env.note(walrelay.OpCreated, 3, "", "carol"))
	for want, c := range map[float64]*client{1: alice, 2: bob, 3: carol} {
		if m := c.one(); m["id"] != want {
			t.Errorf("got %v, want only notification %v", m, want)
		}
	}
}

func TestInvalidToken4401(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": hour().Unix()}).
		SignedString([]byte("not-the-secret-not-the-secret-!!"))
	if err != nil {
		t.Fatal(err)
	}
	expired := token(t, jwt.MapClaims{"sub": "alice"}, time.Now().Add(-time.Minute))
	for name, tc := range map[string]struct {
		query  string
		header http.Header
		first  string // first message sent, if any
	}{
		"forged in query":      {query: "token=" + forged},
		"expired in query":     {query: "token=" + expired},
		"garbage in header":    {header: http.Header{"Authorization": {"Bearer a.b.c"}}},
		"not bearer":           {header: http.Header{"Authorization": {"Basic YWxpY2U6eA=="}}},
		"forged auth message":  {first: `{"type":"auth","token":"` + forged + `"}`},
		"empty auth message":   {first: `{"type":"auth"}`},
		"ping before auth":     {first: `{"type":"ping"}`},
		"subscribe before":     {first: `{"type":"subscribe","channel":"Post:list"}`},
		"malformed before":     {first: `{"type":`},
		"expired auth message": {first: `{"type":"auth","token":"` + expired + `"}`},
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := env.tryDial(tc.query, tc.header)
			if err != nil {
				t.Fatalf("dial: %v (the upgrade must be accepted, then closed)", err)
			}
			if tc.first != "" {
				c.send(tc.first)
			}
			ctx, cancel := contextWithTimeout(5 * time.Second)
			defer cancel()
			_, b, err := c.ws.Read(ctx)
			if st := websocket.CloseStatus(err); st != closeUnauthorized {
				t.Fatalf("got %q, %v; want close 4401", b, err)
			}
			var ce websocket.CloseError
			if asCloseError(err, &ce) && ce.Reason == "" {
				t.Error("close without a reason")
			}
		})
	}
	// A bad token in the URL never got a slot; the server has no connection left.
	waitFor(t, "connections gone", func() bool { return env.srv.connCount() == 0 })
}

func TestAuthTimeout4401(t *testing.T) {
	env := mustEnvAuth(t, Config{AuthTimeout: 50 * time.Millisecond}, authSchema(), nil, false, nil)
	c, _, err := env.tryDial("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := c.closeStatus(5 * time.Second); st != closeUnauthorized {
		t.Fatalf("close status %v, want 4401", st)
	}
}

func TestExpiryCloses4401AndRefreshKeepsOpen(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	exp := time.Now().Add(2 * time.Second)
	short := token(t, jwt.MapClaims{"sub": "alice"}, exp)
	expiring := env.dialToken(short)
	refreshed := env.dialToken(short)
	refreshed.subscribe("Notification:list", "")
	refreshed.auth(token(t, jwt.MapClaims{"sub": "alice"}, hour()))
	// The same token, not refreshed, expires: 4401.
	start := time.Now()
	if st := expiring.closeStatus(5 * time.Second); st != closeUnauthorized {
		t.Fatalf("close status %v, want 4401", st)
	}
	if time.Now().Before(time.Unix(exp.Unix(), 0)) {
		t.Fatalf("closed before the token expired (after %v)", time.Since(start))
	}
	// The refreshed one, whose first token expired no later, is still served.
	env.deliver(env.note(walrelay.OpCreated, 1, "", "alice"))
	if m := refreshed.one(); m["id"] != float64(1) {
		t.Fatalf("got %v", m)
	}
	refreshed.send(`{"type":"ping"}`)
	if m := refreshed.one(); m.str("type") != "pong" {
		t.Fatalf("got %v", m)
	}
}

func TestRefreshReauthorizes(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	c := env.dialToken(token(t, jwt.MapClaims{"sub": "alice", "rooms": []int{1}}, hour()))
	c.subscribe("Message:list", "")
	c.subscribe("Notification:list", "")
	env.deliver(env.msgEv(walrelay.OpCreated, 10, 0, 1), env.note(walrelay.OpCreated, 1, "", "alice"))
	if ms := c.frame(); len(ms) != 2 {
		t.Fatalf("before refresh: got %v", ms)
	}

	// Refresh as bob without rooms: Message:list is dropped, Notification
	// is re-keyed from alice to bob.
	c.send(map[string]any{"type": "auth", "ref": 9, "token": token(t, jwt.MapClaims{"sub": "bob"}, hour())})
	var buf []msg
	m := c.next(&buf)
	if m.str("type") != "error" || m.str("code") != CodeForbidden || m.str("channel") != "Message:list" || m.str("message") == "" {
		t.Fatalf("got %v, want forbidden for Message:list", m)
	}
	if m := c.next(&buf); m.str("type") != "authenticated" || m["ref"] != float64(9) {
		t.Fatalf("got %v, want authenticated", m)
	}
	env.deliver(env.msgEv(walrelay.OpCreated, 11, 0, 1), env.note(walrelay.OpCreated, 2, "", "alice"),
		env.note(walrelay.OpCreated, 3, "", "bob"))
	if m := c.one(); summary(m) != "Notification:list created 3" {
		t.Fatalf("after refresh: got %v, want only bob's notification", m)
	}
	// The dropped channel may not be subscribed again.
	if code := c.subscribeErr("Message:list"); code != CodeForbidden {
		t.Fatalf("got %s", code)
	}
	// An invalid refresh closes the connection.
	c.send(`{"type":"auth","token":"nope"}`)
	if st := c.closeStatus(5 * time.Second); st != closeUnauthorized {
		t.Fatalf("close status %v, want 4401", st)
	}
}

func TestSubscribeRule(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, true, nil)
	anon := env.dial()
	if code := anon.subscribeErr("Notification:list"); code != CodeForbidden {
		t.Errorf("anonymous Notification:list: %s", code)
	}
	noRooms := env.dialToken(token(t, jwt.MapClaims{"sub": "alice"}, hour()))
	if code := noRooms.subscribeErr("Message:list"); code != CodeForbidden {
		t.Errorf("Message:list without rooms: %s", code)
	}
	if code := noRooms.subscribeErr("Message:item:1"); code != CodeForbidden {
		t.Errorf("Message:item:1 without rooms: %s", code)
	}
	noRooms.subscribe("Notification:list", "")
	if env.hub.Len() != 1 {
		t.Fatalf("hub has %d subscriptions, want 1", env.hub.Len())
	}
}

func TestAnonymous(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, true, nil)
	anon := env.dial()
	anon.subscribe("Post:list", "")
	env.deliver(
		&walrelay.Event{Model: env.model("Post"), Op: walrelay.OpCreated, New: walrelay.Row{"id": int64(1), "published": false}},
		&walrelay.Event{Model: env.model("Post"), Op: walrelay.OpCreated, New: walrelay.Row{"id": int64(2), "published": true}},
	)
	if m := anon.one(); m["id"] != float64(2) {
		t.Fatalf("got %v, want only the published post", m)
	}
	// Without anonymous access, the same client must authenticate first.
	closed := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	c, _, err := closed.tryDial("", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(`{"type":"subscribe","ref":"1","channel":"Post:list"}`)
	if st := c.closeStatus(5 * time.Second); st != closeUnauthorized {
		t.Fatalf("close status %v, want 4401", st)
	}
}

// TestReadRuleFiltersEvents checks raw frames: an event on a row a client
// may not read reaches it in no form, deletes included, for an indexed and
// a per-subscriber rule.
func TestReadRuleFiltersEvents(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	alice := env.dialToken(token(t, jwt.MapClaims{"sub": "alice", "rooms": []int{1}}, hour()))
	bob := env.dialToken(token(t, jwt.MapClaims{"sub": "bob", "rooms": []int{2}}, hour()))
	admin := env.dialToken(token(t, jwt.MapClaims{"sub": "root", "rooms": []int{}, "role": "admin"}, hour()))
	for _, c := range []*client{alice, bob, admin} {
		c.subscribe("Message:list", "")
		c.subscribe("Notification:list", "")
	}
	alice.subscribe("Message:item:202", "")
	alice.subscribe("Notification:item:22", "")
	env.deliver(env.msgEv(walrelay.OpCreated, 101, 0, 1), env.note(walrelay.OpCreated, 11, "", "alice"))
	env.deliver(env.msgEv(walrelay.OpCreated, 202, 0, 2), env.note(walrelay.OpCreated, 22, "", "bob"))
	env.deliver(env.msgEv(walrelay.OpUpdated, 202, 2, 2), env.note(walrelay.OpUpdated, 22, "bob", "bob"))
	env.deliver(env.msgEv(walrelay.OpDeleted, 202, 2, 0), env.note(walrelay.OpDeleted, 22, "bob", ""))
	env.deliver(env.msgEv(walrelay.OpDeleted, 101, 1, 0), env.note(walrelay.OpDeleted, 11, "alice", ""))
	env.deliver(env.msgEv(walrelay.OpCreated, 999, 0, 1), env.msgEv(walrelay.OpCreated, 998, 0, 2)) // markers

	got := alice.rawUntil(`"id":999`)
	for _, secret := range []string{`"id":202`, "msg-202", `"id":22`, "note-22", `"bob"`, "10.9.9.9", `"room_id":2`} {
		if strings.Contains(got, secret) {
			t.Errorf("alice's frames mention %q:\n%s", secret, got)
		}
	}
	for _, want := range []string{`"id":101`, "note-11", `"event":"deleted"`} {
		if !strings.Contains(got, want) {
			t.Errorf("alice's frames lack %s:\n%s", want, got)
		}
	}
	got = bob.rawUntil(`"id":998`)
	for _, secret := range []string{`"id":101`, "msg-101", "note-11", `"alice"`, `"id":999`, `"room_id":1`} {
		if strings.Contains(got, secret) {
			t.Errorf("bob's frames mention %q:\n%s", secret, got)
		}
	}
	got = admin.rawUntil(`"id":998`)
	for _, want := range []string{`"id":101`, `"id":202`, `"id":999`} {
		if !strings.Contains(got, want) {
			t.Errorf("admin's frames lack %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "note-") {
		t.Errorf("admin read notifications of others (rule has no isAdmin):\n%s", got)
	}
}

func TestViewTransitions(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	alice := env.dialToken(token(t, jwt.MapClaims{"sub": "alice", "rooms": []int{1, 3}}, hour()))
	bob := env.dialToken(token(t, jwt.MapClaims{"sub": "bob", "rooms": []int{2}}, hour()))
	alice.subscribe("Notification:list", "")
	bob.subscribe("Notification:list", "")
	alice.subscribe("Message:list", "body=neq.hidden")
	bob.subscribe("Message:list", "")
	env.deliver(env.note(walrelay.OpUpdated, 1, "alice", "bob")) // alice -> bob
	env.deliver(env.note(walrelay.OpUpdated, 1, "bob", "bob"))
	env.deliver(env.msgEv(walrelay.OpUpdated, 5, 2, 1)) // room 2 -> 1: into alice's view, out of bob's
	env.deliver(env.msgEv(walrelay.OpUpdated, 5, 1, 3)) // 1 -> 3: stays in alice's view
	ev := env.msgEv(walrelay.OpUpdated, 5, 3, 3)
	ev.New["body"] = "hidden" // leaves alice's filter
	env.deliver(ev)
	env.deliver(env.msgEv(walrelay.OpUpdated, 6, 2, 2))
	want := map[*client][]string{
		alice: {"Notification:list deleted 1", "Message:list created 5", "Message:list updated 5", "Message:list deleted 5"},
		bob:   {"Notification:list created 1", "Notification:list updated 1", "Message:list deleted 5", "Message:list updated 6"},
	}
	for c, w := range want {
		var buf []msg
		for i, s := range w {
			m := c.next(&buf)
			if summary(m) != s {
				t.Fatalf("message %d: got %v, want %s", i, m, s)
			}
			switch m.str("event") {
			case "created":
				if _, ok := m["old"]; ok {
					t.Errorf("created transition carries old: %v", m)
				}
			case "deleted":
				if _, ok := m["data"]; ok {
					t.Errorf("deleted transition carries data: %v", m)
				}
			}
		}
	}
	// Alice got nothing of message 6 (room 2): her next message is the pong.
	alice.send(`{"type":"ping"}`)
	if m := alice.one(); m.str("type") != "pong" {
		t.Fatalf("got %v", m)
	}
}
