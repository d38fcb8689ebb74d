package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/hub"
)

// resumeEnv is a gateway whose hub started at 0x1000 with every earlier
// xid below 0x1000; the env's transactions have xid == commit LSN.
func resumeEnv(t *testing.T, cfg Config, logger *slog.Logger, opts ...hub.Option) *testEnv {
	t.Helper()
	env := mustEnvFull(t, cfg, testSchema(), nil, true, nil, logger, opts...)
	env.hub.SetStart(0x1000, 0x1000)
	return env
}

// subscribeSince sends a subscribe with since and returns the messages
// that follow, up to and including want of them.
func (c *client) subscribeSince(channel, filter string, since walrelay.Cursor, want int) []msg {
	c.t.Helper()
	c.send(map[string]any{"type": "subscribe", "ref": "s", "channel": channel, "filter": filter, "since": since.String()})
	var buf, out []msg
	for len(out) < want {
		out = append(out, c.next(&buf))
	}
	if len(buf) > 0 {
		c.t.Fatalf("more messages than expected: %v after %v", buf, out)
	}
	return out
}

func ids(ms []msg) []string {
	var out []string
	for _, m := range ms {
		switch m.str("type") {
		case "event":
			out = append(out, summary(m))
		default:
			out = append(out, m.str("type"))
		}
	}
	return out
}

func TestResumeFromEventCursor(t *testing.T) {
	env := resumeEnv(t, Config{}, nil)
	live := env.dial()
	live.subscribe("Message:list", "room_id=eq.5")
	env.deliver(env.ins(1, 5), env.ins(2, 5))
	first := live.frame()[0] // the client saw event 1, then disconnected
	env.deliver(env.upd(2, 5, 6), env.ins(3, 6))
	env.deliver(env.ins(4, 5))

	since, err := walrelay.ParseCursor(first.str("cursor"))
	if err != nil {
		t.Fatal(err)
	}
	c := env.dial()
	got := ids(c.subscribeSince("Message:list", "room_id=eq.5", since, 4))
	want := []string{"subscribed", "Message:list created 2", "Message:list deleted 2", "Message:list created 4"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Live after the seam, nothing twice.
	env.deliver(env.ins(5, 5))
	if m := c.one(); summary(m) != "Message:list created 5" {
		t.Fatalf("live: %v", m)
	}
	// The last event's cursor resumes with nothing to replay.
	c2 := env.dial()
	last, _ := walrelay.ParseCursor(env.hub.Position().String())
	if got := ids(c2.subscribeSince("Message:list", "", last, 1)); got[0] != "subscribed" {
		t.Fatalf("got %q", got)
	}
	env.deliver(env.ins(6, 5))
	if m := c2.one(); summary(m) != "Message:list created 6" {
		t.Fatalf("live: %v", m)
	}
}

func TestResumeFromSnapshotCursor(t *testing.T) {
	env := resumeEnv(t, Config{}, nil)
	a := env.deliver(env.ins(1, 5)) // in the snapshot's xip: the read missed it
	b := env.deliver(env.ins(2, 5)) // committed before the read
	// The read's snapshot: xmin = a, xip = {a}, xmax = b+1.
	snap := walrelay.Cursor{LSN: b.CommitLSN, Snapshot: true, Xmin: uint64(a.XID), Xmax: uint64(b.XID) + 1, Xip: []uint64{uint64(a.XID)}}
	env.deliver(env.ins(3, 5)) // xid >= xmax: the read missed it
	c := env.dial()
	got := ids(c.subscribeSince("Message:list", "", snap, 3))
	want := []string{"subscribed", "Message:list created 1", "Message:list created 3"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	env.deliver(env.ins(4, 5))
	if m := c.one(); summary(m) != "Message:list created 4" {
		t.Fatalf("live: %v", m)
	}
}

func TestResumeResync(t *testing.T) {
	env := resumeEnv(t, Config{}, nil, hub.WithHistory(2, time.Hour))
	env.deliver(env.ins(1, 5))
	env.deliver(env.ins(2, 5))
	env.deliver(env.ins(3, 5)) // evicts the first
	cases := map[string]walrelay.Cursor{
		"evicted":       {LSN: 0x1000},
		"wrong epoch":   {Epoch: 3, LSN: env.lsn},
		"xmin too low":  {Snapshot: true, Xmin: 0x0fff, Xmax: 0x2000},
		"evicted inxip": {Snapshot: true, Xmin: 0x1000, Xmax: 0x2000, Xip: []uint64{0x1100}},
	}
	for name, since := range cases {
		c := env.dial()
		got := c.subscribeSince("Message:list", "", since, 2)
		if got[0].str("type") != "subscribed" || got[1].str("type") != "resync" || got[1].str("reason") != "cursor_expired" {
			t.Errorf("%s: got %v", name, got)
		}
	}
	c := env.dial()
	c.send(`{"type":"subscribe","ref":"x","channel":"Message:created","since":"nope"}`)
	if m := c.one(); m.str("code") != CodeBadRequest {
		t.Fatalf("bad cursor: %v", m)
	}
}

func TestResetSendsResync(t *testing.T) {
	env := resumeEnv(t, Config{}, nil)
	a, b := env.dial(), env.dial()
	a.subscribe("Message:list", "")
	a.subscribe("Message:item:1", "")
	b.subscribe("Message:created", "")
	env.hub.Reset(5)
	var buf []msg
	got := map[string]bool{}
	for range 2 {
		m := a.next(&buf)
		if m.str("type") != "resync" || m.str("reason") != "reset" {
			t.Fatalf("a: %v", m)
		}
		got[m.str("channel")] = true
	}
	if !got["Message:list"] || !got["Message:item:1"] {
		t.Fatalf("a resyncs: %v", got)
	}
	if m := b.one(); m.str("type") != "resync" || m.str("channel") != "Message:created" {
		t.Fatalf("b: %v", m)
	}
	// Events of the new stream carry the new epoch.
	env.deliver(env.ins(1, 5))
	m := b.one()
	if c, err := walrelay.ParseCursor(m.str("cursor")); err != nil || c.Epoch != 5 {
		t.Fatalf("cursor after reset: %+v, %v", c, err)
	}
}

// deliverChunked hands the hub n created events of one transaction, in
// chunks of size, making each chunk only when it is due. It returns the
// largest history the hub held between chunks.
func (e *testEnv) deliverChunked(n, size int, body string) (maxHistory int, err error) {
	e.lsn += 0x100
	lsn := e.lsn
	ts := time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += size {
		txn := &walrelay.Txn{XID: uint32(lsn), CommitLSN: lsn, EndLSN: lsn + 8, CommitTime: ts, More: i+size < n}
		for j := i; j < min(i+size, n); j++ {
			ev := &walrelay.Event{Model: e.model("Message"), Op: walrelay.OpCreated,
				New: walrelay.Row{"id": j, "room_id": 5, "body": body}, XID: uint32(lsn), LSN: lsn, Seq: j, CommitTime: ts}
			txn.Events = append(txn.Events, ev)
		}
		if err := e.hub.Deliver(context.Background(), txn); err != nil {
			return maxHistory, err
		}
		maxHistory = max(maxHistory, e.hub.HistoryLen("Message"))
	}
	return maxHistory, nil
}

// readIDs reads event ids from c until n arrived or the connection ends,
// checking that they come in order 0..n-1.
func readIDs(c *client, n int) (got int, err error) {
	for got < n {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, b, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			return got, err
		}
		var evs []struct {
			ID int `json:"id"`
		}
		if bytes.HasPrefix(b, []byte("[")) {
			err = json.Unmarshal(b, &evs)
		} else {
			evs = evs[:0]
			var one struct {
				ID int `json:"id"`
			}
			err = json.Unmarshal(b, &one)
			evs = append(evs, one)
		}
		if err != nil {
			return got, err
		}
		for _, ev := range evs {
			if ev.ID != got {
				return got, fmt.Errorf("event %d: got id %d", got, ev.ID)
			}
			got++
		}
	}
	return got, nil
}

func (s *Server) oneConn() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		return c
	}
	return nil
}

// TestLargeTransactionFlowControl: a transaction with more deliveries for
// a client than its queue holds reaches it whole, in order, at its pace:
// chunked by cdc (more changes than its chunk), or whole (fewer changes
// than the chunk: a 3,000-row INSERT).
func TestLargeTransactionFlowControl(t *testing.T) {
	for name, tc := range map[string]struct{ n, size int }{"chunked": {200_000, 5000}, "whole": {3000, 3000}} {
		t.Run(name, func(t *testing.T) {
			env := resumeEnv(t, Config{}, nil) // the default send_queue
			queue := env.srv.cfg.SendQueue
			if queue >= tc.n {
				t.Fatalf("send queue %d holds the whole transaction", queue)
			}
			c := env.dial()
			c.subscribe("Message:list", "")
			conn := env.srv.oneConn()

			done := make(chan error, 1)
			var maxHistory int
			go func() {
				var err error
				maxHistory, err = env.deliverChunked(tc.n, tc.size, "x")
				done <- err
			}()
			got, err := readIDs(c, tc.n)
			if err != nil {
				t.Fatalf("after %d events: %v (close status %v)", got, err, websocket.CloseStatus(err))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if peak := conn.q.maxQueued(); peak > queue {
				t.Fatalf("queue held %d messages, bound %d", peak, queue)
			}
			if maxHistory > hub.DefaultMaxEvents {
				t.Fatalf("hub history held %d events", maxHistory)
			}
			// The connection is healthy and the position moved past the transaction.
			env.deliver(env.ins(tc.n, 5))
			if m := c.one(); m["id"] != float64(tc.n) {
				t.Fatalf("after: %v", m)
			}
		})
	}
}

// TestLargeTransactionStalledClientClosed: while a large transaction is
// flow-controlled, a client that stops reading is closed with 4408 and the
// others receive all of it.
func TestLargeTransactionStalledClientClosed(t *testing.T) {
	for name, tc := range map[string]struct{ n, size int }{"chunked": {20_000, 500}, "whole": {2000, 2000}} {
		t.Run(name, func(t *testing.T) {
			// The chunk wait restarts whenever a receiver makes room, and an
			// overflowed queue has room for anything, so only the stalled client
			// waits it out, once. It is long enough that the fast client, starved
			// of CPU on a loaded machine, still makes room in time.
			env := mustEnvFull(t, Config{Limits: Limits{SendQueue: 64}, BatchWindow: -1, WriteTimeout: 20 * time.Second}, testSchema(), nil, true,
				func(s *httptest.Server) { s.Listener = smallBufListener{s.Listener} }, nil, hub.WithChunkWait(3*time.Second))
			stalled := dialSmallBuf(t, env.url)
			stalled.subscribe("Message:list", "")
			stalledConn := env.srv.oneConn()
			fast := env.dial()
			fast.subscribe("Message:list", "")

			// The stalled client reads nothing until its queue has overflowed;
			// then it reads what was written before and must find the 4408 close.
			// (It starts at once rather than after the fast client, whose pace
			// under load must not decide whether the server's blocked write to the
			// stalled client outlasts WriteTimeout.)
			stalledClose := make(chan error, 1)
			go func() {
				select {
				case <-stalledConn.q.over:
				case <-time.After(60 * time.Second):
					stalledClose <- errors.New("the stalled client's queue never overflowed")
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				for {
					if _, _, err := stalled.ws.Read(ctx); err != nil {
						if st := websocket.CloseStatus(err); st != closeTooSlow {
							stalledClose <- fmt.Errorf("stalled client close status %v, want 4408 (%v)", st, err)
							return
						}
						stalledClose <- nil
						return
					}
				}
			}()

			done := make(chan error, 1)
			go func() {
				_, err := env.deliverChunked(tc.n, tc.size, strings.Repeat("y", 1024))
				done <- err
			}()
			if got, err := readIDs(fast, tc.n); err != nil {
				t.Fatalf("fast client after %d events: %v", got, err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := <-stalledClose; err != nil {
				t.Fatal(err)
			}
			// The fast client is still served.
			env.deliver(env.ins(tc.n, 5))
			if m := fast.one(); m["id"] != float64(tc.n) {
				t.Fatalf("fast client after: %v", m)
			}
		})
	}
}

// lockedBuf is a concurrency-safe log sink.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) lines(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

func TestReadRuleErrorLogsAndDenies(t *testing.T) {
	schema := testSchema()
	m := schema.ByName("Message")
	m.Permissions = map[string]string{"subscribe": "public", "read": "row.room_id > 0"} // not indexable
	var logs lockedBuf
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	env := mustEnvFull(t, Config{}, schema, nil, true, nil, logger)
	c := env.dial()
	c.subscribe("Message:list", "")

	dropped := func(id int) *walrelay.Event { // room_id dropped with ALTER TABLE
		return &walrelay.Event{Model: m, Op: walrelay.OpCreated, New: walrelay.Row{"id": id, "body": "b"}}
	}
	env.deliver(dropped(1))
	env.deliver(dropped(2))
	env.deliver(env.ins(3, 5))
	if m := c.one(); m["id"] != float64(3) {
		t.Fatalf("got %v, want only the readable row", m)
	}
	if n := logs.lines("read rule failed"); n != 1 {
		t.Fatalf("%d log lines, want 1 (rate limited):\n%s", n, logs.b.String())
	}
	if !strings.Contains(logs.b.String(), "room_id") {
		t.Fatalf("log does not name the column: %s", logs.b.String())
	}
}

func TestIndexedRuleMissingColumnFailsClosed(t *testing.T) {
	schema := testSchema()
	m := schema.ByName("Message")
	m.Permissions = map[string]string{"subscribe": "public", "read": "row.room_id == auth.room"}
	var logs lockedBuf
	env := mustEnvFull(t, Config{}, schema, nil, true, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	rule := env.srv.policy.Rule(m, "read")
	if _, ok := rule.Index(); !ok {
		t.Fatal("rule not indexable")
	}
	key := env.srv.rowKeyFunc(m, rule)
	if k := key(walrelay.Row{"id": 1}); k != noKey {
		t.Fatalf("key of a row without the column: %q", k)
	}
	if k := key(walrelay.Row{"id": 1, "room_id": nil}); k == noKey {
		t.Fatal("a NULL is not a missing column")
	}
	if k := key(walrelay.Row{"id": 1, "room_id": 7}); k != "7" {
		t.Fatalf("key %q", k)
	}
	if n := logs.lines("read rule failed"); n != 1 {
		t.Fatalf("%d log lines, want 1", n)
	}
}
