package cdc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// Sink receives committed transactions in commit order. All its methods
// are called from the consumer's single Run goroutine, never concurrently
// with each other.
//
// When Deliver returns nil the Txn counts as handed on; a large
// transaction arrives as several Txns (More true on all but the last) and
// only its last chunk counts. When Deliver returns an error the consumer
// drops the connection and reconnects, and the whole transaction is
// delivered again (same CommitLSN, from its first chunk). Within one
// Consumer a transaction whose last chunk Deliver accepted is never
// delivered again, unless Reset was called in between.
//
// The position acknowledged to the slot trails the sink's history: it is
// the end of the last handed-on transaction, or Retained() when that is
// non-zero and smaller. After a process restart the slot therefore
// re-streams every transaction from Retained() on (Postgres re-sends
// transactions whose commit LSN is at or after the confirmed position), so
// the sink can rebuild its replay history.
type Sink interface {
	// Deliver hands on one transaction, or one chunk of a large one.
	Deliver(ctx context.Context, tx *walrelay.Txn) error
	// Retained returns the commit LSN of the oldest transaction the sink
	// still needs re-streamed after a restart (its replay history), or 0
	// for none. The consumer never confirms past it.
	Retained() walrelay.LSN
	// Reset tells the sink the stream restarted from scratch with a new
	// epoch: the slot was recreated and changes may have been lost, so its
	// history no longer continues the stream.
	Reset(epoch uint32)
}

// StreamStarter is an optional interface of a Sink. StreamStarted is
// called each time replication has started on a new connection, before
// the first Deliver on it: the consumer has just taken the slot (in a
// cluster, the node has become the leader). An error ends the session,
// as a failed Deliver does.
type StreamStarter interface {
	StreamStarted(ctx context.Context) error
}

// ErrSlotBusy is wrapped by the error of a session that could not start
// because another consumer streams the slot (SQLSTATE 55006). Run then
// stands by and tries again every Config.BusyRetry.
var ErrSlotBusy = errors.New("replication slot is streamed by another consumer")

// Consumer streams changes from the slot to a Sink. Run owns the
// replication connection; Streaming, Confirmed, Epoch and RetainedWALBytes
// may be called from any goroutine.
type Consumer struct {
	cfg    Config
	cfgErr error
	schema *walrelay.Schema
	dec    *pgjson.Decoder
	sink   Sink

	streaming   atomic.Bool
	standby     atomic.Bool
	confirmed   atomic.Uint64 // last position reported to the server
	epoch       atomic.Uint32
	retainedWAL atomic.Int64
	decoded     atomic.Uint64 // events decoded and handed to the sink
	delivered   walrelay.LSN  // end of the last transaction handed on; owned by Run
}

// NewConsumer returns a Consumer for the realtime models of schema. dec
// decodes column values (nil means a new pgjson.Decoder); the column types
// of realtime tables, and types the stream reports that dec does not know,
// are registered on it. Nothing runs until Run.
func NewConsumer(cfg Config, schema *walrelay.Schema, dec *pgjson.Decoder, sink Sink) *Consumer {
	if dec == nil {
		dec = pgjson.NewDecoder()
	}
	cfg, err := cfg.withDefaults()
	return &Consumer{cfg: cfg, cfgErr: err, schema: schema, dec: dec, sink: sink}
}

// Streaming reports whether the consumer is connected and streaming, for
// readiness checks. It is false while the database is unreachable.
func (c *Consumer) Streaming() bool { return c.streaming.Load() }

// Standby reports whether the last attempt to stream found the slot
// streamed by another consumer (in a cluster: another node leads).
func (c *Consumer) Standby() bool { return c.standby.Load() }

// Confirmed returns the last position acknowledged to the slot.
func (c *Consumer) Confirmed() walrelay.LSN { return walrelay.LSN(c.confirmed.Load()) }

// Epoch returns the slot's current epoch (see Setup), or 0 before Run has
// read it. It changes, after Sink.Reset, when the slot is recreated.
func (c *Consumer) Epoch() uint32 { return c.epoch.Load() }

// Decoded returns how many change events (rows of realtime tables, and
// messages) the consumer has decoded and handed to the sink.
func (c *Consumer) Decoded() uint64 { return c.decoded.Load() }

// RetainedWALBytes returns the WAL the slot kept at the last check
// (pg_current_wal_lsn() - restart_lsn), measured every
// Config.RetainedCheckInterval while Run runs; 0 before the first check.
func (c *Consumer) RetainedWALBytes() int64 { return c.retainedWAL.Load() }

// errSlotRecreated ends a session whose slot was found invalidated and has
// been recreated; the next session starts right away.
var errSlotRecreated = errors.New("replication slot recreated")

// Run streams until ctx is done, then sends a final status update with the
// acknowledged position and returns nil. A lost connection or a failed
// Deliver is logged and followed by a reconnect after a capped,
// jittered exponential backoff; streaming resumes at the slot's confirmed
// position. A slot found invalidated (or missing) is recreated with a new
// epoch, and Sink.Reset is called before streaming again. Alongside, Run
// measures the WAL the slot retains (RetainedWALBytes). Run must not be
// called concurrently with itself. It returns an error only for an invalid
// Config.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfgErr != nil {
		return fmt.Errorf("cdc consumer: %w", c.cfgErr)
	}
	mctx, stopMonitor := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.monitor(mctx) })
	defer func() {
		stopMonitor()
		wg.Wait()
	}()

	backoff := c.cfg.MinBackoff
	standby := false
	for {
		before := c.delivered
		err := c.session(ctx)
		c.streaming.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSlotRecreated) {
			backoff = c.cfg.MinBackoff
			continue
		}
		var wait time.Duration
		if errors.Is(err, ErrSlotBusy) {
			if !standby {
				c.cfg.Logger.Info("cdc: the slot is streamed by another consumer; standing by", "slot", c.cfg.Slot, "retry", c.cfg.BusyRetry)
			}
			standby, backoff = true, c.cfg.MinBackoff
			c.standby.Store(true)
			wait = c.cfg.BusyRetry/2 + rand.N(c.cfg.BusyRetry/2+1)
		} else {
			standby = false
			c.standby.Store(false)
			if c.delivered != before {
				backoff = c.cfg.MinBackoff
			}
			wait = backoff/2 + rand.N(backoff/2+1)
			c.cfg.Logger.Warn("cdc: replication stopped; reconnecting", "err", err, "in", wait)
			backoff = min(backoff*2, c.cfg.MaxBackoff)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// ackPosition is the position to confirm: the end of the last transaction
// handed on, held back to the sink's oldest retained commit, and never
// behind what was confirmed before.
func (c *Consumer) ackPosition() walrelay.LSN {
	pos := c.delivered
	if r := c.sink.Retained(); r != 0 && r < pos {
		pos = r
	}
	return max(pos, c.Confirmed())
}

// prepare runs on a regular connection before streaming: it checks the
// slot (recreating it when invalidated or missing), reads its confirmed
// position and epoch, and registers the realtime tables' column types with
// the decoder.
func (c *Consumer) prepare(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.cfg.URL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	si, err := readSlot(ctx, conn, c.cfg.Slot)
	if err != nil {
		return err
	}
	switch {
	case si == nil:
		if err := c.recreateSlot(ctx, conn, "the slot does not exist"); err != nil {
			return err
		}
	case si.check(c.cfg.Slot) != nil:
		return si.check(c.cfg.Slot)
	case si.invalidated() != "":
		if err := c.recreateSlot(ctx, conn, si.invalidated()); err != nil {
			return err
		}
	default:
		confirmed, err := si.confirmed()
		if err != nil {
			return fmt.Errorf("read slot %s: %w", c.cfg.Slot, err)
		}
		epoch, _, err := slotEpoch(ctx, conn, c.cfg.Slot, false)
		if err != nil {
			return err
		}
		if old := c.epoch.Swap(epoch); old != 0 && old != epoch {
			// Recreated behind our back (another node, or Setup).
			c.cfg.Logger.Error("cdc: replication slot was recreated elsewhere; resetting", "slot", c.cfg.Slot, "epoch", epoch)
			c.delivered = confirmed
			c.confirmed.Store(uint64(confirmed))
			c.sink.Reset(epoch)
		}
		c.delivered = max(c.delivered, confirmed)
		c.confirmed.Store(max(c.confirmed.Load(), uint64(confirmed)))
	}
	var oids []uint32
	for _, m := range c.schema.Realtime() {
		for _, col := range m.Columns {
			oids = append(oids, col.TypeOID)
		}
	}
	if err := c.dec.Register(ctx, conn, oids); err != nil {
		return err
	}
	return nil
}

// registerTypes loads types the decoder does not know on a short-lived
// regular connection.
func (c *Consumer) registerTypes(ctx context.Context, oids []uint32) error {
	conn, err := pgx.Connect(ctx, c.cfg.URL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return c.dec.Register(ctx, conn, oids)
}
