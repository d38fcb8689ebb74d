package cdc

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

// limitSlotWAL makes the cluster invalidate slots that keep more than 1 MB
// of WAL, until the returned function is called or the test ends. Tests
// using it must not run in parallel: the setting is cluster-wide.
func limitSlotWAL(t *testing.T) (undo func()) {
	t.Helper()
	admin := pgtest.AdminURL(t)
	pgtest.MustExec(t, admin, "alter system set max_slot_wal_keep_size = '1MB'")
	pgtest.MustExec(t, admin, "select pg_reload_conf()")
	undo = func() {
		pgtest.MustExec(t, admin, "alter system reset max_slot_wal_keep_size")
		pgtest.MustExec(t, admin, "select pg_reload_conf()")
		pgtest.MustExec(t, admin, "checkpoint")
	}
	t.Cleanup(undo)
	return undo
}

// churnWALUntil writes WAL, switches segments and checkpoints until done
// holds, so a slot behind max_slot_wal_keep_size is invalidated.
func churnWALUntil(t *testing.T, u, what string, done func() bool) {
	t.Helper()
	conn := mustConnect(t, u)
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		for _, q := range []string{
			"select pg_logical_emit_message(false, 'pad', repeat('x', 2 << 20))",
			"select pg_switch_wal()",
			"checkpoint",
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

func walStatus(t *testing.T, conn *pgx.Conn, slot string) string {
	t.Helper()
	var st *string
	err := conn.QueryRow(context.Background(), "select wal_status from pg_replication_slots where slot_name = $1", slot).Scan(&st)
	if err != nil {
		t.Fatal(err)
	}
	return deref(st)
}

// TestInvalidatedSlotIsRecreated loses the slot twice: while a consumer
// streams (it must recreate the slot, bump the epoch and Reset the sink),
// and while none runs (Setup must recreate it with a new epoch).
// Not parallel: it changes a cluster-wide setting.
func TestInvalidatedSlotIsRecreated(t *testing.T) {
	e := mustEnv(t, false)
	conn := mustConnect(t, e.url)
	ctx := context.Background()
	epoch1 := e.mustSetup(t)
	sink := newSink()
	sink.fail = func(tx *walrelay.Txn) error {
		sink.retain.CompareAndSwap(0, uint64(tx.CommitLSN)) // pin the slot's WAL
		return nil
	}
	r := e.start(t, sink)
	pgtest.MustExec(t, e.url, `insert into items (name) values ('pinned')`)
	sink.next(t)
	undo := limitSlotWAL(t)

	// At runtime.
	var epoch2 uint32
	churnWALUntil(t, e.url, "Reset after the slot was lost while streaming", func() bool {
		select {
		case epoch2 = <-sink.resets:
			return true
		default:
			return false
		}
	})
	undo()
	// WAL written meanwhile may have cost the new slot too: wait until
	// the consumer streams a healthy slot, and take the last Reset.
	eventually(t, "a stable slot", func() bool {
		for len(sink.resets) > 0 {
			epoch2 = <-sink.resets
		}
		return r.c.Streaming() && walStatus(t, conn, e.cfg.Slot) != "lost" && r.c.Epoch() == storedEpoch(t, conn, e.cfg.Slot) &&
			r.c.Epoch() == epoch2
	})
	if epoch2 == 0 || epoch2 == epoch1 || r.c.Epoch() != epoch2 || storedEpoch(t, conn, e.cfg.Slot) != epoch2 {
		t.Fatalf("epoch after runtime loss: reset %d, consumer %d, stored %d, before %d",
			epoch2, r.c.Epoch(), storedEpoch(t, conn, e.cfg.Slot), epoch1)
	}
	sink.retain.Store(0) // the sink dropped its history
	sink.mu.Lock()
	sink.fail = nil
	sink.mu.Unlock()
	pgtest.MustExec(t, e.url, `insert into items (name) values ('after runtime loss')`)
	if tx := sink.next(t); tx.Events[0].New["name"] != "after runtime loss" {
		t.Fatalf("after recreation got %v", tx.Events[0].New["name"])
	}
	r.stop(t)

	// While stopped: START_REPLICATION reports it, and Setup recreates.
	undo = limitSlotWAL(t)
	churnWALUntil(t, e.url, "wal_status lost", func() bool { return walStatus(t, conn, e.cfg.Slot) == "lost" })
	c := NewConsumer(e.cfg, e.schema, nil, newSink())
	rc, err := c.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = pglogrepl.StartReplication(ctx, rc, e.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + e.cfg.Publication + "'"},
	})
	rc.Close(ctx)
	undo()
	if !slotLost(err) {
		t.Fatalf("START_REPLICATION on a lost slot: %v, not recognized as lost", err)
	}
	epoch3 := e.mustSetup(t)
	if epoch3 == epoch2 || storedEpoch(t, conn, e.cfg.Slot) != epoch3 {
		t.Fatalf("Setup after loss: epoch %d, before %d", epoch3, epoch2)
	}
	if st := walStatus(t, conn, e.cfg.Slot); st == "lost" {
		t.Fatal("slot still lost after Setup")
	}
}
