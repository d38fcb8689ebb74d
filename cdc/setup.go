package cdc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
)

// Errors Setup and CheckWALLevel wrap, for callers that report them
// specially (the `check` subcommand).
var (
	ErrWALLevel        = errors.New("wal_level is not logical")
	ErrReplicaIdentity = errors.New("realtime tables need REPLICA IDENTITY FULL")
)

// CheckWALLevel returns an error wrapping ErrWALLevel, telling the user
// what to change, unless the server runs with wal_level = logical.
func CheckWALLevel(ctx context.Context, conn *pgx.Conn) error {
	var level string
	if err := conn.QueryRow(ctx, "show wal_level").Scan(&level); err != nil {
		return fmt.Errorf("read wal_level: %w", err)
	}
	if level != "logical" {
		return fmt.Errorf("%w: wal_level is %s; set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart Postgres",
			ErrWALLevel, level)
	}
	return nil
}

// setupLockKey is the advisory lock that serializes Setup across the
// processes that share a database (several nodes of a cluster starting at
// once): ("walr" << 32) | "setp".
const setupLockKey int64 = 0x77616c72_73657470

// lockSetup takes the session-level advisory lock Setup runs under and
// returns its release.
func lockSetup(ctx context.Context, conn *pgx.Conn) (func(), error) {
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", setupLockKey); err != nil {
		return nil, fmt.Errorf("lock setup: %w", err)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "select pg_advisory_unlock($1)", setupLockKey)
	}, nil
}

// Setup prepares the database for the Consumer, idempotently: it checks
// wal_level, gives every realtime model's table REPLICA IDENTITY FULL (or,
// when cfg.ManageReplicaIdentity is false, fails naming the tables that
// lack it and the command to run), makes the publication hold exactly the
// realtime tables (creating it, or ALTER PUBLICATION ... SET TABLE when it
// differs), creates schema walrelay and table walrelay.slots unless they
// exist, and creates the permanent pgoutput slot unless it exists, in which
// case it checks that its plugin and database match. An invalidated slot
// (its WAL was removed) is dropped and created again, logged at error
// level.
//
// It returns the slot's epoch: a random non-zero number recorded in
// walrelay.slots that changes whenever the slot is (re)created, so history
// kept under another epoch is known to have a gap. With no realtime model
// it does nothing and returns 0. Concurrent Setups on one database (nodes
// of a cluster) run one after the other, under an advisory lock. conn is a regular (non-replication)
// connection whose role may alter the tables and create slots.
func Setup(ctx context.Context, conn *pgx.Conn, schema *walrelay.Schema, cfg Config) (epoch uint32, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return 0, fmt.Errorf("cdc setup: %w", err)
	}
	models := schema.Realtime()
	if len(models) == 0 {
		return 0, nil
	}
	if err := CheckWALLevel(ctx, conn); err != nil {
		return 0, err
	}
	unlock, err := lockSetup(ctx, conn)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := ensureReplicaIdentity(ctx, conn, models, cfg.ManageReplicaIdentity); err != nil {
		return 0, err
	}
	if err := ensurePublication(ctx, conn, cfg.Publication, models); err != nil {
		return 0, err
	}
	if err := ensureEpochTable(ctx, conn); err != nil {
		return 0, err
	}
	created, err := ensureSlot(ctx, conn, cfg.Slot, cfg.Logger)
	if err != nil {
		return 0, err
	}
	epoch, _, err = slotEpoch(ctx, conn, cfg.Slot, created)
	return epoch, err
}

// EnsureTables makes the realtime models' tables ready to stream again,
// idempotently, after the tables changed while walrelay runs (a table
// dropped and created again leaves the publication and loses REPLICA
// IDENTITY FULL): the replica identity as Setup does it, and the
// publication holding exactly the tables of models. Pass the models that
// are available: a table that does not exist is an error.
func EnsureTables(ctx context.Context, conn *pgx.Conn, models []*walrelay.Model, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return fmt.Errorf("cdc: %w", err)
	}
	if len(models) == 0 {
		return nil
	}
	if err := ensureReplicaIdentity(ctx, conn, models, cfg.ManageReplicaIdentity); err != nil {
		return err
	}
	return ensurePublication(ctx, conn, cfg.Publication, models)
}
