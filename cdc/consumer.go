package cdc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walrelay/walrelay"
	"github.com/walrelay/walrelay/pgjson"
)

// Sink receives committed transactions in commit order. Deliver is called
// from the consumer's single goroutine, one Txn at a time; when it returns
// nil the transaction counts as handed on and its EndLSN may be
// acknowledged to the slot. When it returns an error the consumer drops the
// connection and reconnects, and the slot replays from the last
// acknowledged position, so the same Txn (same CommitLSN) is delivered
// again. Within one Consumer a Txn that Deliver accepted is never
// delivered twice; after a process restart, transactions accepted but not
// yet acknowledged are delivered again.
type Sink interface {
	Deliver(ctx context.Context, tx *walrelay.Txn) error
}

// Consumer streams changes from the slot to a Sink. Run owns the
// replication connection; Streaming and Confirmed may be called from any
// goroutine.
type Consumer struct {
	cfg    Config
	cfgErr error
	schema *walrelay.Schema
	dec    *pgjson.Decoder
	sink   Sink

	streaming atomic.Bool
	confirmed atomic.Uint64 // last position reported to the server
	delivered walrelay.LSN  // last position the sink accepted; owned by Run
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
// readiness checks.
func (c *Consumer) Streaming() bool { return c.streaming.Load() }

// Confirmed returns the last position acknowledged to the slot.
func (c *Consumer) Confirmed() walrelay.LSN { return walrelay.LSN(c.confirmed.Load()) }

// Run streams until ctx is done, then sends a final status update with the
// last delivered position and returns nil. A lost connection or a failed
// Deliver is logged and followed by a reconnect after a capped,
// jittered exponential backoff; streaming resumes at the slot's confirmed
// position. Run must not be called concurrently with itself. It returns an
// error only for an invalid Config.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfgErr != nil {
		return fmt.Errorf("cdc consumer: %w", c.cfgErr)
	}
	backoff := c.cfg.MinBackoff
	for {
		before := c.delivered
		err := c.session(ctx)
		c.streaming.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if c.delivered != before {
			backoff = c.cfg.MinBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.cfg.Logger.Warn("cdc: replication stopped; reconnecting", "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

// prepare runs on a regular connection before streaming: it reads the
// slot's confirmed position, so status updates never move it backwards, and
// registers the realtime tables' column types with the decoder.
func (c *Consumer) prepare(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.cfg.URL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var confirmed *string
	err = conn.QueryRow(ctx, `select confirmed_flush_lsn::text from pg_catalog.pg_replication_slots
		where slot_name = $1 and database = current_database()`, c.cfg.Slot).Scan(&confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("replication slot %s does not exist in this database (cdc.Setup creates it)", c.cfg.Slot)
	}
	if err != nil {
		return fmt.Errorf("read slot %s: %w", c.cfg.Slot, err)
	}
	if confirmed != nil {
		lsn, err := parseLSN(*confirmed)
		if err != nil {
			return fmt.Errorf("read slot %s: %w", c.cfg.Slot, err)
		}
		c.delivered = max(c.delivered, lsn)
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
