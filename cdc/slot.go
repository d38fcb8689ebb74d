package cdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/walrelay/walrelay"
)

// slotInfo is a row of pg_replication_slots. It is read through to_jsonb so
// one query works on every Postgres version: columns a version lacks
// (conflicting before 16, invalidation_reason before 17) stay zero.
type slotInfo struct {
	Plugin             *string `json:"plugin"`
	SlotType           string  `json:"slot_type"`
	Database           *string `json:"database"`
	ActivePID          *int32  `json:"active_pid"`
	ConfirmedFlushLSN  *string `json:"confirmed_flush_lsn"`
	WALStatus          *string `json:"wal_status"`
	Conflicting        *bool   `json:"conflicting"`
	InvalidationReason *string `json:"invalidation_reason"`

	currentDB string
}

// readSlot returns the slot, or nil when it does not exist.
func readSlot(ctx context.Context, conn *pgx.Conn, name string) (*slotInfo, error) {
	var raw []byte
	var current string
	err := conn.QueryRow(ctx, `select to_jsonb(s), current_database() from pg_catalog.pg_replication_slots s
		where s.slot_name = $1`, name).Scan(&raw, &current)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read replication slot %s: %w", name, err)
	}
	var si slotInfo
	if err := json.Unmarshal(raw, &si); err != nil {
		return nil, fmt.Errorf("read replication slot %s: %w", name, err)
	}
	si.currentDB = current
	return &si, nil
}

// invalidated returns why the slot can no longer stream, or "" when it can.
func (s *slotInfo) invalidated() string {
	switch {
	case s.InvalidationReason != nil && *s.InvalidationReason != "":
		return "invalidated: " + *s.InvalidationReason
	case s.WALStatus != nil && *s.WALStatus == "lost":
		return "invalidated: required WAL was removed (wal_status lost; see max_slot_wal_keep_size)"
	case s.Conflicting != nil && *s.Conflicting:
		return "invalidated: conflicting with recovery"
	}
	return ""
}

// check returns an error unless the slot is a logical pgoutput slot of the
// current database.
func (s *slotInfo) check(name string) error {
	switch {
	case s.SlotType != "logical" || s.Plugin == nil || *s.Plugin != "pgoutput":
		return fmt.Errorf("replication slot %s exists but is not a logical pgoutput slot; drop it or set realtime.slot to another name", name)
	case s.Database == nil || *s.Database != s.currentDB:
		return fmt.Errorf("replication slot %s belongs to database %s, not %s; set realtime.slot to another name", name, deref(s.Database), s.currentDB)
	}
	return nil
}

// confirmed returns the slot's confirmed flush position (0 when unset).
func (s *slotInfo) confirmed() (walrelay.LSN, error) {
	if s.ConfirmedFlushLSN == nil {
		return 0, nil
	}
	return parseLSN(*s.ConfirmedFlushLSN)
}

// ensureSlot creates the permanent pgoutput slot name, or checks that an
// existing one is a logical pgoutput slot of the current database. An
// invalidated slot is dropped and created again. created reports that the
// slot is new, so changes before now are not in it.
func ensureSlot(ctx context.Context, conn *pgx.Conn, name string, log *slog.Logger) (created bool, err error) {
	si, err := readSlot(ctx, conn, name)
	if err != nil {
		return false, err
	}
	if si != nil {
		if err := si.check(name); err != nil {
			return false, err
		}
		why := si.invalidated()
		if why == "" {
			return false, nil
		}
		log.Error("cdc: replication slot lost; recreating it, changes since it was invalidated are lost and clients must resync",
			"slot", name, "reason", why)
		if err := dropSlot(ctx, conn, name); err != nil {
			return false, err
		}
	}
	if err := createSlot(ctx, conn, name); err != nil {
		return false, err
	}
	return true, nil
}

// createSlot creates the slot; one created concurrently counts as created.
func createSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, "select pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')", name)
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42710") {
		return fmt.Errorf("create replication slot %s: %w", name, err)
	}
	return nil
}

// dropSlot drops the slot, waiting up to 10s for a walsender still using it
// to exit. A slot already gone is fine.
func dropSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := conn.Exec(ctx, "select pg_catalog.pg_drop_replication_slot($1)", name)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &pgErr) && pgErr.Code == "42704": // undefined_object
			return nil
		case errors.As(err, &pgErr) && pgErr.Code == "55006" && time.Now().Before(deadline): // object_in_use
			t := time.NewTimer(100 * time.Millisecond) // poll interval while the old walsender exits
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("drop replication slot %s: %w", name, ctx.Err())
			case <-t.C:
			}
		default:
			return fmt.Errorf("drop replication slot %s: %w", name, err)
		}
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
