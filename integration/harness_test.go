package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/config"
	"github.com/walrelay/walrelay/openapi/openapitest"
	"github.com/walrelay/walrelay/pgembed/pgtest"
	"github.com/walrelay/walrelay/server"
	schema "github.com/walrelay/walrelay/sql"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testConfig serves the demo chat schema plus a table that is not
// configured (secrets).
const testConfig = `
database:
  url: ${DATABASE_URL}
server:
  listen: "127.0.0.1:0"
  shutdown_timeout: 5s
auth:
  jwt:
    secret: ${JWT_SECRET}
  anonymous: true
models:
  Message:
    table: public.messages
    subscribe: [list, item, created, updated, deleted]
    broadcast: [created, updated, deleted, truncated]
    hide: [ip_address]
    permissions: {subscribe: public, read: public, create: public, update: public, delete: public}
  Room:
    table: rooms
    subscribe: [list]
    permissions: {subscribe: public, read: public}
  User:
    table: users
    permissions: {read: public}
limits:
  max_message_bytes: 4096
  max_subscriptions_per_client: 20
  messages_per_second: 1000
`

// newDatabase returns a fresh database with the demo schema and an
// unconfigured table.
func newDatabase(t *testing.T) string {
	t.Helper()
	url := pgtest.MustDatabase(t)
	pgtest.MustExec(t, url, schema.Demo)
	pgtest.MustExec(t, url, "create table secrets (id int primary key, value text); insert into secrets values (1, 'top secret')")
	return url
}

// testServer is a walrelay server running in-process on a free port.
type testServer struct {
	URL    string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan error
}

// testSecret signs the tests' HS256 tokens.
const testSecret = "integration-test-secret-0123456789abcdef"

func startServer(t *testing.T, dbURL string, opts ...server.Option) *testServer {
	t.Helper()
	return startServerWith(t, dbURL, testConfig, opts...)
}

// startServerWith runs a server with the given config text; DATABASE_URL and
// JWT_SECRET expand to the test database and testSecret.
func startServerWith(t *testing.T, dbURL, yaml string, opts ...server.Option) *testServer {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) {
		switch k {
		case "DATABASE_URL":
			return dbURL, true
		case "JWT_SECRET":
			return testSecret, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(ctx, cfg, log, opts...)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	ts := &testServer{URL: "http://" + srv.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Run(ctx) }()
	t.Cleanup(func() { ts.Stop(t) })
	waitReady(t, ts.URL)
	return ts
}

// Stop shuts the server down and waits for Run to return. Safe to repeat.
func (ts *testServer) Stop(t *testing.T) {
	t.Helper()
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("server.Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("server did not stop within 20s")
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready within 15s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// msg is one server message.
type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }
func (m msg) obj(k string) msg    { o, _ := m[k].(map[string]any); return o }

// wsClient is a real WebSocket client. Every server message (frames may be
// arrays) is queued in order.
type wsClient struct {
	t        *testing.T
	conn     *websocket.Conn
	msgs     chan msg
	frames   chan []byte // raw frames, for batching checks
	mu       sync.Mutex
	closeErr error
	closed   chan struct{}
}

func dial(t *testing.T, base string) *wsClient {
	t.Helper()
	return dialToken(t, base, "")
}

// dialToken connects with token in the URL (none when empty).
func dialToken(t *testing.T, base, token string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := strings.Replace(base, "http", "ws", 1) + "/ws"
	if token != "" {
		u += "?token=" + token
	}
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	c := &wsClient{t: t, conn: conn, msgs: make(chan msg, 100000), frames: make(chan []byte, 100000), closed: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	return c
}

func (c *wsClient) readLoop() {
	defer close(c.closed)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			return
		}
		select {
		case c.frames <- data: // raw frames, kept for the tests that inspect them
		default: // a test streaming many frames does not read them
		}
		var batch []msg
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // keep numbers' exact text
		if len(data) > 0 && data[0] == '[' {
			if err := dec.Decode(&batch); err != nil {
				c.t.Errorf("bad frame %s: %v", data, err)
				continue
			}
		} else {
			var m msg
			if err := dec.Decode(&m); err != nil {
				c.t.Errorf("bad frame %s: %v", data, err)
				continue
			}
			batch = []msg{m}
		}
		for _, m := range batch {
			c.msgs <- m
		}
	}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(data)
}

func (c *wsClient) sendRaw(data []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next message, failing after 10s.
func (c *wsClient) next() msg {
	c.t.Helper()
	return c.nextWithin(10 * time.Second)
}

// nextWithin returns the next message, failing after d.
func (c *wsClient) nextWithin(d time.Duration) msg {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(d):
		c.t.Fatalf("no message within %v", d)
	}
	return nil
}

// nextOrClosed returns the next message, or, once the server has closed
// the connection and every message before the close has been read, nil
// and the close status. It fails after 10s without either.
func (c *wsClient) nextOrClosed() (msg, websocket.StatusCode) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m, 0
	case <-c.closed:
		select {
		case m := <-c.msgs:
			return m, 0
		default:
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return nil, websocket.CloseStatus(c.closeErr)
	case <-time.After(10 * time.Second):
		c.t.Fatal("no message within 10s")
	}
	return nil, 0
}

// nextOf returns the next message of type typ, failing if another type
// (other than pong) comes first.
func (c *wsClient) nextOf(typ string) msg {
	c.t.Helper()
	for {
		m := c.next()
		if m.str("type") == "pong" && typ != "pong" {
			continue
		}
		if m.str("type") != typ {
			c.t.Fatalf("got %v, want a %q message", m, typ)
		}
		return m
	}
}

func (c *wsClient) subscribe(ref, channel, filter string) msg {
	c.t.Helper()
	req := map[string]any{"type": "subscribe", "ref": ref, "channel": channel}
	if filter != "" {
		req["filter"] = filter
	}
	c.send(req)
	m := c.nextOf("subscribed")
	if m.str("ref") != ref || m.str("channel") != channel || m.str("cursor") == "" {
		c.t.Fatalf("subscribed = %v", m)
	}
	return m
}

// closeStatus waits for the server to close the connection and returns the
// close code.
func (c *wsClient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(10 * time.Second):
		c.t.Fatal("connection not closed within 10s")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return websocket.CloseStatus(c.closeErr)
}

// db is a separate connection, as another app's.
func db(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// httpDo sends a request and decodes a JSON response body (if any).
func httpDo(t *testing.T, method, url, body string) (int, msg, http.Header) {
	t.Helper()
	return httpDoAs(t, "", method, url, body)
}

// httpDoAs is httpDo with a bearer token (none when empty).
func httpDoAs(t *testing.T, token, method, url, body string) (int, msg, http.Header) {
	t.Helper()
	return httpRequest(t, token, method, url, body, true)
}

// httpUnchecked is httpDoAs without the OpenAPI check, for polling while a
// table changes: an answer of the old model version may arrive after the
// live document has moved on.
func httpUnchecked(t *testing.T, token, method, url, body string) (int, msg, http.Header) {
	t.Helper()
	return httpRequest(t, token, method, url, body, false)
}

func httpRequest(t *testing.T, token, method, url, body string, check bool) (int, msg, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if check {
		checkAPI(t, req, res, data)
	}
	var m msg
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s %s: non-JSON response %d %q", method, url, res.StatusCode, data)
		}
	}
	return res.StatusCode, m, res.Header
}

// apiDocs caches each server's OpenAPI document, by base URL.
var apiDocs sync.Map // string -> *openapitest.Document

// checkAPI checks a REST call against the OpenAPI document of the server
// that answered it (openapitest.CheckCall): every call the tests make is
// documented and answered as documented. The document is fetched once per
// server, and again when a call does not match it, since it follows the
// live catalog.
func checkAPI(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/") || req.URL.Path == "/api/openapi.json" {
		return
	}
	base := req.URL.Scheme + "://" + req.URL.Host
	if d, ok := apiDocs.Load(base); ok && d.(*openapitest.Document).CheckCall(req, res, body) == nil {
		return
	}
	doc := fetchAPIDoc(t, base)
	apiDocs.Store(base, doc)
	if err := doc.CheckCall(req, res, body); err != nil {
		t.Errorf("openapi: %v", err)
	}
}

// fetchAPIDoc reads and validates a server's OpenAPI document: without a
// token, then, for servers that need one, with a token.
func fetchAPIDoc(t *testing.T, base string) *openapitest.Document {
	t.Helper()
	get := func(tok string) (int, []byte) {
		req, err := http.NewRequest("GET", base+"/api/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /api/openapi.json: %v", err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw
	}
	status, raw := get("")
	if status == http.StatusUnauthorized {
		status, raw = get(token(t, map[string]any{"sub": "openapi-check"}, time.Minute))
	}
	if status != http.StatusOK {
		t.Fatalf("GET /api/openapi.json: %d %s", status, raw)
	}
	doc, err := openapitest.Parse(raw)
	if err != nil {
		t.Fatalf("GET /api/openapi.json: %v", err)
	}
	return doc
}

// num reads a JSON number field as int64.
func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	panic(fmt.Sprintf("not a number: %#v", v))
}

var _ = errors.New
var _ walrelay.LSN
