package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// marker is the n of the row inserted after a test's writes: reading up
// to it means everything before it has arrived.
const marker = 1000

// Three nodes on one database; writes keep arriving while the leader is
// killed with SIGKILL. Another node takes the slot within 10 s, clients
// on the survivors see every change once and in commit order, and the
// client of the killed node resumes on a survivor with its last cursor,
// with no gap and no duplicate.
func TestClusterLeaderKilledDuringWrites(t *testing.T) {
	tc := newTestCluster(t)
	nodes := tc.start("a", "b", "c")
	leader := waitLeader(t, nodes, 60*time.Second)
	var survivors []*nodeProc
	clients := map[*nodeProc]*client{}
	cursors := map[*nodeProc]string{}
	for _, n := range nodes {
		c := dialNode(t, n, "")
		cursors[n] = c.subscribe("").Cursor
		clients[n] = c
		if n != leader {
			survivors = append(survivors, n)
		}
	}

	const writes = 300
	w := startWriter(t, tc.db, 1, writes, 10*time.Millisecond)
	waitFor(t, "a third of the writes", time.Minute, func() bool { return w.committed() >= writes/3 })
	leader.kill()
	killed := time.Now()
	t.Logf("killed leader %s after %d writes", leader.name, w.committed())
	next := waitLeader(t, survivors, 30*time.Second)
	if d := time.Since(killed); d > 10*time.Second {
		t.Errorf("node %s took the slot %v after the kill, want within 10s", next.name, d)
	}
	t.Logf("node %s leads %v after the kill", next.name, time.Since(killed).Round(time.Millisecond))
	w.wait(t)
	pgtest.MustExec(t, tc.db, "insert into items (n) values ($1)", marker)

	want := append(seq(1, writes), marker)
	var firstCursor string // of the event n=1
	for _, n := range survivors {
		evs, open := clients[n].items(marker, time.Minute)
		if !open {
			t.Fatalf("client on survivor %s was disconnected", n.name)
		}
		checkSeq(t, "client on "+n.name, evs, want)
		firstCursor = evs[0].Cursor
	}

	// The killed node's client: what it got, then the rest from a
	// survivor, resumed from its last cursor.
	before, open := clients[leader].items(marker, time.Minute)
	if open {
		t.Fatal("the killed node's client is still connected")
	}
	since := cursors[leader]
	if len(before) > 0 {
		since = before[len(before)-1].Cursor
	}
	moved := dialNode(t, survivors[0], "")
	moved.subscribe(since)
	after, _ := moved.items(marker, time.Minute)
	checkSeq(t, "client moved from "+leader.name+" to "+survivors[0].name, append(before, after...), want)

	// The killed node starts again: it rebuilds its history from the
	// stream, so the cursor of the first write resumes on it.
	again := tc.start(leader.name + "2")[0]
	waitLeader(t, append(survivors, again), 60*time.Second)
	back := dialNode(t, again, "")
	back.subscribe(firstCursor)
	evs, _ := back.items(marker, time.Minute)
	checkSeq(t, "client resumed on the restarted node", evs, want[1:])

	m := metrics(t, next)
	for _, line := range []string{"walrelay_cluster_leader 1", "walrelay_cluster_stream_pending_messages 0", "walrelay_cluster_nats_connected 1"} {
		if !strings.Contains(m, "\n"+line+"\n") {
			t.Errorf("metrics of the leader lack %q", line)
		}
	}
}

// A client moves from one node to another mid-stream and resumes by
// cursor; a REST cursor from one node resumes on another; a publish on
// node A reaches a subscriber on node C, as does a message emitted from
// SQL; a presence join on A shows on C, and when A is killed the leave
// shows on C.
func TestClusterMovingClientChannelsAndPresence(t *testing.T) {
	tc := newTestCluster(t)
	nodes := tc.start("a", "b", "c")
	waitLeader(t, nodes, 60*time.Second)
	a, c := nodes[0], nodes[2]

	onA := dialNode(t, a, "")
	onA.subscribe("")
	w := startWriter(t, tc.db, 1, 100, 5*time.Millisecond)
	first, _ := onA.items(30, time.Minute)
	checkSeq(t, "client on a", first, seq(1, 30))
	_ = onA.c.Close(websocket.StatusNormalClosure, "moving")
	onC := dialNode(t, c, "")
	onC.subscribe(first[len(first)-1].Cursor)
	w.wait(t)
	pgtest.MustExec(t, tc.db, "insert into items (n) values ($1)", marker)
	rest, _ := onC.items(marker, time.Minute)
	checkSeq(t, "client moved from a to c", rest, append(seq(31, 100), marker))

	// A REST read on b, taken while writes race it, and a subscription on
	// c from its cursor: snapshot and stream are the table, without
	// overlap.
	w = startWriter(t, tc.db, 101, 160, 5*time.Millisecond)
	waitFor(t, "writes racing the read", time.Minute, func() bool { return w.committed() >= 110 })
	snap := restItems(t, nodes[1])
	fromRead := dialNode(t, c, "")
	fromRead.subscribe(snap.Cursor)
	w.wait(t)
	pgtest.MustExec(t, tc.db, "insert into items (n) values ($1)", marker+1)
	live, _ := fromRead.items(marker+1, time.Minute)
	var want []int
	for _, n := range append(append(seq(1, 100), marker), seq(101, 160)...) {
		if !snap.has[n] {
			want = append(want, n)
		}
	}
	checkSeq(t, "subscribed on c from b's read", live, append(want, marker+1))

	carol := dialNode(t, c, token(t, "carol"))
	carol.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "room:1"})
	carol.await("subscribed", func(m wsMsg) bool { return m.Type == "subscribed" })
	alice := dialNode(t, a, token(t, "alice"))
	alice.send(map[string]any{"type": "subscribe", "ref": "1", "channel": "room:1", "presence": map[string]any{"status": "here"}})
	alice.await("subscribed", func(m wsMsg) bool { return m.Type == "subscribed" })
	has := func(es []presenceWire, key string) bool {
		for _, e := range es {
			if e.Key == key {
				return true
			}
		}
		return false
	}
	carol.await("alice in presence on c", func(m wsMsg) bool {
		return m.Type == "presence" && (has(m.State, "alice") || has(m.Joins, "alice"))
	})
	alice.await("carol in presence on a", func(m wsMsg) bool {
		return m.Type == "presence" && (has(m.State, "carol") || has(m.Joins, "carol"))
	})

	alice.send(map[string]any{"type": "publish", "ref": "2", "channel": "room:1", "event": "typing", "data": map[string]any{"x": 1}})
	ev := carol.await("alice's event on c", func(m wsMsg) bool { return m.Type == "event" && m.Channel == "room:1" })
	if ev.Event != "typing" || string(ev.Data) != `{"x":1}` || !strings.Contains(string(ev.From), `"alice"`) {
		t.Fatalf("carol got %+v", ev)
	}

	// A message emitted from SQL travels in the stream to every node.
	pgtest.MustExec(t, tc.db, `select pg_logical_emit_message(true, 'walrelay', '{"channel":"room:1","event":"typing","data":{"sql":1}}')`)
	for who, cl := range map[string]*client{"alice on a": alice, "carol on c": carol} {
		ev := cl.await("the emitted message", func(m wsMsg) bool { return m.Type == "event" && string(m.Data) == `{"sql":1}` })
		if ev.Channel != "room:1" || ev.Event != "typing" {
			t.Fatalf("%s got %+v", who, ev)
		}
	}

	a.kill()
	killed := time.Now()
	carol.await("alice's leave on c", func(m wsMsg) bool { return m.Type == "presence" && has(m.Leaves, "alice") })
	if d := time.Since(killed); d > 30*time.Second {
		t.Errorf("alice left on c %v after a was killed, want within 30s", d)
	}
	t.Logf("alice's leave reached c %v after a was killed", time.Since(killed).Round(time.Millisecond))
}

// NATS is stopped while writes keep arriving and started again: every
// node's client gets every change once, in commit order, and /readyz said
// NATS was unreachable meanwhile.
func TestClusterNATSRestartDuringWrites(t *testing.T) {
	tc := newTestCluster(t)
	nodes := tc.start("a", "b", "c")
	waitLeader(t, nodes, 60*time.Second)
	var clients []*client
	for _, n := range nodes {
		c := dialNode(t, n, "")
		c.subscribe("")
		clients = append(clients, c)
	}
	const writes = 200
	w := startWriter(t, tc.db, 1, writes, 10*time.Millisecond)
	waitFor(t, "a quarter of the writes", time.Minute, func() bool { return w.committed() >= writes/4 })
	tc.nats.Stop()
	waitFor(t, "/readyz to report NATS down", 30*time.Second, func() bool {
		r := nodes[1].ready()
		return r.code == http.StatusServiceUnavailable && r.Status == "NATS unreachable"
	})
	waitFor(t, "writes during the outage", time.Minute, func() bool { return w.committed() >= writes*3/5 })
	tc.nats.MustRestart()
	w.wait(t)
	pgtest.MustExec(t, tc.db, "insert into items (n) values ($1)", marker)
	for i, c := range clients {
		evs, open := c.items(marker, 2*time.Minute)
		if !open {
			t.Fatalf("client on %s was disconnected", nodes[i].name)
		}
		checkSeq(t, "client on "+nodes[i].name, evs, append(seq(1, writes), marker))
	}
	waitLeader(t, nodes, 30*time.Second)
}
