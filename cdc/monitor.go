package cdc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// monitor measures the WAL the slot retains every RetainedCheckInterval
// until ctx is done, storing it for RetainedWALBytes and warning when it
// exceeds MaxRetainedWALBytes. It owns one regular connection, reopened
// after failures.
func (c *Consumer) monitor(ctx context.Context) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	t := time.NewTicker(c.cfg.RetainedCheckInterval)
	defer t.Stop()
	for {
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			conn, _ = pgx.Connect(cctx, c.cfg.URL) // retried next tick
			cancel()
		}
		if conn != nil {
			if err := c.checkRetained(ctx, conn); err != nil {
				if ctx.Err() != nil {
					return
				}
				c.cfg.Logger.Debug("cdc: measure retained WAL", "err", err)
				conn.Close(context.WithoutCancel(ctx))
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkRetained measures once and warns when above the limit.
func (c *Consumer) checkRetained(ctx context.Context, conn *pgx.Conn) error {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var bytes *int64
	err := conn.QueryRow(qctx, `select pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::int8
		from pg_catalog.pg_replication_slots where slot_name = $1`, c.cfg.Slot).Scan(&bytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // not created yet
	}
	if err != nil {
		return fmt.Errorf("retained WAL of slot %s: %w", c.cfg.Slot, err)
	}
	if bytes == nil {
		return nil // restart_lsn unset: the slot lost its WAL
	}
	c.retainedWAL.Store(*bytes)
	if limit := c.cfg.MaxRetainedWALBytes; limit > 0 && *bytes > limit {
		c.cfg.Logger.Warn("cdc: replication slot retains much WAL; clients far behind or a stuck consumer keep it on disk (see max_slot_wal_keep_size)",
			"slot", c.cfg.Slot, "retained_bytes", *bytes, "limit_bytes", limit)
	}
	return nil
}
