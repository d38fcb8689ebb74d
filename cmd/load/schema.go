package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// The load tool's own schema: one table of chat-like messages. sent_us is
// stamped by Postgres (clock_timestamp() at insert, just before the
// single-statement transaction commits), so latency is measured from the
// database's clock, which is the machine's. secret is hidden by the
// config: a delivery that carries it is counted as a leak.
const (
	loadSchema = "walrelay_load"
	loadTable  = loadSchema + ".messages"
	// twinTable has the same shape but is not in walrelay's publication;
	// the ingest scenario streams it with pg_recvlogical.
	twinTable      = loadSchema + ".twin"
	recvPublicaton = "walrelay_load_recv"
)

const tableDDL = `(
  id      bigint generated always as identity primary key,
  room_id integer not null,
  user_id text    not null,
  body    text    not null,
  secret  text,
  sent_us bigint  not null default (extract(epoch from clock_timestamp()) * 1000000)::bigint
)`

// recvSlots are the ingest scenario's pg_recvlogical slots, one per run.
var recvSlots = []string{"walrelay_load_recv_1", "walrelay_load_recv_2", "walrelay_load_recv_3"}

// body is every row's message text, about as long as a chat line.
const body = "hello from the walrelay load tool, a chat line of some sixty bytes"

// insertSQL is the writers' statement; every row is its own transaction.
const insertSQL = "insert into " + loadTable + " (room_id, user_id, body, secret) values ($1, $2, $3, 'not for clients')"

// prepareSchema creates the load schema. fresh drops whatever a previous
// run left (only when the tool starts the server itself: a running server
// would lose its publication's table); otherwise the table is kept and
// emptied. Slots a previous run left behind are dropped when inactive, so
// they do not retain WAL.
func prepareSchema(ctx context.Context, dbURL, slot string, fresh bool) error {
	slots := slices.Clone(recvSlots)
	if fresh {
		slots = append(slots, slot)
	}
	if err := dropSlots(ctx, dbURL, slots...); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stmts := []string{"drop publication if exists " + recvPublicaton}
	if fresh {
		stmts = append(stmts, "drop schema if exists "+loadSchema+" cascade")
	}
	stmts = append(stmts,
		"create schema if not exists "+loadSchema,
		"create table if not exists "+loadTable+" "+tableDDL,
		"create table if not exists "+twinTable+" "+tableDDL,
		"truncate "+loadTable+", "+twinTable+" restart identity",
	)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("prepare schema: %s: %w", s, err)
		}
	}
	return nil
}

// dropSlots removes the slots a run made, so a database the tool was
// pointed at does not keep WAL for them.
func dropSlots(ctx context.Context, dbURL string, slots ...string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range slots {
		if _, err := conn.Exec(ctx, "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active", s); err != nil {
			return fmt.Errorf("drop slot %s: %w", s, err)
		}
	}
	return nil
}

// configYAML is the server config of a scenario: the messages table as
// model Message, the scenario's read rule, the hidden column, and no
// per-IP or per-user connection limits (every client comes from one
// address). dbURL and secret are written as given; `load config` prints it
// with ${DATABASE_URL} for a server run by hand.
func configYAML(dbURL, secret, slot, readRule string) string {
	return fmt.Sprintf(`# walrelay config of a load scenario (go run ./cmd/load config <scenario>)
database:
  url: %q
server:
  listen: "${LISTEN:-127.0.0.1:0}"
auth:
  jwt:
    secret: %q
realtime:
  slot: %s
  publication: %s
models:
  Message:
    table: %s
    subscribe: [list]
    broadcast: [created, updated, deleted]
    permissions:
      subscribe: authenticated
      read: %q
    hide: [secret]
limits:
  max_connections_per_ip: -1
  max_connections_per_user: -1
`, dbURL, secret, slot, slot, loadTable, readRule)
}
