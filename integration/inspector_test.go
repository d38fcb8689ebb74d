package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const inspectorConfig = `
database:
  url: ${DATABASE_URL}
  schema_poll: 0s
server:
  listen: "127.0.0.1:0"
  shutdown_timeout: 5s
  inspector: true
auth:
  jwt:
    secret: ${JWT_SECRET}
realtime:
  slot: wr_inspector
models:
  Message:
    table: public.messages
    subscribe: [list, item]
    hide: [ip_address]
    permissions: {subscribe: authenticated, read: authenticated}
  User:
    table: users
    permissions: {read: authenticated}
`

// streamLines reads an inspector stream's lines into a channel.
func streamLines(t *testing.T, res *http.Response) <-chan msg {
	t.Helper()
	out := make(chan msg, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m msg
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.str("type") != "ping" {
				out <- m
			}
		}
	}()
	return out
}

func nextLine(t *testing.T, lines <-chan msg) msg {
	t.Helper()
	select {
	case m, ok := <-lines:
		if !ok {
			t.Fatal("stream ended")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no stream line within 10s")
	}
	return nil
}

// The inspector at /_/: off by default; its API answers admins only; it
// shows models (and a stopped one's problem), the slot, connections with
// their subscriptions and recent errors, and streams a channel's events as
// clients get them, hidden columns removed.
func TestInspector(t *testing.T) {
	url := newDatabase(t)
	plain := startServer(t, url)
	if code, _, _ := httpGet(t, plain.URL+"/_/api/overview"); code != 404 {
		t.Fatalf("inspector without server.inspector: %d, want 404", code)
	}
	plain.Stop(t)

	ts := startServerWith(t, url, inspectorConfig)
	admin := token(t, map[string]any{"sub": "root", "role": "admin"}, time.Hour)
	alice := token(t, map[string]any{"sub": "alice"}, time.Hour)

	res, err := http.Get(ts.URL + "/_/")
	if err != nil {
		t.Fatal(err)
	}
	page := make([]byte, 4096)
	n, _ := res.Body.Read(page)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page[:n]), "walrelay <span>inspector</span>") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d %q %v", res.StatusCode, page[:n], res.Header)
	}
	for _, p := range []string{"/_/app.js", "/_/style.css"} {
		if code, _, _ := httpGet(t, ts.URL+p); code != 200 {
			t.Fatalf("GET %s = %d", p, code)
		}
	}
	if code, body, _ := httpDo(t, "GET", ts.URL+"/_/api/overview", ""); code != 401 || body.obj("error").str("code") != "unauthorized" {
		t.Fatalf("overview without a token: %d %v", code, body)
	}
	if code, _, _ := httpDoAs(t, alice, "GET", ts.URL+"/_/api/overview", ""); code != 403 {
		t.Fatalf("overview with a user's token: %d, want 403", code)
	}
	if code, _, _ := httpDoAs(t, alice, "GET", ts.URL+"/_/api/stream?channel=Message:list", ""); code != 403 {
		t.Fatalf("stream with a user's token: %d, want 403", code)
	}

	c := dialToken(t, ts.URL, alice)
	c.subscribe("1", "Message:list", "")
	c.subscribe("2", "Message:item:1", "")
	code, o, _ := httpDoAs(t, admin, "GET", ts.URL+"/_/api/overview", "")
	if code != 200 {
		t.Fatalf("overview: %d %v", code, o)
	}
	models, _ := o["models"].([]any)
	if len(models) != 2 || msg(models[0].(map[string]any)).str("status") != "served" {
		t.Fatalf("models: %v", o["models"])
	}
	if cols := fmtAny(msg(models[0].(map[string]any))["columns"]); strings.Contains(cols, "ip_address") {
		t.Fatalf("hidden column listed: %s", cols)
	}
	if slot := o.obj("slot"); slot.str("name") != "wr_inspector" || slot["streaming"] != true || slot["lag_bytes"] == nil {
		t.Fatalf("slot: %v (%v)", o["slot"], o["slot_error"])
	}
	conns, _ := o["connections"].([]any)
	if len(conns) != 1 {
		t.Fatalf("connections: %v", o["connections"])
	}
	if cn := msg(conns[0].(map[string]any)); cn.str("user") != "alice" || fmtAny(cn["channels"]) != "[Message:item:1 Message:list]" {
		t.Fatalf("connection: %v", cn)
	}

	// The stream: subscribed, then each event as a client gets it.
	if code, _, _ := httpDoAs(t, admin, "GET", ts.URL+"/_/api/stream?channel=Nope:list", ""); code != 400 {
		t.Fatalf("stream of an unknown channel: %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/_/api/stream?channel=Message:list", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	sres, err := http.DefaultClient.Do(req)
	if err != nil || sres.StatusCode != 200 {
		t.Fatalf("stream: %v %v", sres, err)
	}
	defer sres.Body.Close()
	lines := streamLines(t, sres)
	if m := nextLine(t, lines); m.str("type") != "subscribed" || m.str("channel") != "Message:list" || m.str("cursor") == "" {
		t.Fatalf("first line %v", m)
	}
	conn := db(t, url)
	exec(t, conn, "insert into messages (room_id, author_id, body, ip_address) values (1, 'bob', 'seen by the inspector', '10.9.8.7')")
	m := nextLine(t, lines)
	if m.str("type") != "event" || m.str("event") != "created" || m.obj("data").str("body") != "seen by the inspector" {
		t.Fatalf("stream line %v", m)
	}
	if _, ok := m.obj("data")["ip_address"]; ok {
		t.Fatalf("hidden column in the stream: %v", m)
	}

	// A stopped model shows with its problem, and the error is listed.
	exec(t, conn, "alter table messages rename column ip_address to ip")
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, o, _ = httpDoAs(t, admin, "GET", ts.URL+"/_/api/overview", "")
		m0 := msg(o["models"].([]any)[0].(map[string]any))
		if m0.str("status") == "stopped" && strings.Contains(m0.str("problem"), `hide column "ip_address"`) &&
			strings.Contains(fmtAny(o["errors"]), "the model is stopped") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("overview never showed the stopped model: %v", o)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	// Shutdown ends the stream instead of waiting for it.
	ts.Stop(t)
	for range lines {
	}
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	s = strings.NewReplacer(`"`, "", ",", " ").Replace(s)
	return s
}

// httpGet fetches url and returns status, body and headers.
func httpGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(res.Body).WriteTo(&b)
	return res.StatusCode, b.String(), res.Header
}
