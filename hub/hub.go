// Package hub routes change events to subscriptions, in process.
//
// The cdc package hands every committed transaction to Hub.Deliver, from one
// goroutine and in commit order. Deliver finds the subscriptions each event
// is for through indexes (model, then channel kind, then row id), so its cost
// grows with the number of receivers rather than with the number of
// subscriptions, and hands every Receiver its deliveries for the whole
// transaction in one call that must not block. The hub never waits for a
// client: slow clients are the Receiver's business (package ws closes them).
//
// Authorization: every subscription carries an Access, its read permission
// resolved by the caller. No event reaches a subscription that may not read
// the event's row (the old row for deletes). For models whose read rule is
// indexed (SetReadIndex), subscriptions are bucketed by key, so routing an
// event touches only the subscriptions that may read it; for the others,
// Access.Allow is called per subscription of the channel.
//
// A bounded replay history (for subscribe with since) is a later addition.
package hub

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/walrelay/walrelay"
)

// Hub routes events to subscriptions. All methods are safe for concurrent
// use. Deliver must be called from one goroutine at a time, in commit order.
type Hub struct {
	logger *slog.Logger

	// mu guards models. Deliver holds it for reading while it routes a
	// transaction, calls the Receivers and moves pos; Subscribe and
	// Unsubscribe hold it for writing, so a subscription sees either all or
	// none of a transaction, its cursor is exactly the position before the
	// transactions it receives, and nothing arrives after Unsubscribe returns.
	mu     sync.RWMutex
	models map[string]*modelIndex
	// readIndex holds the models' read indexes (SetReadIndex); guarded by mu.
	readIndex map[string]RowKeyFunc
	// pos is written only by Deliver under mu's read lock.
	pos   atomic.Pointer[walrelay.Cursor]
	epoch atomic.Uint32
}

// SetEpoch sets the epoch (see walrelay.Cursor.Epoch) stamped on the
// cursors the hub gives out from now on. Set it before the first Deliver,
// to the same value as the store's.
func (h *Hub) SetEpoch(e uint32) { h.epoch.Store(e) }

// Epoch returns the epoch set with SetEpoch.
func (h *Hub) Epoch() uint32 { return h.epoch.Load() }

// New returns an empty Hub. logger may be nil.
func New(logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{logger: logger, models: map[string]*modelIndex{}, readIndex: map[string]RowKeyFunc{}}
}

// Position returns the cursor just after the last transaction delivered: a
// subscription made now receives every change after it and none before.
// Before the first transaction it is the zero Cursor.
func (h *Hub) Position() walrelay.Cursor {
	c := walrelay.Cursor{}
	if p := h.pos.Load(); p != nil {
		c = *p
	}
	c.Epoch = h.epoch.Load()
	return c
}

// Deliver routes the events of one committed transaction to the matching
// subscriptions and hands each Receiver its deliveries, in commit order, in
// one Receive call. It never blocks on a client; it returns once every
// Receiver has been called, after which the transaction may be acknowledged.
// It implements the cdc package's Sink. Message events are not routed.
func (h *Hub) Deliver(ctx context.Context, txn *walrelay.Txn) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()

	var b batch
	for _, ev := range txn.Events {
		if ev.Op == walrelay.OpMessage || ev.Model == nil || !ev.Model.Broadcasts(ev.Op) {
			continue
		}
		if idx := h.models[ev.Model.Name]; idx != nil {
			idx.route(ev, &b)
		}
	}
	for _, r := range b.order {
		r.Receive(b.by[r])
	}
	// Updated under the read lock: Deliver is the only writer of pos, and
	// Subscribe (write lock) never sees a half-routed transaction.
	h.pos.Store(&walrelay.Cursor{LSN: txn.CommitLSN, Seq: max(0, len(txn.Events)-1)})
	return nil
}

// batch gathers one transaction's deliveries per Receiver, keeping each
// Receiver's deliveries in commit order.
type batch struct {
	order []Receiver
	by    map[Receiver][]Delivery
}

func (b *batch) add(s *Subscription, m *Message) {
	if b.by == nil {
		b.by = map[Receiver][]Delivery{}
	}
	ds, ok := b.by[s.receiver]
	if !ok {
		b.order = append(b.order, s.receiver)
	}
	b.by[s.receiver] = append(ds, Delivery{Sub: s, Msg: m})
}

// SetStart sets the position reported before the first transaction is
// delivered: the replication slot's confirmed position, after which the
// stream resumes. Cursors before it cannot be resumed without a gap. Call
// it before Deliver runs.
func (h *Hub) SetStart(lsn walrelay.LSN) {
	if h.pos.Load() == nil {
		h.pos.Store(&walrelay.Cursor{LSN: lsn})
	}
}
