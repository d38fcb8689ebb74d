package cdc

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// recreateSlot drops the slot (when it exists), creates it again, records
// a new epoch and tells the sink, which must drop its history: changes
// between the old slot's last position and now are lost. It runs on the
// Run goroutine with no replication connection open.
func (c *Consumer) recreateSlot(ctx context.Context, conn *pgx.Conn, why string) error {
	c.cfg.Logger.Error("cdc: replication slot lost; recreating it, changes since it was lost are missed and clients must resync",
		"slot", c.cfg.Slot, "reason", why)
	if err := ensureEpochTable(ctx, conn); err != nil {
		return err
	}
	if err := dropSlot(ctx, conn, c.cfg.Slot); err != nil {
		return err
	}
	if err := createSlot(ctx, conn, c.cfg.Slot); err != nil {
		return err
	}
	epoch, _, err := slotEpoch(ctx, conn, c.cfg.Slot, true)
	if err != nil {
		return err
	}
	si, err := readSlot(ctx, conn, c.cfg.Slot)
	if err != nil {
		return err
	}
	if si == nil {
		return fmt.Errorf("replication slot %s vanished right after it was created", c.cfg.Slot)
	}
	confirmed, err := si.confirmed()
	if err != nil {
		return fmt.Errorf("read slot %s: %w", c.cfg.Slot, err)
	}
	c.delivered = confirmed
	c.confirmed.Store(uint64(confirmed))
	c.epoch.Store(epoch)
	c.sink.Reset(epoch)
	c.cfg.Logger.Error("cdc: replication slot recreated", "slot", c.cfg.Slot, "epoch", epoch, "from", confirmed)
	return nil
}

// recreateAfterStartFailure recreates the slot after START_REPLICATION
// reported it can no longer stream.
func (c *Consumer) recreateAfterStartFailure(ctx context.Context, cause error) error {
	conn, err := pgx.Connect(ctx, c.cfg.URL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := c.recreateSlot(ctx, conn, cause.Error()); err != nil {
		return err
	}
	return errSlotRecreated
}
