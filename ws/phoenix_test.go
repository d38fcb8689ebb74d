package ws

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay"
)

func TestPhoenixHeartbeatBothSerializers(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	for _, vsn := range []string{phxVsn1, phxVsn2} {
		p := env.dialPhx(vsn)
		ref := p.push("", "phoenix", "heartbeat", map[string]any{})
		m := p.expect("phoenix", phxReply)
		if m.Ref != ref || m.JoinRef != nil || m.Payload["status"] != "ok" {
			t.Fatalf("vsn %s: heartbeat reply %s", vsn, m.raw)
		}
		want := `[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]`
		if vsn == phxVsn1 {
			want = `{"join_ref":null,"ref":"1","topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}}}`
		}
		if m.raw != want {
			t.Fatalf("vsn %s: got %s, want %s", vsn, m.raw, want)
		}
	}
}

func TestPhoenixUnsupportedVsn(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	res, err := http.Get(env.http.URL + SupabasePath + "?vsn=3.0.0")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", res.StatusCode)
	}
}

// Bad frames get an error reply (on their topic when it could be read,
// else on "phoenix") and change nothing: the connection stays usable.
func TestPhoenixMalformedFrames(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	for _, vsn := range []string{phxVsn1, phxVsn2} {
		p := env.dialPhx(vsn)
		bad := []string{`not json`, `{}`, `[1,2,3]`, `"x"`, `[null,"1","realtime:x","phx_join",[]]`, `{"topic":"realtime:x","event":"phx_join","payload":"x","ref":"1"}`}
		for _, b := range bad {
			p.write(websocket.MessageText, []byte(b))
			m := p.read()
			if m.Event != phxReply || m.Payload["status"] != "error" {
				t.Fatalf("vsn %s, frame %s: got %s, want an error reply", vsn, b, m.raw)
			}
			reason, _ := m.Payload["response"].(map[string]any)["reason"].(string)
			if !strings.Contains(reason, "malformed") {
				t.Fatalf("vsn %s, frame %s: reason %q", vsn, b, reason)
			}
		}
		p.write(websocket.MessageBinary, []byte{9, 1, 2})
		if reason := p.refusalAny(); !strings.Contains(reason, "binary") {
			t.Fatalf("vsn %s: binary frame refused with %q", vsn, reason)
		}
		ref := p.push("", "phoenix", "heartbeat", map[string]any{})
		p.reply("phoenix", ref, "ok")
	}
}

// refusalAny reads an error reply to whatever and returns its reason.
func (p *phx) refusalAny() string {
	p.t.Helper()
	m := p.read()
	if m.Event != phxReply || m.Payload["status"] != "error" {
		p.t.Fatalf("got %s, want an error reply", m.raw)
	}
	reason, _ := m.Payload["response"].(map[string]any)["reason"].(string)
	return reason
}

func TestPhoenixBadJoinsAndTopics(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	p := env.dialPhx(phxVsn2)
	cases := []struct {
		topic, event string
		payload      any
		want         string
	}{
		{"realtime:x", "broadcast", map[string]any{"type": "broadcast", "event": "e", "payload": map[string]any{}}, "unmatched topic"},
		{"room", phxJoin, map[string]any{}, "unmatched topic"},
		{"realtime:", phxJoin, map[string]any{}, "unmatched topic"},
		{"realtime:nothing", phxJoin, map[string]any{"config": map[string]any{}}, "unknown channel"},
		{"phoenix", "dance", map[string]any{}, "unknown event"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "nope"}), "public.nope is not a realtime model"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "users"}), "public.users is not a realtime model"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "TRUNCATE", "schema": "public", "table": "messages"}), "want *, INSERT, UPDATE or DELETE"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "messages", "filter": "room_id=eq.abc"}), "invalid filter"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "messages", "filter": "ip_address=eq.1"}), "unknown column"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "messages", "filter": "room_id=match.1"}), "invalid filter"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "messages", "select": []string{"id"}}), "select is not supported"},
		{"realtime:t", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "filter": "id=eq.1"}), "needs a schema and a table"},
		{"realtime:t", phxJoin, map[string]any{"config": map[string]any{"postgres_changes": "x"}}, "malformed join payload"},
		{"realtime:t", phxJoin, changes("not-a-jwt", map[string]any{"event": "*", "schema": "public", "table": "messages"}), "unauthorized"},
	}
	for _, c := range cases {
		ref := p.push("", c.topic, c.event, c.payload)
		topic := c.topic
		m := p.read()
		reason, _ := m.Payload["response"].(map[string]any)["reason"].(string)
		if m.Topic != topic || m.Ref != ref || m.Payload["status"] != "error" || !strings.Contains(reason, c.want) {
			t.Fatalf("%s %s %v: got %s, want an error with %q", c.topic, c.event, c.payload, m.raw, c.want)
		}
	}
	// Nothing was subscribed.
	if n := env.hub.Len() + env.hub.CustomLen(); n != 0 {
		t.Fatalf("%d subscriptions after refused joins", n)
	}
}

func TestPhoenixChangesAndFraming(t *testing.T) {
	for _, vsn := range []string{phxVsn1, phxVsn2} {
		t.Run(vsn, func(t *testing.T) {
			env := mustEnv(t, Config{}, nil)
			p := env.dialPhx(vsn)
			joinRef, resp := p.join("realtime:db", changes("",
				map[string]any{"event": "*", "schema": "public", "table": "messages"},
				map[string]any{"event": "INSERT", "schema": "public", "table": "messages", "filter": "room_id=eq.5"},
			))
			want := []any{
				map[string]any{"event": "*", "schema": "public", "table": "messages", "id": float64(1)},
				map[string]any{"event": "INSERT", "schema": "public", "table": "messages", "filter": "room_id=eq.5", "id": float64(2)},
			}
			if !reflect.DeepEqual(resp["postgres_changes"], want) {
				t.Fatalf("join response %v", resp)
			}
			sys := p.expect("realtime:db", "system")
			if sys.Payload["status"] != "ok" || sys.Payload["extension"] != "postgres_changes" || sys.JoinRef != joinRef {
				t.Fatalf("system message %s", sys.raw)
			}

			env.deliver(env.ins(1, 5), env.ins(2, 6))
			m := p.expect("realtime:db", "postgres_changes")
			if !reflect.DeepEqual(m.ids(), []float64{1, 2}) || m.JoinRef != joinRef || m.Ref != nil {
				t.Fatalf("room 5 insert goes to both bindings in one push: %s", m.raw)
			}
			d := m.data()
			if d["type"] != "INSERT" || d["schema"] != "public" || d["table"] != "messages" || d["errors"] != nil ||
				d["commit_timestamp"] != "2026-11-25T16:00:00.123Z" {
				t.Fatalf("data %v", d)
			}
			if rec := d["record"].(map[string]any); rec["id"] != float64(1) || rec["body"] != "hi" {
				t.Fatalf("record %v", rec)
			} else if _, ok := rec["ip_address"]; ok {
				t.Fatal("hidden column sent")
			}
			if _, ok := d["old_record"]; ok {
				t.Fatalf("INSERT with old_record: %v", d)
			}
			cols := d["columns"].([]any)
			wantCols := []any{map[string]any{"name": "id", "type": "int8"}, map[string]any{"name": "room_id", "type": "int4"}, map[string]any{"name": "body", "type": "text"}}
			if !reflect.DeepEqual(cols, wantCols) {
				t.Fatalf("columns %v", cols)
			}
			if m := p.expect("realtime:db", "postgres_changes"); !reflect.DeepEqual(m.ids(), []float64{1}) {
				t.Fatalf("room 6 insert only for the * binding: %s", m.raw)
			}

			env.deliver(env.upd(1, 5, 5), env.del(1, 5))
			if d := p.expect("realtime:db", "postgres_changes").data(); d["type"] != "UPDATE" ||
				d["old_record"].(map[string]any)["room_id"] != float64(5) || d["record"] == nil {
				t.Fatalf("update %v", d)
			}
			del := p.expect("realtime:db", "postgres_changes")
			if d := del.data(); d["type"] != "DELETE" || d["old_record"].(map[string]any)["id"] != float64(1) || d["record"] != nil {
				t.Fatalf("delete %v", d)
			}
			if !reflect.DeepEqual(del.ids(), []float64{1}) {
				t.Fatalf("a delete is not an INSERT: %s", del.raw)
			}

			// Leave: ok, phx_close, and nothing more.
			ref := p.push(joinRef, "realtime:db", phxLeave, map[string]any{})
			p.reply("realtime:db", ref, "ok")
			p.expect("realtime:db", phxClose)
			env.deliver(env.ins(3, 5))
			p.quiet()
			if n := env.hub.Len(); n != 0 {
				t.Fatalf("%d hub subscriptions after leave", n)
			}
		})
	}
}

// An update that brings a row into a filtered binding's view is an UPDATE
// whose old_record has only the key; one that takes it out is not sent.
func TestPhoenixViewTransitions(t *testing.T) {
	env := mustEnv(t, Config{}, nil)
	p := env.dialPhx(phxVsn2)
	p.join("realtime:f", changes("", map[string]any{"event": "*", "schema": "public", "table": "messages", "filter": "room_id=eq.5"}))
	p.expect("realtime:f", "system")
	env.deliver(env.upd(1, 6, 5))
	d := p.expect("realtime:f", "postgres_changes").data()
	if d["type"] != "UPDATE" || !reflect.DeepEqual(d["old_record"], map[string]any{"id": float64(1)}) {
		t.Fatalf("entering update %v", d)
	}
	env.deliver(env.upd(1, 5, 6), env.ins(2, 5))
	if d := p.expect("realtime:f", "postgres_changes").data(); d["type"] != "INSERT" {
		t.Fatalf("the leaving update was sent: %v", d)
	}
}

// The read rule guards every event, deletes included, and a refreshed
// token applies at once; a token the subscribe rule refuses closes the
// topic.
func TestPhoenixAuthorization(t *testing.T) {
	env := mustEnvAuth(t, Config{}, authSchema(), nil, false, nil)
	p := env.dialPhx(phxVsn2)
	ref := p.push("1", "realtime:m", phxJoin, changes("", map[string]any{"event": "*", "schema": "public", "table": "messages"}))
	if reason := p.refusal("realtime:m", ref); !strings.Contains(reason, "access_token") {
		t.Fatalf("join without a token: %q", reason)
	}
	// The apikey is no user token either.
	ref = p.push("2", "realtime:m", phxJoin, changes("sb_publishable_test", map[string]any{"event": "*", "schema": "public", "table": "messages"}))
	p.refusal("realtime:m", ref)

	tok := token(t, jwt.MapClaims{"sub": "u1", "rooms": []int{5}}, hour())
	joinRef, _ := p.join("realtime:m", changes(tok, map[string]any{"event": "*", "schema": "public", "table": "messages"}))
	p.expect("realtime:m", "system")
	env.deliver(env.msgEv(walrelay.OpCreated, 1, 0, 6), env.msgEv(walrelay.OpDeleted, 2, 6, 0), env.msgEv(walrelay.OpCreated, 3, 0, 5))
	if d := p.expect("realtime:m", "postgres_changes").data(); d["record"].(map[string]any)["id"] != float64(3) {
		t.Fatalf("a row of room 6 arrived: %v", d)
	}

	// A token for room 6 only: the open topic follows it.
	tok6 := token(t, jwt.MapClaims{"sub": "u1", "rooms": []int{6}}, hour())
	p.push(joinRef, "realtime:m", "access_token", map[string]any{"access_token": tok6})
	p.sync()
	env.deliver(env.msgEv(walrelay.OpCreated, 4, 0, 5), env.msgEv(walrelay.OpDeleted, 5, 6, 0))
	if d := p.expect("realtime:m", "postgres_changes").data(); d["type"] != "DELETE" || d["old_record"].(map[string]any)["id"] != float64(5) {
		t.Fatalf("after the refresh: %v", d)
	}

	// A token the subscribe rule refuses (no rooms claim) shuts the topic.
	p.push(joinRef, "realtime:m", "access_token", map[string]any{"access_token": token(t, jwt.MapClaims{"sub": "u1"}, hour())})
	if m := p.expect("realtime:m", "system"); m.Payload["status"] != "error" || !strings.Contains(m.Payload["message"].(string), "no longer allowed") {
		t.Fatalf("system %s", m.raw)
	}
	p.expect("realtime:m", phxClose)
	// An invalid token in a refresh does too.
	p.join("realtime:m2", changes(tok, map[string]any{"event": "*", "schema": "public", "table": "messages"}))
	p.expect("realtime:m2", "system")
	p.push("", "realtime:m2", "access_token", map[string]any{"access_token": "garbage"})
	if m := p.expect("realtime:m2", "system"); m.Payload["status"] != "error" {
		t.Fatalf("system %s", m.raw)
	}
	p.expect("realtime:m2", phxClose)
	if n := env.hub.Len(); n != 0 {
		t.Fatalf("%d hub subscriptions after the topics closed", n)
	}
}

// Broadcast and presence on custom channels, with 2.0.0 binary broadcast
// pushes as realtime-js sends them.
func TestPhoenixBroadcastAndPresence(t *testing.T) {
	env := mustChanEnv(t, Config{})
	tokA := token(t, jwt.MapClaims{"sub": "alice"}, hour())
	tokB := token(t, jwt.MapClaims{"sub": "bob"}, hour())
	a, b := env.dialPhx(phxVsn2), env.dialPhx(phxVsn1)
	presence := map[string]any{"presence": map[string]any{"enabled": true}, "broadcast": map[string]any{"ack": true}}
	aRef, _ := a.join("realtime:chat:room:7", map[string]any{"config": presence, "access_token": tokA})
	if m := a.expect("realtime:chat:room:7", "presence_state"); len(m.Payload) != 0 {
		t.Fatalf("state %s", m.raw)
	}
	bRef, _ := b.join("realtime:chat:room:7", map[string]any{"config": presence, "access_token": tokB})
	b.expect("realtime:chat:room:7", "presence_state")

	a.ref++
	push := encodeBinaryPush(aRef, itoa(a.ref), "realtime:chat:room:7", "typing", []byte(`{"on":true}`))
	a.write(websocket.MessageBinary, push)
	a.reply("realtime:chat:room:7", itoa(a.ref), "ok") // ack
	m := b.expect("realtime:chat:room:7", "broadcast")
	want := map[string]any{"type": "broadcast", "event": "typing", "payload": map[string]any{"on": true}, "from": map[string]any{"sub": "alice"}}
	if !reflect.DeepEqual(m.Payload, want) {
		t.Fatalf("broadcast %s", m.raw)
	}
	// JSON pushes too; an event the channel lacks is refused.
	ref := b.push(bRef, "realtime:chat:room:7", "broadcast", map[string]any{"type": "broadcast", "event": "shout", "payload": 1})
	if reason := b.refusal("realtime:chat:room:7", ref); !strings.Contains(reason, "not one of channel") {
		t.Fatalf("reason %q", reason)
	}

	// Presence diffs reach every member, the sender first, then its reply.
	ref = a.push(aRef, "realtime:chat:room:7", "presence", map[string]any{"type": "presence", "event": "track", "payload": map[string]any{"status": "here", "phx_ref": "forged"}})
	for _, p := range []*phx{a, b} {
		d := p.expect("realtime:chat:room:7", "presence_diff")
		metas := d.Payload["joins"].(map[string]any)["alice"].(map[string]any)["metas"].([]any)
		meta := metas[0].(map[string]any)
		if meta["status"] != "here" || meta["phx_ref"] == "forged" || meta["phx_ref"] == nil {
			t.Fatalf("join diff %s", d.raw)
		}
	}
	a.reply("realtime:chat:room:7", ref, "ok")
	ref = a.push(aRef, "realtime:chat:room:7", "presence", map[string]any{"type": "presence", "event": "untrack"})
	for _, p := range []*phx{a, b} {
		d := p.expect("realtime:chat:room:7", "presence_diff")
		if _, ok := d.Payload["leaves"].(map[string]any)["alice"]; !ok {
			t.Fatalf("leave diff %s", d.raw)
		}
	}
	a.reply("realtime:chat:room:7", ref, "ok")
	// A topic joined without presence gets no presence messages.
	tokC := token(t, jwt.MapClaims{"sub": "carol"}, hour())
	c := env.dialPhx(phxVsn2)
	c.join("realtime:chat:room:7", map[string]any{"access_token": tokC})
	ref = a.push(aRef, "realtime:chat:room:7", "presence", map[string]any{"type": "presence", "event": "track", "payload": map[string]any{}})
	a.expect("realtime:chat:room:7", "presence_diff")
	a.reply("realtime:chat:room:7", ref, "ok")
	b.expect("realtime:chat:room:7", "presence_diff")
	c.quiet()
	// The channel's rules apply: room 13 is refused.
	ref = c.push("5", "realtime:chat:room:13", phxJoin, map[string]any{"access_token": tokC})
	if reason := c.refusal("realtime:chat:room:13", ref); !strings.Contains(reason, "not allowed") {
		t.Fatalf("reason %q", reason)
	}
}

func TestPhoenixTooManySubscriptions(t *testing.T) {
	env := mustEnv(t, Config{Limits: Limits{MaxSubscriptionsPerClient: 2}}, nil)
	p := env.dialPhx(phxVsn2)
	all := map[string]any{"event": "*", "schema": "public", "table": "messages"}
	p.join("realtime:a", changes("", all, map[string]any{"event": "INSERT", "schema": "public", "table": "messages"}))
	p.expect("realtime:a", "system")
	ref := p.push("9", "realtime:b", phxJoin, changes("", all))
	if reason := p.refusal("realtime:b", ref); !strings.Contains(reason, "too many subscriptions") {
		t.Fatalf("reason %q", reason)
	}
}
