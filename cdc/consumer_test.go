package cdc

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

func rowJSON(t *testing.T, r walrelay.Row) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkTxn checks the transaction-level fields every delivered Txn has.
func checkTxn(t *testing.T, tx *walrelay.Txn, events int) {
	t.Helper()
	if len(tx.Events) != events {
		for _, e := range tx.Events {
			t.Logf("event %+v", *e)
		}
		t.Fatalf("txn has %d events, want %d", len(tx.Events), events)
	}
	if tx.XID == 0 || tx.CommitLSN == 0 || tx.EndLSN <= tx.CommitLSN || tx.CommitTime.IsZero() {
		t.Fatalf("bad txn header %+v", tx)
	}
	for i, e := range tx.Events {
		if e.Seq != i || e.XID != tx.XID || e.LSN != tx.CommitLSN || !e.CommitTime.Equal(tx.CommitTime) {
			t.Fatalf("event %d: seq %d xid %d lsn %s time %v, txn %d %s %v", i, e.Seq, e.XID, e.LSN, e.CommitTime, tx.XID, tx.CommitLSN, tx.CommitTime)
		}
	}
}

func TestChangesDecodeIntoEvents(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, true)
	e.mustSetup(t)
	sink := newSink()
	e.start(t, sink)
	other := e.schema.ByName("Other")

	pgtest.MustExec(t, e.url, `insert into items (name, n, data, at, tags)
		values ('a', 1, '{"k": [1, 2.5]}', '2026-11-25 17:00:00.123+00', array['x', null])`)
	tx := sink.next(t)
	checkTxn(t, tx, 1)
	ev := tx.Events[0]
	want := `{"at":"2026-11-25T17:00:00.123Z","big":null,"data":{"k":[1,2.5]},"id":1,"n":1,"name":"a","note":null,"tags":["x",null]}`
	if ev.Op != walrelay.OpCreated || ev.Model != e.items || ev.Old != nil || rowJSON(t, ev.New) != want {
		t.Fatalf("insert: op %s model %v old %v new %s", ev.Op, ev.Model, ev.Old, rowJSON(t, ev.New))
	}
	if ev.ID() != int64(1) {
		t.Fatalf("ID() = %#v", ev.ID())
	}
	prev := tx.EndLSN

	pgtest.MustExec(t, e.url, `update items set n = 2, name = null where id = 1`)
	tx = sink.next(t)
	checkTxn(t, tx, 1)
	ev = tx.Events[0]
	if tx.CommitLSN <= prev {
		t.Fatalf("commit LSN %s not after previous end %s", tx.CommitLSN, prev)
	}
	if ev.Op != walrelay.OpUpdated || ev.New["n"] != int64(2) || ev.New["name"] != nil || ev.Old["n"] != int64(1) || ev.Old["name"] != "a" {
		t.Fatalf("update: op %s new %s old %s", ev.Op, rowJSON(t, ev.New), rowJSON(t, ev.Old))
	}

	pgtest.MustExec(t, e.url, `delete from items where id = 1`)
	tx = sink.next(t)
	checkTxn(t, tx, 1)
	ev = tx.Events[0]
	if ev.Op != walrelay.OpDeleted || ev.New != nil || ev.Old["n"] != int64(2) || ev.Old["at"] != "2026-11-25T17:00:00.123Z" || ev.ID() != int64(1) {
		t.Fatalf("delete: op %s new %v old %s", ev.Op, ev.New, rowJSON(t, ev.Old))
	}

	// A non-transactional message is ignored; so are other prefixes and
	// tables without a model. One transaction arrives whole, in order.
	pgtest.MustExec(t, e.url, `select pg_logical_emit_message(false, 'walrelay', 'not transactional')`)
	pgtest.MustExec(t, e.url, `begin;
		insert into items (name) values ('b');
		insert into others values (7, 'o');
		insert into plain values (1);
		select pg_logical_emit_message(true, 'other', 'ignored');
		update items set name = 'c' where name = 'b';
		select pg_logical_emit_message(true, 'walrelay', '{"channel":"chat:room:7","event":"hi","data":{}}');
		delete from others where id = 7;
		commit;`)
	tx = sink.next(t)
	checkTxn(t, tx, 5)
	type step struct {
		op    walrelay.Op
		model *walrelay.Model
		row   string
	}
	steps := []step{
		{walrelay.OpCreated, e.items, `"name":"b"`},
		{walrelay.OpCreated, other, `{"id":7,"v":"o"}`},
		{walrelay.OpUpdated, e.items, `"name":"c"`},
		{walrelay.OpMessage, nil, ``},
		{walrelay.OpDeleted, other, `{"id":7,"v":"o"}`},
	}
	for i, s := range steps {
		ev := tx.Events[i]
		if ev.Op != s.op || ev.Model != s.model {
			t.Fatalf("event %d: op %s model %v, want %s %v", i, ev.Op, ev.Model, s.op, s.model)
		}
		if s.row != "" && !contains(rowJSON(t, ev.Row()), s.row) {
			t.Fatalf("event %d row %s lacks %s", i, rowJSON(t, ev.Row()), s.row)
		}
	}
	if msg := tx.Events[3]; msg.Prefix != "walrelay" || string(msg.Content) != `{"channel":"chat:room:7","event":"hi","data":{}}` {
		t.Fatalf("message event prefix %q content %q", msg.Prefix, msg.Content)
	}

	pgtest.MustExec(t, e.url, `truncate items, others, plain`)
	tx = sink.next(t)
	checkTxn(t, tx, 2)
	got := map[*walrelay.Model]bool{}
	for _, ev := range tx.Events {
		if ev.Op != walrelay.OpTruncated || ev.New != nil || ev.Old != nil {
			t.Fatalf("truncate event %+v", *ev)
		}
		got[ev.Model] = true
	}
	if !got[e.items] || !got[other] {
		t.Fatalf("truncate events for %v", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestUnchangedToastIsFilledIn(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	e.start(t, sink)
	// ~22 kB of random hex: incompressible, so stored out of line.
	pgtest.MustExec(t, e.url, `insert into items (name, big)
		select 'toast', string_agg(md5(random()::text), '') from generate_series(1, 700)`)
	ins := sink.next(t)
	big, _ := ins.Events[0].New["big"].(string)
	if len(big) != 700*32 {
		t.Fatalf("inserted big has %d chars", len(big))
	}
	pgtest.MustExec(t, e.url, `update items set n = 5 where name = 'toast'`)
	tx := sink.next(t)
	checkTxn(t, tx, 1)
	ev := tx.Events[0]
	if ev.New["n"] != int64(5) || ev.New["big"] != big || ev.Old["big"] != big {
		t.Fatalf("update: n %v, new big %d chars, old big %d chars", ev.New["n"], len(str(ev.New["big"])), len(str(ev.Old["big"])))
	}
}

func str(v any) string { s, _ := v.(string); return s }

func TestRolledBackTxnIsNotDelivered(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	e.start(t, sink)
	pgtest.MustExec(t, e.url, `begin; insert into items (name) values ('rolled back'); rollback;`)
	pgtest.MustExec(t, e.url, `insert into items (name) values ('marker')`)
	tx := sink.next(t)
	checkTxn(t, tx, 1)
	if name := tx.Events[0].New["name"]; name != "marker" {
		t.Fatalf("first delivered row is %v, want the marker", name)
	}
}

func TestResumeFromSlot(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink1 := newSink()
	r1 := e.start(t, sink1)
	pgtest.MustExec(t, e.url, `insert into items (name) values ('first')`)
	first := sink1.next(t)
	r1.stop(t)
	if r1.c.Confirmed() < first.EndLSN {
		t.Fatalf("Confirmed() = %s after stop, want >= %s", r1.c.Confirmed(), first.EndLSN)
	}

	pgtest.MustExec(t, e.url, `insert into items (name) values ('while stopped')`)
	sink2 := newSink()
	e.start(t, sink2)
	tx := sink2.next(t)
	checkTxn(t, tx, 1)
	if name := tx.Events[0].New["name"]; name != "while stopped" {
		t.Fatalf("after restart got %v first, want the write made while stopped", name)
	}
}

func TestReconnectsAfterBackendKilled(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	r := e.start(t, sink)
	conn := mustConnect(t, e.url)
	ctx := context.Background()
	activePID := func() int32 {
		var pid *int32
		if err := conn.QueryRow(ctx, "select active_pid from pg_replication_slots where slot_name = $1", e.cfg.Slot).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if pid == nil {
			return 0
		}
		return *pid
	}
	pgtest.MustExec(t, e.url, `insert into items (name) values ('before')`)
	sink.next(t)
	eventually(t, "streaming", func() bool { return r.c.Streaming() && activePID() != 0 })
	pid := activePID()
	if _, err := conn.Exec(ctx, "select pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	pgtest.MustExec(t, e.url, `insert into items (name) values ('after')`)
	tx := sink.next(t)
	checkTxn(t, tx, 1)
	if name := tx.Events[0].New["name"]; name != "after" {
		t.Fatalf("after reconnect got %v, want the new write only", name)
	}
	eventually(t, "a new walsender", func() bool { p := activePID(); return p != 0 && p != pid && r.c.Streaming() })
}

func TestDeliverErrorRedelivers(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	var calls atomic.Int32
	var failedAt atomic.Uint64
	sink.fail = func(tx *walrelay.Txn) error {
		if calls.Add(1) == 1 {
			failedAt.Store(uint64(tx.CommitLSN))
			return errInjected
		}
		return nil
	}
	e.start(t, sink)
	pgtest.MustExec(t, e.url, `insert into items (name) values ('retry me')`)
	tx := sink.next(t)
	if tx.Events[0].New["name"] != "retry me" || uint64(tx.CommitLSN) != failedAt.Load() || calls.Load() != 2 {
		t.Fatalf("got %v at %s after %d calls; failed at %d", tx.Events[0].New["name"], tx.CommitLSN, calls.Load(), failedAt.Load())
	}
}

func TestRunStopsOnCancelWithoutDatabase(t *testing.T) {
	t.Parallel()
	cfg := Config{URL: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", MinBackoff: 10_000_000}
	c := NewConsumer(cfg, walrelay.NewSchema(nil), nil, newSink())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if c.Streaming() {
		t.Fatal("Streaming() true without a database")
	}
}

// TestIdleStreamAdvancesSlot checks that WAL of tables outside the
// publication does not stay pinned by the slot.
func TestIdleStreamAdvancesSlot(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	r := e.start(t, sink)
	conn := mustConnect(t, e.url)
	ctx := context.Background()
	pgtest.MustExec(t, e.url, `insert into plain select generate_series(1, 100)`)
	var target string
	if err := conn.QueryRow(ctx, "select pg_current_wal_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	want, err := parseLSN(target)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "slot confirmed past idle WAL", func() bool {
		var ok bool
		if err := conn.QueryRow(ctx, "select confirmed_flush_lsn >= $2::pg_lsn from pg_replication_slots where slot_name = $1",
			e.cfg.Slot, target).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok && r.c.Confirmed() >= want
	})
	select {
	case tx := <-sink.txns:
		t.Fatalf("delivered %+v for a table outside the publication", tx)
	default:
	}
}

// TestDomainAndEnumColumns checks that user-defined types decode by their
// base type, both for columns known at startup and for a column added
// while streaming.
func TestDomainAndEnumColumns(t *testing.T) {
	t.Parallel()
	u := pgtest.MustDatabase(t)
	pgtest.MustExec(t, u, `
		create domain posint as int4 check (value > 0);
		create type mood as enum ('sad', 'happy');
		create table typed (id posint primary key, m mood, ms mood[]);`)
	e := mustEnv(t, false)
	// Reuse mustEnv's config, pointed at this database.
	e.url, e.cfg.URL = u, u
	e.cfg.Slot += "_typed"
	e.schema = walrelay.NewSchema([]*walrelay.Model{mustModel(t, u, "Typed", "typed")})
	e.mustSetup(t)
	sink := newSink()
	e.start(t, sink)

	pgtest.MustExec(t, u, `insert into typed values (3, 'happy', array['sad', 'happy']::mood[])`)
	if got, want := rowJSON(t, sink.next(t).Events[0].New), `{"id":3,"m":"happy","ms":["sad","happy"]}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	pgtest.MustExec(t, u, `create domain later_d as int8; alter table typed add column later later_d`)
	pgtest.MustExec(t, u, `insert into typed (id, later) values (4, 9)`)
	if got, want := rowJSON(t, sink.next(t).Events[0].New), `{"id":4,"later":9,"m":null,"ms":null}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
