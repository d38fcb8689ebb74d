package cdc

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// TestAlterTableWhileStreaming changes the table under a running consumer:
// each change must decode with the new columns and types.
func TestAlterTableWhileStreaming(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	e.mustSetup(t)
	sink := newSink()
	e.start(t, sink)
	row := func(sql, want string) {
		t.Helper()
		pgtest.MustExec(t, e.url, sql)
		tx := sink.next(t)
		if got := rowJSON(t, tx.Events[len(tx.Events)-1].Row()); got != want {
			t.Fatalf("after %q: row %s, want %s", sql, got, want)
		}
	}
	row(`insert into items (id, name, n) values (1, 'a', 1)`,
		`{"at":null,"big":null,"data":null,"id":1,"n":1,"name":"a","note":null,"tags":null}`)
	row(`alter table items add column extra int8 default 7; insert into items (id, name) values (2, 'b')`,
		`{"at":null,"big":null,"data":null,"extra":7,"id":2,"n":null,"name":"b","note":null,"tags":null}`)
	row(`alter table items drop column note; update items set n = 2 where id = 1`,
		`{"at":null,"big":null,"data":null,"extra":7,"id":1,"n":2,"name":"a","tags":null}`)
	row(`alter table items rename column name to title; insert into items (id, title) values (3, 'c')`,
		`{"at":null,"big":null,"data":null,"extra":7,"id":3,"n":null,"tags":null,"title":"c"}`)
	// A type change, to a builtin type and to a type created just now.
	row(`alter table items alter column n type jsonb using to_jsonb(n); insert into items (id, n) values (4, '{"x":[1]}')`,
		`{"at":null,"big":null,"data":null,"extra":7,"id":4,"n":{"x":[1]},"tags":null,"title":null}`)
	row(`create domain score as int8; alter table items alter column extra type score; delete from items where id = 2`,
		`{"at":null,"big":null,"data":null,"extra":7,"id":2,"n":null,"tags":null,"title":"b"}`)
}

// TestAlterTableInsideSpilledTxn alters the table in the middle of a
// transaction that spills: changes before and after decode with their own
// columns, and a spilled transaction reads back exactly like one in memory
// (compared against a second consumer that keeps everything in memory).
func TestAlterTableInsideSpilledTxn(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, true)
	e.cfg.ChunkEvents = 2
	e.mustSetup(t)
	mem := *e
	mem.cfg.Slot += "_mem"
	mem.cfg.ChunkEvents = 1000
	mem.mustSetup(t)
	spilled, inMemory := newSink(), newSink()
	e.start(t, spilled)
	mem.start(t, inMemory)

	pgtest.MustExec(t, e.url, `insert into items (id, name, big) select 1, 'toast', string_agg(md5(random()::text), '') from generate_series(1, 700)`)
	pgtest.MustExec(t, e.url, `begin;
		insert into items (id, name, n, data, at, tags) values
			(2, 'a', 1, '{"n": 12345678901234567890, "f": 1.50, "s": "é\u00e9x"}', '2026-11-25 17:00:00.5+00', array['x', null]);
		insert into others values (1, 'o');
		update items set n = 5 where id = 1;
		select pg_logical_emit_message(true, 'walrelay', 'hello');
		alter table items add column later numeric;
		insert into items (id, later) values (3, 123456789012345678901234567890.5);
		alter table items rename column later to renamed;
		update items set renamed = 1.10 where id = 3;
		delete from items where id = 2;
		truncate others;
		commit;`)
	var got, want []*walrelay.Event
	for _, sink := range []*recSink{spilled, inMemory} {
		sink.next(t) // the toast row
		var events []*walrelay.Event
		for more := true; more; {
			tx := sink.next(t)
			events = append(events, tx.Events...)
			more = tx.More
		}
		if sink == spilled {
			got = events
		} else {
			want = events
		}
	}
	if len(got) != 8 || len(got) != len(want) {
		t.Fatalf("%d spilled events, %d in memory, want 8", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != i || g.Seq != w.Seq || g.Op != w.Op || g.Model != w.Model || g.Prefix != w.Prefix || string(g.Content) != string(w.Content) ||
			rowJSON(t, g.New) != rowJSON(t, w.New) || rowJSON(t, g.Old) != rowJSON(t, w.Old) {
			t.Fatalf("event %d differs:\nspilled   %s %s new %s old %s\nin memory %s %s new %s old %s", i,
				g.Op, g.Content, rowJSON(t, g.New), rowJSON(t, g.Old), w.Op, w.Content, rowJSON(t, w.New), rowJSON(t, w.Old))
		}
	}
	if got[2].New["big"] == nil || len(got[2].New["big"].(string)) != 700*32 {
		t.Fatal("unchanged TOAST value not filled in after spilling")
	}
	if n, ok := got[4].New["later"]; !ok || n != "123456789012345678901234567890.5" {
		t.Fatalf("column added mid-transaction: %v", got[4].New)
	}
	if _, old := got[5].New["later"]; old || fmt.Sprint(got[5].New["renamed"]) != "1.10" {
		t.Fatalf("renamed column mid-transaction: %s", rowJSON(t, got[5].New))
	}
}

// TestRelationDecidesAvailability pins columns of the model: a relation
// without a pinned column (renamed), or with it retyped, gives events of a
// stopped version; the table renamed likewise; a relation that fits again
// gives the schema's own version. SchemaChanged fires for each change.
func TestRelationDecidesAvailability(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	name := *e.items.Column("name")
	n := *e.items.Column("n")
	e.items.Pins = []walrelay.Pin{
		{Column: "name", TypeOID: name.TypeOID, Type: name.Type, Use: "hide", Source: "w.yaml:3"},
		{Column: "n", TypeOID: n.TypeOID, Type: n.Type, Use: "read rule", Source: "w.yaml:5"},
	}
	e.items.Source = "w.yaml:1"
	var kicks atomic.Int32
	e.cfg.SchemaChanged = func() { kicks.Add(1) }
	e.mustSetup(t)
	sink := newSink()
	e.start(t, sink)
	step := func(sql string, wantStopped string) {
		t.Helper()
		before := kicks.Load()
		pgtest.MustExec(t, e.url, sql)
		ev := sink.next(t).Events[0]
		switch {
		case wantStopped == "" && ev.Model != e.items:
			t.Fatalf("after %q: model %+v, want the schema's version", sql, ev.Model.Unavailable)
		case wantStopped != "" && (ev.Model.Unavailable == nil || !strings.Contains(ev.Model.Unavailable.Error(), wantStopped)):
			t.Fatalf("after %q: unavailable = %v, want %q", sql, ev.Model.Unavailable, wantStopped)
		case wantStopped != "" && ev.Model.Name != "Item":
			t.Fatalf("stopped version of %q", ev.Model.Name)
		}
		if strings.HasPrefix(sql, "alter") && kicks.Load() == before {
			t.Fatalf("after %q: SchemaChanged not called", sql)
		}
	}
	step(`insert into items (id, name) values (1, 'a')`, "")
	step(`alter table items rename column name to title; insert into items (id, title) values (2, 'b')`,
		`w.yaml:3: hide column "name" is no longer in public.items`)
	step(`alter table items rename column title to name; insert into items (id, name) values (3, 'c')`, "")
	step(`alter table items alter column n type int8; insert into items (id, n) values (4, 4)`,
		`w.yaml:5: read rule column "n" of public.items changed type from integer`)
	step(`alter table items alter column n type int4; alter table items add column extra int; insert into items (id) values (5)`, "")
	step(`alter table items rename to things; insert into things (id) values (6)`, `table public.items was renamed to public.things`)
}
