package ws

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/pgjson"
	"github.com/walrelay/walrelay/store"
)

// mustStoreEnv is a gateway whose requests go to the real store on a fresh
// database with a messages table, everything public, anonymous clients.
func mustStoreEnv(t *testing.T) (*testEnv, string) {
	t.Helper()
	return mustStoreEnvWith(t, public, true)
}

// mustStoreEnvWith is mustStoreEnv with the Message model's permissions.
func mustStoreEnvWith(t *testing.T, perms map[string]string, anonymous bool) (*testEnv, string) {
	t.Helper()
	pool, url := pgtest.MustPool(t, `create table messages (id bigserial primary key, room_id int not null,
		body text not null default '', ip_address text)`, store.ConfigurePool)
	models := []*walrelay.Model{{
		Name: "Message", Schema: "public", Table: "messages", Path: "messages",
		Subscribe:   []walrelay.ChannelKind{walrelay.KindList, walrelay.KindItem},
		Broadcast:   []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted},
		Hide:        []string{"ip_address"},
		Permissions: perms,
	}}
	if err := store.LoadModels(context.Background(), pool, models); err != nil {
		t.Fatal(err)
	}
	schema := walrelay.NewSchema(models)
	st := store.New(pool, schema, pgjson.NewDecoder())
	return mustEnvAuth(t, Config{}, schema, st, anonymous, nil), url
}

func TestRequests(t *testing.T) {
	env, url := mustStoreEnv(t)
	c := env.dial()
	pgtest.MustExec(t, url, `insert into messages (room_id, body, ip_address) values (5, 'a', '10.0.0.1'), (6, 'b', '10.0.0.2')`)

	c.send(`{"type":"request","ref":"1","op":"create","model":"Message","data":{"room_id":5,"body":"hello","ip_address":"x"}}`)
	if m := c.one(); m.str("code") != CodeBadRequest || m.str("ref") != "1" {
		t.Fatalf("create with hidden column: %v", m)
	}
	c.send(`{"type":"request","ref":"2","op":"create","model":"Message","data":{"room_id":5,"body":"hello"}}`)
	m := c.one()
	row, _ := m["data"].(map[string]any)
	if m.str("type") != "reply" || m.str("ref") != "2" || row["body"] != "hello" || row["id"] == nil {
		t.Fatalf("create: %v", m)
	}
	if _, ok := row["ip_address"]; ok {
		t.Fatalf("create reply has a hidden column: %v", m)
	}
	id := row["id"]

	c.send(map[string]any{"type": "request", "ref": "3", "op": "list", "model": "Message",
		"params": map[string]any{"room_id": "eq.5", "order": "id.asc", "limit": 10, "count": "exact"}})
	m = c.one()
	data, _ := m["data"].(map[string]any)
	items, _ := data["items"].([]any)
	if m.str("type") != "reply" || len(items) != 2 || data["total"] != float64(2) || data["next_page"] != nil {
		t.Fatalf("list: %v", m)
	}
	if cur, err := walrelay.ParseCursor(m.str("cursor")); err != nil || !cur.Snapshot || data["cursor"] != m.str("cursor") {
		t.Fatalf("list cursor %q: %v %+v", m.str("cursor"), err, cur)
	}
	for _, it := range items {
		if _, ok := it.(map[string]any)["ip_address"]; ok {
			t.Fatalf("list item has a hidden column: %v", it)
		}
	}

	c.send(map[string]any{"type": "request", "ref": "4", "op": "update", "model": "Message", "id": id,
		"data": map[string]any{"body": "edited"}})
	if m := c.one(); m.str("type") != "reply" || m["data"].(map[string]any)["body"] != "edited" {
		t.Fatalf("update: %v", m)
	}
	c.send(map[string]any{"type": "request", "ref": "5", "op": "get", "model": "Message", "id": walrelay.KeyOf(id)})
	if m := c.one(); m.str("type") != "reply" || m["data"].(map[string]any)["body"] != "edited" || m.str("cursor") == "" {
		t.Fatalf("get by string id: %v", m)
	}
	c.send(map[string]any{"type": "request", "ref": "6", "op": "delete", "model": "Message", "id": id})
	if m := c.one(); m.str("type") != "reply" || m["data"] != nil {
		t.Fatalf("delete: %v", m)
	}
	for name, tc := range map[string]struct{ send, code string }{
		"get deleted":   {`{"type":"request","ref":"7","op":"get","model":"Message","id":` + walrelay.KeyOf(id) + `}`, CodeNotFound},
		"unknown model": {`{"type":"request","ref":"7","op":"get","model":"Nope","id":1}`, CodeNotFound},
		"unknown op":    {`{"type":"request","ref":"7","op":"frob","model":"Message"}`, CodeBadRequest},
		"no id":         {`{"type":"request","ref":"7","op":"get","model":"Message"}`, CodeBadRequest},
		"bad filter":    {`{"type":"request","ref":"7","op":"list","model":"Message","params":{"nope":"eq.1"}}`, CodeInvalidFilter},
		"bad params":    {`{"type":"request","ref":"7","op":"list","model":"Message","params":{"room_id":{"a":1}}}`, CodeBadRequest},
		"no data":       {`{"type":"request","ref":"7","op":"create","model":"Message"}`, CodeBadRequest},
		"constraint":    {`{"type":"request","ref":"7","op":"create","model":"Message","data":{"body":"x"}}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c.send(tc.send)
			m := c.one()
			if m.str("type") != "error" || m.str("ref") != "7" || (tc.code != "" && m.str("code") != tc.code) {
				t.Fatalf("got %v, want error %s", m, tc.code)
			}
			if m.str("code") == CodeInternal {
				t.Fatalf("internal error: %v", m)
			}
		})
	}
}

// TestRequestsGuarded checks that requests run with the connection's
// claims: the store applies the read rule to list and get and the write
// rules to create, update and delete, and a refreshed token applies at once.
func TestRequestsGuarded(t *testing.T) {
	env, url := mustStoreEnvWith(t, map[string]string{
		"subscribe": "authenticated",
		"read":      "row.room_id in auth.rooms",
		"create":    "row.room_id in auth.rooms",
		"update":    "row.room_id in auth.rooms",
		"delete":    "false",
	}, false)
	pgtest.MustExec(t, url, `insert into messages (id, room_id, body) values (1001, 1, 'one'), (1002, 2, 'two')`)
	c := env.dialToken(token(t, jwt.MapClaims{"sub": "alice", "rooms": []int{1}}, hour()))
	req := func(ref, op string, id any, data map[string]any) msg {
		t.Helper()
		m := map[string]any{"type": "request", "ref": ref, "op": op, "model": "Message"}
		if id != nil {
			m["id"] = id
		}
		if data != nil {
			m["data"] = data
		}
		c.send(m)
		return c.one()
	}
	m := req("list", "list", nil, nil)
	items, _ := m["data"].(map[string]any)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != float64(1001) {
		t.Fatalf("list: %v", m)
	}
	for name, tc := range map[string]struct {
		op   string
		id   any
		data map[string]any
		code string
	}{
		"get unreadable":    {"get", 1002, nil, CodeNotFound},
		"update unreadable": {"update", 1002, map[string]any{"body": "x"}, CodeNotFound},
		"move out of reach": {"update", 1001, map[string]any{"room_id": 2}, CodeForbidden},
		"create elsewhere":  {"create", nil, map[string]any{"room_id": 2, "body": "x"}, CodeForbidden},
		"delete":            {"delete", 1001, nil, CodeForbidden},
	} {
		if m := req("r", tc.op, tc.id, tc.data); m.str("code") != tc.code {
			t.Errorf("%s: got %v, want %s", name, m, tc.code)
		}
	}
	if m := req("ok", "update", 1001, map[string]any{"body": "edited"}); m.str("type") != "reply" {
		t.Fatalf("allowed update: %v", m)
	}
	// Refreshed with room 2: the new claims guard the next request.
	c.auth(token(t, jwt.MapClaims{"sub": "alice", "rooms": []int{2}}, hour()))
	if m := req("get2", "get", 1002, nil); m.str("type") != "reply" || m["data"].(map[string]any)["body"] != "two" {
		t.Fatalf("get after refresh: %v", m)
	}
	if m := req("get1", "get", 1001, nil); m.str("code") != CodeNotFound {
		t.Fatalf("get after refresh: %v", m)
	}
}
