package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// Each bad WebSocket input gets its documented error; the connection that
// sent it keeps working, and other clients are unaffected.
func TestBadWebSocketInput(t *testing.T) {
	url := newDatabase(t)
	ts := startServer(t, url)
	conn := db(t, url)
	bystander := dial(t, ts.URL)
	bystander.subscribe("1", "Message:list", "")

	bad := dial(t, ts.URL)
	for name, tc := range map[string]struct{ frame, code string }{
		"malformed JSON":  {`{"type":"subscribe",`, "bad_request"},
		"not an object":   {`[1,2]`, "bad_request"},
		"unknown type":    {`{"type":"explode","ref":"x"}`, "bad_request"},
		"unknown channel": {`{"type":"subscribe","ref":"x","channel":"Nope:list"}`, "not_found"},
		"bad kind":        {`{"type":"subscribe","ref":"x","channel":"Message:sideways"}`, "bad_request"},
		"no such channel": {`{"type":"subscribe","ref":"x","channel":"board:1"}`, "not_found"},
		"no model, no id": {`{"type":"subscribe","ref":"x","channel":"board"}`, "not_found"},
		"bad filter":      {`{"type":"subscribe","ref":"x","channel":"Message:list","filter":"room_id=zz.1"}`, "invalid_filter"},
		"unknown column":  {`{"type":"subscribe","ref":"x","channel":"Message:list","filter":"nope=eq.1"}`, "invalid_filter"},
		"hidden column":   {`{"type":"subscribe","ref":"x","channel":"Message:list","filter":"ip_address=eq.1"}`, "invalid_filter"},
		"sql in filter":   {`{"type":"subscribe","ref":"x","channel":"Message:list","filter":"room_id;drop table messages=eq.1"}`, "invalid_filter"},
	} {
		t.Run(name, func(t *testing.T) {
			bad.t = t
			bad.sendRaw([]byte(tc.frame))
			m := bad.nextOf("error")
			if m.str("code") != tc.code || m.str("message") == "" {
				t.Fatalf("error = %v, want code %s", m, tc.code)
			}
			if strings.Contains(strings.ToLower(m.str("message")), "syntax error at") {
				t.Fatalf("SQL error text leaked: %v", m)
			}
		})
	}
	bad.t = t
	// Still usable after all that.
	bad.send(map[string]any{"type": "ping"})
	bad.nextOf("pong")
	bad.subscribe("ok", "Message:list", "")

	// An oversized frame closes that connection with 1009.
	big := dial(t, ts.URL)
	big.sendRaw([]byte(`{"type":"ping","pad":"` + strings.Repeat("x", 8192) + `"}`))
	if st := big.closeStatus(); st != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame: close %v, want 1009", st)
	}

	exec(t, conn, "insert into messages (room_id, author_id, body) values (1,'bob','still here')")
	for _, c := range []*wsClient{bystander, bad} {
		if ev := c.nextOf("event"); ev.obj("data").str("body") != "still here" {
			t.Fatalf("event = %v", ev)
		}
	}
	if n := queryInt(t, conn, "select count(*) from messages"); n < 1 {
		t.Fatal("messages table damaged")
	}
}

// Each bad REST input gets its documented status and error code and
// changes nothing.
func TestBadRESTInput(t *testing.T) {
	url := newDatabase(t)
	ts := startServer(t, url)
	conn := db(t, url)
	before := queryInt(t, conn, "select count(*) from messages")
	for name, tc := range map[string]struct {
		method, path, body string
		status             int
		code               string
	}{
		"non-JSON body":     {"POST", "/api/messages", `room_id=1`, 400, "bad_request"},
		"array body":        {"POST", "/api/messages", `[{"room_id":1}]`, 400, "bad_request"},
		"unknown column":    {"POST", "/api/messages", `{"room_id":1,"author_id":"bob","body":"x","nope":1}`, 400, "bad_request"},
		"hidden column":     {"POST", "/api/messages", `{"room_id":1,"author_id":"bob","body":"x","ip_address":"1.2.3.4"}`, 400, "bad_request"},
		"wrong type":        {"POST", "/api/messages", `{"room_id":"one","author_id":"bob","body":"x"}`, 422, "unprocessable"},
		"missing not null":  {"POST", "/api/messages", `{"room_id":1,"author_id":"bob"}`, 422, "unprocessable"},
		"fk violation":      {"POST", "/api/messages", `{"room_id":999,"author_id":"bob","body":"x"}`, 409, "conflict"},
		"bad filter":        {"GET", "/api/messages?room_id=zz.1", "", 400, "invalid_filter"},
		"filter unknown":    {"GET", "/api/messages?nope=eq.1", "", 400, "invalid_filter"},
		"filter hidden":     {"GET", "/api/messages?ip_address=eq.1.2.3.4", "", 400, "invalid_filter"},
		"filter bad value":  {"GET", "/api/messages?room_id=eq.abc", "", 400, ""},
		"order unknown":     {"GET", "/api/messages?order=nope.desc", "", 400, "invalid_filter"},
		"order injection":   {"GET", "/api/messages?order=id%3Bdrop%20table%20messages", "", 400, "invalid_filter"},
		"raw semicolon":     {"GET", "/api/messages?order=id;drop%20table%20messages", "", 400, "bad_request"},
		"value injection":   {"GET", "/api/messages?body=eq.x'%20or%201=1--", "", 200, ""},
		"bad id":            {"GET", "/api/messages/1%20or%201=1", "", 400, "bad_request"},
		"absent id":         {"GET", "/api/messages/999999", "", 404, "not_found"},
		"patch unknown col": {"PATCH", "/api/messages/1", `{"nope":1}`, 400, "bad_request"},
		"delete absent":     {"DELETE", "/api/messages/999999", "", 404, "not_found"},
		"bad page token":    {"GET", "/api/messages?page=garbage", "", 400, "bad_request"},
		"bad limit":         {"GET", "/api/messages?limit=-5", "", 400, ""},
	} {
		t.Run(name, func(t *testing.T) {
			code, body, _ := httpDo(t, tc.method, ts.URL+tc.path, tc.body)
			if code != tc.status {
				t.Fatalf("%s %s = %d %v, want %d", tc.method, tc.path, code, body, tc.status)
			}
			if code >= 400 {
				e := body.obj("error")
				if e.str("message") == "" || (tc.code != "" && e.str("code") != tc.code) {
					t.Fatalf("error body = %v, want code %q", body, tc.code)
				}
				if strings.Contains(e.str("message"), "SQLSTATE") {
					t.Fatalf("database error text leaked: %v", body)
				}
			}
		})
	}
	// Oversized body: 413.
	big := fmt.Sprintf(`{"room_id":1,"author_id":"bob","body":%q}`, strings.Repeat("x", 2<<20))
	if code, body, _ := httpDo(t, "POST", ts.URL+"/api/messages", big); code != 413 || body.obj("error").str("code") != "too_large" {
		t.Fatalf("oversized body = %d %v", code, body)
	}
	if after := queryInt(t, conn, "select count(*) from messages"); after != before {
		t.Fatalf("messages changed from %d to %d rows", before, after)
	}
	var tables int64
	conn.QueryRow(context.Background(), "select count(*) from pg_tables where tablename = 'messages'").Scan(&tables)
	if tables != 1 {
		t.Fatal("messages table gone")
	}
}
