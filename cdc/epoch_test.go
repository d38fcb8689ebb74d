package cdc

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

func storedEpoch(t *testing.T, conn *pgx.Conn, slot string) uint32 {
	t.Helper()
	var epoch int64
	if err := conn.QueryRow(context.Background(), "select epoch from walrelay.slots where slot_name = $1", slot).Scan(&epoch); err != nil {
		t.Fatalf("read epoch: %v", err)
	}
	return uint32(epoch)
}

func TestEpochPersistedAndRenewed(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, false)
	conn := mustConnect(t, e.url)
	ctx := context.Background()
	e1 := e.mustSetup(t)
	if got := storedEpoch(t, conn, e.cfg.Slot); got != e1 {
		t.Fatalf("stored epoch %d, Setup returned %d", got, e1)
	}
	if e2 := e.mustSetup(t); e2 != e1 {
		t.Fatalf("second Setup epoch %d, want %d", e2, e1)
	}

	// Slot dropped: Setup creates it again under a new epoch.
	if _, err := conn.Exec(ctx, "select pg_drop_replication_slot($1)", e.cfg.Slot); err != nil {
		t.Fatal(err)
	}
	e3 := e.mustSetup(t)
	if e3 == e1 || storedEpoch(t, conn, e.cfg.Slot) != e3 {
		t.Fatalf("after recreation epoch %d (was %d), stored %d", e3, e1, storedEpoch(t, conn, e.cfg.Slot))
	}

	// Slot kept, row lost: a new epoch, since nothing says the old one held.
	if _, err := conn.Exec(ctx, "delete from walrelay.slots"); err != nil {
		t.Fatal(err)
	}
	e4 := e.mustSetup(t)
	if e4 == 0 || e4 == e3 || storedEpoch(t, conn, e.cfg.Slot) != e4 {
		t.Fatalf("after losing the row epoch %d (was %d)", e4, e3)
	}
	if e5 := e.mustSetup(t); e5 != e4 {
		t.Fatalf("epoch changed to %d without a new slot", e5)
	}

	// A consumer reports the same epoch.
	r := e.start(t, newSink())
	eventually(t, "consumer epoch", func() bool { return r.c.Epoch() == e4 && r.c.Streaming() })
}

func TestEpochTableNeedsCreateRights(t *testing.T) {
	t.Parallel()
	u := pgtest.MustDatabase(t)
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	role := "r_" + strings.TrimPrefix(parsed.Path, "/")
	pgtest.MustExec(t, u, "create role "+pgx.Identifier{role}.Sanitize()+" login")
	t.Cleanup(func() {
		pgtest.MustExec(t, u, "drop owned by "+pgx.Identifier{role}.Sanitize()+"; drop role "+pgx.Identifier{role}.Sanitize())
	})
	parsed.User = url.User(role)
	conn := mustConnect(t, parsed.String())
	err = ensureEpochTable(context.Background(), conn)
	if err == nil || !strings.Contains(err.Error(), "CREATE SCHEMA walrelay AUTHORIZATION "+pgx.Identifier{role}.Sanitize()) {
		t.Fatalf("ensureEpochTable as unprivileged role = %v, want the command to run", err)
	}

	// Once an administrator made it, the role passes (and may use it).
	pgtest.MustExec(t, u, "create schema walrelay authorization "+pgx.Identifier{role}.Sanitize())
	if err := ensureEpochTable(context.Background(), conn); err != nil {
		t.Fatalf("with the schema granted: %v", err)
	}
	if _, _, err := slotEpoch(context.Background(), conn, "x", false); err != nil {
		t.Fatalf("slotEpoch: %v", err)
	}
}
