package integration

import (
	"fmt"
	"testing"
)

// REST CRUD and WebSocket `request` messages are served by the same store:
// the same row reads the same either way.
func TestRESTAndWebSocketRequests(t *testing.T) {
	url := newDatabase(t)
	ts := startServer(t, url)

	code, created, _ := httpDo(t, "POST", ts.URL+"/api/messages", `{"room_id":2,"author_id":"alice","body":"one","meta":{"x":1}}`)
	if code != 201 {
		t.Fatalf("POST = %d %v", code, created)
	}
	id := num(created["id"])
	code, got, hdr := httpDo(t, "GET", fmt.Sprintf("%s/api/messages/%d", ts.URL, id), "")
	if code != 200 || got.str("body") != "one" || hdr.Get("Walrelay-Cursor") == "" {
		t.Fatalf("GET = %d %v (cursor %q)", code, got, hdr.Get("Walrelay-Cursor"))
	}
	code, list, hdr := httpDo(t, "GET", ts.URL+"/api/messages?room_id=eq.2&order=id.desc&limit=10&count=exact", "")
	if code != 200 || list.str("cursor") == "" || hdr.Get("Walrelay-Cursor") == "" || num(list["total"]) != 1 {
		t.Fatalf("list = %d %v", code, list)
	}
	if items, _ := list["items"].([]any); len(items) != 1 {
		t.Fatalf("list items = %v", list["items"])
	}

	c := dial(t, ts.URL)
	c.send(map[string]any{"type": "request", "ref": "g", "op": "get", "model": "Message", "id": id})
	r := c.nextOf("reply")
	if r.str("ref") != "g" || fmt.Sprint(r.obj("data")) != fmt.Sprint(got) {
		t.Fatalf("ws get = %v, REST get = %v", r, got)
	}
	c.send(map[string]any{"type": "request", "ref": "l", "op": "list", "model": "Message", "params": map[string]any{"room_id": "eq.2", "limit": 5}})
	r = c.nextOf("reply")
	if items, _ := r.obj("data")["items"].([]any); r.str("ref") != "l" || len(items) != 1 {
		t.Fatalf("ws list = %v", r)
	}
	c.send(map[string]any{"type": "request", "ref": "u", "op": "update", "model": "Message", "id": id, "data": map[string]any{"body": "two"}})
	if r = c.nextOf("reply"); r.obj("data").str("body") != "two" {
		t.Fatalf("ws update = %v", r)
	}
	c.send(map[string]any{"type": "request", "ref": "c", "op": "create", "model": "Message", "data": map[string]any{"room_id": 1, "author_id": "bob", "body": "ws"}})
	if r = c.nextOf("reply"); r.obj("data").str("body") != "ws" {
		t.Fatalf("ws create = %v", r)
	}
	c.send(map[string]any{"type": "request", "ref": "d", "op": "delete", "model": "Message", "id": id})
	if r = c.nextOf("reply"); r.str("ref") != "d" {
		t.Fatalf("ws delete = %v", r)
	}
	c.send(map[string]any{"type": "request", "ref": "x", "op": "get", "model": "Message", "id": id})
	if r = c.nextOf("error"); r.str("code") != "not_found" || r.str("ref") != "x" {
		t.Fatalf("ws get deleted = %v", r)
	}
	c.send(map[string]any{"type": "request", "ref": "y", "op": "create", "model": "Message", "data": map[string]any{"nope": 1}})
	if r = c.nextOf("error"); r.str("code") != "bad_request" {
		t.Fatalf("ws create unknown column = %v", r)
	}
	if code, _, _ := httpDo(t, "DELETE", fmt.Sprintf("%s/api/messages/%d", ts.URL, id), ""); code != 404 {
		t.Fatalf("DELETE of deleted row = %d", code)
	}
}
