package cdc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The epoch of a slot numbers its lives: it changes whenever the slot is
// created (first run, or recreated after it was lost), so positions from an
// older life are known to be meaningless. It is kept in walrelay.slots.

// ensureEpochTable creates schema walrelay and table walrelay.slots unless
// they exist. Existence is checked first so a role without CREATE rights
// passes when an administrator made them.
func ensureEpochTable(ctx context.Context, conn *pgx.Conn) error {
	var hasSchema, hasTable bool
	var role, db string
	err := conn.QueryRow(ctx, `select exists (select from pg_catalog.pg_namespace where nspname = 'walrelay'),
		to_regclass('walrelay.slots') is not null, current_user, current_database()`).Scan(&hasSchema, &hasTable, &role, &db)
	if err != nil {
		return fmt.Errorf("read walrelay schema: %w", err)
	}
	if hasTable {
		return nil
	}
	if !hasSchema {
		if _, err := conn.Exec(ctx, "create schema if not exists walrelay"); err != nil {
			if isCode(err, "42501") {
				return fmt.Errorf("create schema walrelay: role %s may not create schemas in database %s; as a superuser run: CREATE SCHEMA walrelay AUTHORIZATION %s; (or GRANT CREATE ON DATABASE %s TO %s;)",
					role, db, pgx.Identifier{role}.Sanitize(), pgx.Identifier{db}.Sanitize(), pgx.Identifier{role}.Sanitize())
			}
			if !isCode(err, "42P06", "23505") { // created concurrently
				return fmt.Errorf("create schema walrelay: %w", err)
			}
		}
	}
	_, err = conn.Exec(ctx, `create table if not exists walrelay.slots (
		slot_name text primary key,
		epoch bigint not null,
		created_at timestamptz not null default now())`)
	if err != nil {
		if isCode(err, "42501") {
			return fmt.Errorf("create table walrelay.slots: role %s may not create tables in schema walrelay; as a superuser run: GRANT CREATE, USAGE ON SCHEMA walrelay TO %s;",
				role, pgx.Identifier{role}.Sanitize())
		}
		if !isCode(err, "42P07", "23505") {
			return fmt.Errorf("create table walrelay.slots: %w", err)
		}
	}
	return nil
}

// slotEpoch returns the epoch recorded for slot. With renew, or when none
// is recorded, it records and returns a new random non-zero epoch that
// differs from the previous one. changed reports that a new one was made.
func slotEpoch(ctx context.Context, conn *pgx.Conn, slot string, renew bool) (epoch uint32, changed bool, err error) {
	var prev int64
	err = conn.QueryRow(ctx, "select epoch from walrelay.slots where slot_name = $1", slot).Scan(&prev)
	switch {
	case err == nil && !renew:
		return uint32(prev), false, nil
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return 0, false, fmt.Errorf("read epoch of slot %s: %w", slot, err)
	}
	epoch = newEpoch(uint32(prev))
	_, err = conn.Exec(ctx, `insert into walrelay.slots (slot_name, epoch) values ($1, $2)
		on conflict (slot_name) do update set epoch = excluded.epoch, created_at = now()`, slot, int64(epoch))
	if err != nil {
		return 0, false, fmt.Errorf("record epoch of slot %s: %w", slot, err)
	}
	return epoch, true, nil
}

// newEpoch returns a random epoch, neither 0 nor prev.
func newEpoch(prev uint32) uint32 {
	for {
		if e := rand.Uint32(); e != 0 && e != prev {
			return e
		}
	}
}

func isCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}

// CurrentEpoch returns the epoch recorded for slot, or 0 when none is.
// Unlike Setup it changes nothing. conn may be any connection (a pool's).
func CurrentEpoch(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, slot string) (uint32, error) {
	var epoch int64
	err := q.QueryRow(ctx, "select epoch from walrelay.slots where slot_name = $1", slot).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read epoch of slot %s: %w", slot, err)
	}
	return uint32(epoch), nil
}
