package ws

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/authz"
	"github.com/walrelay/walrelay/hub"
)

// public allows every action to everyone, for tests of other things.
var public = map[string]string{"subscribe": "public", "read": "public", "create": "public", "update": "public", "delete": "public"}

func testSchema() *walrelay.Schema {
	return walrelay.NewSchema([]*walrelay.Model{
		{
			Name: "Message", Schema: "public", Table: "messages", Path: "messages", PrimaryKey: "id",
			Subscribe:   []walrelay.ChannelKind{walrelay.KindList, walrelay.KindItem},
			Broadcast:   []walrelay.Op{walrelay.OpCreated, walrelay.OpUpdated, walrelay.OpDeleted, walrelay.OpTruncated},
			Hide:        []string{"ip_address"},
			Permissions: public,
			Columns: []walrelay.Column{
				{Name: "id", TypeOID: oidInt8, Type: "bigint", NotNull: true, HasDefault: true},
				{Name: "room_id", TypeOID: oidInt4, Type: "integer"},
				{Name: "body", TypeOID: 25, Type: "text"},
				{Name: "ip_address", TypeOID: 25, Type: "text"},
			},
		},
		{
			Name: "Note", Schema: "public", Table: "notes", Path: "notes", PrimaryKey: "id",
			Subscribe:   []walrelay.ChannelKind{walrelay.KindCreated},
			Broadcast:   []walrelay.Op{walrelay.OpCreated},
			Permissions: public,
			Columns:     []walrelay.Column{{Name: "id", TypeOID: oidInt8, Type: "bigint"}},
		},
		{
			Name: "User", Schema: "public", Table: "users", Path: "users", PrimaryKey: "id",
			Columns: []walrelay.Column{{Name: "id", TypeOID: oidInt8, Type: "bigint"}},
		},
	})
}

// testEnv is a gateway on a real HTTP server, fed by a hub the test drives.
type testEnv struct {
	t      *testing.T
	schema *walrelay.Schema
	hub    *hub.Hub
	srv    *Server
	http   *httptest.Server
	url    string
	lsn    walrelay.LSN
}

func mustEnv(t *testing.T, cfg Config, st Store) *testEnv {
	t.Helper()
	return mustEnvWith(t, cfg, testSchema(), st, nil)
}

// mustEnvWith lets the test adjust the HTTP server before it starts. Its
// clients are anonymous unless they send tokens (signed with testSecret).
func mustEnvWith(t *testing.T, cfg Config, schema *walrelay.Schema, st Store, prep func(*httptest.Server)) *testEnv {
	t.Helper()
	return mustEnvAuth(t, cfg, schema, st, true, prep)
}

// testSecret signs the tests' HS256 tokens.
const testSecret = "ws-test-secret-0123456789abcdef!"

// mustEnvAuth is a gateway with an HS256 Verifier (no clock leeway) and the
// schema's compiled policy; anonymous says whether tokens are optional.
func mustEnvAuth(t *testing.T, cfg Config, schema *walrelay.Schema, st Store, anonymous bool, prep func(*httptest.Server)) *testEnv {
	t.Helper()
	return mustEnvFull(t, cfg, schema, st, anonymous, prep, nil)
}

// mustEnvFull is mustEnvAuth with a logger (nil: none) and hub options.
func mustEnvFull(t *testing.T, cfg Config, schema *walrelay.Schema, st Store, anonymous bool, prep func(*httptest.Server),
	logger *slog.Logger, hubOpts ...hub.Option) *testEnv {
	t.Helper()
	v, err := authz.NewVerifier(context.Background(), authz.VerifierConfig{Secret: testSecret, Anonymous: anonymous, Leeway: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := authz.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(nil, hubOpts...)
	srv := New(cfg, schema, h, st, v, p, logger)
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle(SupabasePath, srv.Supabase())
	hs := httptest.NewUnstartedServer(mux)
	if prep != nil {
		prep(hs)
	}
	hs.Start()
	env := &testEnv{t: t, schema: schema, hub: h, srv: srv, http: hs,
		url: "ws" + strings.TrimPrefix(hs.URL, "http"), lsn: 0x1000}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return env
}

// deliver hands the hub one transaction of evs.
func (e *testEnv) deliver(evs ...*walrelay.Event) *walrelay.Txn {
	e.t.Helper()
	e.lsn += 0x100
	txn := &walrelay.Txn{XID: uint32(e.lsn), CommitLSN: e.lsn, EndLSN: e.lsn + 8,
		CommitTime: time.Date(2026, 11, 25, 17, 0, 0, 123456789, time.FixedZone("X", 3600)), Events: evs}
	for i, ev := range evs {
		ev.XID, ev.LSN, ev.Seq, ev.CommitTime = txn.XID, txn.CommitLSN, i, txn.CommitTime
	}
	if err := e.hub.Deliver(context.Background(), txn); err != nil {
		e.t.Fatal(err)
	}
	return txn
}

func (e *testEnv) model(name string) *walrelay.Model { return e.schema.ByName(name) }

func (e *testEnv) ins(id, room int) *walrelay.Event {
	return &walrelay.Event{Model: e.model("Message"), Op: walrelay.OpCreated,
		New: walrelay.Row{"id": id, "room_id": room, "body": "hi", "ip_address": "10.0.0.1"}}
}

func (e *testEnv) upd(id, oldRoom, newRoom int) *walrelay.Event {
	return &walrelay.Event{Model: e.model("Message"), Op: walrelay.OpUpdated,
		Old: walrelay.Row{"id": id, "room_id": oldRoom, "body": "hi", "ip_address": "10.0.0.1"},
		New: walrelay.Row{"id": id, "room_id": newRoom, "body": "hi", "ip_address": "10.0.0.1"}}
}

func (e *testEnv) del(id, room int) *walrelay.Event {
	return &walrelay.Event{Model: e.model("Message"), Op: walrelay.OpDeleted,
		Old: walrelay.Row{"id": id, "room_id": room, "body": "hi", "ip_address": "10.0.0.1"}}
}

// client is a real WebSocket client.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *testEnv) dial() *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(-1)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &client{t: e.t, ws: c}
}

// msg is a decoded server message.
type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }

func (c *client) send(v any) {
	c.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if s, isStr := v.(string); isStr {
			b = []byte(s)
		} else if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// frame reads one frame and returns its messages.
func (c *client) frame() []msg {
	c.t.Helper()
	ms, err := c.tryFrame(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return ms
}

func (c *client) tryFrame(timeout time.Duration) ([]msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[0] == '[' {
		var ms []msg
		if err := json.Unmarshal(b, &ms); err != nil {
			c.t.Fatalf("decode %s: %v", b, err)
		}
		if len(ms) < 2 {
			c.t.Fatalf("array frame with %d messages: %s", len(ms), b)
		}
		return ms, nil
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("decode %s: %v", b, err)
	}
	return []msg{m}, nil
}

// next returns the next message, across frames.
func (c *client) next(buf *[]msg) msg {
	c.t.Helper()
	for len(*buf) == 0 {
		*buf = c.frame()
	}
	m := (*buf)[0]
	*buf = (*buf)[1:]
	return m
}

// one reads one frame that must hold exactly one message.
func (c *client) one() msg {
	c.t.Helper()
	ms := c.frame()
	if len(ms) != 1 {
		c.t.Fatalf("got %d messages in a frame, want 1: %v", len(ms), ms)
	}
	return ms[0]
}

// subscribe subscribes and waits for the subscribed reply.
func (c *client) subscribe(channel, filter string) msg {
	c.t.Helper()
	req := map[string]any{"type": "subscribe", "ref": channel, "channel": channel}
	if filter != "" {
		req["filter"] = filter
	}
	c.send(req)
	m := c.one()
	if m.str("type") != "subscribed" || m.str("channel") != channel || m.str("ref") != channel {
		c.t.Fatalf("subscribe %s: got %v", channel, m)
	}
	return m
}

// closeStatus reads until the connection ends and returns its close code.
func (c *client) closeStatus(timeout time.Duration) websocket.StatusCode {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := c.tryFrame(time.Until(deadline)); err != nil {
			return websocket.CloseStatus(err)
		}
	}
	c.t.Fatal("connection did not close")
	return 0
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronization
	}
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
