package cdc

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/walrelay/walrelay"
)

// ensureSlot creates the permanent pgoutput slot name, or checks that an
// existing one is a logical pgoutput slot of the current database.
func ensureSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	for attempt := 0; ; attempt++ {
		var plugin, database *string
		var slotType, current string
		err := conn.QueryRow(ctx, `select s.plugin, s.slot_type, s.database, current_database()
			from pg_catalog.pg_replication_slots s where s.slot_name = $1`, name).Scan(&plugin, &slotType, &database, &current)
		if err == nil {
			switch {
			case slotType != "logical" || plugin == nil || *plugin != "pgoutput":
				return fmt.Errorf("replication slot %s exists but is not a logical pgoutput slot; drop it or set realtime.slot to another name", name)
			case database == nil || *database != current:
				return fmt.Errorf("replication slot %s belongs to database %s, not %s; set realtime.slot to another name", name, deref(database), current)
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read replication slot %s: %w", name, err)
		}
		_, err = conn.Exec(ctx, "select pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')", name)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if attempt == 0 && errors.As(err, &pgErr) && pgErr.Code == "42710" { // created concurrently
			continue
		}
		return fmt.Errorf("create replication slot %s: %w", name, err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}

// SlotPosition returns the slot's confirmed position: every transaction
// that ends at or before it has been handed on by an earlier run, and the
// next run starts streaming after it.
func SlotPosition(ctx context.Context, conn *pgx.Conn, slot string) (walrelay.LSN, error) {
	var lsn *string
	err := conn.QueryRow(ctx, "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = $1", slot).Scan(&lsn)
	if err != nil {
		return 0, fmt.Errorf("read slot %s position: %w", slot, err)
	}
	if lsn == nil {
		return 0, nil
	}
	pos, err := pglogrepl.ParseLSN(*lsn)
	if err != nil {
		return 0, fmt.Errorf("parse slot %s position: %w", slot, err)
	}
	return walrelay.LSN(pos), nil
}
