package cdc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func publicationTables(t *testing.T, conn *pgx.Conn, pub string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"select schemaname || '.' || tablename from pg_publication_tables where pubname = $1 order by 1", pub)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

func replicaIdentity(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	var ident string
	if err := conn.QueryRow(context.Background(), "select relreplident::text from pg_class where oid = $1::regclass", table).Scan(&ident); err != nil {
		t.Fatal(err)
	}
	return ident
}

func TestSetupCreatesAndReuses(t *testing.T) {
	e := mustEnv(t, true)
	conn := mustConnect(t, e.url)
	ctx := context.Background()
	e.mustSetup(t)

	if got, want := publicationTables(t, conn, "walrelay"), []string{"public.items", "public.others"}; !slices.Equal(got, want) {
		t.Fatalf("publication tables = %v, want %v", got, want)
	}
	for _, tbl := range []string{"items", "others"} {
		if got := replicaIdentity(t, conn, tbl); got != "f" {
			t.Errorf("replica identity of %s = %q, want f", tbl, got)
		}
	}
	if got := replicaIdentity(t, conn, "plain"); got != "d" {
		t.Errorf("non-realtime table plain got replica identity %q", got)
	}
	var plugin, slotType string
	var restart1 string
	if err := conn.QueryRow(ctx, "select plugin, slot_type, restart_lsn::text from pg_replication_slots where slot_name = $1",
		e.cfg.Slot).Scan(&plugin, &slotType, &restart1); err != nil {
		t.Fatalf("slot not created: %v", err)
	}
	if plugin != "pgoutput" || slotType != "logical" {
		t.Fatalf("slot plugin %s type %s", plugin, slotType)
	}

	// Drift: a foreign table joins the publication, a realtime one leaves.
	if _, err := conn.Exec(ctx, "alter publication walrelay set table plain, items"); err != nil {
		t.Fatal(err)
	}
	e.mustSetup(t)
	if got, want := publicationTables(t, conn, "walrelay"), []string{"public.items", "public.others"}; !slices.Equal(got, want) {
		t.Fatalf("after re-Setup publication tables = %v, want %v", got, want)
	}
	var n int
	var restart2 string
	if err := conn.QueryRow(ctx, "select count(*), min(restart_lsn::text) from pg_replication_slots where slot_name = $1",
		e.cfg.Slot).Scan(&n, &restart2); err != nil {
		t.Fatal(err)
	}
	if n != 1 || restart2 != restart1 {
		t.Fatalf("slot not reused: %d slots, restart_lsn %s then %s", n, restart1, restart2)
	}
}

func TestSetupRefusesWithoutReplicaIdentity(t *testing.T) {
	e := mustEnv(t, false)
	e.cfg.ManageReplicaIdentity = false
	conn := mustConnect(t, e.url)
	_, err := Setup(context.Background(), conn, e.schema, e.cfg)
	if !errors.Is(err, ErrReplicaIdentity) {
		t.Fatalf("Setup = %v, want ErrReplicaIdentity", err)
	}
	for _, want := range []string{"public.items", `ALTER TABLE "public"."items" REPLICA IDENTITY FULL`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if got := replicaIdentity(t, conn, "items"); got != "d" {
		t.Errorf("replica identity changed to %q without manage_replica_identity", got)
	}
	var slots int
	if err := conn.QueryRow(context.Background(), "select count(*) from pg_replication_slots where slot_name = $1", e.cfg.Slot).Scan(&slots); err != nil {
		t.Fatal(err)
	}
	if slots != 0 {
		t.Error("slot created although Setup failed")
	}

	// Once the user runs the command, Setup passes.
	if _, err := conn.Exec(context.Background(), `ALTER TABLE "public"."items" REPLICA IDENTITY FULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(context.Background(), conn, e.schema, e.cfg); err != nil {
		t.Fatalf("Setup after fixing identity: %v", err)
	}
}

func TestSetupRejectsForeignSlot(t *testing.T) {
	e := mustEnv(t, false)
	conn := mustConnect(t, e.url)
	if _, err := conn.Exec(context.Background(), "select pg_create_logical_replication_slot($1, 'test_decoding')", e.cfg.Slot); err != nil {
		t.Fatal(err)
	}
	_, err := Setup(context.Background(), conn, e.schema, e.cfg)
	if err == nil || !strings.Contains(err.Error(), "pgoutput") || !strings.Contains(err.Error(), e.cfg.Slot) {
		t.Fatalf("Setup = %v, want an error naming the slot and pgoutput", err)
	}
}

func TestCheckWALLevel(t *testing.T) {
	e := mustEnv(t, false)
	if err := CheckWALLevel(context.Background(), mustConnect(t, e.url)); err != nil {
		t.Fatalf("CheckWALLevel on a logical cluster: %v", err)
	}
}

func TestConfigRejectsBadNames(t *testing.T) {
	for _, c := range []Config{{Slot: "Bad-Name"}, {Publication: "x'y"}} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
