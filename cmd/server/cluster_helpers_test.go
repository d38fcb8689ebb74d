package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/cluster/natstest"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// The cluster tests run walrelay nodes as real processes: the test binary
// started again with WALRELAY_TEST_CHILD set runs the command's own run()
// (childMain, from TestMain) instead of the tests, so a node can be killed
// with SIGKILL. NATS runs in the test process (natstest), Postgres is
// pgtest's.

// childEnv names the variable that makes the test binary a node: its value
// is the command line.
const childEnv = "WALRELAY_TEST_CHILD"

// childMain serves as `walrelay <args>` and exits, when childEnv is set.
func childMain() {
	args := os.Getenv(childEnv)
	if args == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, strings.Fields(args), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "walrelay:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

const clusterSecret = "cluster-test-secret-0123456789abcdef"

// clusterConfig is every node's config; the environment fills it in.
const clusterConfig = `
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
  Item:
    table: public.items
    subscribe: [list]
    permissions: {subscribe: public, read: public}
channels:
  "room:{id}":
    events: [typing]
    presence: true
    permissions: {subscribe: public, publish: public}
limits:
  messages_per_second: 1000
cluster:
  nats_url: ${NATS_URL}
  name: test
  node: ${NODE}
  presence_timeout: 3s
`

// testCluster is a database, a NATS server and the nodes on them.
type testCluster struct {
	t     *testing.T
	db    string
	nats  *natstest.Server
	cfg   string
	nodes []*nodeProc
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	return newTestClusterWith(t, `create table items (id bigint generated always as identity primary key, n int not null, body text)`, clusterConfig)
}

// newTestClusterWith is newTestCluster with another schema and config.
func newTestClusterWith(t *testing.T, ddl, config string) *testCluster {
	t.Helper()
	db := pgtest.MustDatabase(t)
	pgtest.MustExec(t, db, ddl)
	tc := &testCluster{t: t, db: db, nats: natstest.MustStart(t), cfg: filepath.Join(t.TempDir(), "walrelay.yaml")}
	if err := os.WriteFile(tc.cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return tc
}

// nodeProc is one walrelay process.
type nodeProc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves on
	logs syncBuffer
	done chan struct{}
	err  error
}

// start starts the named nodes at once and waits until each serves.
func (tc *testCluster) start(names ...string) []*nodeProc {
	tc.t.Helper()
	var out []*nodeProc
	for _, name := range names {
		out = append(out, tc.spawn(name))
	}
	for _, n := range out {
		n.waitServing(tc.t)
	}
	tc.nodes = append(tc.nodes, out...)
	return out
}

var servingRe = regexp.MustCompile(`msg="walrelay serving" addr=(\S+)`)

func (tc *testCluster) spawn(name string) *nodeProc {
	t := tc.t
	n := &nodeProc{name: name, done: make(chan struct{})}
	n.cmd = exec.Command(os.Args[0], "-test.run=^$")
	n.cmd.Env = append(os.Environ(), childEnv+"=serve --config "+tc.cfg,
		"DATABASE_URL="+tc.db, "JWT_SECRET="+clusterSecret, "NATS_URL="+tc.nats.URL(), "NODE="+name,
		"WALRELAY_LOG_LEVEL=info")
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stdout = io.Discard
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			n.logs.Write([]byte(sc.Text() + "\n"))
		}
		n.err = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("--- logs of node %s ---\n%s", n.name, n.logs.String())
		}
	})
	return n
}

func (n *nodeProc) waitServing(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-n.done:
			t.Fatalf("node %s exited: %v\n%s", n.name, n.err, n.logs.String())
		default:
		}
		if m := servingRe.FindStringSubmatch(n.logs.String()); m != nil {
			n.addr = m[1]
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not start serving:\n%s", n.name, n.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling its log
	}
}

// kill ends the process with SIGKILL and waits for it.
func (n *nodeProc) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// stop ends the process with SIGTERM (SIGKILL after 15 s) and waits.
func (n *nodeProc) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(15 * time.Second):
		n.kill()
	}
}

// readiness is a node's /readyz answer.
type readiness struct {
	code     int
	Status   string `json:"status"`
	Role     string `json:"role"`
	CaughtUp bool   `json:"caught_up"`
	Pending  uint64 `json:"pending"`
}

func (n *nodeProc) ready() readiness {
	var r readiness
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get("http://" + n.addr + "/readyz")
	if err != nil {
		return r
	}
	defer res.Body.Close()
	r.code = res.StatusCode
	_ = json.NewDecoder(res.Body).Decode(&r)
	return r
}

// waitLeader waits until every node in nodes is ready and exactly one of
// them leads, and returns the leader.
func waitLeader(t *testing.T, nodes []*nodeProc, within time.Duration) *nodeProc {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var leader *nodeProc
		ok := true
		leaders := 0
		var states []string
		for _, n := range nodes {
			r := n.ready()
			states = append(states, fmt.Sprintf("%s:%d/%s/%s", n.name, r.code, r.Role, r.Status))
			if r.code != http.StatusOK {
				ok = false
			}
			if r.Role == "leader" {
				leader, leaders = n, leaders+1
			}
		}
		if ok && leaders == 1 {
			return leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single ready leader within %v: %v", within, states)
		}
		time.Sleep(50 * time.Millisecond) // polling /readyz
	}
}

// token signs a token for sub.
func token(t *testing.T, sub string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte(clusterSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wsMsg is a server message as the tests read it.
type wsMsg struct {
	Type    string          `json:"type"`
	Ref     string          `json:"ref"`
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	From    json.RawMessage `json:"from"`
	Cursor  string          `json:"cursor"`
	Reason  string          `json:"reason"`
	Code    string          `json:"code"`
	State   []presenceWire  `json:"state"`
	Joins   []presenceWire  `json:"joins"`
	Leaves  []presenceWire  `json:"leaves"`
}

type presenceWire struct {
	Key string `json:"key"`
}

// n is the item's n of a row event.
func (m wsMsg) n() int {
	var row struct{ N int }
	_ = json.Unmarshal(m.Data, &row)
	return row.N
}

// client is a WebSocket client of one node; its messages arrive on msgs
// until the connection ends (closed is closed then).
type client struct {
	t      *testing.T
	node   string
	c      *websocket.Conn
	msgs   chan wsMsg
	closed chan struct{}
}

func dialNode(t *testing.T, n *nodeProc, tok string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws://" + n.addr + "/ws"
	if tok != "" {
		u += "?token=" + tok
	}
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", n.name, err)
	}
	c.SetReadLimit(16 << 20)
	cl := &client{t: t, node: n.name, c: c, msgs: make(chan wsMsg, 100000), closed: make(chan struct{})}
	go cl.readLoop()
	t.Cleanup(func() { _ = c.CloseNow() })
	return cl
}

func (c *client) readLoop() {
	defer close(c.closed)
	for {
		_, data, err := c.c.Read(context.Background())
		if err != nil {
			return
		}
		var batch []wsMsg
		if len(data) > 0 && data[0] == '[' {
			_ = json.Unmarshal(data, &batch)
		} else {
			var m wsMsg
			_ = json.Unmarshal(data, &m)
			batch = []wsMsg{m}
		}
		for _, m := range batch {
			c.msgs <- m
		}
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("send to %s: %v", c.node, err)
	}
}

// next returns the next message, failing after timeout; ok is false when
// the connection ended.
func (c *client) next(timeout time.Duration) (wsMsg, bool) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m, true
	default:
	}
	select {
	case m := <-c.msgs:
		return m, true
	case <-c.closed:
		select {
		case m := <-c.msgs:
			return m, true
		default:
			return wsMsg{}, false
		}
	case <-time.After(timeout):
		c.t.Fatalf("client on %s: nothing within %v", c.node, timeout)
		return wsMsg{}, false
	}
}

// await returns the first message that ok accepts.
func (c *client) await(what string, ok func(wsMsg) bool) wsMsg {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, open := c.next(time.Until(deadline))
		if !open {
			c.t.Fatalf("client on %s: connection ended waiting for %s", c.node, what)
		}
		if m.Type == "error" {
			c.t.Fatalf("client on %s: error %s waiting for %s", c.node, m.Code, what)
		}
		if ok(m) {
			return m
		}
	}
	c.t.Fatalf("client on %s: no %s within 30s", c.node, what)
	return wsMsg{}
}

// subscribe subscribes to Item:list (since: a cursor, or "") and returns
// the subscribed reply.
func (c *client) subscribe(since string) wsMsg {
	c.t.Helper()
	m := map[string]any{"type": "subscribe", "ref": "s", "channel": "Item:list"}
	if since != "" {
		m["since"] = since
	}
	c.send(m)
	r := c.await("subscribed", func(m wsMsg) bool { return m.Type == "subscribed" || m.Type == "resync" })
	if r.Type != "subscribed" {
		c.t.Fatalf("client on %s: %s (%s) instead of subscribed", c.node, r.Type, r.Reason)
	}
	return r
}

// items reads Item:list events until the one with n == last, or until the
// connection ends (open false), and returns them.
func (c *client) items(last int, timeout time.Duration) (evs []wsMsg, open bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m, ok := c.next(time.Until(deadline))
		if !ok {
			return evs, false
		}
		switch m.Type {
		case "event":
			if m.Channel == "Item:list" {
				evs = append(evs, m)
				if m.n() == last {
					return evs, true
				}
			}
		case "resync", "error":
			c.t.Fatalf("client on %s: %s %s%s", c.node, m.Type, m.Reason, m.Code)
		}
	}
}

// checkSeq fails unless the events' n are exactly want, in order.
func checkSeq(t *testing.T, who string, evs []wsMsg, want []int) {
	t.Helper()
	got := make([]int, len(evs))
	for i, e := range evs {
		got[i] = e.n()
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d: %s", who, len(got), len(want), describeSeq(got, want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: event %d is n=%d, want %d: %s", who, i, got[i], want[i], describeSeq(got, want))
		}
	}
}

// describeSeq names the missing and repeated values.
func describeSeq(got, want []int) string {
	count := map[int]int{}
	for _, n := range got {
		count[n]++
	}
	var missing, dup []int
	for _, n := range want {
		if count[n] == 0 {
			missing = append(missing, n)
		}
		if count[n] > 1 {
			dup = append(dup, n)
		}
	}
	return fmt.Sprintf("missing %v, repeated %v", missing, dup)
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// writer inserts items n = from..to, one transaction each, from its own
// connection, at most one every interval (a load pace, not a wait), and
// counts what it committed.
type writer struct {
	mu       sync.Mutex
	done     int
	finished chan error
}

func startWriter(t *testing.T, db string, from, to int, interval time.Duration) *writer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{done: from - 1, finished: make(chan error, 1)}
	go func() {
		defer conn.Close(context.Background())
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for n := from; n <= to; n++ {
			if _, err := conn.Exec(ctx, "insert into items (n) values ($1)", n); err != nil {
				w.finished <- fmt.Errorf("insert %d: %w", n, err)
				return
			}
			w.mu.Lock()
			w.done = n
			w.mu.Unlock()
			select {
			case <-tick.C:
			case <-ctx.Done():
				w.finished <- ctx.Err()
				return
			}
		}
		w.finished <- nil
	}()
	t.Cleanup(cancel)
	return w
}

// wait waits for the writer to finish.
func (w *writer) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-w.finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("writer did not finish")
	}
}

func (w *writer) committed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done
}

// waitFor waits until cond holds (a polled condition with a deadline).
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond) // polling
	}
}

// snapshot is a REST read of every item: the n values and the cursor.
type snapshot struct {
	has    map[int]bool
	Cursor string
}

func restItems(t *testing.T, n *nodeProc) snapshot {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + n.addr + "/api/items?order=id.asc&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Items  []struct{ N int } `json:"items"`
		Next   *string           `json:"next_page"`
		Cursor string            `json:"cursor"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/items on %s: %d %v", n.name, res.StatusCode, err)
	}
	if body.Next != nil || body.Cursor == "" {
		t.Fatalf("GET /api/items on %s: next_page %v, cursor %q", n.name, body.Next, body.Cursor)
	}
	s := snapshot{has: map[int]bool{}, Cursor: body.Cursor}
	for _, it := range body.Items {
		s.has[it.N] = true
	}
	return s
}

// metrics returns a node's /metrics text.
func metrics(t *testing.T, n *nodeProc) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + n.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
